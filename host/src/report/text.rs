//! The human report: findings grouped by file, each with its source line and the fix.
//!
//! ```text
//! examples/kubernetes/web.yaml
//!   critical k8s/privileged-container: container `web` runs privileged
//!     --> examples/kubernetes/web.yaml:31:13 (Deployment/prod/web)
//!      |
//!   31 |             privileged: true
//!      |             ^^^^^^^^^^^^^^^^
//!      = fix: Remove `securityContext.privileged: true` (or set it to `false`).
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;

use super::plural;
use crate::findings::{Enforcement, Severity};
use crate::scan::ScanReport;

/// Whether to color the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Color,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        match self {
            Style::Plain => text.to_string(),
            Style::Color => format!("\x1b[{code}m{text}\x1b[0m"),
        }
    }

    fn severity(self, severity: Severity) -> String {
        let code = match severity {
            Severity::Critical => "1;35",
            Severity::High => "1;31",
            Severity::Medium => "1;33",
            Severity::Low => "1;34",
            Severity::Info => "1;36",
        };
        self.paint(code, severity.as_str())
    }
}

/// Renders the report; `source` returns a file's text (for the snippet) by its report path.
pub fn text(report: &ScanReport, style: Style, source: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut sources: HashMap<&str, Option<Vec<String>>> = HashMap::new();
    let mut current_file = None;
    // Suppressed findings are counted in the summary line; the JSON and SARIF reports list them.
    for finding in report.findings.iter().filter(|f| f.is_active()) {
        if current_file != Some(finding.file.as_str()) {
            if current_file.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "{}", style.paint("1;4", &finding.file));
            current_file = Some(finding.file.as_str());
        }
        let lines = sources.entry(finding.file.as_str()).or_insert_with(|| {
            // An image has no source text to quote.
            (finding.line > 0)
                .then(|| source(&finding.file))
                .flatten()
                .map(|t| t.lines().map(str::to_string).collect())
        });
        let gutter = finding.line.to_string().len().max(2);
        let pad = " ".repeat(gutter);
        let enforcement = match finding.enforcement {
            Enforcement::Advisory => " (advisory)".to_string(),
            Enforcement::SoftMandatory
                if report.overrides.iter().any(|o| o.rule == finding.rule) =>
            {
                " (overridden)".to_string()
            }
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {} {}{enforcement}: {}",
            style.severity(finding.severity),
            style.paint("1", &finding.rule),
            finding.message
        );
        let place = match (&finding.detail, finding.line) {
            (Some(detail), 0) => detail.clone(),
            (_, 0) => finding.file.clone(),
            _ => format!("{}:{}:{}", finding.file, finding.line, finding.column),
        };
        let _ = writeln!(out, "  {pad} --> {place} ({})", finding.resource);
        if let Some(line) = lines
            .as_ref()
            .filter(|_| finding.line > 0)
            .and_then(|l| l.get(finding.line as usize - 1))
        {
            let (shown, offset, width) = snippet(line, finding.column);
            let _ = writeln!(out, "  {pad} |");
            let _ = writeln!(out, "  {:>gutter$} | {shown}", finding.line);
            let _ = writeln!(
                out,
                "  {pad} | {}{}",
                " ".repeat(offset),
                style.paint("1;31", &"^".repeat(width))
            );
        }
        if let Some(rule) = report.rules.get(&finding.rule) {
            if !rule.rule.remediation.is_empty() {
                let fix = rule
                    .rule
                    .remediation
                    .replace('\n', &format!("\n  {pad}   "));
                let _ = writeln!(out, "  {pad} = {} {fix}", style.paint("1", "fix:"));
            }
            if let Some(uri) = &rule.rule.help_uri {
                let _ = writeln!(out, "  {pad} = {} {uri}", style.paint("1", "see:"));
            }
        }
    }
    if !report.overrides.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "{}", style.paint("1;33", "overridden for this run:"));
        for o in &report.overrides {
            let _ = writeln!(out, "  {}: {}", o.rule, o.reason);
        }
    }
    if !report.warnings.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "{}", style.paint("1;33", "warnings:"));
        for w in &report.warnings {
            let place = match (&w.file, w.line) {
                (Some(file), Some(line)) => format!("{file}:{line}: "),
                (Some(file), None) => format!("{file}: "),
                (None, _) => String::new(),
            };
            let _ = writeln!(out, "  {place}{}", w.message);
        }
    }
    if !report.errors.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "{}", style.paint("1;31", "errors:"));
        for e in &report.errors {
            let place = e.place();
            let _ = writeln!(out, "  {place}{}", e.message);
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}

/// Most characters of a source line quoted; longer lines (minified JSON) are cut around the
/// column.
const SNIPPET_CHARS: usize = 100;

/// The part of `line` to quote, and where (in characters) and how wide the marker under the
/// value at 1-based character `column` goes.
fn snippet(line: &str, column: u32) -> (String, usize, usize) {
    let chars: Vec<char> = line.trim_end().chars().collect();
    let at = (column.max(1) as usize - 1).min(chars.len());
    let from = if chars.len() > SNIPPET_CHARS {
        at.saturating_sub(SNIPPET_CHARS / 5)
    } else {
        0
    };
    let to = chars.len().min(from + SNIPPET_CHARS);
    let mut shown = String::new();
    if from > 0 {
        shown.push('…');
    }
    shown.extend(&chars[from..to]);
    if to < chars.len() {
        shown.push('…');
    }
    let offset = usize::from(from > 0) + at - from;
    (shown, offset, to.saturating_sub(at).max(1))
}

fn summary_line(report: &ScanReport) -> String {
    let s = &report.summary;
    let counts: Vec<String> = s
        .by_severity
        .iter()
        .rev()
        .filter(|(_, n)| **n > 0)
        .map(|(sev, n)| format!("{n} {sev}"))
        .collect();
    let findings = match s.findings {
        0 => "no findings".to_string(),
        1 => format!("1 finding ({})", counts.join(", ")),
        n => format!("{n} findings ({})", counts.join(", ")),
    };
    let errors = match s.errors {
        0 => String::new(),
        1 => ", 1 error".to_string(),
        n => format!(", {n} errors"),
    };
    let suppressed = match s.suppressed {
        0 => String::new(),
        n => format!(", {n} suppressed"),
    };
    let warnings = match report.warnings.len() {
        0 => String::new(),
        1 => ", 1 warning".to_string(),
        n => format!(", {n} warnings"),
    };
    let outside_diff = match s.outside_diff {
        None | Some(0) => String::new(),
        Some(n) => format!(", {n} outside the diff"),
    };
    let images = match s.images {
        0 => String::new(),
        n => format!(" · {}", plural(n, "image")),
    };
    format!(
        "{findings}{suppressed}{outside_diff}{errors}{warnings} · {}{images} · {} · {} from {} · fail on {} and above",
        plural(s.files, "file"),
        plural(s.resources, "resource"),
        plural(s.rules, "rule"),
        plural(s.plugins, "plugin"),
        s.fail_on
    )
}

#[cfg(test)]
mod tests {
    use super::snippet;

    #[test]
    fn snippets_mark_the_value_by_characters() {
        // A multi-byte character before the value must not shift or break the marker.
        assert_eq!(
            snippet("  naïve: true  ", 10),
            ("  naïve: true".to_owned(), 9, 4)
        );
    }

    #[test]
    fn long_lines_are_cut_around_the_value() {
        let line = format!(
            "{{{}\"User\":\"root\"{}}}",
            "x".repeat(300),
            "y".repeat(300)
        );
        let (shown, offset, width) = snippet(&line, 302);
        assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
        assert_eq!(shown.chars().count(), 102);
        assert_eq!(
            shown.chars().skip(offset).take(6).collect::<String>(),
            "\"User\""
        );
        assert_eq!(offset + width, 101);
    }
}
