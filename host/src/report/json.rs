//! The JSON report: `{"version", "schema", "findings", "errors", "warnings", "overrides",
//! "summary"}`.

use serde::Serialize;

use crate::findings::{Finding, Override};
use crate::scan::{ScanError, ScanReport, ScanWarning, Summary};

/// Bumped whenever a field changes meaning or disappears (new fields do not bump it).
pub const JSON_SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    version: &'static str,
    schema: u32,
    findings: &'a [Finding],
    errors: &'a [ScanError],
    warnings: &'a [ScanWarning],
    overrides: &'a [Override],
    summary: &'a Summary,
}

/// The report as a pretty-printed JSON document.
pub fn json(report: &ScanReport) -> String {
    let document = Document {
        version: env!("CARGO_PKG_VERSION"),
        schema: JSON_SCHEMA_VERSION,
        findings: &report.findings,
        errors: &report.errors,
        warnings: &report.warnings,
        overrides: &report.overrides,
        summary: &report.summary,
    };
    let mut out = serde_json::to_string_pretty(&document).expect("the report always serializes");
    out.push('\n');
    out
}
