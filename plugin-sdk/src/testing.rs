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

use crate::{OwnedValue, Policy, Resource, Rule, Severity, Value};
use palisade_normalize::{Limits, expect, normalize_file};

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
    // The attributes travel as JSON text, exactly as the host sends them.
    let texts = normalized
        .resources
        .iter()
        .map(|r| serde_json::to_string(&r.attributes).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let parsed = texts
        .iter()
        .map(|t| serde_json::from_str::<Value>(t).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::new();
    // The file is one batch, as the host sends it, split only where an id repeats.
    for batch in unique_batches(&normalized.resources) {
        let resources: Vec<Resource<'_>> = batch
            .iter()
            .map(|&i| {
                let source = &normalized.resources[i];
                Resource::new(&source.id, &source.kind, &source.file, &parsed[i])
            })
            .collect();
        let by_id: std::collections::HashMap<&str, usize> = batch
            .iter()
            .map(|&i| (normalized.resources[i].id.as_str(), i))
            .collect();
        for f in crate::evaluate::<P>(&resources, config) {
            let source = by_id
                .get(f.resource_id.as_str())
                .map(|&i| &normalized.resources[i])
                .ok_or_else(|| format!("finding for unknown resource `{}`", f.resource_id))?;
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

/// Indices of `resources` in batches whose ids are unique, in order.
fn unique_batches(resources: &[palisade_normalize::Resource]) -> Vec<Vec<usize>> {
    let mut batches: Vec<(BTreeSet<&str>, Vec<usize>)> = Vec::new();
    for (index, r) in resources.iter().enumerate() {
        match batches
            .iter_mut()
            .find(|(ids, _)| !ids.contains(r.id.as_str()))
        {
            Some((ids, batch)) => {
                ids.insert(&r.id);
                batch.push(index);
            }
            None => batches.push((BTreeSet::from([r.id.as_str()]), vec![index])),
        }
    }
    batches.into_iter().map(|(_, b)| b).collect()
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
/// line, for formats whose comments cannot follow code on the same line (Dockerfiles). The
/// reading is [`palisade_normalize::expect::markers`], shared with `palisade test`.
pub fn expected_lines(text: &str, rule: &str) -> BTreeSet<u32> {
    lines_of(expect::markers(text), rule)
}

fn lines_of(expected: BTreeSet<expect::Expected>, rule: &str) -> BTreeSet<u32> {
    expected
        .into_iter()
        .filter(|e| e.rule == rule)
        .map(|e| e.line)
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
            let paths = fixtures(&rule_dir, stem);
            if paths.is_empty() {
                let _ = writeln!(
                    problems,
                    "{}: missing {}/{stem}.*",
                    rule.id,
                    rule_dir.display()
                );
            }
            for path in paths {
                check_fixture::<P>(rule.id, &path, must_fire, &config, &mut problems);
            }
        }
    }
    assert!(problems.is_empty(), "fixture mismatches:\n{problems}");
}

/// Checks one fixture: a `fail` one must make `rule` fire exactly at its expected lines, a
/// `pass` one not at all.
fn check_fixture<P: Policy>(
    rule: &str,
    path: &Path,
    must_fire: bool,
    config: &str,
    problems: &mut String,
) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(problems, "{}: {e}", path.display());
            return;
        }
    };
    let findings = match run_text::<P>(&path.display().to_string(), &text, config) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(problems, "{rule}: {e}");
            return;
        }
    };
    let got: BTreeSet<u32> = findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| f.line)
        .collect();
    let want = if must_fire {
        match expectations(path, &text, rule) {
            Ok(want) => want,
            Err(e) => {
                let _ = writeln!(problems, "{rule}: {e}");
                return;
            }
        }
    } else {
        BTreeSet::new()
    };
    if must_fire && want.is_empty() {
        let _ = writeln!(
            problems,
            "{rule}: {} has no `expect: {rule}` marker",
            path.display(),
        );
    }
    if got != want {
        let _ = writeln!(
            problems,
            "{rule}: {}: expected findings at lines {want:?}, got {got:?}\n{}",
            path.display(),
            findings
                .iter()
                .filter(|f| f.rule == rule)
                .map(|f| format!("    line {}: {} ({})", f.line, f.message, f.resource))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// The lines where `rule` must fire in the fixture at `path`: from its sidecar `<file>.expect`
/// when there is one (for formats without comments, such as JSON), else from its `expect:`
/// markers (see [`expected_lines`]).
pub fn expectations(path: &Path, text: &str, rule: &str) -> Result<BTreeSet<u32>, String> {
    let mut sidecar = path.as_os_str().to_owned();
    sidecar.push(expect::SIDECAR_SUFFIX);
    match std::fs::read_to_string(&sidecar) {
        Ok(lines) => sidecar_lines(&lines, rule)
            .map_err(|e| format!("{}: {e}", Path::new(&sidecar).display())),
        Err(_) => Ok(expected_lines(text, rule)),
    }
}

/// Lines expected for `rule` in a sidecar file: one `<line>: <rule-id>[, <rule-id>…]` per
/// line; blank lines and `#` comments are skipped ([`palisade_normalize::expect::sidecar`]).
pub fn sidecar_lines(text: &str, rule: &str) -> Result<BTreeSet<u32>, String> {
    expect::sidecar(text).map(|expected| lines_of(expected, rule))
}

/// Every fixture of a rule named `<stem>.*` (`fail.tf`, `fail.plan.json`, `fail.cfn.yaml`…),
/// sidecar `.expect` files excluded, in name order.
pub fn fixtures(rule_dir: &Path, stem: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(rule_dir) else {
        return Vec::new();
    };
    let prefix = format!("{stem}.");
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && !n.ends_with(".expect"))
        })
        .collect();
    paths.sort();
    paths
}

/// Checks a pack's rule catalogue, as `palisade rules` and `palisade explain` show it: ids
/// unique and under `prefix` (e.g. `image/`), and each rule with a title, a description of at
/// least `min_description` bytes, a remediation, an `https://` help URI, tags and kinds.
/// Panics listing every problem.
pub fn check_rule_catalogue(rules: &[Rule], prefix: &str, min_description: usize) {
    let mut problems = String::new();
    let mut ids = BTreeSet::new();
    for rule in rules {
        let id = rule.id;
        let mut problem = |what: &str| {
            let _ = writeln!(problems, "{id}: {what}");
        };
        if !ids.insert(id) {
            problem("the id is used twice");
        }
        if !id.starts_with(prefix) {
            problem(&format!("the id does not start with `{prefix}`"));
        }
        if rule.title.is_empty() {
            problem("no title");
        }
        if rule.description.len() < min_description {
            problem(&format!(
                "the description is shorter than {min_description} bytes"
            ));
        }
        if rule.remediation.is_empty() {
            problem("no remediation");
        }
        if !rule.help_uri.is_some_and(|uri| uri.starts_with("https://")) {
            problem("no https help URI");
        }
        if rule.tags.is_empty() {
            problem("no tags");
        }
        if rule.kinds.is_empty() {
            problem("no kinds");
        }
    }
    assert!(problems.is_empty(), "rule catalogue:\n{problems}");
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
    fn sidecars_list_lines_and_rules() {
        let text = "# lines of fail.plan.json\n12: aws/a, aws/b\n\n30: aws/a\n";
        assert_eq!(sidecar_lines(text, "aws/a"), Ok(BTreeSet::from([12, 30])));
        assert_eq!(sidecar_lines(text, "aws/b"), Ok(BTreeSet::from([12])));
        assert!(sidecar_lines("twelve: aws/a", "aws/a").is_err());
        assert!(sidecar_lines("aws/a", "aws/a").is_err());
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
