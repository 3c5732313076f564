//! GitHub Actions workflow commands: one annotation per active finding, placed on its file and
//! line, and one per scan error.
//!
//! ```text
//! ::error file=deploy/web.yaml,line=26,col=13,endLine=26,title=k8s/privileged-container (critical)::container `web` runs privileged [Deployment/prod/web]
//! ```
//!
//! Severity mapping: critical and high → `error`, medium and low → `warning`, info → `notice`.
//! Suppressed findings are left out (the JSON, SARIF, JUnit and Markdown reports list them).
//! The job summary is the [`markdown`](super::markdown) report; the CLI appends it to the
//! file `$GITHUB_STEP_SUMMARY` names.

use std::fmt::Write as _;

use crate::findings::{Enforcement, Severity};
use crate::scan::ScanReport;

/// Escapes a command's message as GitHub's toolkit does (`escapeData`): `%`, CR and LF.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command property value as GitHub's toolkit does (`escapeProperty`): as
/// [`escape_data`], and `:` and `,`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

fn command(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Low => "warning",
        Severity::Info => "notice",
    }
}

/// The active findings and the errors as workflow commands, one per line.
pub fn github(report: &ScanReport) -> String {
    let mut out = String::new();
    for finding in report.findings.iter().filter(|f| f.is_active()) {
        let mut properties = vec![("file", finding.file.clone())];
        if finding.line > 0 {
            properties.push(("line", finding.line.to_string()));
            if finding.column > 0 {
                properties.push(("col", finding.column.to_string()));
            }
            properties.push(("endLine", finding.line.to_string()));
        }
        let mut title = format!("{} ({})", finding.rule, finding.severity);
        match finding.enforcement {
            Enforcement::Advisory => title.push_str(", advisory"),
            Enforcement::SoftMandatory
                if report.overrides.iter().any(|o| o.rule == finding.rule) =>
            {
                title.push_str(", overridden");
            }
            _ => {}
        }
        properties.push(("title", title));
        let mut message = format!("{} [{}]", finding.message, finding.resource);
        if let (Some(detail), 0) = (&finding.detail, finding.line) {
            message.push_str(&format!("\nat {detail}"));
        }
        if let Some(uri) = report
            .rules
            .get(&finding.rule)
            .and_then(|r| r.rule.help_uri.as_ref())
        {
            message.push_str(&format!("\nsee {uri}"));
        }
        write_command(&mut out, command(finding.severity), &properties, &message);
    }
    for error in &report.errors {
        let mut properties = Vec::new();
        if let Some(file) = &error.file {
            properties.push(("file", file.clone()));
            if let Some(line) = error.line.filter(|l| *l > 0) {
                properties.push(("line", line.to_string()));
            }
        }
        properties.push(("title", "palisade error".to_string()));
        let message = match &error.plugin {
            Some(plugin) => format!("plugin `{plugin}`: {}", error.message),
            None => error.message.clone(),
        };
        write_command(&mut out, "error", &properties, &message);
    }
    out
}

fn write_command(out: &mut String, name: &str, properties: &[(&str, String)], message: &str) {
    let properties: Vec<String> = properties
        .iter()
        .map(|(key, value)| format!("{key}={}", escape_property(value)))
        .collect();
    let _ = writeln!(
        out,
        "::{name} {}::{}",
        properties.join(","),
        escape_data(message)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_matches_the_toolkit() {
        assert_eq!(escape_data("100% a:b,c\r\nd"), "100%25 a:b,c%0D%0Ad");
        assert_eq!(escape_property("100% a:b,c\nd"), "100%25 a%3Ab%2Cc%0Ad");
    }
}
