//! Every rule against its `fail` and `pass` fixtures, lines and severities included, and the
//! whole pack against a hardened application.
//!
//! A marker may name the severity a finding has when it differs from the rule's default:
//! `# expect: k8s/host-path-volume (critical)`. Markers without one expect the default.

use std::path::Path;

use palisade_pack_kubernetes::Kubernetes;
use palisade_sdk::Policy;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");

#[test]
fn every_rule_matches_its_fixtures() {
    palisade_sdk::testing::check_fixtures::<Kubernetes>(FIXTURES);
}

#[test]
fn every_finding_has_the_severity_its_marker_names() {
    let mut problems = Vec::new();
    for rule in Kubernetes::RULES {
        let path = Path::new(FIXTURES).join(rule.id).join("fail.yaml");
        let text = std::fs::read_to_string(&path).expect("every rule has a fail.yaml");
        let findings = palisade_sdk::testing::run_file::<Kubernetes>(&path, "{}")
            .expect("the fail fixture normalizes");
        for finding in findings.iter().filter(|f| f.rule == rule.id) {
            let line = text.lines().nth(finding.line as usize - 1).unwrap_or("");
            let want = marked_severity(line, rule.id);
            let got = finding.severity.map(|s| s.as_str());
            if got != want {
                problems.push(format!(
                    "{}:{}: {} is {got:?}, marker says {want:?}",
                    path.display(),
                    finding.line,
                    finding.message
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "severity mismatches:\n{}",
        problems.join("\n")
    );
}

/// The `(severity)` written after `rule` in a line's `expect:` marker.
fn marked_severity<'a>(line: &'a str, rule: &str) -> Option<&'a str> {
    let (_, marker) = line.split_once("expect:")?;
    let mut tokens = marker.split([',', ' ']).filter(|t| !t.is_empty());
    tokens.find(|t| *t == rule)?;
    tokens.next()?.strip_prefix('(')?.strip_suffix(')')
}

#[test]
fn a_hardened_application_has_no_findings() {
    let path = Path::new(FIXTURES).join("hardened.yaml");
    let findings = palisade_sdk::testing::run_file::<Kubernetes>(&path, "{}")
        .expect("hardened.yaml normalizes");
    assert!(findings.is_empty(), "unexpected findings: {findings:#?}");
}
