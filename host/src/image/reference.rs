//! Registry image references: `[HOST[:PORT]/]REPOSITORY[:TAG][@sha256:HEX]`, with Docker Hub's
//! shorthands (`alpine:3.20` is `docker.io/library/alpine:3.20`).

use std::fmt;
use std::net::IpAddr;

/// The registry Docker Hub references name (`docker.io`), as credentials are keyed.
pub const DOCKER_HUB: &str = "docker.io";

/// The host Docker Hub's distribution API answers on.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// Longest repository name the distribution spec allows, in characters.
const MAX_NAME: usize = 255;

/// Longest tag the distribution spec allows, in characters.
const MAX_TAG: usize = 128;

/// An image in a registry, as a `--image` reference names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The registry: `host[:port]`, lower-cased; [`DOCKER_HUB`] for Docker Hub.
    pub registry: String,
    /// The repository inside it, e.g. `library/alpine`.
    pub repository: String,
    /// The tag; `latest` when the reference names neither a tag nor a digest.
    pub tag: Option<String>,
    /// The pinned manifest digest (`sha256:…`), when the reference has `@sha256:…`.
    pub digest: Option<String>,
}

/// Why a text is not a registry reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceError(pub String);

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReferenceError {}

impl Reference {
    /// Parses `[HOST[:PORT]/]REPOSITORY[:TAG][@sha256:HEX]`. The first path component is a
    /// host when it has a `.` or `:`, is `localhost`, or has upper-case letters (Docker's rule);
    /// otherwise the image is on Docker Hub, where a one-part name gets the `library/` prefix.
    pub fn parse(text: &str) -> Result<Reference, ReferenceError> {
        let fail = |reason: String| Err(ReferenceError(reason));
        if text.is_empty() {
            return fail("the reference is empty".to_owned());
        }
        if let Some(bad) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return fail(format!("it contains the character {bad:?}"));
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (rest, Some(parse_digest(digest)?)),
            None => (text, None),
        };
        let (registry, path) = match rest.split_once('/') {
            Some((first, path))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                (Some(first), path)
            }
            _ => (None, rest),
        };
        // A tag follows the last `:` of the path; a `:` inside the host was split off above.
        let (name, tag) = match path.rsplit_once(':') {
            Some((name, tag)) => (name, Some(parse_tag(tag)?)),
            None => (path, None),
        };
        let registry = match registry {
            Some(host) => parse_host(host)?,
            None => DOCKER_HUB.to_owned(),
        };
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_owned(),
            _ => registry,
        };
        parse_repository(name)?;
        let repository = if registry == DOCKER_HUB && !name.contains('/') {
            format!("library/{name}")
        } else {
            name.to_owned()
        };
        if repository.len() > MAX_NAME {
            return fail(format!(
                "the repository name is longer than {MAX_NAME} characters"
            ));
        }
        let tag = match (tag, &digest) {
            (None, None) => Some("latest".to_owned()),
            (tag, _) => tag,
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The host and port the distribution API is reached on.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// What the manifests endpoint is asked for: the pinned digest, else the tag.
    pub fn manifest_reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .expect("a parsed reference has a tag or a digest")
    }

    /// True when the registry is on this machine: `localhost` or a loopback address.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(host_name(&self.registry))
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// `host[:port]` or `[v6]:port` → the host alone (brackets removed).
pub fn host_name(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(host, _)| host);
    }
    registry.rsplit_once(':').map_or(registry, |(host, _)| host)
}

/// True for `localhost` and loopback addresses (127.0.0.0/8, ::1).
pub fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn parse_digest(digest: &str) -> Result<String, ReferenceError> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(ReferenceError(format!(
            "`@{digest}` is not a digest (expected `@sha256:` and 64 hex digits)"
        )));
    };
    if algorithm != "sha256" {
        return Err(ReferenceError(format!(
            "digest algorithm `{algorithm}` is not supported (only sha256)"
        )));
    }
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(ReferenceError(
            "the digest is not `sha256:` and 64 lower-case hex digits".to_owned(),
        ));
    }
    Ok(digest.to_owned())
}

fn parse_tag(tag: &str) -> Result<String, ReferenceError> {
    let valid = !tag.is_empty()
        && tag.len() <= MAX_TAG
        && tag.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_alphanumeric() || b == b'_' || (i > 0 && matches!(b, b'.' | b'-'))
        });
    if valid {
        Ok(tag.to_owned())
    } else {
        Err(ReferenceError(format!(
            "`{tag}` is not a valid tag (letters, digits, `_`, `.` and `-`, not starting with \
             `.` or `-`, at most {MAX_TAG} characters)"
        )))
    }
}

/// Checks `host[:port]`: a DNS name, an IPv4 address or a bracketed IPv6 address, and an
/// optional port 1–65535. Returns it lower-cased.
fn parse_host(registry: &str) -> Result<String, ReferenceError> {
    let bad = |reason: &str| {
        Err(ReferenceError(format!(
            "`{registry}` is not a valid registry host: {reason}"
        )))
    };
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return bad("no `]` after the IPv6 address");
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return bad("not an IPv6 address inside `[…]`");
        }
        match after {
            "" => (v6, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (v6, Some(port)),
                None => return bad("unexpected text after `]`"),
            },
        }
    } else {
        match registry.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (registry, None),
        }
    };
    if let Some(port) = port
        && !port.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return bad("the port is not a number from 1 to 65535");
    }
    if !registry.starts_with('[') {
        let labels_ok = !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !labels_ok {
            return bad("not a host name or IP address");
        }
    }
    Ok(registry.to_ascii_lowercase())
}

/// Checks a repository name: `/`-separated components of lower-case letters and digits,
/// joined inside by `.`, `_`, `__` or runs of `-`.
fn parse_repository(name: &str) -> Result<(), ReferenceError> {
    if name.is_empty() {
        return Err(ReferenceError("the repository name is empty".to_owned()));
    }
    for component in name.split('/') {
        if !valid_component(component) {
            return Err(ReferenceError(format!(
                "`{name}` is not a valid repository name (each `/`-separated part is lower-case \
                 letters and digits, joined by `.`, `_`, `__` or `-`)"
            )));
        }
    }
    Ok(())
}

fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let allowed = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !allowed {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn parsed(text: &str) -> (String, String, Option<String>, Option<String>) {
        let r = Reference::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        (r.registry, r.repository, r.tag, r.digest)
    }

    fn owned(
        registry: &str,
        repo: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> (String, String, Option<String>, Option<String>) {
        (
            registry.to_owned(),
            repo.to_owned(),
            tag.map(str::to_owned),
            digest.map(str::to_owned),
        )
    }

    #[test]
    fn docker_hub_shorthands_get_the_library_prefix_and_latest() {
        assert_eq!(
            parsed("alpine"),
            owned("docker.io", "library/alpine", Some("latest"), None)
        );
        assert_eq!(
            parsed("alpine:3.20"),
            owned("docker.io", "library/alpine", Some("3.20"), None)
        );
        assert_eq!(
            parsed("acme/app"),
            owned("docker.io", "acme/app", Some("latest"), None)
        );
        assert_eq!(
            parsed("docker.io/alpine"),
            owned("docker.io", "library/alpine", Some("latest"), None)
        );
        assert_eq!(
            parsed("index.docker.io/acme/app:1"),
            owned("docker.io", "acme/app", Some("1"), None)
        );
        let hub = Reference::parse("alpine").expect("parses");
        assert_eq!(hub.api_host(), "registry-1.docker.io");
        assert_eq!(hub.to_string(), "docker.io/library/alpine:latest");
    }

    #[test]
    fn hosts_ports_tags_and_digests_are_split() {
        assert_eq!(
            parsed("localhost:5000/app:1.0"),
            owned("localhost:5000", "app", Some("1.0"), None)
        );
        assert_eq!(
            parsed("registry.example.com/team/app"),
            owned("registry.example.com", "team/app", Some("latest"), None)
        );
        assert_eq!(
            parsed(&format!("127.0.0.1:5000/a/b@{DIGEST}")),
            owned("127.0.0.1:5000", "a/b", None, Some(DIGEST))
        );
        let both = Reference::parse(&format!("[::1]:5000/app:1.0@{DIGEST}")).expect("parses");
        assert_eq!(both.registry, "[::1]:5000");
        assert_eq!(
            both.manifest_reference(),
            DIGEST,
            "the digest wins over the tag"
        );
        assert!(both.is_loopback());
        assert!(
            Reference::parse("localhost/app")
                .expect("parses")
                .is_loopback()
        );
        assert!(
            Reference::parse("127.1.2.3:80/app")
                .expect("parses")
                .is_loopback()
        );
        assert!(
            !Reference::parse("10.0.0.1:5000/app")
                .expect("parses")
                .is_loopback()
        );
        assert!(!Reference::parse("alpine").expect("parses").is_loopback());
        assert_eq!(
            parsed("Example.COM/app"),
            owned("example.com", "app", Some("latest"), None)
        );
        assert_eq!(
            parsed("a__b/c-d--e.f_g"),
            owned("docker.io", "a__b/c-d--e.f_g", Some("latest"), None)
        );
    }

    #[test]
    fn malformed_references_say_what_is_wrong() {
        let cases = [
            ("", "empty"),
            ("App", "not a valid repository name"),
            ("app:", "is not a valid tag"),
            ("app:-x", "is not a valid tag"),
            ("app@sha256:abc", "64 lower-case hex"),
            ("app@md5:abc", "`md5` is not supported"),
            ("app@latest", "is not a digest"),
            ("host:99999/app", "port is not a number"),
            ("host:/app", "port is not a number"),
            ("-bad.example/app", "not a host name"),
            ("[::1/app", "no `]`"),
            ("./layout", "not a host name"),
            ("example.com/", "repository name is empty"),
            ("example.com/a//b", "not a valid repository name"),
            ("a b", "character ' '"),
            ("a/_b", "not a valid repository name"),
        ];
        for (text, want) in cases {
            match Reference::parse(text) {
                Ok(r) => panic!("{text:?} parsed as {r:?}"),
                Err(e) => assert!(e.0.contains(want), "{text:?}: {e} should say {want:?}"),
            }
        }
        let long_tag = format!("app:{}", "t".repeat(129));
        assert!(Reference::parse(&long_tag).is_err());
        let long_name = format!("example.com/{}", "a".repeat(256));
        assert!(Reference::parse(&long_name).is_err());
    }

    #[test]
    fn host_names_drop_ports_and_brackets() {
        assert_eq!(host_name("localhost:5000"), "localhost");
        assert_eq!(host_name("[::1]:5000"), "::1");
        assert_eq!(host_name("[::1]"), "::1");
        assert_eq!(host_name("example.com"), "example.com");
    }
}
