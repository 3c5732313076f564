//! Renders a [`ScanReport`](crate::ScanReport) for people and for machines.
//!
//! Every renderer is a pure function of the report (and, where a format needs it, a
//! [`Context`]: where paths are relative to, when the scan ran), so a pipeline tool that embeds
//! Palisade writes exactly what the CLI writes:
//!
//! ```no_run
//! use palisade::report::{self, Context};
//!
//! let report = palisade::Scan::new(["deploy/"]).run()?;
//! let context = Context::new(std::env::current_dir()?);
//! let sarif = report::sarif(&report, &context, |file| std::fs::read_to_string(file).ok());
//! std::fs::write("palisade.sarif", sarif)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod github;
mod gitlab;
mod json;
mod junit;
mod markdown;
mod sarif;
mod text;

use std::path::{Component, Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use time::OffsetDateTime;

pub use github::{escape_data, escape_property, github};
pub use gitlab::gitlab;
pub use json::{JSON_SCHEMA_VERSION, json};
pub use junit::junit;
pub use markdown::markdown;
pub use sarif::{SARIF_FINGERPRINT, sarif, security_severity};
pub use text::{Style, text};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// For people: grouped by file, with the source line and the fix.
    Text,
    /// For machines: the stable JSON document described in the README.
    Json,
    /// SARIF 2.1.0, as GitHub code scanning and other SARIF viewers read it.
    Sarif,
    /// JUnit XML: one test suite per pack, for CI test report views.
    Junit,
    /// GitHub Actions workflow commands: one annotation per active finding.
    Github,
    /// GitLab Code Quality JSON, for the merge request widget.
    Gitlab,
    /// A Markdown pull request comment (also the GitHub job summary).
    Markdown,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 7] = [
        Format::Text,
        Format::Json,
        Format::Sarif,
        Format::Junit,
        Format::Github,
        Format::Gitlab,
        Format::Markdown,
    ];

    /// The name `--format` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Github => "github",
            Format::Gitlab => "gitlab",
            Format::Markdown => "markdown",
        }
    }

    /// Whether the output is one document a machine parses whole (so it cannot share a stream
    /// with another format's output).
    pub fn is_document(self) -> bool {
        matches!(
            self,
            Format::Json | Format::Sarif | Format::Junit | Format::Gitlab
        )
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown format `{s}` (expected text, json, sarif, junit, github, gitlab or \
                     markdown)"
                )
            })
    }
}

/// What some formats need beyond the report itself.
#[derive(Debug, Clone)]
pub struct Context {
    /// The directory the findings' relative file paths start from (where the scan ran).
    pub base_dir: PathBuf,
    /// The repository root: SARIF and GitLab paths are relative to it. Defaults to `base_dir`.
    pub source_root: PathBuf,
    /// When the scan started; JUnit and SARIF record it when known (left out, the output
    /// depends on nothing but the report).
    pub started: Option<OffsetDateTime>,
    /// How long the scan took, recorded with `started`.
    pub duration: Option<Duration>,
}

impl Context {
    /// A context for paths relative to `base_dir`, which is also the repository root, with no
    /// timing.
    pub fn new(base_dir: impl Into<PathBuf>) -> Context {
        let base_dir = base_dir.into();
        Context {
            source_root: base_dir.clone(),
            base_dir,
            started: None,
            duration: None,
        }
    }

    /// Uses `root` as the repository root for relative paths.
    pub fn source_root(mut self, root: impl Into<PathBuf>) -> Context {
        self.source_root = root.into();
        self
    }

    /// Records when the scan started and how long it took.
    pub fn timing(mut self, started: OffsetDateTime, duration: Duration) -> Context {
        self.started = Some(started);
        self.duration = Some(duration);
        self
    }

    /// Where a report path is, seen from the repository root.
    pub(crate) fn locate(&self, file: &str) -> SourcePath {
        let path = Path::new(file);
        let absolute = if path.is_absolute() {
            normalize(path)
        } else {
            normalize(&self.base_dir.join(path))
        };
        match absolute.strip_prefix(normalize(&self.source_root)) {
            Ok(relative) => SourcePath::InRoot(
                relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/"),
            ),
            Err(_) => SourcePath::Outside(absolute),
        }
    }

    /// The repository root as an absolute `file://` URI ending in `/`.
    pub(crate) fn root_uri(&self) -> String {
        let mut uri = file_uri(&normalize(&self.source_root));
        if !uri.ends_with('/') {
            uri.push('/');
        }
        uri
    }
}

/// A report path placed relative to the repository root, or outside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SourcePath {
    /// `/`-separated, relative to the root (empty for the root itself).
    InRoot(String),
    /// An absolute path outside the root.
    Outside(PathBuf),
}

impl SourcePath {
    /// The path as text: relative inside the root, absolute outside it.
    pub(crate) fn display(&self) -> String {
        match self {
            SourcePath::InRoot(relative) => relative.clone(),
            SourcePath::Outside(path) => path.display().to_string(),
        }
    }
}

/// `.` and `..` resolved without touching the file system (the files may be gone, or be
/// registry image references).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Percent-encodes a path for a URI: everything but RFC 3986 unreserved characters and `/`.
/// A `:` is encoded too, so a relative reference such as `alpine:3.20` never reads as a scheme.
pub(crate) fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// An absolute path as a `file://` URI.
pub(crate) fn file_uri(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let text = if text.starts_with('/') {
        text
    } else {
        format!("/{text}")
    };
    format!("file://{}", uri_path(&text))
}

/// `1 finding`, `3 findings`.
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_placed_relative_to_the_repository_root() {
        let context = Context::new("/repo/sub").source_root("/repo");
        assert_eq!(
            context.locate("./deploy/web.yaml"),
            SourcePath::InRoot("sub/deploy/web.yaml".into())
        );
        assert_eq!(
            context.locate("../infra/main.tf"),
            SourcePath::InRoot("infra/main.tf".into())
        );
        assert_eq!(
            context.locate("/elsewhere/x.tf"),
            SourcePath::Outside("/elsewhere/x.tf".into())
        );
        assert_eq!(context.root_uri(), "file:///repo/");
    }

    #[test]
    fn uri_paths_encode_what_is_not_unreserved() {
        assert_eq!(uri_path("a b/c%d:e#f"), "a%20b/c%25d%3Ae%23f");
        assert_eq!(uri_path("naïve"), "na%C3%AFve");
    }

    #[test]
    fn formats_parse_by_name() {
        for format in Format::ALL {
            assert_eq!(format.as_str().parse::<Format>(), Ok(format));
        }
        assert!("xml".parse::<Format>().is_err());
    }
}
