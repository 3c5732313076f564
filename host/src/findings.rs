//! Findings as reported: a plugin's finding placed on its file and line.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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
}

impl Finding {
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
    fn severities_parse_and_order() {
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert!("severe".parse::<Severity>().is_err());
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
    }
}
