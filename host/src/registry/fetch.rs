//! Reading a registry's files from a directory or a static HTTP(S) site.
//!
//! A [`Fetcher`] only moves bytes: it never trusts them. Every read is capped (a hostile server
//! cannot make palisade buffer an endless body), paths are checked before they are joined to the
//! registry's root, and every error names the full URL or file path and the reason. What the
//! bytes mean, and whether they are signed, is the index's business.

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ureq::http::{StatusCode, Uri};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use ureq::{Agent, Body};

use crate::http::resolve_location;

/// The default for [`FetchOptions::timeout`]: connecting, and any one read.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default for [`FetchOptions::deadline`]: one whole download, redirects included.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(120);
/// Redirects followed for one file (a static site may move behind a CDN).
pub const MAX_REDIRECTS: u32 = 5;
/// Largest CA file read; a bundle of every public root is about 250 KiB.
const MAX_CA_FILE_BYTES: u64 = 4 << 20;

/// Where a registry lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryLocation {
    /// A directory on this machine.
    Dir(PathBuf),
    /// A static web site: an `http://` or `https://` base URL ending in `/`.
    Url(String),
}

impl RegistryLocation {
    /// `http(s)://…` is a site (its base gets a trailing `/`), anything else a directory.
    pub fn parse(s: &str) -> Result<RegistryLocation, FetchError> {
        let invalid = |reason: &str| FetchError::Location {
            location: s.to_owned(),
            reason: reason.to_owned(),
        };
        if s.trim().is_empty() {
            return Err(invalid("it is empty"));
        }
        let Some((scheme, _)) = s.split_once("://").filter(|(scheme, _)| {
            !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        }) else {
            return Ok(RegistryLocation::Dir(PathBuf::from(s)));
        };
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(invalid(&format!(
                "`{scheme}://` is not supported: a registry is a directory or an http(s):// URL"
            )));
        }
        if s.contains(['?', '#']) {
            return Err(invalid(
                "a registry URL has no query or fragment: it is the base the registry's files \
                 are found under",
            ));
        }
        if s.bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(invalid("it contains white space or control characters"));
        }
        let uri: Uri = s
            .parse()
            .map_err(|e| invalid(&format!("not a valid URL: {e}")))?;
        let authority = uri
            .authority()
            .ok_or_else(|| invalid("the URL names no host"))?;
        if authority.as_str().contains('@') {
            return Err(invalid(
                "the URL carries credentials; a registry is a static site read without them",
            ));
        }
        if authority.host().is_empty() {
            return Err(invalid("the URL names no host"));
        }
        // Scheme and host are case-insensitive: normalize them so one registry has one key.
        let path = uri.path().trim_end_matches('/');
        Ok(RegistryLocation::Url(format!(
            "{scheme}://{}{path}/",
            authority.as_str().to_ascii_lowercase()
        )))
    }

    /// A stable identity for cache keys: the URL with one trailing `/`, or the directory's
    /// canonical absolute path (its absolute path when it cannot be resolved).
    pub fn key(&self) -> String {
        match self {
            RegistryLocation::Url(url) => format!("{}/", url.trim_end_matches('/')),
            RegistryLocation::Dir(dir) => std::fs::canonicalize(dir)
                .or_else(|_| std::path::absolute(dir))
                .unwrap_or_else(|_| dir.clone())
                .to_string_lossy()
                .into_owned(),
        }
    }
}

impl fmt::Display for RegistryLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryLocation::Dir(dir) => write!(f, "{}", dir.display()),
            RegistryLocation::Url(url) => f.write_str(url),
        }
    }
}

/// How a registry site is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// A PEM file of CA certificates: when set, exactly these CAs are trusted for HTTPS
    /// (instead of the system's trust store).
    pub ca_cert: Option<PathBuf>,
    /// Longest wait to connect, and for any one read: a stalled server fails after this.
    pub timeout: Duration,
    /// Longest a whole download may take, redirects included: a server that drips bytes
    /// slowly enough to dodge [`FetchOptions::timeout`] fails after this.
    pub deadline: Duration,
}

impl Default for FetchOptions {
    fn default() -> FetchOptions {
        FetchOptions {
            ca_cert: None,
            timeout: DEFAULT_TIMEOUT,
            deadline: DEFAULT_DEADLINE,
        }
    }
}

/// Why a registry file could not be read. Every message names the full URL or file path.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The registry location is not a directory or an http(s) URL palisade can read.
    #[error("registry `{location}`: {reason}")]
    Location { location: String, reason: String },
    /// A path inside the registry was refused before anything was read.
    #[error("registry {location}: refusing to read `{path}`: {reason}")]
    Path {
        location: String,
        path: String,
        reason: String,
    },
    /// The file does not exist (a missing file, or HTTP 404 / 410).
    #[error("{at}: not found")]
    NotFound { at: String },
    /// The server answered with an error status.
    #[error("{at}: HTTP {status}")]
    Status { at: String, status: String },
    /// The file is larger than the caller allows; reading stopped one byte past the cap.
    #[error("{at}: too large: more than {max} bytes")]
    TooLarge { at: String, max: u64 },
    /// The file ended before the size it must have (or the server announced).
    #[error("{at}: truncated: {got} bytes of {expected}")]
    Truncated { at: String, got: u64, expected: u64 },
    /// Connecting or reading stalled, or the whole download ran past its deadline.
    #[error("{at}: {reason}")]
    Timeout { at: String, reason: String },
    /// The TLS handshake failed (an untrusted certificate, a server that does not speak TLS…).
    #[error("{at}: TLS: {reason}")]
    Tls { at: String, reason: String },
    /// The server could not be reached (connection refused, unknown host…).
    #[error("{at}: {reason}")]
    Connect { at: String, reason: String },
    /// A redirect was refused: too many, to plain HTTP from HTTPS, or to an unreadable place.
    #[error("{at}: {reason}")]
    Redirect { at: String, reason: String },
    /// The CA file given for HTTPS could not be used.
    #[error("CA file {}: {reason}", path.display())]
    CaFile { path: PathBuf, reason: String },
    /// Any other read failure.
    #[error("{at}: {reason}")]
    Io { at: String, reason: String },
}

/// How many bytes a read may, or must, return.
#[derive(Debug, Clone, Copy)]
enum Limit {
    AtMost(u64),
    Exactly(u64),
}

impl Limit {
    fn max(self) -> u64 {
        match self {
            Limit::AtMost(max) | Limit::Exactly(max) => max,
        }
    }

    /// Checks what was read (at most `max + 1` bytes).
    fn check(self, at: &str, bytes: Vec<u8>) -> Result<Vec<u8>, FetchError> {
        let got = bytes.len() as u64;
        if got > self.max() {
            return Err(FetchError::TooLarge {
                at: at.to_owned(),
                max: self.max(),
            });
        }
        match self {
            Limit::Exactly(size) if got < size => Err(FetchError::Truncated {
                at: at.to_owned(),
                got,
                expected: size,
            }),
            _ => Ok(bytes),
        }
    }
}

/// Reads files from one registry.
pub struct Fetcher {
    location: RegistryLocation,
    source: Source,
}

enum Source {
    Dir(PathBuf),
    Http {
        base: String,
        agent: Agent,
        timeout: Duration,
        deadline: Duration,
    },
}

impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetcher")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// A fetcher for `location`: a directory must exist; a site is not contacted until the
    /// first read, but its CA file (if any) is read now.
    pub fn new(location: RegistryLocation, options: &FetchOptions) -> Result<Fetcher, FetchError> {
        let source = match &location {
            RegistryLocation::Dir(dir) => {
                let fail = |reason: String| FetchError::Location {
                    location: dir.display().to_string(),
                    reason,
                };
                match std::fs::metadata(dir) {
                    Ok(metadata) if metadata.is_dir() => Source::Dir(dir.clone()),
                    Ok(_) => return Err(fail("not a directory".to_owned())),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        return Err(fail("no such directory".to_owned()));
                    }
                    Err(e) => return Err(fail(e.to_string())),
                }
            }
            RegistryLocation::Url(base) => Source::Http {
                base: base.clone(),
                agent: agent(base.starts_with("https:"), options)?,
                timeout: options.timeout,
                deadline: options.deadline,
            },
        };
        Ok(Fetcher { location, source })
    }

    /// The registry this fetcher reads.
    pub fn location(&self) -> &RegistryLocation {
        &self.location
    }

    /// The file at `path` (relative, `/`-separated), at most `max` bytes: a larger one is
    /// [`FetchError::TooLarge`] (reading stops at `max + 1` bytes); a missing one
    /// [`FetchError::NotFound`].
    pub fn get(&self, path: &str, max: u64) -> Result<Vec<u8>, FetchError> {
        self.read(path, Limit::AtMost(max))
    }

    /// The file at `path`, which must be exactly `size` bytes: more is
    /// [`FetchError::TooLarge`] (reading stops at `size + 1`), fewer [`FetchError::Truncated`].
    pub fn get_exact(&self, path: &str, size: u64) -> Result<Vec<u8>, FetchError> {
        self.read(path, Limit::Exactly(size))
    }

    fn read(&self, path: &str, limit: Limit) -> Result<Vec<u8>, FetchError> {
        let segments = segments(path).map_err(|reason| FetchError::Path {
            location: self.location.to_string(),
            path: path.chars().take(200).collect(),
            reason,
        })?;
        match &self.source {
            Source::Dir(root) => {
                let file = segments.iter().fold(root.clone(), |p, s| p.join(s));
                read_file(&file, limit)
            }
            Source::Http {
                base,
                agent,
                timeout,
                deadline,
            } => {
                let url = format!("{base}{}", segments.join("/"));
                let download = Download {
                    agent,
                    url: &url,
                    timeout: *timeout,
                    deadline: *deadline,
                };
                download.run(limit)
            }
        }
    }
}

/// The segments of a registry path, or why it is refused: the path is joined to a directory
/// or a base URL, so it must stay below it and need no escaping.
fn segments(path: &str) -> Result<Vec<&str>, String> {
    if path.is_empty() {
        return Err("the path is empty".to_owned());
    }
    if path.starts_with('/') {
        return Err("the path is absolute".to_owned());
    }
    if path.contains('\\') {
        return Err("`\\` is not a path separator here".to_owned());
    }
    let segments: Vec<&str> = path.split('/').collect();
    for segment in &segments {
        match *segment {
            "" => return Err("the path has an empty segment".to_owned()),
            "." | ".." => return Err(format!("the path has a `{segment}` segment")),
            _ => {}
        }
        if let Some(bad) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '~')))
        {
            return Err(format!(
                "`{}` is not allowed in a registry path (letters, digits, `.`, `_`, `-`, `+`, `~`)",
                bad.escape_default()
            ));
        }
    }
    Ok(segments)
}

/// Reads a regular file within `limit`; the size on disk is checked before reading.
fn read_file(path: &Path, limit: Limit) -> Result<Vec<u8>, FetchError> {
    let at = path.display().to_string();
    let io_error = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => {
            FetchError::NotFound { at: at.clone() }
        }
        _ => FetchError::Io {
            at: at.clone(),
            reason: e.to_string(),
        },
    };
    // Checked before opening: opening a FIFO would block until something writes to it.
    let metadata = std::fs::metadata(path).map_err(io_error)?;
    if !metadata.is_file() {
        return Err(FetchError::Io {
            at,
            reason: "not a regular file".to_owned(),
        });
    }
    if metadata.len() > limit.max() {
        return Err(FetchError::TooLarge {
            at,
            max: limit.max(),
        });
    }
    let file = std::fs::File::open(path).map_err(io_error)?;
    let mut bytes = Vec::new();
    // One byte past the cap notices a file that grew since its size was read.
    file.take(limit.max().saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    limit.check(&at, bytes)
}

/// The agent every registry request goes through: status codes and redirects are handled by
/// [`Download`], timeouts apply to connecting and to every read.
fn agent(https: bool, options: &FetchOptions) -> Result<Agent, FetchError> {
    let roots = match &options.ca_cert {
        Some(path) => RootCerts::from(read_ca_file(path)?),
        // The system's trust store, so a registry behind a company CA works as it does for
        // images (it honours SSL_CERT_FILE).
        None => RootCerts::PlatformVerifier,
    };
    let mut config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(options.timeout))
        .timeout_per_read(Some(options.timeout))
        .timeout_global(Some(options.deadline))
        .user_agent(concat!("palisade/", env!("CARGO_PKG_VERSION")));
    if https {
        config = config.tls_config(TlsConfig::builder().root_certs(roots).build());
    }
    Ok(config.build().new_agent())
}

/// The certificates of a PEM file; at least one.
fn read_ca_file(path: &Path) -> Result<Vec<Certificate<'static>>, FetchError> {
    let fail = |reason: String| FetchError::CaFile {
        path: path.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let pem = palisade_normalize::read_capped(file, MAX_CA_FILE_BYTES)
        .map_err(|e| fail(e.to_string()))?
        .ok_or_else(|| fail(format!("larger than {MAX_CA_FILE_BYTES} bytes")))?;
    let mut certificates = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        // A key or CRL beside the certificates is not a trust anchor: skipped.
        if let PemItem::Certificate(certificate) =
            item.map_err(|e| fail(format!("not a valid PEM file: {e}")))?
        {
            certificates.push(certificate);
        }
    }
    if certificates.is_empty() {
        return Err(fail(
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in it".to_owned(),
        ));
    }
    Ok(certificates)
}

/// One HTTP download: `GET url`, following at most [`MAX_REDIRECTS`] redirects (never from
/// HTTPS to plain HTTP), within the deadline.
struct Download<'a> {
    agent: &'a Agent,
    url: &'a str,
    timeout: Duration,
    deadline: Duration,
}

impl Download<'_> {
    fn run(&self, limit: Limit) -> Result<Vec<u8>, FetchError> {
        let started = Instant::now();
        let mut current = self.url.to_owned();
        let mut redirects = 0;
        let response = loop {
            let remaining = self.deadline.saturating_sub(started.elapsed());
            if remaining.is_zero() {
                return Err(self.deadline_exceeded(self.shown(&current)));
            }
            let response = self
                .agent
                .get(&current)
                .config()
                .timeout_global(Some(remaining))
                .build()
                .call()
                .map_err(|e| self.transport(&current, e))?;
            let status = response.status();
            if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
                break response;
            }
            if redirects == MAX_REDIRECTS {
                return Err(self.redirect(format!("more than {MAX_REDIRECTS} redirects")));
            }
            redirects += 1;
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    self.redirect(format!(
                        "HTTP {} redirect without a readable Location",
                        status.as_u16()
                    ))
                })?;
            let next = resolve_location(&current, location).ok_or_else(|| {
                self.redirect(format!(
                    "redirected to `{}`, which is not an http(s) URL",
                    location.chars().take(200).collect::<String>()
                ))
            })?;
            if current.starts_with("https:") && next.starts_with("http:") {
                return Err(self.redirect(format!(
                    "redirected to {next}: refusing to leave HTTPS for plain HTTP"
                )));
            }
            current = next;
        };
        let status = response.status();
        if matches!(status, StatusCode::NOT_FOUND | StatusCode::GONE) {
            return Err(FetchError::NotFound {
                at: self.shown(&current),
            });
        }
        if !status.is_success() {
            let status = match status.canonical_reason() {
                Some(reason) => format!("{} {reason}", status.as_u16()),
                None => status.as_u16().to_string(),
            };
            return Err(FetchError::Status {
                at: self.shown(&current),
                status,
            });
        }
        let https = current.starts_with("https:");
        self.body(&self.shown(&current), https, response.into_body(), limit)
    }

    /// Reads the body within `limit`: an announced length over the cap is refused unread, a
    /// body that ends before its announced length is truncated.
    fn body(&self, at: &str, https: bool, body: Body, limit: Limit) -> Result<Vec<u8>, FetchError> {
        let announced = body.content_length();
        if announced.is_some_and(|length| length > limit.max()) {
            return Err(FetchError::TooLarge {
                at: at.to_owned(),
                max: limit.max(),
            });
        }
        let mut bytes = Vec::new();
        let read = body
            .into_reader()
            .take(limit.max().saturating_add(1))
            .read_to_end(&mut bytes);
        if let Err(error) = read {
            let error = ureq::Error::from(error);
            return Err(match (&error, announced) {
                (ureq::Error::Io(e), Some(expected))
                    if e.kind() == io::ErrorKind::UnexpectedEof =>
                {
                    FetchError::Truncated {
                        at: at.to_owned(),
                        got: bytes.len() as u64,
                        expected,
                    }
                }
                _ => self.transport_at(at.to_owned(), https, error),
            });
        }
        limit.check(at, bytes)
    }

    /// `url`, and where it was redirected to when that is elsewhere.
    fn shown(&self, current: &str) -> String {
        if current == self.url {
            self.url.to_owned()
        } else {
            format!("{} (redirected to {current})", self.url)
        }
    }

    fn redirect(&self, reason: String) -> FetchError {
        FetchError::Redirect {
            at: self.url.to_owned(),
            reason,
        }
    }

    fn deadline_exceeded(&self, at: String) -> FetchError {
        FetchError::Timeout {
            at,
            reason: format!(
                "deadline exceeded: the download did not finish within {}",
                seconds(self.deadline)
            ),
        }
    }

    /// A transport failure of the request to `current`, classified.
    fn transport(&self, current: &str, error: ureq::Error) -> FetchError {
        self.transport_at(self.shown(current), current.starts_with("https:"), error)
    }

    /// A transport failure, classified; `at` is the URL shown, `https` whether TLS was spoken.
    fn transport_at(&self, at: String, https: bool, error: ureq::Error) -> FetchError {
        use ureq::Timeout;
        let timeout = |reason: String| FetchError::Timeout {
            at: at.clone(),
            reason,
        };
        match error {
            ureq::Error::Timeout(Timeout::Global) => self.deadline_exceeded(at),
            ureq::Error::Timeout(Timeout::Connect | Timeout::Resolve) => timeout(format!(
                "timed out connecting: no connection within {}",
                seconds(self.timeout)
            )),
            ureq::Error::Timeout(Timeout::PerRead | Timeout::RecvResponse | Timeout::RecvBody) => {
                timeout(format!(
                    "timed out: the server sent nothing for {}",
                    seconds(self.timeout)
                ))
            }
            ureq::Error::Timeout(other) => timeout(format!("timed out ({other})")),
            ureq::Error::HostNotFound => FetchError::Connect {
                at,
                reason: "host not found".to_owned(),
            },
            ureq::Error::ConnectionFailed => FetchError::Connect {
                at,
                reason: "connection failed".to_owned(),
            },
            ureq::Error::Io(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                FetchError::Connect {
                    at,
                    reason: "connection refused".to_owned(),
                }
            }
            ureq::Error::Io(e) if e.kind() == io::ErrorKind::TimedOut => {
                timeout(format!("timed out: {e}"))
            }
            // rustls reports its failures (an untrusted certificate, a server that does not
            // speak TLS) through the connection as invalid data; an HTTP answer that makes no
            // sense is a protocol error instead.
            ureq::Error::Io(e) if https && e.kind() == io::ErrorKind::InvalidData => {
                FetchError::Tls {
                    at,
                    reason: tls_reason(e.to_string()),
                }
            }
            ureq::Error::Tls(reason) => FetchError::Tls {
                at,
                reason: reason.to_owned(),
            },
            ureq::Error::Pem(e) => FetchError::Tls {
                at,
                reason: e.to_string(),
            },
            ureq::Error::Rustls(e) => FetchError::Tls {
                at,
                reason: tls_reason(e.to_string()),
            },
            other => FetchError::Io {
                at,
                reason: other.to_string(),
            },
        }
    }
}

/// A TLS failure, with a hint for the two common ones: a server that answered in plain text
/// (rustls reports that as `InvalidContentType`) and a certificate from an unknown CA.
fn tls_reason(mut reason: String) -> String {
    if reason.contains("InvalidContentType") {
        reason
            .push_str(" (the server does not speak TLS; if it is plain HTTP, use an http:// URL)");
    } else if reason.contains("UnknownIssuer") {
        reason.push_str(
            " (no trusted CA issued the certificate; for a registry with a private CA, give \
             palisade that CA's certificate)",
        );
    }
    reason
}

/// `1.5 s`, `30 s`.
fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.0} s")
    } else {
        format!("{secs:.1} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_into_sites_and_directories() {
        assert_eq!(
            RegistryLocation::parse("https://Plugins.Example.com/registry").expect("parses"),
            RegistryLocation::Url("https://plugins.example.com/registry/".to_owned())
        );
        assert_eq!(
            RegistryLocation::parse("HTTP://127.0.0.1:8080//").expect("parses"),
            RegistryLocation::Url("http://127.0.0.1:8080/".to_owned())
        );
        assert_eq!(
            RegistryLocation::parse("./registry").expect("parses"),
            RegistryLocation::Dir(PathBuf::from("./registry"))
        );
        for bad in [
            "",
            "ftp://example.com/r",
            "file:///srv/registry",
            "https://user:pw@example.com/r",
            "https://example.com/r?x=1",
            "https://example.com/r#top",
            "https:///r",
            "https://exa mple.com/",
        ] {
            let error = RegistryLocation::parse(bad).expect_err(bad);
            assert!(
                matches!(error, FetchError::Location { .. }),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn keys_are_stable_identities() {
        let url = RegistryLocation::parse("https://example.com/r//").expect("parses");
        assert_eq!(url.key(), "https://example.com/r/");
        assert_eq!(url.to_string(), "https://example.com/r/");
        let dir = tempfile::tempdir().expect("temp dir");
        let canonical = std::fs::canonicalize(dir.path()).expect("canonical");
        let dotted = RegistryLocation::Dir(dir.path().join("."));
        assert_eq!(dotted.key(), canonical.to_string_lossy());
        let relative = RegistryLocation::Dir(PathBuf::from("no/such/registry"));
        assert!(
            Path::new(&relative.key()).is_absolute(),
            "{}",
            relative.key()
        );
    }

    #[test]
    fn registry_paths_cannot_leave_the_registry() {
        assert_eq!(
            segments("plugins/platform/k8s/1.2.0+build.1/palisade-plugin.toml.sig").expect("valid"),
            [
                "plugins",
                "platform",
                "k8s",
                "1.2.0+build.1",
                "palisade-plugin.toml.sig"
            ]
        );
        for bad in [
            "",
            "/etc/passwd",
            "plugins/../index.toml",
            "plugins/./x",
            "plugins//x",
            "plugins/x/",
            "plugins\\x",
            "a/%2e%2e/b",
            "a?b",
            "a b",
        ] {
            assert!(segments(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_check_what_was_read() {
        assert!(matches!(
            Limit::AtMost(3).check("f", vec![0; 4]),
            Err(FetchError::TooLarge { max: 3, .. })
        ));
        assert_eq!(
            Limit::AtMost(3).check("f", vec![0; 2]).expect("fits"),
            [0; 2]
        );
        assert!(matches!(
            Limit::Exactly(3).check("f", vec![0; 2]),
            Err(FetchError::Truncated {
                got: 2,
                expected: 3,
                ..
            })
        ));
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(seconds(Duration::from_secs(30)), "30 s");
    }
}
