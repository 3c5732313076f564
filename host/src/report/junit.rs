//! JUnit XML for CI test views: one `<testsuite>` per pack, one `<testcase>` per rule ×
//! resource with findings, and the scan's errors as `<error>` test cases in a `palisade` suite.
//!
//! A test case *fails* when one of its findings fails the scan; it is *skipped* when every one
//! of its findings is suppressed (the reason is the `<skipped>` text: the Jenkins JUnit schema
//! gives `<skipped>` no attributes); otherwise it passes, and its `<system-out>` says why the
//! findings do not fail (advisory, overridden, below the threshold). The output validates
//! against the Jenkins JUnit schema (`jenkins-junit.xsd`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::Context;
use crate::findings::{Enforcement, Finding, SuppressionKind};
use crate::scan::{ScanError, ScanReport};

/// One rule × resource and its findings.
struct Case<'a> {
    rule: &'a str,
    resource: &'a str,
    findings: Vec<&'a Finding>,
}

enum Outcome {
    Failed,
    Skipped,
    Passed,
}

impl Case<'_> {
    fn outcome(&self, report: &ScanReport) -> Outcome {
        if self.findings.iter().any(|f| report.fails(f)) {
            Outcome::Failed
        } else if self.findings.iter().all(|f| !f.is_active()) {
            Outcome::Skipped
        } else {
            Outcome::Passed
        }
    }

    fn name(&self) -> String {
        let first = self.findings[0];
        if first.line > 0 {
            format!("{} ({}:{})", self.resource, first.file, first.line)
        } else {
            format!("{} ({})", self.resource, first.file)
        }
    }
}

/// The report as a JUnit XML document.
pub fn junit(report: &ScanReport, context: &Context) -> String {
    let mut packs: BTreeMap<&str, BTreeMap<(&str, &str), Case>> = report
        .rules
        .values()
        .map(|r| (r.plugin.as_str(), BTreeMap::new()))
        .collect();
    for finding in &report.findings {
        packs
            .entry(finding.plugin.as_str())
            .or_default()
            .entry((finding.rule.as_str(), finding.resource.as_str()))
            .or_insert_with(|| Case {
                rule: &finding.rule,
                resource: &finding.resource,
                findings: Vec::new(),
            })
            .findings
            .push(finding);
    }
    let timestamp = context.started.map(|at| {
        let at = at.to_offset(time::UtcOffset::UTC);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        )
    });
    let mut suites = String::new();
    let (mut tests, mut failures) = (0, 0);
    for (pack, cases) in &packs {
        let outcomes: Vec<Outcome> = cases.values().map(|c| c.outcome(report)).collect();
        let failed = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Failed))
            .count();
        let skipped = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Skipped))
            .count();
        tests += cases.len();
        failures += failed;
        let _ = write!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"{skipped}\"",
            attr(pack),
            cases.len()
        );
        if let Some(timestamp) = &timestamp {
            let _ = write!(suites, " timestamp=\"{timestamp}\"");
        }
        suites.push_str(">\n    <properties>\n");
        let _ = writeln!(
            suites,
            "      <property name=\"fail-on\" value=\"{}\"/>",
            report.summary.fail_on
        );
        for o in &report.overrides {
            if report.rules.get(&o.rule).is_some_and(|r| r.plugin == *pack) {
                let _ = writeln!(
                    suites,
                    "      <property name=\"override:{}\" value=\"{}\"/>",
                    attr(&o.rule),
                    attr(&o.reason)
                );
            }
        }
        suites.push_str("    </properties>\n");
        for (case, outcome) in cases.values().zip(&outcomes) {
            write_case(&mut suites, report, case, outcome);
        }
        suites.push_str("  </testsuite>\n");
    }
    if !report.errors.is_empty() {
        tests += report.errors.len();
        let _ = write!(
            suites,
            "  <testsuite name=\"palisade\" tests=\"{n}\" failures=\"0\" errors=\"{n}\" skipped=\"0\"",
            n = report.errors.len()
        );
        if let Some(timestamp) = &timestamp {
            let _ = write!(suites, " timestamp=\"{timestamp}\"");
        }
        suites.push_str(">\n");
        for error in &report.errors {
            write_error(&mut suites, error);
        }
        suites.push_str("  </testsuite>\n");
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = write!(
        out,
        "<testsuites name=\"palisade\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{}\"",
        report.errors.len()
    );
    if let Some(duration) = context.duration {
        let _ = write!(out, " time=\"{:.3}\"", duration.as_secs_f64());
    }
    out.push_str(">\n");
    out.push_str(&suites);
    out.push_str("</testsuites>\n");
    out
}

fn write_case(out: &mut String, report: &ScanReport, case: &Case, outcome: &Outcome) {
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\"",
        attr(case.rule),
        attr(&case.name())
    );
    let details: Vec<String> = case.findings.iter().map(|f| describe(report, f)).collect();
    let mut body = details.join("\n");
    if let Some(rule) = report.rules.get(case.rule) {
        if !rule.rule.remediation.is_empty() {
            body.push_str(&format!("\n\nHow to fix: {}", rule.rule.remediation));
        }
        if let Some(uri) = &rule.rule.help_uri {
            body.push_str(&format!("\nMore: {uri}"));
        }
    }
    match outcome {
        Outcome::Failed => {
            let failing: Vec<&&Finding> =
                case.findings.iter().filter(|f| report.fails(f)).collect();
            let worst = failing
                .iter()
                .map(|f| f.severity)
                .max()
                .expect("a failed case has a failing finding");
            let message = match failing.as_slice() {
                [one] => one.message.clone(),
                [first, ..] => format!("{} findings; first: {}", failing.len(), first.message),
                [] => unreachable!("a failed case has a failing finding"),
            };
            let _ = writeln!(
                out,
                ">\n      <failure message=\"{}\" type=\"{worst}\">{}</failure>\n    </testcase>",
                attr(&message),
                text(&body)
            );
        }
        Outcome::Skipped => {
            let reasons: BTreeSet<String> = case
                .findings
                .iter()
                .filter_map(|f| f.suppression.as_ref())
                .map(|s| {
                    let kind = match s.kind {
                        SuppressionKind::Inline => "inline suppression",
                        SuppressionKind::Waiver => "waiver",
                        SuppressionKind::Baseline => "baseline",
                    };
                    let mut reason = format!("{kind} ({}): {}", s.source, s.reason);
                    if let Some(owner) = &s.owner {
                        reason.push_str(&format!("; owner {owner}"));
                    }
                    if let Some(expires) = &s.expires {
                        reason.push_str(&format!("; expires {expires}"));
                    }
                    reason
                })
                .collect();
            let reasons: Vec<String> = reasons.into_iter().collect();
            let _ = writeln!(
                out,
                ">\n      <skipped>{}</skipped>\n      <system-out>{}</system-out>\n    </testcase>",
                text(&reasons.join("\n")),
                text(&body)
            );
        }
        Outcome::Passed => {
            let _ = writeln!(
                out,
                ">\n      <system-out>{}</system-out>\n    </testcase>",
                text(&body)
            );
        }
    }
}

/// One finding as a line of a test case's details, with what the pipeline makes of it.
fn describe(report: &ScanReport, f: &Finding) -> String {
    let place = match (f.line, &f.detail) {
        (0, Some(detail)) => format!("{} ({detail})", f.file),
        (0, None) => f.file.clone(),
        _ => format!("{}:{}:{}", f.file, f.line, f.column),
    };
    let status = if let Some(s) = &f.suppression {
        format!(" [suppressed: {}]", s.reason)
    } else if report.fails(f) {
        String::new()
    } else if f.enforcement == Enforcement::Advisory {
        " [advisory: does not fail the scan]".to_string()
    } else if let Some(o) = report.overrides.iter().find(|o| o.rule == f.rule) {
        format!(" [overridden: {}]", o.reason)
    } else {
        format!(" [below --fail-on {}]", report.summary.fail_on)
    };
    format!("{} {place}: {}{status}", f.severity, f.message)
}

fn write_error(out: &mut String, error: &ScanError) {
    let (name, kind) = match (&error.file, error.line, &error.plugin) {
        (Some(file), Some(line), _) => (format!("{file}:{line}"), "input"),
        (Some(file), None, _) => (file.clone(), "input"),
        (None, _, Some(plugin)) => (format!("plugin {plugin}"), "plugin"),
        (None, _, None) => ("configuration".to_string(), "config"),
    };
    let _ = writeln!(
        out,
        "    <testcase classname=\"palisade\" name=\"{}\">\n      <error message=\"{}\" type=\"{kind}\">{}</error>\n    </testcase>",
        attr(&name),
        attr(&error.message),
        text(&error.message)
    );
}

/// Characters XML 1.0 cannot hold at all become U+FFFD.
fn xml_char(c: char) -> char {
    match c {
        '\t' | '\n' | '\r' => c,
        c if c < ' ' => '\u{FFFD}',
        '\u{FFFE}' | '\u{FFFF}' => '\u{FFFD}',
        c => c,
    }
}

/// Escapes element text.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().map(xml_char) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // A bare CR would be normalized away by parsers.
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes an attribute value; line breaks and tabs as references so parsers keep them.
fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().map(xml_char) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_xml_well_formed() {
        assert_eq!(attr("a\"<b>&\n\u{1}"), "a&quot;&lt;b&gt;&amp;&#10;\u{FFFD}");
        assert_eq!(text("x < y & \r"), "x &lt; y &amp; &#13;");
    }
}
