//! The configuration rules against their fixtures: bare OCI image configuration files
//! (`fixtures/<rule-id>/{fail,pass}*.config.json`), normalized by the host's own normalizer
//! into an `image/config` resource, with the lines each `fail` fixture must be reported at in
//! its `.expect` sidecar (JSON has no comments). A `pass` fixture must have no finding of any
//! rule: each is a hardened image but for what its rule's `fail` fixture shows.
//!
//! The rules over the file tree and the manifest need a whole image, which a fixture file
//! cannot hold; their cases are unit tests beside each rule, and the host's tests scan real
//! images with the whole pack.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use palisade_pack_image::Image;
use palisade_sdk::testing::{expectations, fixtures, run_file};
use palisade_sdk::{Policy, image};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");

/// The rules a configuration file can show: those judging `image/config`.
fn config_rules() -> impl Iterator<Item = &'static palisade_sdk::Rule> {
    Image::RULES
        .iter()
        .filter(|rule| rule.kinds == image::CONFIG_KINDS)
}

#[test]
fn every_config_rule_has_fixtures_and_only_those_do() {
    let mut problems = String::new();
    for rule in Image::RULES {
        let dir = Path::new(FIXTURES).join(rule.id);
        let has = |stem| !fixtures(&dir, stem).is_empty();
        let wanted = rule.kinds == image::CONFIG_KINDS;
        for stem in ["fail", "pass"] {
            if has(stem) != wanted {
                let _ = writeln!(
                    problems,
                    "{}: {stem} fixtures {}",
                    rule.id,
                    if wanted {
                        "missing"
                    } else {
                        "for a rule no config shows"
                    }
                );
            }
        }
        for path in fixtures(&dir, "fail") {
            let has_sidecar = Path::new(&format!("{}.expect", path.display())).exists();
            if !has_sidecar {
                let _ = writeln!(problems, "{}: no .expect sidecar", path.display());
            }
        }
    }
    assert!(problems.is_empty(), "{problems}");
}

#[test]
fn every_config_rule_matches_its_fixtures() {
    let mut problems = String::new();
    for rule in config_rules() {
        let dir = Path::new(FIXTURES).join(rule.id);
        for (stem, must_fire) in [("fail", true), ("pass", false)] {
            for path in fixtures(&dir, stem) {
                if let Err(problem) = check(rule.id, &path, must_fire) {
                    let _ = writeln!(problems, "{problem}");
                }
            }
        }
    }
    assert!(problems.is_empty(), "fixture mismatches:\n{problems}");
}

/// A `fail` fixture must make `rule` fire exactly at its sidecar's lines; a `pass` fixture
/// must make no rule fire.
fn check(rule: &str, path: &Path, must_fire: bool) -> Result<(), String> {
    let name = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    let findings = run_file::<Image>(path, "{}").map_err(|e| format!("{rule}: {e}"))?;
    let shown = |only_rule: bool| {
        findings
            .iter()
            .filter(|f| !only_rule || f.rule == rule)
            .map(|f| format!("    line {}: {} ({})", f.line, f.message, f.rule))
            .collect::<Vec<_>>()
            .join("\n")
    };
    if !must_fire {
        return if findings.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{name}: expected no findings, got\n{}",
                shown(false)
            ))
        };
    }
    let want = expectations(path, &text, rule)?;
    if want.is_empty() {
        return Err(format!("{name}: the sidecar names no line for {rule}"));
    }
    let got: BTreeSet<u32> = findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| f.line)
        .collect();
    if got != want {
        return Err(format!(
            "{name}: expected {rule} at lines {want:?}, got {got:?}\n{}",
            shown(true)
        ));
    }
    Ok(())
}
