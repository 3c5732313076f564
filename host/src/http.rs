//! Small pieces of HTTP that the image registry client and the plugin registry fetcher share.

/// `scheme://authority` of an absolute URL.
pub(crate) fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find(['/', '?', '#']) {
        Some(end) => &url[..after_scheme + end],
        None => url,
    }
}

/// Where a `Location` header points, from the URL that answered it: absolute, scheme-relative
/// (`//host/p`), absolute-path (`/p`) or relative to the current directory. `None` for another
/// scheme.
pub(crate) fn resolve_location(current: &str, location: &str) -> Option<String> {
    // The scheme is lowercased: the HTTPS-to-HTTP check compares it as text.
    if let Some((scheme, rest)) = location.split_once("://")
        && matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https")
    {
        return Some(format!("{}://{rest}", scheme.to_ascii_lowercase()));
    }
    if let Some(rest) = location.strip_prefix("//") {
        let scheme = current.split("://").next().unwrap_or("https");
        return Some(format!("{scheme}://{rest}"));
    }
    // `mailto:x`, `file:/x`, `ftp://x`: a scheme before any `/`.
    if let Some(colon) = location.find(':')
        && !location[..colon].contains('/')
    {
        return None;
    }
    let origin = origin(current);
    if location.starts_with('/') {
        return Some(format!("{origin}{location}"));
    }
    let path = current[origin.len()..]
        .split(['?', '#'])
        .next()
        .unwrap_or("");
    let directory = path.rsplit_once('/').map_or("", |(dir, _)| dir);
    Some(format!("{origin}{directory}/{location}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_locations_resolve_against_the_answering_url() {
        let current = "https://example.com:8443/reg/index.toml";
        assert_eq!(
            resolve_location(current, "https://cdn.example.com/i").as_deref(),
            Some("https://cdn.example.com/i")
        );
        assert_eq!(
            resolve_location(current, "//cdn.example.com/i").as_deref(),
            Some("https://cdn.example.com/i")
        );
        assert_eq!(
            resolve_location(current, "/other/index.toml").as_deref(),
            Some("https://example.com:8443/other/index.toml")
        );
        assert_eq!(
            resolve_location(current, "v2/index.toml").as_deref(),
            Some("https://example.com:8443/reg/v2/index.toml")
        );
        assert_eq!(
            resolve_location(current, "HTTP://example.com/i").as_deref(),
            Some("http://example.com/i")
        );
        assert_eq!(resolve_location(current, "file:/etc/passwd"), None);
        assert_eq!(resolve_location(current, "ftp://example.com/x"), None);
    }

    #[test]
    fn origins_end_before_the_path() {
        assert_eq!(
            origin("https://registry.example.com:5000/v2/app?x=1"),
            "https://registry.example.com:5000"
        );
        assert_eq!(origin("http://h"), "http://h");
    }
}
