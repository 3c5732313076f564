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

/// The value at an RFC 6901 pointer, like `Value::pointer`, without allocating for tokens
/// that need no unescaping (checks run this on every resource).
pub fn get<'v>(value: &'v serde_json::Value, pointer: &str) -> Option<&'v serde_json::Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    let rest = pointer.strip_prefix('/')?;
    if rest.contains('~') {
        return value.pointer(pointer);
    }
    rest.split('/').try_fold(value, |v, token| match v {
        serde_json::Value::Object(map) => map.get(token),
        serde_json::Value::Array(list) => {
            // RFC 6901 indices are plain decimal: no sign, no leading zero.
            if !token.bytes().all(|b| b.is_ascii_digit())
                || (token.len() > 1 && token.starts_with('0'))
            {
                return None;
            }
            token.parse::<usize>().ok().and_then(|i| list.get(i))
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_agrees_with_serde_json() {
        let value = serde_json::json!({"a": {"b/c": [1, {"d~e": 2}], "0": 3}, "": 4, "x": [5, 6]});
        for pointer in [
            "",
            "/a",
            "/a/b~1c/1/d~0e",
            "/a/0",
            "/a/b~1c/01",
            "/a/x",
            "/",
            "a",
            "/a/b~1c/9",
            "/x/+1",
        ] {
            assert_eq!(get(&value, pointer), value.pointer(pointer), "{pointer}");
        }
    }

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
