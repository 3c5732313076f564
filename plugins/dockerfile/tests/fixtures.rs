//! Every rule against its `fail` and `pass` fixtures, lines and severities included, the whole
//! pack against a hardened Dockerfile, and a few cases one fixture per rule cannot hold.
//!
//! Dockerfiles have no trailing comments, so a marker is a comment line of its own, directly
//! above the line the finding is reported at: `# expect: docker/run-as-root`. A marker may name
//! the severity a finding has when it differs from the rule's default:
//! `# expect: docker/run-as-root (critical)`. Markers without one expect the default.

use std::path::Path;

use palisade_pack_dockerfile::Dockerfile;
use palisade_sdk::Policy;
use palisade_sdk::testing::{TestFinding, run_text};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");

#[test]
fn every_rule_matches_its_fixtures() {
    palisade_sdk::testing::check_fixtures::<Dockerfile>(FIXTURES);
}

#[test]
fn every_finding_has_the_severity_its_marker_names() {
    let mut problems = Vec::new();
    for rule in Dockerfile::RULES {
        let path = Path::new(FIXTURES).join(rule.id).join("fail.Dockerfile");
        let text = std::fs::read_to_string(&path).expect("every rule has a fail.Dockerfile");
        let findings = palisade_sdk::testing::run_file::<Dockerfile>(&path, "{}")
            .expect("the fail fixture normalizes");
        for finding in findings.iter().filter(|f| f.rule == rule.id) {
            // The marker sits on the line above the finding.
            let line = text.lines().nth(finding.line as usize - 2).unwrap_or("");
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
fn a_hardened_dockerfile_has_no_findings() {
    let path = Path::new(FIXTURES).join("hardened.Dockerfile");
    let findings = palisade_sdk::testing::run_file::<Dockerfile>(&path, "{}")
        .expect("hardened.Dockerfile normalizes");
    assert!(findings.is_empty(), "unexpected findings: {findings:#?}");
}

/// The findings of one rule on a Dockerfile given inline, as (line, message).
fn findings(rule: &str, text: &str) -> Vec<(u32, String)> {
    run_text::<Dockerfile>("Dockerfile", text, "{}")
        .expect("the Dockerfile normalizes")
        .into_iter()
        .filter(|f: &TestFinding| f.rule == rule)
        .map(|f| (f.line, f.message))
        .collect()
}

#[test]
fn a_final_stage_without_user_is_reported_at_its_from_line() {
    let text = "FROM golang:1.23 AS build\nRUN go build ./...\n\nFROM debian:12-slim\nCOPY --from=build /app /app\n";
    assert_eq!(
        findings("docker/run-as-root", text),
        [(
            4,
            "the final stage sets no USER, so the container runs as the base image's user, \
             which is root for most images"
                .to_owned()
        )]
    );
}

#[test]
fn a_user_inherited_from_an_earlier_stage_counts() {
    let root = "FROM debian:12 AS base\nUSER root\nFROM base\nRUN true\n";
    assert_eq!(
        findings("docker/run-as-root", root),
        [(2, "the final stage runs as `root`".to_owned())]
    );
    let app = "FROM debian:12 AS base\nUSER app\nFROM base\nRUN true\n";
    assert_eq!(findings("docker/run-as-root", app), []);
}

#[test]
fn healthcheck_none_is_a_decision_not_an_omission() {
    let text = "FROM nginx:1.27\nHEALTHCHECK NONE\nUSER nginx\n";
    assert_eq!(findings("docker/missing-healthcheck", text), []);
    // The health check may be in the stage the final one is built from: not judged.
    let derived = "FROM nginx:1.27 AS base\nHEALTHCHECK CMD curl -f http://localhost/\nFROM base\n";
    assert_eq!(findings("docker/missing-healthcheck", derived), []);
}

#[test]
fn secrets_never_appear_in_messages() {
    let text =
        "FROM alpine:3.20\nENV DB_PASSWORD=hunter2 URL=https://u:hunter2@x/\nARG API_KEY=hunter2\n";
    let all = findings("docker/secret-in-env-or-arg", text);
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(
        all.iter().all(|(_, message)| !message.contains("hunter2")),
        "{all:?}"
    );
}

#[test]
fn only_the_final_stage_is_judged_for_the_running_image() {
    let text = "FROM debian:12 AS build\nRUN make\nFROM debian:12 AS unused\nUSER 1000\nHEALTHCHECK NONE\n";
    assert_eq!(findings("docker/run-as-root", text), []);
    assert_eq!(findings("docker/missing-healthcheck", text), []);
}
