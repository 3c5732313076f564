//! Every rule of every built-in pack, end to end through the real binary: each `fail.*` fixture
//! makes its rule fire exactly at the marked lines (markers or `.expect` sidecars, the same ones
//! the packs' own native tests read), each `pass.*` fixture does not make it fire, and a pack's
//! `hardened.*` fixtures give no finding from any rule. Lines are the ones a user sees.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use palisade_sdk::testing::{expectations, fixtures};
use support::{finding_lines, scan_json, workspace};

/// A rule's fixture directory: `plugins/<pack>/fixtures/<rule-id>/`.
struct RuleDir {
    rule: String,
    dir: PathBuf,
}

/// Every directory under `fixtures` that holds `fail.*` fixtures, with its rule id (its path
/// relative to `fixtures`).
fn rule_dirs(fixtures_dir: &Path) -> Vec<RuleDir> {
    let mut out = Vec::new();
    let mut pending = vec![fixtures_dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("fixture dir reads")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        if !fixtures(&dir, "fail").is_empty() {
            let rule = dir
                .strip_prefix(fixtures_dir)
                .expect("below fixtures")
                .to_string_lossy()
                .replace('\\', "/");
            out.push(RuleDir {
                rule,
                dir: dir.clone(),
            });
        }
        pending.extend(entries.into_iter().filter(|p| p.is_dir()));
    }
    out.sort_by(|a, b| a.rule.cmp(&b.rule));
    out
}

/// `path` relative to the workspace, with `/` separators, as the binary displays it.
fn relative(path: &Path) -> String {
    path.strip_prefix(workspace())
        .expect("inside the workspace")
        .to_string_lossy()
        .replace('\\', "/")
}

#[test]
fn every_rule_fires_at_the_marked_lines_of_its_fixtures_through_the_binary() {
    let mut problems = Vec::new();
    let mut checked = 0;
    let mut packs: Vec<PathBuf> = std::fs::read_dir(workspace().join("plugins"))
        .expect("plugins/")
        .map(|e| e.expect("entry").path().join("fixtures"))
        .filter(|p| p.is_dir())
        .collect();
    packs.sort();
    assert!(
        packs.len() >= 3,
        "the built-in packs have fixtures: {packs:?}"
    );
    for pack in packs {
        let rules = rule_dirs(&pack);
        assert!(
            rules.iter().all(|r| !r.dir.join("config.json").exists()),
            "rule settings in fixtures are not supported by this test yet"
        );
        // The AWS pack's promise: every rule fires on the same misconfiguration written in
        // Terraform HCL, in plan JSON and in CloudFormation (all checked below).
        if pack.ends_with("aws/fixtures") {
            for rule in &rules {
                let names: Vec<String> = fixtures(&rule.dir, "fail")
                    .iter()
                    .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
                    .collect();
                for format in [".tf", ".plan.json", ".cfn."] {
                    assert!(
                        names
                            .iter()
                            .any(|n| n.ends_with(format) || n.contains(format)),
                        "{}: no fail fixture in {format} among {names:?}",
                        rule.rule
                    );
                }
            }
            assert!(rules.len() >= 13, "{} AWS rules have fixtures", rules.len());
        }
        // One scan per pack: every fixture file, each named explicitly (a Terraform file named
        // on the command line is a module of its own).
        let mut files: Vec<(String, &RuleDir, bool)> = Vec::new();
        for rule in &rules {
            for (stem, fails) in [("fail", true), ("pass", false)] {
                for path in fixtures(&rule.dir, stem) {
                    files.push((relative(&path), rule, fails));
                }
            }
        }
        let hardened: Vec<String> = std::fs::read_dir(&pack)
            .expect("fixtures/")
            .map(|e| e.expect("entry").path())
            .filter(|p| {
                p.is_file()
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("hardened."))
            })
            .map(|p| relative(&p))
            .collect();
        let args: Vec<&str> = files
            .iter()
            .map(|(f, _, _)| f.as_str())
            .chain(hardened.iter().map(String::as_str))
            .chain(["--fail-on", "info"])
            .collect();
        let (_, report, stderr) = scan_json(&args, &workspace());
        let errors = report["errors"].as_array().expect("errors");
        assert!(
            errors.is_empty(),
            "{}: errors {errors:#?}\n{stderr}",
            pack.display()
        );

        let mut found: BTreeMap<(String, String), BTreeSet<u64>> = BTreeMap::new();
        for (rule, file, line) in finding_lines(&report) {
            found.entry((file, rule)).or_default().insert(line);
        }
        for (file, rule, fails) in &files {
            let text = std::fs::read_to_string(workspace().join(file)).expect("fixture");
            let want: BTreeSet<u64> = if *fails {
                expectations(&workspace().join(file), &text, &rule.rule)
                    .expect("expectations parse")
                    .into_iter()
                    .map(u64::from)
                    .collect()
            } else {
                BTreeSet::new()
            };
            assert!(
                !*fails || !want.is_empty(),
                "{file}: a fail fixture without expectations"
            );
            let got = found
                .get(&(file.clone(), rule.rule.clone()))
                .cloned()
                .unwrap_or_default();
            if got != want {
                problems.push(format!(
                    "{file}: {} expected at {want:?}, reported at {got:?}",
                    rule.rule
                ));
            }
            checked += 1;
        }
        for file in &hardened {
            let any: Vec<_> = found.keys().filter(|(f, _)| f == file).collect();
            if !any.is_empty() {
                problems.push(format!("{file}: hardened, yet {any:?} fired"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked > 60, "only {checked} fixtures were checked");
}
