//! Findings as reported: a plugin's finding placed on its file and line, with what the pipeline
//! makes of it — how its rule is enforced, and whether a suppression, a waiver or the baseline
//! keeps it from counting.

pub mod baseline;
pub mod diff;
pub mod exceptions;
pub mod inline;
pub mod waivers;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How serious a finding is; ordered from `info` to `critical`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    /// The default threshold: everything but informational findings fails a scan.
    #[default]
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lowercase name used in configs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown severity `{s}` (expected info, low, medium, high or critical)")
            })
    }
}

/// How a pipeline enforces a rule, set by the pipeline's owner in `palisade.toml` (never by the
/// plugin): per rule, per pack, or for everything.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Enforcement {
    /// Reported, never fails the scan.
    Advisory,
    /// Fails the scan unless overridden for the run (`--override RULE --reason …`), and the
    /// override is recorded in every report.
    #[default]
    SoftMandatory,
    /// Fails the scan; no override.
    HardMandatory,
}

impl Enforcement {
    /// The kebab-case name used in configs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Enforcement::Advisory => "advisory",
            Enforcement::SoftMandatory => "soft-mandatory",
            Enforcement::HardMandatory => "hard-mandatory",
        }
    }
}

impl fmt::Display for Enforcement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What keeps a finding from counting against the scan. Suppressed findings stay in the JSON
/// and SARIF reports, marked, so security can audit every exception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppression {
    pub kind: SuppressionKind,
    /// Why, in the words of whoever wrote it (never empty).
    pub reason: String,
    /// Who answers for it (waivers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// When it stops applying (waivers), `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Where it is written: `deploy/web.yaml:12` (inline), `palisade.toml` (waiver), the
    /// baseline file.
    pub source: String,
}

/// The kind of a [`Suppression`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SuppressionKind {
    /// A `palisade:ignore` comment in the scanned file.
    Inline,
    /// A `[[waivers]]` entry in `palisade.toml`.
    Waiver,
    /// Present in the baseline given with `--baseline`.
    Baseline,
}

/// A soft-mandatory rule overridden for one run, with the reason recorded in every report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Override {
    pub rule: String,
    pub reason: String,
}

/// One finding, placed on a line of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Rule id, e.g. `k8s/privileged-container`.
    pub rule: String,
    pub severity: Severity,
    /// Resource id, e.g. `Deployment/prod/web`.
    pub resource: String,
    /// Resource kind, e.g. `kubernetes/Deployment`.
    pub kind: String,
    /// The file, relative to the scan root as the user gave it.
    pub file: String,
    /// 1-based line of the offending attribute (or its nearest existing parent); 0 when the
    /// input has no lines (a container image), where `detail` says where the value lives.
    pub line: u32,
    /// 1-based column of that attribute (0 without a line).
    pub column: u32,
    /// Where the value lives in an input without lines, e.g.
    /// `layer sha256:1a2b3c4d5e6f /usr/bin/passwd`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub message: String,
    /// JSON pointer into the resource's attributes.
    pub pointer: String,
    /// The plugin that reported it.
    pub plugin: String,
    /// Stays the same when lines move: see [`Finding::fingerprint_of`].
    pub fingerprint: String,
    /// How the pipeline enforces the rule.
    pub enforcement: Enforcement,
    /// Set when the finding does not count (it is still reported, marked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
    /// First line of the resource (0 without lines), where a suppression may also be written.
    #[serde(skip)]
    pub resource_line: u32,
}

impl Finding {
    /// The identity of a finding that survives edits around it: 32 hex digits of the sha256 of
    /// its rule, file (without a leading `./`), resource and JSON pointer — not its line or
    /// message, so moving code does not make it a new finding.
    pub fn fingerprint_of(rule: &str, file: &str, resource: &str, pointer: &str) -> String {
        let file = file.strip_prefix("./").unwrap_or(file);
        let mut hasher = Sha256::new();
        for part in [rule, file, resource, pointer] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let digest = hasher.finalize();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether the finding counts: no suppression, waiver or baseline entry covers it.
    pub fn is_active(&self) -> bool {
        self.suppression.is_none()
    }

    /// The deterministic report order: file, line, column, rule, resource, message.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            &self.file,
            self.line,
            self.column,
            &self.rule,
            &self.resource,
            &self.message,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_lines_and_a_leading_dot_slash() {
        let a = Finding::fingerprint_of("k8s/x", "./deploy/web.yaml", "Pod/a/b", "/spec");
        let b = Finding::fingerprint_of("k8s/x", "deploy/web.yaml", "Pod/a/b", "/spec");
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        assert_ne!(
            a,
            Finding::fingerprint_of("k8s/y", "deploy/web.yaml", "Pod/a/b", "/spec")
        );
        // Parts are length-prefixed: moving a character between them changes the fingerprint.
        assert_ne!(
            Finding::fingerprint_of("k8s/x", "ab", "c", ""),
            Finding::fingerprint_of("k8s/x", "a", "bc", "")
        );
    }

    #[test]
    fn severities_parse_and_order() {
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert!("severe".parse::<Severity>().is_err());
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
    }
}
