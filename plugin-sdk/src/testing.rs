//! Runs a pack's rules on fixture files natively, with the host's own normalizers.
//!
//! Fixtures follow one layout: `fixtures/<rule-id>/fail.<ext>` must make the rule fire exactly at
//! the lines marked with a trailing `expect: <rule-id>` comment (`# expect: k8s/run-as-root`), and
//! `fixtures/<rule-id>/pass.<ext>` must not make it fire at all. An optional
//! `fixtures/<rule-id>/config.json` holds the pack settings for both.
//!
//! ```no_run
//! # use palisade_sdk::{Policy, Rule};
//! # struct Pack;
//! # impl Policy for Pack { const NAME: &'static str = ""; const VERSION: &'static str = "";
//! #     const RULES: &'static [Rule] = &[]; }
//! #[test]
//! fn fixtures() {
//!     palisade_sdk::testing::check_fixtures::<Pack>(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures"));
//! }
//! ```

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::{OwnedValue, Policy, Resource, Severity, Value};
use palisade_normalize::{Limits, normalize_file};

/// A finding placed on its line, as the host would report it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TestFinding {
    pub rule: String,
    pub line: u32,
    pub resource: String,
    pub message: String,
    pub severity: Option<Severity>,
}

/// Normalizes `text` as if it were a file named `name` and runs every rule of `P` on it, with
/// the pack settings `config` (JSON text, as the host passes them; `"{}"` for none).
///
/// Fails when the file is not recognized or has errors, so a broken fixture cannot pass silently.
pub fn run_text<P: Policy>(
    name: &str,
    text: &str,
    config: &str,
) -> Result<Vec<TestFinding>, String> {
    let config = OwnedValue::from_str(config).map_err(|e| format!("config: {e}"))?;
    let config: &Value = &config;
    let normalized = normalize_file(name, Path::new(name), text, &Limits::default());
    if let Some(d) = normalized.diagnostics.first() {
        return Err(format!("{}:{}: {}", d.file, d.line.unwrap_or(0), d.message));
    }
    if !normalized.recognized {
        return Err(format!("{name}: no resources recognized"));
    }
    P::configure(config).map_err(|e| format!("configure: {e}"))?;
    let mut out = Vec::new();
    for source in &normalized.resources {
        // The attributes travel as JSON text, exactly as the host sends them.
        let json = serde_json::to_string(&source.attributes).map_err(|e| e.to_string())?;
        let attributes: Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        let resource = Resource::new(&source.id, &source.kind, &source.file, &attributes);
        for f in crate::evaluate::<P>(std::slice::from_ref(&resource), config) {
            out.push(TestFinding {
                line: source.locate(&f.pointer).line,
                rule: f.rule_id,
                resource: f.resource_id,
                message: f.message,
                severity: f.severity,
            });
        }
    }
    out.sort();
    Ok(out)
}

/// Reads `path` and runs every rule of `P` on it (see [`run_text`]).
pub fn run_file<P: Policy>(path: &Path, config: &str) -> Result<Vec<TestFinding>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    run_text::<P>(&path.display().to_string(), &text, config)
}

/// Lines of `text` carrying an `expect: <rule>` marker for `rule`.
///
/// A marker at the end of a line (`privileged: true # expect: k8s/privileged-container`) marks
/// that line. A marker alone on a comment line (`# expect: docker/run-as-root`) marks the next
/// line, for formats whose comments cannot follow code on the same line (Dockerfiles).
pub fn expected_lines(text: &str, rule: &str) -> BTreeSet<u32> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            line.split("expect:")
                .skip(1)
                .flat_map(|rest| rest.split([',', ' ']))
                .any(|r| r.trim() == rule)
        })
        .map(|(i, line)| {
            let comment_only = line.trim_start().starts_with('#');
            i as u32 + if comment_only { 2 } else { 1 }
        })
        .collect()
}

/// Checks every rule of `P` against its fixtures under `dir`; panics with a full report of every
/// mismatch. Every rule must have both a `fail` and a `pass` fixture.
pub fn check_fixtures<P: Policy>(dir: impl AsRef<Path>) {
    let dir = dir.as_ref();
    let mut problems = String::new();
    for rule in P::RULES {
        let rule_dir = dir.join(rule.id);
        let config = std::fs::read_to_string(rule_dir.join("config.json"))
            .unwrap_or_else(|_| "{}".to_string());
        for (stem, must_fire) in [("fail", true), ("pass", false)] {
            let Some(path) = fixture(&rule_dir, stem) else {
                let _ = writeln!(
                    problems,
                    "{}: missing {}/{stem}.*",
                    rule.id,
                    rule_dir.display()
                );
                continue;
            };
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    let _ = writeln!(problems, "{}: {e}", path.display());
                    continue;
                }
            };
            let findings = match run_text::<P>(&path.display().to_string(), &text, &config) {
                Ok(f) => f,
                Err(e) => {
                    let _ = writeln!(problems, "{}: {e}", rule.id);
                    continue;
                }
            };
            let got: BTreeSet<u32> = findings
                .iter()
                .filter(|f| f.rule == rule.id)
                .map(|f| f.line)
                .collect();
            let want = if must_fire {
                expected_lines(&text, rule.id)
            } else {
                BTreeSet::new()
            };
            if must_fire && want.is_empty() {
                let _ = writeln!(
                    problems,
                    "{}: {} has no `expect: {}` marker",
                    rule.id,
                    path.display(),
                    rule.id
                );
            }
            if got != want {
                let _ = writeln!(
                    problems,
                    "{}: {}: expected findings at lines {want:?}, got {got:?}\n{}",
                    rule.id,
                    path.display(),
                    findings
                        .iter()
                        .filter(|f| f.rule == rule.id)
                        .map(|f| format!("    line {}: {} ({})", f.line, f.message, f.resource))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
            }
        }
    }
    assert!(problems.is_empty(), "fixture mismatches:\n{problems}");
}

fn fixture(rule_dir: &Path, stem: &str) -> Option<PathBuf> {
    let entries = std::fs::read_dir(rule_dir).ok()?;
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_stem().and_then(|s| s.to_str()) == Some(stem))
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expect_markers_name_rules_exactly() {
        let text = "a: 1 # expect: k8s/a\nb: 2 # expect: k8s/ab, k8s/a\nc: 3\n";
        assert_eq!(expected_lines(text, "k8s/a"), BTreeSet::from([1, 2]));
        assert_eq!(expected_lines(text, "k8s/ab"), BTreeSet::from([2]));
        assert!(expected_lines(text, "k8s/c").is_empty());
    }

    #[test]
    fn a_marker_alone_on_a_comment_line_marks_the_next_line() {
        let text = "FROM debian\n# expect: docker/run-as-root\nUSER root\n";
        assert_eq!(
            expected_lines(text, "docker/run-as-root"),
            BTreeSet::from([3])
        );
    }
}
