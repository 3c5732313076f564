//! Fixture files with their expected findings written beside them: the engine behind
//! `palisade test PLUGIN.wasm FIXTURES_DIR`, which checks a built plugin of any language.
//!
//! The convention is the Rust SDK harness's (`palisade_sdk::testing`; both read it through
//! [`palisade_normalize::expect`]), so one fixture tree serves both:
//! - A fixture is any file palisade reads. Its expected findings are `expect: RULE-ID[, RULE-ID…]`
//!   markers in comments: at the end of a line (`runAsUser: 0 # expect: k8s/run-as-root`) the
//!   marker names that line; alone on a comment line (`# expect: docker/run-as-root`, for formats
//!   whose comments cannot follow code) it names the next line.
//! - For formats without comments (JSON) a sidecar `FILE.expect` lists `<line>: <rule-id>[, …]`,
//!   one per line; it replaces the markers.
//! - A fixture inside a directory named after one of the plugin's rules
//!   (`fixtures/k8s/run-as-root/fail.yaml`) checks that rule only; anywhere else it checks every
//!   rule. Either way a file without expectations must produce no finding (a `pass.*` file).
//! - `config.json` beside fixtures holds the pack settings for them (default: the `--config`
//!   settings, else `{}`).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::engine::{Engine, Input, Plugin};
use palisade_normalize::expect::{self, SIDECAR_SUFFIX};

/// Name of the pack settings file beside fixtures.
pub const SETTINGS_FILE: &str = "config.json";

/// A finding expected, or found, at a line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LineFinding {
    pub line: u32,
    pub rule: String,
    /// The plugin's message (found findings only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The outcome of one fixture file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FixtureOutcome {
    /// The file, relative to the fixtures directory, with `/` separators.
    pub file: String,
    /// The one rule this file checks (it lives in that rule's directory); `None` for all rules.
    pub rule: Option<String>,
    /// How many findings were expected.
    pub expected: usize,
    /// Expected, not found.
    pub missing: Vec<LineFinding>,
    /// Found, not expected.
    pub unexpected: Vec<LineFinding>,
    /// Why the file could not be checked (unreadable, malformed, bad expectations, plugin failure).
    pub error: Option<String>,
}

impl FixtureOutcome {
    /// True when the findings are exactly the expected ones.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.missing.is_empty() && self.unexpected.is_empty()
    }
}

/// Every fixture of a directory checked against one plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FixtureReport {
    /// The plugin's name and version, as it describes itself.
    pub plugin: String,
    pub version: String,
    /// Outcomes in path order.
    pub files: Vec<FixtureOutcome>,
    /// Files of no format palisade reads and without expectations, left alone.
    pub skipped: Vec<String>,
}

impl FixtureReport {
    /// Files whose findings match.
    pub fn passed(&self) -> usize {
        self.files.iter().filter(|f| f.passed()).count()
    }

    /// Files with a mismatch (not counting errors).
    pub fn failed(&self) -> usize {
        self.files
            .iter()
            .filter(|f| f.error.is_none() && !f.passed())
            .count()
    }

    /// Files that could not be checked.
    pub fn errors(&self) -> usize {
        self.files.iter().filter(|f| f.error.is_some()).count()
    }

    /// 0 when every file passes, 1 on a mismatch, 2 on an error (errors win).
    pub fn exit_code(&self) -> i32 {
        if self.errors() > 0 {
            2
        } else if self.failed() > 0 {
            1
        } else {
            0
        }
    }

    /// The human report: one line per file, a diff under each mismatch, then the totals.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            if let Some(error) = &f.error {
                let _ = writeln!(out, "error {}: {error}", f.file);
                continue;
            }
            let status = if f.passed() { "ok   " } else { "FAIL " };
            let _ = writeln!(out, "{status} {}", f.file);
            for m in &f.missing {
                let _ = writeln!(out, "      - {} {} (expected, not found)", m.line, m.rule);
            }
            for u in &f.unexpected {
                let _ = writeln!(
                    out,
                    "      + {} {} (found, not expected): {}",
                    u.line,
                    u.rule,
                    u.message.as_deref().unwrap_or_default()
                );
            }
        }
        let _ = write!(
            out,
            "\n{} {}: {} passed, {} failed",
            self.plugin,
            self.version,
            self.passed(),
            self.failed()
        );
        if self.errors() > 0 {
            let _ = write!(out, ", {} errors", self.errors());
        }
        if !self.skipped.is_empty() {
            let _ = write!(
                out,
                " ({} files skipped: no format palisade reads)",
                self.skipped.len()
            );
        }
        out.push('\n');
        out
    }
}

/// Why a fixtures directory could not be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("fixtures directory {path}: {source}")]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("fixtures directory {path} holds no fixture file")]
    Empty { path: PathBuf },
}

/// Checks every fixture under `dir` against `plugin`, with `settings` (JSON text) as the pack
/// settings wherever no `config.json` lies beside a fixture.
pub fn check(
    engine: &Engine,
    plugin: &Plugin,
    dir: &Path,
    settings: &str,
    limits: &palisade_normalize::Limits,
) -> Result<FixtureReport, FixtureError> {
    let mut paths = Vec::new();
    collect(dir, &mut paths)?;
    paths.sort();
    let rules: BTreeSet<&str> = plugin.info().rules.iter().map(|r| r.id.as_str()).collect();
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        let relative = path.strip_prefix(dir).unwrap_or(&path);
        let display = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let rule = display
            .rsplit_once('/')
            .map(|(parent, _)| parent)
            .filter(|parent| rules.contains(parent))
            .map(str::to_string);
        match check_file(engine, plugin, &path, &display, rule, settings, limits) {
            Some(outcome) => files.push(outcome),
            None => skipped.push(display),
        }
    }
    if files.is_empty() {
        return Err(FixtureError::Empty {
            path: dir.to_path_buf(),
        });
    }
    Ok(FixtureReport {
        plugin: plugin.info().name.clone(),
        version: plugin.info().version.clone(),
        files,
        skipped,
    })
}

/// Every file under `dir`, except hidden ones, sidecars and settings files.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), FixtureError> {
    let error = |source| FixtureError::Directory {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(error)? {
        let entry = entry.map_err(error)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        // Symlinks are followed: a fixture tree may share files between rules.
        if path.is_dir() {
            collect(&path, out)?;
        } else if !name.ends_with(SIDECAR_SUFFIX) && name != SETTINGS_FILE {
            out.push(path);
        }
    }
    Ok(())
}

/// Checks one fixture; `None` when it is of no format palisade reads and expects nothing.
fn check_file(
    engine: &Engine,
    plugin: &Plugin,
    path: &Path,
    display: &str,
    rule: Option<String>,
    settings: &str,
    limits: &palisade_normalize::Limits,
) -> Option<FixtureOutcome> {
    let mut outcome = FixtureOutcome {
        file: display.to_string(),
        rule,
        expected: 0,
        missing: Vec::new(),
        unexpected: Vec::new(),
        error: None,
    };
    let failed = |mut outcome: FixtureOutcome, error: String| {
        outcome.error = Some(error);
        Some(outcome)
    };
    let text = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => text,
            // Binary files (an image tarball) are not fixtures `palisade test` reads.
            Err(_) => return None,
        },
        Err(e) => return failed(outcome, format!("cannot read: {e}")),
    };
    let expected = match expectations(path, &text) {
        Ok(all) => all
            .into_iter()
            .filter(|e| outcome.rule.as_ref().is_none_or(|r| *r == e.rule))
            .collect::<BTreeSet<_>>(),
        Err(e) => return failed(outcome, e),
    };
    outcome.expected = expected.len();
    let normalized = palisade_normalize::normalize_file(display, path, &text, limits);
    if !normalized.recognized {
        if expected.is_empty() {
            return None;
        }
        return failed(outcome, "not a format palisade reads".into());
    }
    if let Some(d) = normalized.diagnostics.first() {
        let at = d.line.map(|l| format!("line {l}: ")).unwrap_or_default();
        return failed(outcome, format!("{at}{}", d.message));
    }
    let settings = match std::fs::read_to_string(path.with_file_name(SETTINGS_FILE)) {
        Ok(own) => own,
        Err(_) => settings.to_string(),
    };
    let resources: Vec<&palisade_normalize::Resource> = normalized
        .resources
        .iter()
        .filter(|r| plugin.wants(&r.kind))
        .collect();
    let attributes: Vec<String> = resources
        .iter()
        .map(|r| serde_json::to_string(&r.attributes).expect("JSON values always serialize"))
        .collect();
    // One file is one unit: its resources may refer to each other.
    let inputs: Vec<Input<'_>> = resources
        .iter()
        .zip(&attributes)
        .map(|(r, attributes)| Input {
            id: &r.id,
            kind: &r.kind,
            file: &r.file,
            attributes,
            unit: Some(0),
        })
        .collect();
    let found = if inputs.is_empty() {
        Vec::new()
    } else {
        match engine.run(plugin, &settings, &inputs).result {
            Ok(found) => found,
            Err(e) => return failed(outcome, e.to_string()),
        }
    };
    let mut found_lines = BTreeSet::new();
    for f in found {
        if outcome.rule.as_ref().is_some_and(|r| *r != f.rule_id) {
            continue;
        }
        let Some(index) = f.resource else {
            return failed(
                outcome,
                format!(
                    "rule `{}` reported resource `{}`, which it was not given",
                    f.rule_id, f.resource_id
                ),
            );
        };
        found_lines.insert(LineFinding {
            line: resources[index].locate(&f.pointer).line,
            rule: f.rule_id,
            message: Some(f.message),
        });
    }
    let found_keys: BTreeSet<(u32, &str)> = found_lines
        .iter()
        .map(|f| (f.line, f.rule.as_str()))
        .collect();
    outcome.missing = expected
        .iter()
        .filter(|e| !found_keys.contains(&(e.line, e.rule.as_str())))
        .cloned()
        .collect();
    let expected_keys: BTreeSet<(u32, &str)> =
        expected.iter().map(|e| (e.line, e.rule.as_str())).collect();
    // Two findings of one rule on one line are one expectation; report the line once.
    let mut reported = BTreeSet::new();
    outcome.unexpected = found_lines
        .iter()
        .filter(|f| !expected_keys.contains(&(f.line, f.rule.as_str())))
        .filter(|f| reported.insert((f.line, f.rule.clone())))
        .cloned()
        .collect();
    Some(outcome)
}

/// Expectations as line findings without messages.
fn found_none(expected: BTreeSet<expect::Expected>) -> BTreeSet<LineFinding> {
    expected
        .into_iter()
        .map(|e| LineFinding {
            line: e.line,
            rule: e.rule,
            message: None,
        })
        .collect()
}

/// The findings a fixture expects: from its sidecar `FILE.expect` when there is one, else from
/// the `expect:` markers in its text (see [`palisade_normalize::expect`]).
pub fn expectations(path: &Path, text: &str) -> Result<BTreeSet<LineFinding>, String> {
    let mut sidecar = path.as_os_str().to_owned();
    sidecar.push(SIDECAR_SUFFIX);
    let sidecar = PathBuf::from(sidecar);
    match std::fs::read_to_string(&sidecar) {
        Ok(lines) => expect::sidecar(&lines).map(found_none).map_err(|e| {
            format!(
                "{}: {e}",
                sidecar.file_name().unwrap_or_default().to_string_lossy()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(found_none(expect::markers(text))),
        Err(e) => Err(format!("{}: {e}", sidecar.display())),
    }
}
