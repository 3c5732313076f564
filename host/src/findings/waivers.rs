//! Waivers: owned, time-boxed exceptions written in `palisade.toml`.
//!
//! ```toml
//! [[waivers]]
//! rule = "k8s/run-as-root"              # one rule id (no wildcards)
//! resource = "Deployment/shop/legacy"   # a resource id, and/or
//! path = "legacy/**"                    # a glob over the finding's file
//! owner = "shop-team@example.com"
//! reason = "Vendor image; ticket SEC-123"
//! expires = 2027-01-31                  # last day it applies (UTC)
//! ```
//!
//! Every field but one of `resource` / `path` is required, and a waiver missing any is refused
//! when the config loads. A waiver applies through its `expires` date; from the next day it
//! suppresses nothing and every scan warns about it, so an exception cannot quietly outlive
//! the reason it was granted for.

use globset::{Glob, GlobBuilder, GlobMatcher};
use serde::{Deserialize, Deserializer};
use time::{Date, Month};

use crate::findings::{Finding, Suppression, SuppressionKind};
use crate::scan::ScanWarning;

/// One `[[waivers]]` entry of `palisade.toml`, checked when the config loads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "WaiverEntry")]
pub struct Waiver {
    /// The rule id it waives.
    pub rule: String,
    /// Only findings of this resource id.
    pub resource: Option<String>,
    /// Only findings in files this glob matches: the file as reported, without a leading `./`;
    /// `*` stays within a directory, `**` crosses them.
    pub path: Option<Glob>,
    /// Who answers for it.
    pub owner: String,
    /// Why it is acceptable (never empty).
    pub reason: String,
    /// The last day (UTC) it applies.
    pub expires: Date,
    /// 1-based line of the entry in `palisade.toml` (0 when not read from a file).
    pub line: u32,
}

/// A waiver as written, before it is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverEntry {
    rule: Option<String>,
    resource: Option<String>,
    path: Option<String>,
    owner: Option<String>,
    reason: Option<String>,
    expires: Option<toml::Value>,
}

impl TryFrom<WaiverEntry> for Waiver {
    type Error = String;

    fn try_from(entry: WaiverEntry) -> Result<Waiver, String> {
        let label = describe(
            entry.rule.as_deref().unwrap_or("?"),
            entry.resource.as_deref(),
            entry.path.as_deref(),
        );
        let refuse = |what: &str| format!("{label} is refused: {what}");
        let required = |value: Option<String>, field: &str, why: &str| {
            value
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| refuse(&format!("`{field}` is required ({why})")))
        };
        let rule = required(entry.rule, "rule", "the rule id it waives")?;
        if rule.contains(|c: char| c == '*' || c.is_whitespace()) {
            return Err(refuse(
                "`rule` must be one rule id; wildcards are not allowed, so waive each rule on \
                 its own",
            ));
        }
        let owner = required(entry.owner, "owner", "who answers for the exception")?;
        let reason = required(entry.reason, "reason", "why the exception is acceptable")?;
        let expires = match entry.expires {
            None => {
                return Err(refuse(
                    "`expires` is required (the last day it applies, e.g. `expires = 2027-01-31`)",
                ));
            }
            Some(value) => parse_date(&value).map_err(|e| refuse(&e))?,
        };
        let resource = match entry.resource {
            Some(r) if r.trim().is_empty() => return Err(refuse("`resource` is empty")),
            other => other,
        };
        let path = match entry.path.as_deref().map(str::trim) {
            None => None,
            Some("") => return Err(refuse("`path` is empty")),
            Some(pattern) => Some(
                GlobBuilder::new(pattern.strip_prefix("./").unwrap_or(pattern))
                    .literal_separator(true)
                    .build()
                    .map_err(|e| refuse(&format!("`path` is not a valid glob: {e}")))?,
            ),
        };
        if resource.is_none() && path.is_none() {
            return Err(refuse(
                "give `resource` (a resource id) or `path` (a glob over files), or both; to \
                 waive a rule everywhere say so with `path = \"**\"`",
            ));
        }
        Ok(Waiver {
            rule,
            resource,
            path,
            owner,
            reason,
            expires,
            line: 0,
        })
    }
}

/// `expires`: a TOML local date (`2027-01-31`), or the same as a string.
fn parse_date(value: &toml::Value) -> Result<Date, String> {
    let invalid = || {
        format!(
            "`expires` must be a date like `expires = 2027-01-31`, without a time, got `{value}`"
        )
    };
    let (year, month, day) = match value {
        toml::Value::Datetime(datetime) => match (datetime.date, datetime.time) {
            (Some(date), None) => (i32::from(date.year), date.month, date.day),
            _ => return Err(invalid()),
        },
        toml::Value::String(text) => {
            let mut parts = text.trim().splitn(3, '-');
            let mut next = || parts.next().and_then(|p| p.parse::<u32>().ok());
            match (next(), next(), next()) {
                (Some(y), Some(m), Some(d)) => (
                    i32::try_from(y).map_err(|_| invalid())?,
                    u8::try_from(m).map_err(|_| invalid())?,
                    u8::try_from(d).map_err(|_| invalid())?,
                ),
                _ => return Err(invalid()),
            }
        }
        _ => return Err(invalid()),
    };
    let month = Month::try_from(month).map_err(|_| invalid())?;
    Date::from_calendar_date(year, month, day).map_err(|e| format!("`expires`: {e}"))
}

/// How a waiver is named in messages: its rule and what it is scoped to.
fn describe(rule: &str, resource: Option<&str>, path: Option<&str>) -> String {
    let mut label = format!("waiver of `{rule}`");
    if let Some(resource) = resource {
        label.push_str(&format!(" for resource `{resource}`"));
    }
    if let Some(path) = path {
        label.push_str(&format!(" on path `{path}`"));
    }
    label
}

/// Reads the `[[waivers]]` array, keeping where each entry starts in the file.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Waiver>, D::Error> {
    let spanned: Vec<toml::Spanned<Waiver>> = Vec::deserialize(deserializer)?;
    Ok(spanned
        .into_iter()
        .map(|s| {
            let start = s.span().start;
            let mut waiver = s.into_inner();
            // Turned into a line by `locate`, which has the text.
            waiver.line = u32::try_from(start).unwrap_or(u32::MAX);
            waiver
        })
        .collect())
}

/// Turns the byte offsets [`deserialize`] kept into 1-based lines of `text`.
pub fn locate(waivers: &mut [Waiver], text: &str) {
    for waiver in waivers {
        let offset = (waiver.line as usize).min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        waiver.line = u32::try_from(before.matches('\n').count() + 1).unwrap_or(u32::MAX);
    }
}

impl Waiver {
    /// Whether it has stopped applying: `today` is after its `expires` date.
    pub fn is_expired(&self, today: Date) -> bool {
        today > self.expires
    }

    /// Its rule and scope, for messages.
    pub fn label(&self) -> String {
        describe(
            &self.rule,
            self.resource.as_deref(),
            self.path.as_ref().map(Glob::glob),
        )
    }
}

/// A waiver with its path glob compiled.
struct Compiled<'a> {
    waiver: &'a Waiver,
    path: Option<GlobMatcher>,
}

impl Compiled<'_> {
    fn covers(&self, finding: &Finding) -> bool {
        let file = finding.file.strip_prefix("./").unwrap_or(&finding.file);
        finding.rule == self.waiver.rule
            && self
                .waiver
                .resource
                .as_ref()
                .is_none_or(|r| *r == finding.resource)
            && self.path.as_ref().is_none_or(|m| m.is_match(file))
    }
}

/// Marks the findings active waivers cover as suppressed (a finding already suppressed keeps
/// its suppression). `config` names the config file in each suppression's source. Returns a
/// warning for every expired waiver, which suppresses nothing.
pub fn apply(
    findings: &mut [Finding],
    waivers: &[Waiver],
    config: &str,
    today: Date,
) -> Vec<ScanWarning> {
    let mut warnings = Vec::new();
    for waiver in waivers {
        let compiled = Compiled {
            waiver,
            path: waiver.path.as_ref().map(Glob::compile_matcher),
        };
        let source = if waiver.line > 0 {
            format!("{config}:{}", waiver.line)
        } else {
            config.to_string()
        };
        let covered = findings.iter_mut().filter(|f| compiled.covers(f));
        if waiver.is_expired(today) {
            let now_counting = covered.filter(|f| f.is_active()).count();
            warnings.push(ScanWarning {
                file: Some(config.to_string()),
                line: (waiver.line > 0).then_some(waiver.line),
                message: format!(
                    "{} (owner {}) expired on {} and suppresses nothing{}; renew it with a later \
                     `expires`, or fix the findings",
                    waiver.label(),
                    waiver.owner,
                    waiver.expires,
                    match now_counting {
                        0 => String::new(),
                        1 => " (1 finding it covered counts again)".to_string(),
                        n => format!(" ({n} findings it covered count again)"),
                    }
                ),
            });
            continue;
        }
        for finding in covered.filter(|f| f.is_active()) {
            finding.suppression = Some(Suppression {
                kind: SuppressionKind::Waiver,
                reason: waiver.reason.clone(),
                owner: Some(waiver.owner.clone()),
                expires: Some(waiver.expires.to_string()),
                source: source.clone(),
            });
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Enforcement;
    use crate::findings::Severity;

    #[derive(Deserialize)]
    struct Doc {
        #[serde(deserialize_with = "deserialize")]
        waivers: Vec<Waiver>,
    }

    fn parse(text: &str) -> Result<Vec<Waiver>, String> {
        let mut doc: Doc = toml::from_str(text).map_err(|e| e.to_string())?;
        locate(&mut doc.waivers, text);
        Ok(doc.waivers)
    }

    fn finding(rule: &str, file: &str, resource: &str) -> Finding {
        Finding {
            rule: rule.into(),
            severity: Severity::High,
            resource: resource.into(),
            kind: "kubernetes/Deployment".into(),
            file: file.into(),
            line: 3,
            column: 1,
            detail: None,
            message: "m".into(),
            pointer: "/spec".into(),
            plugin: "kubernetes".into(),
            fingerprint: Finding::fingerprint_of(rule, file, resource, "/spec"),
            enforcement: Enforcement::SoftMandatory,
            suppression: None,
            resource_line: 1,
        }
    }

    const WAIVER: &str = "\n[[waivers]]\nrule = \"k8s/x\"\npath = \"./legacy/**\"\nowner = \"o@example.com\"\nreason = \"r\"\nexpires = 2027-01-31\n";

    fn date(y: i32, m: Month, d: u8) -> Date {
        Date::from_calendar_date(y, m, d).expect("a valid date")
    }

    #[test]
    fn waivers_apply_through_their_expiry_day_and_warn_after() {
        let waivers = parse(WAIVER).expect("valid");
        assert_eq!(waivers[0].line, 2);
        assert_eq!(waivers[0].expires, date(2027, Month::January, 31));
        let mut findings = vec![
            finding("k8s/x", "./legacy/a/web.yaml", "Deployment/a/b"),
            finding("k8s/x", "new/web.yaml", "Deployment/a/b"),
            finding("k8s/y", "legacy/web.yaml", "Deployment/a/b"),
        ];
        let warnings = apply(
            &mut findings,
            &waivers,
            "palisade.toml",
            date(2027, Month::January, 31),
        );
        assert!(warnings.is_empty());
        let suppression = findings[0].suppression.as_ref().expect("waived");
        assert_eq!(suppression.source, "palisade.toml:2");
        assert_eq!(suppression.expires.as_deref(), Some("2027-01-31"));
        assert!(findings[1].is_active() && findings[2].is_active());

        findings[0].suppression = None;
        let warnings = apply(
            &mut findings,
            &waivers,
            "palisade.toml",
            date(2027, Month::February, 1),
        );
        assert!(findings[0].is_active());
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].message.contains("expired on 2027-01-31")
                && warnings[0]
                    .message
                    .contains("(1 finding it covered counts again)"),
            "{}",
            warnings[0].message
        );
    }

    #[test]
    fn a_single_star_stays_in_its_directory() {
        let waivers = parse(&WAIVER.replace("./legacy/**", "legacy/*.yaml")).expect("valid");
        let mut findings = vec![
            finding("k8s/x", "legacy/web.yaml", "Deployment/a/b"),
            finding("k8s/x", "legacy/deep/web.yaml", "Deployment/a/b"),
        ];
        apply(
            &mut findings,
            &waivers,
            "palisade.toml",
            date(2026, Month::May, 1),
        );
        assert!(!findings[0].is_active() && findings[1].is_active());
    }

    #[test]
    fn incomplete_waivers_are_refused_by_name() {
        for (from, to, expected) in [
            ("reason = \"r\"", "", "`reason` is required"),
            ("reason = \"r\"", "reason = \"  \"", "`reason` is required"),
            ("owner = \"o@example.com\"", "", "`owner` is required"),
            ("expires = 2027-01-31", "", "`expires` is required"),
            (
                "expires = 2027-01-31",
                "expires = 2027-01-31T10:00:00Z",
                "without a time",
            ),
            ("path = \"./legacy/**\"", "", "give `resource`"),
            ("k8s/x", "*", "wildcards are not allowed"),
            ("./legacy/**", "legacy/[", "not a valid glob"),
        ] {
            let text = WAIVER.replace(from, to);
            let error = parse(&text).expect_err(&text);
            assert!(error.contains(expected), "{text}: {error}");
            assert!(error.contains("waiver of `"), "names the waiver: {error}");
        }
        // A quoted date is read the same way.
        let quoted = parse(&WAIVER.replace("2027-01-31", "\"2027-01-31\"")).expect("valid");
        assert_eq!(quoted[0].expires, date(2027, Month::January, 31));
    }
}
