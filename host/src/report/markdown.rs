//! A Markdown pull request comment (and GitHub job summary): a pass/fail headline, counts by
//! severity, a table of the findings that count, each rule's fix in a collapsed section, the
//! suppressed and overridden findings in another, and the errors.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::plural;
use crate::findings::{Enforcement, Finding, Severity, SuppressionKind};
use crate::scan::ScanReport;

/// Escapes text for a table cell: `|` would end the cell and a line break the row.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace(['\n', '\r'], "<br>")
}

fn place(f: &Finding) -> String {
    match (f.line, &f.detail) {
        (0, Some(detail)) => format!("`{}` ({detail})", f.file),
        (0, None) => format!("`{}`", f.file),
        (line, _) => format!("`{}:{line}`", f.file),
    }
}

fn overridden<'a>(report: &'a ScanReport, f: &Finding) -> Option<&'a str> {
    (f.enforcement == Enforcement::SoftMandatory)
        .then(|| report.overrides.iter().find(|o| o.rule == f.rule))
        .flatten()
        .map(|o| o.reason.as_str())
}

/// The report as a Markdown comment body.
pub fn markdown(report: &ScanReport) -> String {
    let mut out = String::new();
    let failing = report.findings.iter().filter(|f| report.fails(f)).count();
    let s = &report.summary;
    let headline = if !report.errors.is_empty() {
        format!(
            "## ⚠️ Palisade: the scan had {} — it is incomplete",
            plural(report.errors.len(), "error")
        )
    } else if failing > 0 {
        format!(
            "## ❌ Palisade: {} at or above {} fail the scan",
            plural(failing, "finding"),
            s.fail_on
        )
    } else {
        format!(
            "## ✅ Palisade: no finding fails the scan (threshold: {})",
            s.fail_on
        )
    };
    let _ = writeln!(out, "{headline}\n");
    let _ = writeln!(
        out,
        "{} in {} and {}; {}, {} suppressed.\n",
        plural(s.resources, "resource"),
        plural(s.files, "file"),
        plural(s.images, "image"),
        plural(s.findings, "finding"),
        s.suppressed
    );
    out.push_str("| Severity | Findings |\n|---|---:|\n");
    for severity in Severity::ALL.iter().rev() {
        let n = s.by_severity.get(severity).copied().unwrap_or(0);
        let _ = writeln!(out, "| {severity} | {n} |");
    }
    let listed: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.is_active() && overridden(report, f).is_none())
        .collect();
    if !listed.is_empty() {
        out.push_str(
            "\n### Findings\n\n| Severity | Rule | Location | Message |\n|---|---|---|---|\n",
        );
        for f in &listed {
            let mut message = f.message.clone();
            if f.enforcement == Enforcement::Advisory {
                message.push_str(" (advisory)");
            }
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} |",
                f.severity,
                cell(&f.rule),
                cell(&place(f)),
                cell(&message)
            );
        }
        let rules: BTreeSet<&str> = listed.iter().map(|f| f.rule.as_str()).collect();
        let _ = writeln!(
            out,
            "\n<details><summary>How to fix ({})</summary>\n",
            plural(rules.len(), "rule")
        );
        for id in rules {
            let Some(rule) = report.rules.get(id) else {
                continue;
            };
            let _ = writeln!(out, "#### `{id}`: {}\n", rule.rule.title);
            if !rule.rule.remediation.is_empty() {
                let _ = writeln!(out, "{}\n", rule.rule.remediation);
            }
            if let Some(uri) = &rule.rule.help_uri {
                let _ = writeln!(out, "[More about `{id}`]({uri})\n");
            }
        }
        out.push_str("</details>\n");
    }
    let exempt: Vec<(&Finding, String)> = report
        .findings
        .iter()
        .filter_map(|f| {
            let why = match (&f.suppression, overridden(report, f)) {
                (Some(s), _) => {
                    let kind = match s.kind {
                        SuppressionKind::Inline => "inline",
                        SuppressionKind::Waiver => "waiver",
                        SuppressionKind::Baseline => "baseline",
                    };
                    let mut why = format!("{kind} ({}): {}", s.source, s.reason);
                    if let Some(owner) = &s.owner {
                        why.push_str(&format!("; owner {owner}"));
                    }
                    if let Some(expires) = &s.expires {
                        why.push_str(&format!("; expires {expires}"));
                    }
                    why
                }
                (None, Some(reason)) => format!("overridden for this run: {reason}"),
                (None, None) => return None,
            };
            Some((f, why))
        })
        .collect();
    if !exempt.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>Suppressed and overridden ({})</summary>\n\n| Severity | Rule | Location | Message | Why |\n|---|---|---|---|---|",
            exempt.len()
        );
        for (f, why) in &exempt {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {} |",
                f.severity,
                cell(&f.rule),
                cell(&place(f)),
                cell(&f.message),
                cell(why)
            );
        }
        out.push_str("\n</details>\n");
    }
    if !report.errors.is_empty() {
        out.push_str("\n### Errors\n\n");
        for e in &report.errors {
            let place = match (&e.file, e.line, &e.plugin) {
                (Some(file), Some(line), _) => format!("`{file}:{line}`: "),
                (Some(file), None, _) => format!("`{file}`: "),
                (None, _, Some(plugin)) => format!("plugin `{plugin}`: "),
                (None, _, None) => String::new(),
            };
            let _ = writeln!(out, "- {place}{}", e.message.replace('\n', " "));
        }
    }
    if !report.warnings.is_empty() {
        out.push_str("\n### Warnings\n\n");
        for w in &report.warnings {
            let place = match (&w.file, w.line) {
                (Some(file), Some(line)) => format!("`{file}:{line}`: "),
                (Some(file), None) => format!("`{file}`: "),
                (None, _) => String::new(),
            };
            let _ = writeln!(out, "- {place}{}", w.message.replace('\n', " "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_escape_pipes_and_line_breaks() {
        assert_eq!(cell("a|b\nc\r\nd"), "a\\|b<br>c<br>d");
    }
}
