//! Building RFC 6901 JSON pointers into a resource's attributes.

/// Appends `tokens` to the pointer `base`, escaping `~` and `/` in each token.
///
/// ```
/// assert_eq!(palisade_sdk::pointer::join("/spec", &["a/b", "0"]), "/spec/a~1b/0");
/// ```
pub fn join(base: &str, tokens: &[&str]) -> String {
    let mut out =
        String::with_capacity(base.len() + tokens.iter().map(|t| t.len() + 1).sum::<usize>());
    out.push_str(base);
    for token in tokens {
        push(&mut out, token);
    }
    out
}

/// Appends one token to a pointer in place, escaping `~` and `/`.
pub fn push(pointer: &mut String, token: &str) {
    pointer.push('/');
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_tilde_and_slash() {
        assert_eq!(join("", &["a~b", "c/d"]), "/a~0b/c~1d");
        let value = serde_json::json!({"a~b": {"c/d": 1}});
        assert_eq!(
            value.pointer(&join("", &["a~b", "c/d"])),
            Some(&serde_json::json!(1))
        );
    }
}
