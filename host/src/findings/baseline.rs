//! The baseline: the findings a codebase already had when it adopted a rule set, recorded by
//! fingerprint so later scans report only new ones.
//!
//! ```json
//! {
//!   "version": 1,
//!   "findings": [
//!     {
//!       "fingerprint": "5d1c0e5b8a0f4f0b9c7d8e6f1a2b3c4d",
//!       "rule": "k8s/run-as-root",
//!       "file": "deploy/web.yaml",
//!       "resource": "Deployment/prod/web",
//!       "message": "container `web` may run as root"
//!     }
//!   ]
//! }
//! ```
//!
//! Fingerprints hash the rule, file, resource and JSON pointer, not the line, so a finding
//! stays known when lines move around it. The other fields are for people reading the file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::findings::{Finding, Suppression, SuppressionKind};

/// The baseline format this palisade writes and reads.
pub const BASELINE_VERSION: u32 = 1;

/// Where `palisade baseline create` writes by default.
pub const DEFAULT_FILE: &str = "palisade-baseline.json";

/// Most bytes of a baseline file read: far more than any real one, and it keeps a wrong path
/// (a huge file) from filling memory.
const MAX_BYTES: u64 = 256 << 20;

/// One known finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    /// [`Finding::fingerprint`]: what matching is done on.
    pub fingerprint: String,
    pub rule: String,
    /// Without a leading `./`.
    pub file: String,
    pub resource: String,
    pub message: String,
}

/// The document as written.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    version: u32,
    findings: Vec<BaselineEntry>,
}

/// A set of known findings, matched by fingerprint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    /// Sorted by file, rule, resource, fingerprint; no duplicates.
    entries: Vec<BaselineEntry>,
    fingerprints: HashSet<String>,
    /// The file it was read from, as given (for suppression sources).
    source: String,
}

/// A baseline file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("baseline {}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("baseline {}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("baseline {}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Baseline {
    /// The active findings of a scan (suppressed ones are not recorded).
    pub fn from_findings(findings: &[Finding]) -> Baseline {
        Baseline::from_entries(
            findings
                .iter()
                .filter(|f| f.is_active())
                .map(|f| BaselineEntry {
                    fingerprint: f.fingerprint.clone(),
                    rule: f.rule.clone(),
                    file: f.file.strip_prefix("./").unwrap_or(&f.file).to_string(),
                    resource: f.resource.clone(),
                    message: f.message.clone(),
                })
                .collect(),
            String::new(),
        )
    }

    fn from_entries(mut entries: Vec<BaselineEntry>, source: String) -> Baseline {
        entries.sort_by(|a, b| {
            (&a.file, &a.rule, &a.resource, &a.fingerprint, &a.message).cmp(&(
                &b.file,
                &b.rule,
                &b.resource,
                &b.fingerprint,
                &b.message,
            ))
        });
        entries.dedup();
        let fingerprints = entries.iter().map(|e| e.fingerprint.clone()).collect();
        Baseline {
            entries,
            fingerprints,
            source,
        }
    }

    /// Reads a baseline file; a missing, unreadable or malformed file is an error.
    pub fn read(path: &Path) -> Result<Baseline, BaselineError> {
        let read_error = |source| BaselineError::Read {
            path: path.to_path_buf(),
            source,
        };
        let size = std::fs::metadata(path).map_err(read_error)?.len();
        if size > MAX_BYTES {
            return Err(BaselineError::Invalid {
                path: path.to_path_buf(),
                message: format!(
                    "{size} bytes, over the {} MiB a baseline may have",
                    MAX_BYTES >> 20
                ),
            });
        }
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        Baseline::parse(&text, &path.display().to_string()).map_err(|message| {
            BaselineError::Invalid {
                path: path.to_path_buf(),
                message,
            }
        })
    }

    /// Parses baseline text; `source` names it in suppressions. The error says what is wrong.
    pub fn parse(text: &str, source: &str) -> Result<Baseline, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        match value.get("version").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(BASELINE_VERSION) => {}
            Some(v) => {
                return Err(format!(
                    "version {v} is not supported (this palisade reads version \
                     {BASELINE_VERSION}); recreate it with `palisade baseline create`"
                ));
            }
            None => {
                return Err(
                    "not a palisade baseline: it has no numeric `version` (write one with \
                     `palisade baseline create`)"
                        .to_string(),
                );
            }
        }
        let document: Document =
            serde_json::from_value(value).map_err(|e| format!("malformed: {e}"))?;
        for (i, entry) in document.findings.iter().enumerate() {
            if entry.fingerprint.len() != 32
                || !entry
                    .fingerprint
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(format!(
                    "findings[{i}]: fingerprint `{}` is not 32 lowercase hex digits",
                    entry.fingerprint
                ));
            }
        }
        Ok(Baseline::from_entries(
            document.findings,
            source.to_string(),
        ))
    }

    /// The document as pretty-printed JSON, entries sorted: the same findings give the same
    /// bytes, so the file diffs well under version control.
    pub fn to_json(&self) -> String {
        let document = Document {
            version: BASELINE_VERSION,
            findings: self.entries.clone(),
        };
        let mut out =
            serde_json::to_string_pretty(&document).expect("a baseline always serializes");
        out.push('\n');
        out
    }

    /// Writes [`to_json`](Baseline::to_json) to a file.
    pub fn write(&self, path: &Path) -> Result<(), BaselineError> {
        std::fs::write(path, self.to_json()).map_err(|source| BaselineError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The known findings, sorted.
    pub fn entries(&self) -> &[BaselineEntry] {
        &self.entries
    }

    /// Whether a finding with this fingerprint is known.
    pub fn contains(&self, fingerprint: &str) -> bool {
        self.fingerprints.contains(fingerprint)
    }

    /// Marks the known findings that nothing suppressed yet as suppressed (kind baseline).
    pub fn apply(&self, findings: &mut [Finding]) {
        for finding in findings
            .iter_mut()
            .filter(|f| f.is_active() && self.contains(&f.fingerprint))
        {
            finding.suppression = Some(Suppression {
                kind: SuppressionKind::Baseline,
                reason: "known when the baseline was created".to_string(),
                owner: None,
                expires: None,
                source: self.source.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(fingerprint: &str, file: &str) -> BaselineEntry {
        BaselineEntry {
            fingerprint: fingerprint.to_string(),
            rule: "k8s/x".into(),
            file: file.into(),
            resource: "Pod/a/b".into(),
            message: "m".into(),
        }
    }

    #[test]
    fn a_baseline_round_trips_sorted_and_deduplicated() {
        let a = "a".repeat(32);
        let b = "b".repeat(32);
        let baseline = Baseline::from_entries(
            vec![
                entry(&b, "z.yaml"),
                entry(&a, "a.yaml"),
                entry(&b, "z.yaml"),
            ],
            String::new(),
        );
        let text = baseline.to_json();
        let read = Baseline::parse(&text, "base.json").expect("parses");
        assert_eq!(read.entries(), &[entry(&a, "a.yaml"), entry(&b, "z.yaml")]);
        assert!(read.contains(&a) && !read.contains(&"c".repeat(32)));
        assert_eq!(read.to_json(), text);
    }

    #[test]
    fn malformed_baselines_say_what_is_wrong() {
        for (text, expected) in [
            ("[", "not JSON"),
            ("{\"findings\": []}", "no numeric `version`"),
            (
                "{\"version\": 2, \"findings\": []}",
                "version 2 is not supported",
            ),
            ("{\"version\": 1}", "missing field `findings`"),
            (
                "{\"version\": 1, \"findings\": [{\"fingerprint\": \"xyz\", \"rule\": \"r\", \"file\": \"f\", \"resource\": \"r\", \"message\": \"m\"}]}",
                "fingerprint `xyz`",
            ),
        ] {
            let error = Baseline::parse(text, "b.json").expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
