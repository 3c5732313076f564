//! The plugin manifest, `palisade-plugin.toml`: what a signed plugin artifact is and claims.
//!
//! A team signs the manifest, not the wasm: the manifest pins the component by sha256 and size,
//! so one SSHSIG signature over a small text file covers the whole artifact. The rules and kinds
//! are copied from the component's own `describe`, never typed by hand, so what the registry
//! shows is what the plugin will run. Serialization is canonical (same input, same bytes) and
//! parsing is strict (unknown fields and invalid values are errors), because these bytes are
//! what signatures cover.

use std::collections::{BTreeSet, HashSet};
use std::fmt;

use semver::Version;
use serde::{Deserialize, Serialize};

use crate::engine::{PluginInfo, WIT_VERSION};
use crate::findings::Severity;

/// The manifest's conventional file name, beside the component.
pub const MANIFEST_FILE: &str = "palisade-plugin.toml";

/// Longest description accepted, in characters.
const MAX_DESCRIPTION_CHARS: usize = 1024;
/// Longest name segment (team or pack) accepted.
pub(crate) const MAX_SEGMENT_CHARS: usize = 64;

/// A plugin manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Manifest {
    /// `team/pack`: lowercase `[a-z0-9-]` segments around one `/`.
    pub name: String,
    /// The plugin's version.
    pub version: Version,
    /// The team that owns and signs the plugin.
    pub team: String,
    /// One paragraph for people browsing a registry.
    pub description: String,
    /// The version of the `palisade:policy` WIT package the component was described against.
    pub wit: Version,
    /// The oldest palisade that can run the plugin.
    pub min_palisade: Version,
    /// Every kind pattern any rule judges, sorted.
    pub kinds: Vec<String>,
    /// The component this manifest pins.
    pub wasm: WasmFile,
    /// What the plugin asks for beyond the default sandbox.
    #[serde(default, skip_serializing_if = "Capabilities::is_empty")]
    pub capabilities: Capabilities,
    /// The rules, as the component describes them, sorted by id.
    pub rules: Vec<ManifestRule>,
}

/// The component a manifest pins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct WasmFile {
    /// Its file name beside the manifest (where `plugin verify` looks for it by default).
    pub file: String,
    /// Lowercase hex sha256 of its bytes.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Capabilities a plugin requests; granted only when the pipeline's config agrees.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Capabilities {
    /// Read-only access to one named data directory (e.g. an allow-list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
}

impl Capabilities {
    /// True when nothing beyond the default sandbox is requested.
    pub fn is_empty(&self) -> bool {
        self.data_dir.is_none()
    }
}

/// One rule, as listed in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ManifestRule {
    /// The rule id, e.g. `k8s/privileged-container`.
    pub id: String,
    /// Its one-line title.
    pub title: String,
    /// Its default severity.
    pub severity: Severity,
    /// The kind patterns it judges, sorted.
    pub kinds: Vec<String>,
}

/// What the publisher says about a plugin; the rest of a manifest comes from the component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRequest {
    /// `team/pack`.
    pub name: String,
    /// The plugin's semver version.
    pub version: String,
    /// The owning team.
    pub team: String,
    /// A description (may be empty).
    pub description: String,
    /// A requested read-only data directory, by name.
    pub data_dir: Option<String>,
}

/// Why a manifest is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Not TOML, or not the manifest's shape (unknown or missing fields, wrong types).
    #[error("{0}")]
    Syntax(String),
    /// A field has an invalid value.
    #[error("`{field}` {reason}")]
    Invalid { field: String, reason: String },
}

fn invalid(field: impl fmt::Display, reason: impl fmt::Display) -> ManifestError {
    ManifestError::Invalid {
        field: field.to_string(),
        reason: reason.to_string(),
    }
}

impl Manifest {
    /// Builds the manifest of a component from the publisher's request, the component's bytes
    /// and file name, and what the component's `describe` returned.
    pub fn describe(
        request: &ManifestRequest,
        wasm_file: &str,
        wasm: &[u8],
        info: &PluginInfo,
    ) -> Result<Manifest, ManifestError> {
        let version = Version::parse(&request.version)
            .map_err(|e| invalid("version", format_args!("`{}`: {e}", request.version)))?;
        let mut rules: Vec<ManifestRule> = info
            .rules
            .iter()
            .map(|rule| ManifestRule {
                id: rule.id.clone(),
                title: rule.title.clone(),
                severity: rule.severity,
                kinds: sorted(rule.kinds.iter().cloned()),
            })
            .collect();
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        let manifest = Manifest {
            name: request.name.clone(),
            version,
            team: request.team.clone(),
            description: request.description.clone(),
            wit: Version::parse(WIT_VERSION).expect("WIT_VERSION is semver"),
            min_palisade: Version::parse(env!("CARGO_PKG_VERSION"))
                .expect("the crate version is semver"),
            kinds: sorted(rules.iter().flat_map(|r| r.kinds.iter().cloned())),
            wasm: WasmFile {
                file: wasm_file.to_string(),
                sha256: crate::engine::sha256_hex(wasm),
                size: wasm.len() as u64,
            },
            capabilities: Capabilities {
                data_dir: request.data_dir.clone(),
            },
            rules,
        };
        manifest.validate()?;
        Ok(manifest)
    }

    /// Parses and validates a manifest.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| ManifestError::Syntax(e.message().to_string()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// The canonical TOML text: the same manifest always gives the same bytes.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a manifest is plain data that TOML can hold")
    }

    /// `name@version`, as users refer to a plugin.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), ManifestError> {
        validate_name(&self.name)?;
        validate_segment(&self.team).map_err(|reason| invalid("team", reason))?;
        if self.description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(invalid(
                "description",
                format_args!("is longer than {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        if self
            .description
            .chars()
            .any(|c| c.is_control() && c != '\n')
        {
            return Err(invalid("description", "contains control characters"));
        }
        validate_wasm(&self.wasm)?;
        if let Some(dir) = &self.capabilities.data_dir {
            validate_data_dir(dir).map_err(|reason| invalid("capabilities.data-dir", reason))?;
        }
        if self.rules.is_empty() {
            return Err(invalid("rules", "is empty: a plugin must declare a rule"));
        }
        let mut ids = HashSet::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let field = format!("rules[{i}]");
            validate_token(&rule.id).map_err(|r| invalid(format_args!("{field}.id"), r))?;
            if !ids.insert(rule.id.as_str()) {
                return Err(invalid(
                    format_args!("{field}.id"),
                    format_args!("repeats `{}`", rule.id),
                ));
            }
            if rule.kinds.is_empty() {
                return Err(invalid(format_args!("{field}.kinds"), "is empty"));
            }
            for kind in &rule.kinds {
                validate_token(kind).map_err(|r| invalid(format_args!("{field}.kinds"), r))?;
            }
        }
        let union = sorted(self.rules.iter().flat_map(|r| r.kinds.iter().cloned()));
        if self.kinds != union {
            return Err(invalid(
                "kinds",
                format_args!(
                    "must list exactly the rules' kinds, sorted: [{}]",
                    union.join(", ")
                ),
            ));
        }
        Ok(())
    }
}

fn sorted(items: impl Iterator<Item = String>) -> Vec<String> {
    items.collect::<BTreeSet<_>>().into_iter().collect()
}

/// `team/pack`, each a lowercase segment.
pub fn validate_name(name: &str) -> Result<(), ManifestError> {
    let reason = match name.split_once('/') {
        Some((team, pack)) if !pack.contains('/') => {
            validate_segment(team).and(validate_segment(pack)).err()
        }
        _ => Some("must be `team/pack` (exactly one `/`)".to_string()),
    };
    match reason {
        Some(reason) => Err(invalid("name", format_args!("`{name}` {reason}"))),
        None => Ok(()),
    }
}

/// A team or pack name: `[a-z0-9-]`, starting and ending with a letter or digit.
pub(crate) fn validate_segment(segment: &str) -> Result<(), String> {
    if segment.is_empty() || segment.len() > MAX_SEGMENT_CHARS {
        return Err(format!(
            "`{segment}` must be 1 to {MAX_SEGMENT_CHARS} characters"
        ));
    }
    if !segment
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!(
            "`{segment}` may only contain lowercase letters, digits and `-`"
        ));
    }
    if segment.starts_with('-') || segment.ends_with('-') {
        return Err(format!("`{segment}` must not start or end with `-`"));
    }
    Ok(())
}

/// A data directory name: one path segment of `[A-Za-z0-9._-]`, not hidden.
fn validate_data_dir(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_SEGMENT_CHARS {
        return Err(format!(
            "`{name}` must be 1 to {MAX_SEGMENT_CHARS} characters"
        ));
    }
    if name.starts_with('.')
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(format!(
            "`{name}` must be a plain name of letters, digits, `.`, `_` and `-`, not starting with `.`"
        ));
    }
    Ok(())
}

/// A rule id or kind pattern: printable, no whitespace.
fn validate_token(token: &str) -> Result<(), String> {
    if token.is_empty() || token.len() > 256 {
        return Err("must be 1 to 256 characters".to_string());
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("`{}` contains whitespace", token.escape_debug()));
    }
    Ok(())
}

fn validate_wasm(wasm: &WasmFile) -> Result<(), ManifestError> {
    let file = &wasm.file;
    if file.is_empty()
        || file.len() > 255
        || !file.ends_with(".wasm")
        || file.starts_with('.')
        || !file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(invalid(
            "wasm.file",
            format_args!(
                "`{}` must be a plain file name ending in `.wasm` (letters, digits, `.`, `_`, `-`)",
                file.escape_debug()
            ),
        ));
    }
    if wasm.sha256.len() != 64
        || !wasm
            .sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(invalid("wasm.sha256", "must be 64 lowercase hex digits"));
    }
    if wasm.size == 0 {
        return Err(invalid("wasm.size", "must be more than 0"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RuleInfo;

    fn info() -> PluginInfo {
        let rule = |id: &str, kinds: &[&str]| RuleInfo {
            id: id.to_string(),
            title: format!("title of {id}"),
            severity: Severity::High,
            kinds: kinds.iter().map(|k| k.to_string()).collect(),
            description: String::new(),
            remediation: String::new(),
            help_uri: None,
            tags: Vec::new(),
        };
        PluginInfo {
            name: "extra".to_string(),
            version: "1.0.0".to_string(),
            rules: vec![
                rule("x/b", &["kubernetes/Pod", "kubernetes/Deployment"]),
                rule("x/a", &["kubernetes/Pod"]),
            ],
        }
    }

    fn request() -> ManifestRequest {
        ManifestRequest {
            name: "platform/k8s-extra".to_string(),
            version: "1.2.3".to_string(),
            team: "platform".to_string(),
            description: "Extra checks".to_string(),
            data_dir: Some("allow-lists".to_string()),
        }
    }

    fn manifest() -> Manifest {
        Manifest::describe(&request(), "plugin.wasm", b"\0asm", &info()).expect("valid")
    }

    #[test]
    fn a_manifest_round_trips_through_its_canonical_text() {
        let manifest = manifest();
        let text = manifest.to_toml();
        assert_eq!(Manifest::parse(&text), Ok(manifest.clone()));
        assert_eq!(Manifest::parse(&text).expect("parses").to_toml(), text);
        assert_eq!(manifest.kinds, ["kubernetes/Deployment", "kubernetes/Pod"]);
        assert_eq!(manifest.rules[0].id, "x/a");
        assert!(
            text.starts_with("name = \"platform/k8s-extra\"\n"),
            "{text}"
        );
        assert!(
            text.contains("[capabilities]\ndata-dir = \"allow-lists\"\n"),
            "{text}"
        );
    }

    #[test]
    fn any_description_text_round_trips() {
        let mut request = request();
        request.description = "Checks \"quoted\" things,\nover two lines: é ✓ \\ '''.".to_string();
        let manifest =
            Manifest::describe(&request, "plugin.wasm", b"\0asm", &info()).expect("valid");
        assert_eq!(Manifest::parse(&manifest.to_toml()), Ok(manifest));
        request.description = "bell\u{7}".to_string();
        let error = Manifest::describe(&request, "plugin.wasm", b"\0asm", &info());
        assert!(
            matches!(error, Err(ManifestError::Invalid { field, .. }) if field == "description")
        );
    }

    #[test]
    fn a_repeated_rule_id_is_refused() {
        let mut info = info();
        info.rules[1].id = "x/b".to_string();
        let error = Manifest::describe(&request(), "plugin.wasm", b"\0asm", &info)
            .expect_err("two rules called x/b");
        assert_eq!(error.to_string(), "`rules[1].id` repeats `x/b`");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let text = manifest()
            .to_toml()
            .replace("[wasm]\n", "[wasm]\nurl = \"x\"\n");
        let error = Manifest::parse(&text).expect_err("unknown field");
        assert!(error.to_string().contains("unknown field `url`"), "{error}");
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "name = \"platform/k8s-extra\"",
                "name = \"Platform/x\"",
                "`name`",
            ),
            (
                "name = \"platform/k8s-extra\"",
                "name = \"a/b/c\"",
                "`name`",
            ),
            (
                "name = \"platform/k8s-extra\"",
                "name = \"extra\"",
                "`name`",
            ),
            ("team = \"platform\"", "team = \"-x\"", "`team`"),
            ("version = \"1.2.3\"", "version = \"1.2\"", "version"),
            (
                "file = \"plugin.wasm\"",
                "file = \"../x.wasm\"",
                "`wasm.file`",
            ),
            ("size = 4", "size = 0", "`wasm.size`"),
            (
                "data-dir = \"allow-lists\"",
                "data-dir = \"../etc\"",
                "`capabilities.data-dir`",
            ),
            (
                "kinds = [\"kubernetes/Deployment\", \"kubernetes/Pod\"]\n\n[wasm]",
                "kinds = [\"x\"]\n\n[wasm]",
                "`kinds`",
            ),
        ];
        let text = manifest().to_toml();
        for (from, to, field) in cases {
            assert!(text.contains(from), "{from} not in {text}");
            let error = Manifest::parse(&text.replacen(from, to, 1)).expect_err(to);
            assert!(error.to_string().contains(field), "{to}: {error}");
        }
    }

    #[test]
    fn a_bad_request_is_refused() {
        let mut request = request();
        request.version = "one".to_string();
        let error = Manifest::describe(&request, "plugin.wasm", b"\0asm", &info());
        assert!(matches!(error, Err(ManifestError::Invalid { field, .. }) if field == "version"));
    }
}
