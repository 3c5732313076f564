//! `palisade.toml`: which packs run, their settings and caps, rule overrides, the threshold.
//!
//! ```toml
//! fail-on = "medium"          # lowest severity that fails the scan (default: low)
//! enforcement = "soft-mandatory"  # advisory | soft-mandatory | hard-mandatory (default soft)
//! default-packs = true        # run the packs built into palisade (default: true)
//!
//! [limits]                    # caps for every plugin run
//! memory-mib = 256
//! timeout-seconds = 10
//! max-findings = 100000
//! max-file-mib = 16           # larger input files are reported, not read
//! max-image-mib = 8192        # an image whose layers expand to more is an error (bombs)
//! max-image-entries = 2000000 # likewise for tar entries across an image's layers
//!
//! [[plugins]]                 # more plugins; paths are relative to this file
//! path = "policies/naming.wasm"
//!
//! [packs.kubernetes]          # per pack, by the name the pack gives itself
//! enabled = true
//! timeout-seconds = 30        # raise a cap for this pack only
//! enforcement = "hard-mandatory"  # for every rule of this pack
//! settings = { }              # handed to the pack's `configure` as JSON
//!
//! [rules."k8s/default-namespace"]
//! enabled = false             # or: severity = "high", enforcement = "advisory"
//!
//! [registry]                  # packs from a signed registry, pinned in palisade.lock
//! url = "https://plugins.example.com/palisade/"   # or: path = "../registry"
//! root-keys = ["ssh-ed25519 AAAA… security-1", "ssh-ed25519 AAAA… security-2"]
//! threshold = 2               # root signatures the index needs (default 1)
//! ca-cert = "certs/ca.pem"    # trust only this CA for the registry's HTTPS (optional)
//!
//! [registry.plugins]          # by name and semver requirement
//! "platform/k8s-extra" = "^1.2"
//! "appsec/registries" = { version = "2", data-dir = { name = "allow-lists", path = "data/allow" } }
//!
//! [[waivers]]                 # an owned, time-boxed exception (see `findings::waivers`)
//! rule = "k8s/run-as-root"
//! resource = "Deployment/shop/legacy"   # and/or: path = "legacy/**"
//! owner = "shop-team@example.com"
//! reason = "Vendor image; ticket SEC-123"
//! expires = 2027-01-31
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use palisade_normalize::image::layers::LayerLimits;

use crate::engine::Limits;
use crate::findings::waivers::Waiver;
use crate::findings::{Enforcement, Severity};

/// The file name looked for from the scan root upwards.
pub const FILE_NAME: &str = "palisade.toml";

/// A parsed `palisade.toml`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Lowest severity that fails the scan.
    pub fail_on: Option<Severity>,
    /// Whether the built-in packs run.
    pub default_packs: Option<bool>,
    /// How rules are enforced unless a pack or rule says otherwise.
    pub enforcement: Option<Enforcement>,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub plugins: Vec<PluginEntry>,
    #[serde(default)]
    pub packs: BTreeMap<String, PackConfig>,
    #[serde(default)]
    pub rules: BTreeMap<String, RuleConfig>,
    /// Packs from a signed registry.
    pub registry: Option<RegistryConfig>,
    /// Owned, time-boxed exceptions (`[[waivers]]`), checked as the file loads.
    #[serde(default, deserialize_with = "crate::findings::waivers::deserialize")]
    pub waivers: Vec<Waiver>,
    /// Where the file was read from; relative plugin paths resolve against its directory.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

/// Caps for plugin runs and input files; unset fields keep the defaults.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LimitsConfig {
    pub memory_mib: Option<u64>,
    pub timeout_seconds: Option<f64>,
    pub max_findings: Option<usize>,
    pub max_file_mib: Option<u64>,
    pub max_image_mib: Option<u64>,
    pub max_image_entries: Option<u64>,
}

/// A plugin added by path.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PluginEntry {
    pub path: PathBuf,
}

/// Settings of one pack.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PackConfig {
    pub enabled: Option<bool>,
    pub memory_mib: Option<u64>,
    pub timeout_seconds: Option<f64>,
    pub max_findings: Option<usize>,
    /// How this pack's rules are enforced.
    pub enforcement: Option<Enforcement>,
    /// Handed to the pack's `configure` as a JSON object.
    pub settings: Option<toml::Table>,
}

/// Overrides for one rule.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub enabled: Option<bool>,
    pub severity: Option<Severity>,
    pub enforcement: Option<Enforcement>,
}

/// `[registry]`: where signed packs come from, the keys that vouch for them, and which packs.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RegistryConfig {
    /// An `http://` or `https://` base URL.
    pub url: Option<String>,
    /// Or a directory, relative to this file.
    pub path: Option<PathBuf>,
    /// The security team's root public keys (OpenSSH lines), pinned.
    #[serde(default)]
    pub root_keys: Vec<String>,
    /// How many root keys must sign the index.
    pub threshold: Option<usize>,
    /// A PEM file of the CA(s) to trust, instead of the system's, for HTTPS (relative to this file).
    pub ca_cert: Option<PathBuf>,
    /// Seconds to wait for the registry to connect or send more data.
    pub timeout_seconds: Option<u64>,
    /// The packs to use, by name.
    #[serde(default)]
    pub plugins: BTreeMap<String, RegistryPlugin>,
}

/// One pack from the registry: a semver requirement, or a table with one and the capabilities
/// granted to it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum RegistryPlugin {
    /// `"platform/k8s-extra" = "^1.2"`
    Version(String),
    /// `"appsec/registries" = { version = "2", data-dir = { … } }`
    Detailed(RegistryPluginTable),
}

/// The table form of [`RegistryPlugin`].
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RegistryPluginTable {
    pub version: String,
    /// Read-only access to a directory, granted only if the plugin's signed manifest asks for a
    /// data directory of the same name.
    pub data_dir: Option<DataDirGrant>,
}

/// A data directory granted to a plugin.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DataDirGrant {
    /// The name the plugin's manifest requests.
    pub name: String,
    /// The directory on this machine, relative to this file.
    pub path: PathBuf,
}

impl RegistryPlugin {
    /// The semver requirement, as written.
    pub fn requirement(&self) -> &str {
        match self {
            RegistryPlugin::Version(v) => v,
            RegistryPlugin::Detailed(t) => &t.version,
        }
    }

    /// The data directory granted, if any.
    pub fn data_dir(&self) -> Option<&DataDirGrant> {
        match self {
            RegistryPlugin::Version(_) => None,
            RegistryPlugin::Detailed(t) => t.data_dir.as_ref(),
        }
    }
}

/// A `palisade.toml` that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    /// The WebAssembly engine could not start (not a config problem, but as fatal).
    #[error("cannot start the WebAssembly engine: {0}")]
    Engine(String),
    /// `--diff-base` names no usable git revision (as fatal: the report would mean nothing).
    #[error(transparent)]
    DiffBase(#[from] crate::findings::diff::DiffBaseError),
}

impl Config {
    /// Reads and checks one config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        config.path = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parses config text; the error says where and why.
    pub fn parse(text: &str) -> Result<Config, String> {
        let mut config: Config =
            toml::from_str(text).map_err(|e| e.to_string().trim().to_string())?;
        crate::findings::waivers::locate(&mut config.waivers, text);
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        let limits = [(
            "limits",
            self.limits.timeout_seconds,
            self.limits.memory_mib,
        )]
        .into_iter()
        .chain(
            self.packs
                .iter()
                .map(|(name, p)| (name.as_str(), p.timeout_seconds, p.memory_mib)),
        );
        if let Some(registry) = &self.registry {
            registry.validate().map_err(|e| format!("registry: {e}"))?;
        }
        for (place, timeout, memory) in limits {
            if let Some(t) = timeout
                && !(t > 0.0 && t <= 3600.0)
            {
                return Err(format!(
                    "{place}: timeout-seconds must be between 0 and 3600, got {t}"
                ));
            }
            if memory == Some(0) || memory.is_some_and(|m| m > 4096) {
                return Err(format!(
                    "{place}: memory-mib must be between 1 and 4096, got {}",
                    memory.unwrap_or_default()
                ));
            }
        }
        Ok(())
    }

    /// Finds `palisade.toml` in `start` or the nearest directory above it.
    pub fn discover(start: &Path) -> Option<PathBuf> {
        let start = std::fs::canonicalize(start).ok()?;
        let mut dir = if start.is_dir() {
            Some(start.as_path())
        } else {
            start.parent()
        };
        while let Some(d) = dir {
            let candidate = d.join(FILE_NAME);
            if candidate.is_file() {
                return Some(candidate);
            }
            dir = d.parent();
        }
        None
    }

    /// The directory relative paths in this file resolve against.
    pub fn base_dir(&self) -> &Path {
        self.path
            .as_deref()
            .and_then(Path::parent)
            .unwrap_or(Path::new("."))
    }

    /// The plugin paths, resolved against the config file's directory.
    pub fn plugin_paths(&self) -> Vec<PathBuf> {
        let base = self.base_dir();
        self.plugins.iter().map(|p| base.join(&p.path)).collect()
    }

    /// Where the lock of the registry packs lives: `palisade.lock` beside this file.
    pub fn lock_path(&self) -> PathBuf {
        self.base_dir().join(crate::registry::LOCK_FILE)
    }

    /// Plugin caps from `[limits]`, over the built-in defaults.
    pub fn limits(&self) -> Limits {
        let mut limits = Limits::default();
        apply(
            &mut limits,
            self.limits.memory_mib,
            self.limits.timeout_seconds,
            self.limits.max_findings,
        );
        limits
    }

    /// Caps for one pack: its own settings over `[limits]`.
    pub fn pack_limits(&self, pack: &str) -> Limits {
        let mut limits = self.limits();
        if let Some(p) = self.packs.get(pack) {
            apply(&mut limits, p.memory_mib, p.timeout_seconds, p.max_findings);
        }
        limits
    }

    /// The settings for a pack's `configure`, as JSON text (`{}` when none).
    pub fn pack_settings(&self, pack: &str) -> String {
        let settings = self
            .packs
            .get(pack)
            .and_then(|p| p.settings.clone())
            .unwrap_or_default();
        serde_json::to_string(&settings).expect("a TOML table always serializes to JSON")
    }

    /// Whether a pack runs.
    pub fn pack_enabled(&self, pack: &str) -> bool {
        self.packs.get(pack).and_then(|p| p.enabled).unwrap_or(true)
    }

    /// Whether a rule runs.
    pub fn rule_enabled(&self, rule: &str) -> bool {
        self.rules.get(rule).and_then(|r| r.enabled).unwrap_or(true)
    }

    /// A severity set for a rule in the config.
    pub fn rule_severity(&self, rule: &str) -> Option<Severity> {
        self.rules.get(rule).and_then(|r| r.severity)
    }

    /// How a rule of a pack is enforced: the rule's setting, else the pack's, else the
    /// config's, else soft-mandatory.
    pub fn enforcement(&self, rule: &str, pack: &str) -> Enforcement {
        self.rules
            .get(rule)
            .and_then(|r| r.enforcement)
            .or_else(|| self.packs.get(pack).and_then(|p| p.enforcement))
            .or(self.enforcement)
            .unwrap_or_default()
    }

    /// The largest input file read, in bytes.
    pub fn max_file_bytes(&self) -> u64 {
        self.limits
            .max_file_mib
            .map(|m| m << 20)
            .unwrap_or(palisade_normalize::Limits::default().max_file_bytes)
    }
}

impl Config {
    /// Caps on what one image's layers may expand to.
    pub fn layer_limits(&self) -> LayerLimits {
        let defaults = LayerLimits::default();
        LayerLimits {
            max_bytes: self
                .limits
                .max_image_mib
                .map_or(defaults.max_bytes, |m| m.saturating_mul(1 << 20)),
            max_entries: self
                .limits
                .max_image_entries
                .unwrap_or(defaults.max_entries),
            ..defaults
        }
    }
}

impl RegistryConfig {
    fn validate(&self) -> Result<(), String> {
        match (&self.url, &self.path) {
            (Some(url), None) => {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(format!("url `{url}` must start with https:// or http://"));
                }
            }
            (None, Some(_)) => {}
            _ => return Err("set exactly one of `url` and `path`".to_string()),
        }
        if self.root_keys.is_empty() {
            return Err("`root-keys` must pin at least one root public key".to_string());
        }
        let threshold = self.threshold.unwrap_or(1);
        if threshold == 0 || threshold > self.root_keys.len() {
            return Err(format!(
                "`threshold` must be between 1 and the number of root keys ({}), got {threshold}",
                self.root_keys.len()
            ));
        }
        if self.timeout_seconds == Some(0) {
            return Err("`timeout-seconds` must be more than 0".to_string());
        }
        for (name, plugin) in &self.plugins {
            crate::registry::manifest::validate_name(name)
                .map_err(|e| format!("plugins.\"{name}\": {e}"))?;
            semver::VersionReq::parse(plugin.requirement()).map_err(|e| {
                format!(
                    "plugins.\"{name}\": `{}` is not a semver requirement: {e}",
                    plugin.requirement()
                )
            })?;
        }
        for (i, key) in self.root_keys.iter().enumerate() {
            crate::registry::TrustedKey::parse(key)
                .map_err(|e| format!("root-keys[{i}] is not an OpenSSH public key: {e}"))?;
        }
        Ok(())
    }
}

fn apply(
    limits: &mut Limits,
    memory_mib: Option<u64>,
    timeout_seconds: Option<f64>,
    max_findings: Option<usize>,
) {
    if let Some(m) = memory_mib {
        limits.memory_bytes = (m as usize) << 20;
    }
    if let Some(t) = timeout_seconds {
        limits.timeout = Duration::from_secs_f64(t);
    }
    if let Some(n) = max_findings {
        limits.max_findings = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_config_parses() {
        let config = Config::parse(
            r#"
            fail-on = "medium"
            default-packs = false
            [limits]
            memory-mib = 128
            timeout-seconds = 2.5
            [[plugins]]
            path = "p/extra.wasm"
            [packs.kubernetes]
            timeout-seconds = 30
            enforcement = "hard-mandatory"
            settings = { registries = ["ghcr.io"] }
            [rules."k8s/default-namespace"]
            enabled = false
            enforcement = "advisory"
            [rules."k8s/run-as-root"]
            severity = "critical"
            "#,
        )
        .expect("valid config");
        assert_eq!(config.fail_on, Some(Severity::Medium));
        assert_eq!(config.limits().memory_bytes, 128 << 20);
        assert_eq!(config.limits().timeout, Duration::from_millis(2500));
        assert_eq!(
            config.pack_limits("kubernetes").timeout,
            Duration::from_secs(30)
        );
        assert_eq!(config.pack_limits("kubernetes").memory_bytes, 128 << 20);
        assert_eq!(
            config.pack_settings("kubernetes"),
            r#"{"registries":["ghcr.io"]}"#
        );
        assert_eq!(config.pack_settings("other"), "{}");
        assert!(!config.rule_enabled("k8s/default-namespace"));
        assert_eq!(
            config.enforcement("k8s/run-as-root", "kubernetes"),
            Enforcement::HardMandatory
        );
        assert_eq!(
            config.enforcement("k8s/default-namespace", "kubernetes"),
            Enforcement::Advisory
        );
        assert_eq!(
            config.enforcement("docker/x", "dockerfile"),
            Enforcement::SoftMandatory
        );
        assert!(config.rule_enabled("k8s/privileged-container"));
        assert_eq!(
            config.rule_severity("k8s/run-as-root"),
            Some(Severity::Critical)
        );
    }

    #[test]
    fn registry_section_parses_both_plugin_forms() {
        let config = Config::parse(
            r#"
            [registry]
            url = "https://plugins.example.com/"
            root-keys = [
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILM+rvN+ot98qgEN796jTiQfZfG1KaT0PtFDJ/XFSqti one",
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC1lzVAXu8YLw1GqqkdsXf1vEaNGEWvCcZDznw+N0JIO two",
            ]
            threshold = 2
            [registry.plugins]
            "platform/k8s-extra" = "^1.2"
            "appsec/registries" = { version = "2", data-dir = { name = "allow", path = "d" } }
            "#,
        )
        .expect("valid config");
        let registry = config.registry.expect("a registry");
        assert_eq!(registry.plugins["platform/k8s-extra"].requirement(), "^1.2");
        let grant = registry.plugins["appsec/registries"]
            .data_dir()
            .expect("a grant");
        assert_eq!(
            (grant.name.as_str(), grant.path.as_path()),
            ("allow", Path::new("d"))
        );
    }

    #[test]
    fn registry_section_mistakes_are_named() {
        let base = "[registry]\nroot-keys = [\"k\"]\n";
        for (extra, expected) in [
            ("", "exactly one of `url` and `path`"),
            ("url = \"ftp://x\"\n", "must start with https://"),
            (
                "path = \"r\"\nthreshold = 2\n",
                "`threshold` must be between 1 and",
            ),
            (
                "path = \"r\"\n[registry.plugins]\n\"x\" = \"1\"\n",
                "plugins.\"x\"",
            ),
            (
                "path = \"r\"\n[registry.plugins]\n\"a/b\" = \"one\"\n",
                "not a semver requirement",
            ),
        ] {
            let error = Config::parse(&format!("{base}{extra}")).expect_err(extra);
            assert!(error.contains(expected), "{extra}: {error}");
        }
        let error = Config::parse("[registry]\npath = \"r\"\n").expect_err("no keys");
        assert!(error.contains("root-keys"), "{error}");
        let error = Config::parse(
            base.replace("[registry]\n", "[registry]\npath = \"r\"\n")
                .as_str(),
        )
        .expect_err("not a key");
        assert!(
            error.contains("root-keys[0] is not an OpenSSH public key"),
            "{error}"
        );
    }

    #[test]
    fn typos_are_errors_with_a_line() {
        let error = Config::parse("fail-on = \"low\"\n[limit]\nmemory-mib = 1\n").unwrap_err();
        assert!(error.contains("line 2"), "{error}");
        assert!(error.contains("limit"), "{error}");
        assert!(Config::parse("fail-on = \"severe\"").is_err());
        assert!(Config::parse("[limits]\ntimeout-seconds = -1").is_err());
    }
}
