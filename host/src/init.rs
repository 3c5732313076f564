//! `palisade init`: a commented `palisade.toml` for a repository and, on request, the CI
//! configs that run Palisade: a GitHub Actions workflow, a GitLab CI job, a pre-commit hook.
//!
//! The config lists every built-in pack and rule as it is compiled into this binary (asked of
//! the packs themselves), so it never falls behind them; every setting is commented out, so the
//! file changes nothing until someone uncomments a line.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use crate::engine::{CompileCache, Engine, Limits, RuleInfo};
use crate::packs;

/// Where `--github` writes the workflow, relative to the repository.
pub const GITHUB_WORKFLOW: &str = ".github/workflows/palisade.yml";
/// Where `--gitlab` writes the job, relative to the repository.
pub const GITLAB_JOB: &str = ".gitlab/palisade.yml";
/// The pre-commit config `--pre-commit` writes or extends.
pub const PRE_COMMIT_CONFIG: &str = ".pre-commit-config.yaml";

/// What to write besides `palisade.toml`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InitOptions {
    /// Replace files that exist (never needed for `.pre-commit-config.yaml`, which is extended).
    pub force: bool,
    /// Write the GitHub Actions workflow.
    pub github: bool,
    /// Write the GitLab CI job.
    pub gitlab: bool,
    /// Add the pre-commit hook to `.pre-commit-config.yaml`.
    pub pre_commit: bool,
}

/// A built-in pack and its rules, as the pack describes them.
#[derive(Debug, Clone)]
pub struct PackRules {
    pub name: String,
    pub rules: Vec<RuleInfo>,
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    /// It existed and `force` was given.
    Replaced,
    /// The palisade hook was added to an existing pre-commit config.
    Extended,
    /// The pre-commit config already runs palisade.
    Unchanged,
}

/// A file `init` wrote (or left as it was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub path: PathBuf,
    pub outcome: Outcome,
}

/// Why `init` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{} already exists; pass --force to replace it", path.display())]
    Exists { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{}: {reason}; add the hook by hand:\n{snippet}",
        path.display(),
        snippet = pre_commit_entry()
    )]
    PreCommitConfig { path: PathBuf, reason: String },
    #[error("cannot load the built-in packs: {0}")]
    Packs(String),
}

/// Asks each built-in pack for its rules (compiling it, or loading it from `cache`).
pub fn builtin_rules(cache: Option<CompileCache>) -> Result<Vec<PackRules>, InitError> {
    let engine = Engine::new(cache).map_err(|e| InitError::Packs(format!("{e:#}")))?;
    packs::BUILTIN
        .iter()
        .map(|pack| {
            let plugin = engine
                .load(pack.name, pack.wasm, Limits::default())
                .map_err(|e| InitError::Packs(format!("{}: {}", e.plugin, e.failure)))?;
            let mut rules = plugin.info().rules.clone();
            rules.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(PackRules {
                name: pack.name.to_string(),
                rules,
            })
        })
        .collect()
}

/// Writes `palisade.toml` (and the CI configs asked for) into `dir`. Nothing is written when a
/// file exists without `force`, or when the pre-commit config cannot be extended.
pub fn init(
    dir: &Path,
    packs: &[PackRules],
    options: InitOptions,
) -> Result<Vec<Written>, InitError> {
    let mut planned: Vec<(PathBuf, String)> =
        vec![(dir.join(crate::config::FILE_NAME), config(packs))];
    if options.github {
        planned.push((dir.join(GITHUB_WORKFLOW), github_workflow()));
    }
    if options.gitlab {
        planned.push((dir.join(GITLAB_JOB), gitlab_job()));
    }
    let mut existing = Vec::new();
    for (path, _) in &planned {
        if path.exists() {
            if !options.force {
                return Err(InitError::Exists { path: path.clone() });
            }
            existing.push(path.clone());
        }
    }
    // The pre-commit config is planned last: it is the only one whose contents depend on what
    // is already there, and it must be checked before anything is written.
    let pre_commit = if options.pre_commit {
        let path = dir.join(PRE_COMMIT_CONFIG);
        let current = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(InitError::Io { path, source }),
        };
        let planned =
            pre_commit_config(current.as_deref()).map_err(|reason| InitError::PreCommitConfig {
                path: path.clone(),
                reason,
            })?;
        Some((path, current.is_some(), planned))
    } else {
        None
    };

    let mut written = Vec::new();
    for (path, text) in planned {
        write(&path, &text)?;
        let outcome = if existing.contains(&path) {
            Outcome::Replaced
        } else {
            Outcome::Created
        };
        written.push(Written { path, outcome });
    }
    if let Some((path, existed, text)) = pre_commit {
        let outcome = match (existed, text) {
            (_, None) => Outcome::Unchanged,
            (existed, Some(text)) => {
                write(&path, &text)?;
                if existed {
                    Outcome::Extended
                } else {
                    Outcome::Created
                }
            }
        };
        written.push(Written { path, outcome });
    }
    Ok(written)
}

fn write(path: &Path, text: &str) -> Result<(), InitError> {
    let io = |source| InitError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, text).map_err(io)
}

/// The GitHub repository of the action, `owner/name`, from the crate's repository URL.
fn action() -> &'static str {
    env!("CARGO_PKG_REPOSITORY")
        .trim_end_matches('/')
        .trim_start_matches("https://github.com/")
}

/// Fills a template's placeholders.
fn fill(template: &str) -> String {
    template
        .replace("@REPOSITORY@", env!("CARGO_PKG_REPOSITORY"))
        .replace("@ACTION@", action())
        .replace("@VERSION@", env!("CARGO_PKG_VERSION"))
}

/// The GitHub Actions workflow `--github` writes.
pub fn github_workflow() -> String {
    fill(include_str!("init/github-workflow.yml"))
}

/// The GitLab CI job `--gitlab` writes.
pub fn gitlab_job() -> String {
    fill(include_str!("init/gitlab-ci.yml"))
}

/// The `repos:` entry that runs the palisade hook.
pub fn pre_commit_entry() -> String {
    fill(include_str!("init/pre-commit-repo.yaml"))
}

/// The new text of the pre-commit config: a new file, or `current` with the palisade hook's
/// repository added to its `repos`; `None` when it already runs a palisade hook.
pub fn pre_commit_config(current: Option<&str>) -> Result<Option<String>, String> {
    let Some(current) = current.filter(|t| !t.trim().is_empty()) else {
        return Ok(Some(format!(
            "{}{}",
            fill(include_str!("init/pre-commit-config.yaml")),
            pre_commit_entry()
        )));
    };
    let docs = YamlLoader::load_from_str(current).map_err(|e| format!("not valid YAML: {e}"))?;
    let Some(Yaml::Hash(top)) = docs.first() else {
        return Err("not a mapping with `repos`".to_string());
    };
    let repos = match top.get(&Yaml::String("repos".into())) {
        Some(Yaml::Array(repos)) => repos,
        Some(_) => return Err("`repos` is not a list".to_string()),
        None => return Err("it has no `repos` list".to_string()),
    };
    if repos.iter().any(runs_palisade) {
        return Ok(None);
    }
    let extended = insert_repo(current)?;
    let reparsed = YamlLoader::load_from_str(&extended)
        .ok()
        .and_then(|docs| docs.into_iter().next());
    let added = reparsed.as_ref().is_some_and(|doc| {
        matches!(&doc["repos"], Yaml::Array(r) if r.len() == repos.len() + 1 && r.iter().any(runs_palisade))
    });
    if added {
        Ok(Some(extended))
    } else {
        Err("its `repos` list is not in block style, so the entry cannot be added safely".into())
    }
}

/// Whether a `repos:` entry runs one of palisade's hooks.
fn runs_palisade(repo: &Yaml) -> bool {
    matches!(&repo["hooks"], Yaml::Array(hooks) if hooks.iter().any(|h| {
        matches!(h["id"].as_str(), Some("palisade" | "palisade-system"))
    }))
}

/// `text` with the palisade entry appended to its block-style `repos:` list, indented as the
/// list's items are (the text is edited, not re-serialized, so comments and layout stay).
fn insert_repo(text: &str) -> Result<String, String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_end() == "repos:")
        .ok_or("its `repos` list is not in block style, so the entry cannot be added safely")?;
    let indent = lines[start + 1..]
        .iter()
        .find(|l| l.trim_start().starts_with("- "))
        .map_or(2, |l| l.len() - l.trim_start().len());
    // The list ends before the next top-level key; trailing blank and comment lines stay after
    // the new entry.
    let mut end = start + 1;
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let top_level_key = !line.starts_with([' ', '\t', '#', '-']) && !line.trim().is_empty();
        if top_level_key {
            break;
        }
        if !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            end = i + 1;
        }
    }
    let entry: String = pre_commit_entry()
        .lines()
        .map(|l| format!("{}{}\n", " ".repeat(indent), &l[2..]))
        .collect();
    let mut out = String::new();
    for line in &lines[..end] {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&entry);
    for line in &lines[end..] {
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

/// The commented `palisade.toml`: every setting, every built-in pack and rule, commented out.
///
/// Prose comments never look like `key = value`, so uncommenting every `# key = …` and
/// `# [table]` line gives a valid config (the tests do exactly that).
pub fn config(packs: &[PackRules]) -> String {
    let mut out = String::from(CONFIG_HEAD);
    out.push_str(
        "\n# ---- Built-in packs ------------------------------------------------------------\n\
         # Each pack can be turned off, given its own caps and enforcement, and configured.\n",
    );
    for pack in packs {
        let _ = write!(
            out,
            "\n# [packs.{}]\n# enabled = true\n# enforcement = \"soft-mandatory\"\n",
            pack.name
        );
    }
    out.push_str(
        "\n# ---- Rules -------------------------------------------------------------------\n\
         # Per rule: turn it off (enabled = false), change its severity, or its enforcement.\n\
         # `palisade explain RULE` says what a rule checks and how to fix what it finds.\n",
    );
    for pack in packs {
        let _ = writeln!(out, "\n# Pack `{}`:", pack.name);
        for rule in &pack.rules {
            let _ = write!(
                out,
                "# [rules.\"{}\"]  # {}\n# severity = \"{}\"\n",
                rule.id,
                rule.title.replace('\n', " "),
                rule.severity
            );
        }
    }
    out.push_str(CONFIG_TAIL);
    out
}

const CONFIG_HEAD: &str = r#"# palisade.toml: how Palisade checks this repository. Written by `palisade init`.
#
# Every setting below is commented out and shows its default or an example: uncomment a line
# to use it. `palisade rules` lists the loaded rules with their severities.

# The lowest severity that fails a scan (exit code 1): info, low, medium, high or critical.
# fail-on = "low"

# How findings fail the scan, unless a pack or a rule says otherwise:
#   advisory: reported, never fails the scan;
#   soft-mandatory: fails, unless overridden for one run (--override RULE --reason "why");
#   hard-mandatory: fails, and cannot be overridden.
# enforcement = "soft-mandatory"

# Run the packs built into palisade (listed below).
# default-packs = true

# Caps for every plugin run and input file.
# [limits]
# memory-mib = 256
# timeout-seconds = 10
# max-findings = 100000
# max-file-mib = 16
# max-image-mib = 8192
# max-image-entries = 2000000

# More plugins, from WebAssembly components (paths relative to this file).
# [[plugins]]
# path = "policies/naming.wasm"
"#;

const CONFIG_TAIL: &str = r#"
# ---- Waivers -------------------------------------------------------------------
# An exception with an owner and an expiry: matching findings are reported as suppressed (JSON
# and SARIF still list them, for audits) and stop failing the scan. Once expired, a waiver
# suppresses nothing and the scan warns. Give `resource`, `path` (a glob), or both.
# [[waivers]]
# rule = "k8s/run-as-root"
# resource = "Deployment/shop/legacy"
# path = "legacy/**"
# owner = "shop-team@example.com"
# reason = "Vendor image that needs root; ticket SEC-123"
# expires = 2027-01-31

# ---- Signed registry -----------------------------------------------------------
# Packs from your organisation's signed registry, pinned by `palisade lock` in palisade.lock.
# Replace the example root key with your security team's keys. Give the registry by `url`, or
# by a directory: path = "../registry".
# [registry]
# url = "https://plugins.example.com/palisade/"
# root-keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILM+rvN+ot98qgEN796jTiQfZfG1KaT0PtFDJ/XFSqti security-1"]
# threshold = 1
#
# [registry.plugins]
# "platform/k8s-extra" = "^1.2"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_is_added_to_a_block_list_keeping_comments() {
        let current = "# mine\nrepos:\n- repo: https://example.com/hooks\n  rev: v1\n  hooks:\n  - id: lint\n\n# trailing\ndefault_stages: [pre-commit]\n";
        let extended = pre_commit_config(Some(current))
            .expect("extends")
            .expect("changed");
        assert!(extended.starts_with("# mine\nrepos:\n- repo: https://example.com/hooks\n"));
        assert!(
            extended.contains("\n- repo: https://github.com/"),
            "{extended}"
        );
        assert!(extended.ends_with("\n# trailing\ndefault_stages: [pre-commit]\n"));
        assert_eq!(pre_commit_config(Some(&extended)), Ok(None));
    }

    #[test]
    fn a_flow_style_list_is_refused_not_mangled() {
        let error = pre_commit_config(Some("repos: [{repo: local, hooks: []}]\n")).unwrap_err();
        assert!(error.contains("block style"), "{error}");
        assert!(pre_commit_config(Some("repos: 3\n")).is_err());
        assert!(pre_commit_config(Some("- a\n")).is_err());
    }
}
