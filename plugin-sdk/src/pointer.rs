//! Building and following RFC 6901 JSON pointers into a resource's attributes.

use crate::Value;

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
    if !token.bytes().any(|b| b == b'~' || b == b'/') {
        pointer.push_str(token);
        return;
    }
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

/// The value at an RFC 6901 pointer, or `None` when nothing is there. Tokens that need no
/// unescaping are not copied (checks run this on every resource).
pub fn get<'v>(value: &'v Value<'v>, pointer: &str) -> Option<&'v Value<'v>> {
    if pointer.is_empty() {
        return Some(value);
    }
    pointer
        .strip_prefix('/')?
        // A char set rather than `'/'`: for pointers this short, a plain scan beats `memchr`.
        .split(['/'])
        .try_fold(value, |v, token| {
            if token.bytes().any(|b| b == b'~') {
                step(v, &token.replace("~1", "/").replace("~0", "~"))
            } else {
                step(v, token)
            }
        })
}

/// The value at a path of object keys (no escaping involved), or `Value::Null` when missing.
pub fn get_path<'v>(value: &'v Value<'v>, path: &[&str]) -> &'v Value<'v> {
    path.iter()
        .try_fold(value, |v, key| field(v, key))
        .unwrap_or(&crate::NULL)
}

/// The member `key` of an object value, or `None`.
///
/// Keys are compared here rather than with `==`, which calls `memcmp`: in WASI's libc that is a
/// byte-at-a-time loop behind a call, and it was the hottest function of the Kubernetes pack.
pub fn field<'v>(value: &'v Value<'v>, key: &str) -> Option<&'v Value<'v>> {
    value
        .as_object()?
        .iter()
        .find(|(k, _)| same_bytes(k.as_bytes(), key.as_bytes()))
        .map(|(_, v)| v)
}

fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut a8, mut b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let words_match = (&mut a8).zip(&mut b8).all(|(x, y)| {
        let word = |c: &[u8]| u64::from_ne_bytes(c.try_into().unwrap_or_default());
        word(x) == word(y)
    });
    words_match
        && a8
            .remainder()
            .iter()
            .zip(b8.remainder())
            .all(|(x, y)| x == y)
}

fn step<'v>(value: &'v Value<'v>, token: &str) -> Option<&'v Value<'v>> {
    match value {
        Value::Object(_) => field(value, token),
        Value::Array(list) => {
            // RFC 6901 indices are plain decimal: no sign, no leading zero.
            if !token.bytes().all(|b| b.is_ascii_digit())
                || (token.len() > 1 && token.starts_with('0'))
            {
                return None;
            }
            token.parse::<usize>().ok().and_then(|i| list.get(i))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_agrees_with_serde_json() {
        let text = r#"{"a": {"b/c": [1, {"d~e": 2}], "0": 3}, "": 4, "x": [5, 6]}"#;
        let owned: serde_json::Value = serde_json::from_str(text).unwrap();
        let borrowed: Value = serde_json::from_str(text).unwrap();
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
            "/x/1",
        ] {
            assert_eq!(
                get(&borrowed, pointer).map(|v| serde_json::to_value(v).unwrap()),
                owned.pointer(pointer).cloned(),
                "{pointer}"
            );
        }
    }

    #[test]
    fn escapes_tilde_and_slash() {
        assert_eq!(join("", &["a~b", "c/d"]), "/a~0b/c~1d");
        let value: Value = serde_json::from_str(r#"{"a~b": {"c/d": 1}}"#).unwrap();
        assert_eq!(
            get(&value, &join("", &["a~b", "c/d"])).and_then(Value::as_u64),
            Some(1)
        );
    }
}
