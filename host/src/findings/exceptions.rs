//! Exceptions, applied in order: inline `palisade:ignore` comments, then `palisade.toml`
//! waivers, then the baseline. A finding keeps the first that covers it, stays in the report,
//! and stops counting.

use std::path::Path;

use time::Date;

use crate::findings::baseline::Baseline;
use crate::findings::waivers::Waiver;
use crate::findings::{Finding, inline, waivers};
use crate::scan::{ScanError, ScanWarning};

/// What may keep findings from counting in one scan.
#[derive(Debug, Clone, Copy)]
pub struct Exceptions<'a> {
    /// The config's waivers.
    pub waivers: &'a [Waiver],
    /// The config file the waivers come from.
    pub config: Option<&'a Path>,
    /// Findings known before (`--baseline`).
    pub baseline: Option<&'a Baseline>,
    /// The day waivers are judged on (UTC).
    pub today: Date,
}

/// Applies every exception to the findings; returns the refused inline suppressions (errors)
/// and the warnings (unused suppressions, expired waivers).
pub fn apply(
    findings: &mut [Finding],
    exceptions: &Exceptions<'_>,
    known_rule: impl Fn(&str) -> bool,
) -> (Vec<ScanError>, Vec<ScanWarning>) {
    let (errors, mut warnings) =
        inline::apply(findings, |file| std::fs::read_to_string(file), known_rule);
    if !exceptions.waivers.is_empty() {
        let config = exceptions
            .config
            .map_or_else(|| crate::config::FILE_NAME.to_string(), display);
        warnings.extend(waivers::apply(
            findings,
            exceptions.waivers,
            &config,
            exceptions.today,
        ));
    }
    if let Some(baseline) = exceptions.baseline {
        baseline.apply(findings);
    }
    (errors, warnings)
}

/// A path as people should read it in a report: relative to the current directory when it is
/// inside it (a discovered config path is absolute), else as it is.
fn display(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| std::fs::canonicalize(cwd).ok())
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}
