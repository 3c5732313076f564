//! GitLab Code Quality JSON (the Code Climate issue subset GitLab reads): the active findings,
//! shown in the merge request widget and the diff.
//!
//! Severity mapping: info → `info`, low → `minor`, medium → `major`, high → `critical`,
//! critical → `blocker`. Paths are relative to the repository root, as GitLab requires.
//! Suppressed findings are left out (the JSON and SARIF reports list them).

use std::collections::HashSet;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Context;
use crate::findings::Severity;
use crate::scan::ScanReport;

#[derive(Serialize)]
struct Issue<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    check_name: &'a str,
    description: String,
    categories: [&'static str; 1],
    severity: &'static str,
    fingerprint: String,
    location: Location,
}

#[derive(Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: u32,
}

fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Low => "minor",
        Severity::Medium => "major",
        Severity::High => "critical",
        Severity::Critical => "blocker",
    }
}

/// The active findings as a GitLab Code Quality report.
pub fn gitlab(report: &ScanReport, context: &Context) -> String {
    let mut seen = HashSet::new();
    let issues: Vec<Issue> = report
        .findings
        .iter()
        .filter(|f| f.is_active())
        .map(|finding| {
            // GitLab keeps one issue per fingerprint; two findings may share one (same rule,
            // file, resource and pointer, different messages), so a repeat is made distinct,
            // deterministically, from its place among the repeats.
            let mut fingerprint = finding.fingerprint.clone();
            let mut repeat = 1u32;
            while !seen.insert(fingerprint.clone()) {
                repeat += 1;
                let digest = Sha256::digest(format!("{}#{repeat}", finding.fingerprint));
                fingerprint = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
            }
            let mut description = format!("{} [{}]", finding.message, finding.resource);
            if let (Some(detail), 0) = (&finding.detail, finding.line) {
                description.push_str(&format!(" at {detail}"));
            }
            Issue {
                kind: "issue",
                check_name: &finding.rule,
                description,
                categories: ["Security"],
                severity: severity(finding.severity),
                fingerprint,
                location: Location {
                    path: context.locate(&finding.file).display(),
                    // An image has no lines; GitLab needs one, and the first is the file.
                    lines: Lines {
                        begin: finding.line.max(1),
                    },
                },
            }
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&issues).expect("issues always serialize");
    out.push('\n');
    out
}
