//! SARIF 2.1.0, shaped for GitHub code scanning: one run, every loaded rule in `tool.driver`,
//! one result per finding (suppressed ones carry `suppressions`), and the scan's errors as tool
//! execution notifications.
//!
//! Severity mapping (written once, used for rules and results):
//!
//! | severity | `level`   | `problem.severity` | `security-severity` |
//! |----------|-----------|--------------------|---------------------|
//! | critical | `error`   | `error`            | 9.5                 |
//! | high     | `error`   | `error`            | 8.0                 |
//! | medium   | `warning` | `warning`          | 5.5                 |
//! | low      | `warning` | `warning`          | 3.0                 |
//! | info     | `note`    | `recommendation`   | 1.0                 |
//!
//! GitHub buckets `security-severity` as critical above 9.0, high from 7.0, medium from 4.0 and
//! low below, so each severity lands in its own bucket (info shows as low, GitHub has no lower).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::{Context, SourcePath, uri_path};
use crate::findings::{Enforcement, Finding, Severity, SuppressionKind};
use crate::scan::{LoadedRule, ScanError, ScanReport, ScanWarning};

/// The `partialFingerprints` key of a finding's [`Finding::fingerprint`].
pub const SARIF_FINGERPRINT: &str = "palisade/v1";

/// The base id every in-repository URI is relative to.
const SRCROOT: &str = "%SRCROOT%";

/// The OASIS standard schema the document declares.
const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Where users learn about the tool.
const INFORMATION_URI: &str = "https://github.com/palisade-dev/palisade";

/// GitHub's `security-severity` of a severity (see the table above), as the decimal string
/// GitHub expects.
pub fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Low => "warning",
        Severity::Info => "note",
    }
}

fn problem_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Low => "warning",
        Severity::Info => "recommendation",
    }
}

/// The report as a SARIF 2.1.0 log; `source` returns a file's text by its report path (for
/// the snippets).
pub fn sarif(
    report: &ScanReport,
    context: &Context,
    source: impl Fn(&str) -> Option<String>,
) -> String {
    let rule_index: HashMap<&str, usize> = report
        .rules
        .keys()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let rules: Vec<Value> = report.rules.values().map(rule).collect();
    let mut sources: HashMap<&str, Option<Vec<String>>> = HashMap::new();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|finding| {
            let lines = sources.entry(finding.file.as_str()).or_insert_with(|| {
                (finding.line > 0)
                    .then(|| source(&finding.file))
                    .flatten()
                    .map(|t| t.lines().map(str::to_string).collect())
            });
            let line = lines
                .as_ref()
                .filter(|_| finding.line > 0)
                .and_then(|l| l.get(finding.line as usize - 1))
                .map(String::as_str);
            result(
                report,
                context,
                finding,
                rule_index.get(finding.rule.as_str()).copied(),
                line,
            )
        })
        .collect();
    let mut invocation = json!({
        "executionSuccessful": report.errors.is_empty(),
        "toolExecutionNotifications": report
            .errors
            .iter()
            .map(|e| notification(context, e))
            .chain(report.warnings.iter().map(|w| warning(context, w)))
            .collect::<Vec<_>>(),
    });
    if let (Some(started), Some(duration)) = (context.started, context.duration) {
        let end = started + duration;
        invocation["startTimeUtc"] = json!(utc(started));
        invocation["endTimeUtc"] = json!(utc(end));
    }
    let version = env!("CARGO_PKG_VERSION");
    let document = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "Palisade",
                    "version": version,
                    "semanticVersion": version,
                    "informationUri": INFORMATION_URI,
                    "rules": rules,
                }
            },
            "originalUriBaseIds": {
                SRCROOT: { "uri": context.root_uri() }
            },
            "invocations": [invocation],
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {
                "failOn": report.summary.fail_on.as_str(),
                "overrides": report
                    .overrides
                    .iter()
                    .map(|o| json!({ "rule": o.rule, "reason": o.reason }))
                    .collect::<Vec<_>>(),
                "summary": report.summary,
            },
        }]
    });
    let mut out = serde_json::to_string_pretty(&document).expect("SARIF values always serialize");
    out.push('\n');
    out
}

/// `2026-12-02T18:30:00Z`: SARIF wants UTC date-times.
fn utc(at: time::OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A rule descriptor: what GitHub shows on the alert page.
fn rule(loaded: &LoadedRule) -> Value {
    let info = &loaded.rule;
    let severity = loaded.effective_severity;
    let mut help_markdown = format!(
        "{}\n\n**How to fix**\n\n{}",
        info.description, info.remediation
    );
    let mut help_text = format!("{}\n\nHow to fix: {}", info.description, info.remediation);
    if let Some(uri) = &info.help_uri {
        help_markdown.push_str(&format!("\n\n[More about this rule]({uri})"));
        help_text.push_str(&format!("\n\nMore: {uri}"));
    }
    let mut tags = vec!["security".to_string()];
    for tag in &info.tags {
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    let mut descriptor = json!({
        "id": info.id,
        "name": rule_name(&info.id),
        "shortDescription": { "text": info.title },
        "fullDescription": { "text": info.description },
        "help": { "text": help_text, "markdown": help_markdown },
        "defaultConfiguration": {
            "level": level(severity),
            "enabled": loaded.enabled,
        },
        "properties": {
            "security-severity": security_severity(severity),
            "problem.severity": problem_severity(severity),
            // A rule reads declared configuration, so what it reports is exactly what is there.
            "precision": "high",
            "tags": tags,
            "severity": severity.as_str(),
            "pack": loaded.plugin,
            "kinds": info.kinds,
            "enforcement": loaded.enforcement.as_str(),
        },
    });
    if let Some(uri) = &info.help_uri {
        descriptor["helpUri"] = json!(uri);
    }
    descriptor
}

/// `k8s/privileged-container` → `K8sPrivilegedContainer`: SARIF rule names are identifiers.
fn rule_name(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn artifact_location(context: &Context, file: &str) -> Value {
    match context.locate(file) {
        SourcePath::InRoot(relative) => json!({
            "uri": uri_path(&relative),
            "uriBaseId": SRCROOT,
        }),
        SourcePath::Outside(path) => json!({ "uri": super::file_uri(&path) }),
    }
}

fn result(
    report: &ScanReport,
    context: &Context,
    finding: &Finding,
    rule_index: Option<usize>,
    line: Option<&str>,
) -> Value {
    let mut physical = Map::new();
    physical.insert(
        "artifactLocation".into(),
        artifact_location(context, &finding.file),
    );
    if finding.line > 0 {
        let mut region = Map::new();
        region.insert("startLine".into(), json!(finding.line));
        if finding.column > 0 {
            region.insert("startColumn".into(), json!(finding.column));
        }
        if let Some(line) = line {
            region.insert(
                "snippet".into(),
                json!({ "text": line.trim_end_matches('\r') }),
            );
        }
        physical.insert("region".into(), Value::Object(region));
    }
    let message = match (&finding.detail, finding.line) {
        (Some(detail), 0) => format!("{} (at {detail})", finding.message),
        _ => finding.message.clone(),
    };
    let override_reason = match finding.enforcement {
        Enforcement::SoftMandatory => report
            .overrides
            .iter()
            .find(|o| o.rule == finding.rule)
            .map(|o| o.reason.as_str()),
        _ => None,
    };
    let mut properties = json!({
        "severity": finding.severity.as_str(),
        "security-severity": security_severity(finding.severity),
        "resource": finding.resource,
        "kind": finding.kind,
        "pointer": finding.pointer,
        "pack": finding.plugin,
        "enforcement": finding.enforcement.as_str(),
        "failsScan": report.fails(finding),
    });
    if let Some(reason) = override_reason {
        properties["overridden"] = json!({ "reason": reason });
    }
    if let Some(detail) = &finding.detail {
        properties["detail"] = json!(detail);
    }
    let mut result = json!({
        "ruleId": finding.rule,
        "level": level(finding.severity),
        "message": { "text": message },
        "locations": [{
            "physicalLocation": physical,
            "logicalLocations": [{
                "fullyQualifiedName": finding.resource,
                "kind": "resource",
            }],
        }],
        "partialFingerprints": { SARIF_FINGERPRINT: finding.fingerprint },
        "properties": properties,
    });
    if let Some(index) = rule_index {
        result["ruleIndex"] = json!(index);
    }
    if let Some(suppression) = &finding.suppression {
        let kind = match suppression.kind {
            SuppressionKind::Inline => "inSource",
            SuppressionKind::Waiver | SuppressionKind::Baseline => "external",
        };
        let mut properties = json!({
            "palisadeKind": suppression.kind,
            "source": suppression.source,
        });
        if let Some(owner) = &suppression.owner {
            properties["owner"] = json!(owner);
        }
        if let Some(expires) = &suppression.expires {
            properties["expires"] = json!(expires);
        }
        result["suppressions"] = json!([{
            "kind": kind,
            "status": "accepted",
            "justification": suppression.reason,
            "properties": properties,
        }]);
    }
    result
}

fn notification(context: &Context, error: &ScanError) -> Value {
    let text = match &error.plugin {
        Some(plugin) => format!("plugin `{plugin}`: {}", error.message),
        None => error.message.clone(),
    };
    let mut notification = json!({
        "level": "error",
        "message": { "text": text },
    });
    if let Some(file) = &error.file {
        notification["locations"] = notification_locations(context, file, error.line);
    }
    if let Some(plugin) = &error.plugin {
        notification["properties"] = json!({ "plugin": plugin });
    }
    notification
}

/// A warning (an expired waiver, an unused suppression) as a `warning` notification.
fn warning(context: &Context, warning: &ScanWarning) -> Value {
    let mut notification = json!({
        "level": "warning",
        "message": { "text": warning.message },
    });
    if let Some(file) = &warning.file {
        notification["locations"] = notification_locations(context, file, warning.line);
    }
    notification
}

/// Where a notification points: a file, and a line when there is one.
fn notification_locations(context: &Context, file: &str, line: Option<u32>) -> Value {
    let mut physical = json!({ "artifactLocation": artifact_location(context, file) });
    if let Some(line) = line.filter(|l| *l > 0) {
        physical["region"] = json!({ "startLine": line });
    }
    json!([{ "physicalLocation": physical }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_are_identifiers() {
        assert_eq!(
            rule_name("k8s/privileged-container"),
            "K8sPrivilegedContainer"
        );
        assert_eq!(rule_name("aws/s3-public-access"), "AwsS3PublicAccess");
    }

    #[test]
    fn every_severity_lands_in_its_own_github_bucket() {
        let score = |s: Severity| security_severity(s).parse::<f64>().expect("a number");
        assert!(score(Severity::Critical) > 9.0);
        assert!((7.0..9.0).contains(&score(Severity::High)));
        assert!((4.0..7.0).contains(&score(Severity::Medium)));
        assert!((0.1..4.0).contains(&score(Severity::Low)));
        assert!(score(Severity::Info) < score(Severity::Low));
    }
}
