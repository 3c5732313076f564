//! `palisade.lock`: the exact versions and digests `palisade lock` resolved the config's registry
//! packs to, so every CI run verifies and runs the same bytes, and can do so offline.
//!
//! ```toml
//! # Written by `palisade lock`; commit it. Do not edit: scans refuse digests that do not match.
//! format = 1
//! registry = "https://plugins.example.com/palisade/"
//! index-version = 7
//!
//! [[plugin]]
//! name = "platform/k8s-extra"
//! version = "1.2.0"
//! manifest-sha256 = "…"
//! wasm-sha256 = "…"
//! wasm-size = 345678
//! ```

use std::collections::BTreeMap;

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

use crate::config::RegistryPlugin;

/// The lock's file name, beside `palisade.toml`.
pub const LOCK_FILE: &str = "palisade.lock";

const HEADER: &str = "# Written by `palisade lock`; commit it. Do not edit: scans refuse digests \
                      that do not match the registry.\n";

/// A parsed `palisade.lock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Lockfile {
    /// The lock format, 1.
    pub format: u32,
    /// The registry as `palisade.toml` names it: its URL, or its `path` as written.
    pub registry: String,
    /// The index version the lock was resolved against.
    pub index_version: u64,
    /// The locked packs, sorted by name.
    #[serde(default, rename = "plugin")]
    pub plugins: Vec<LockedPlugin>,
}

/// One pack pinned by the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LockedPlugin {
    /// `team/pack`.
    pub name: String,
    /// The exact version.
    pub version: Version,
    /// sha256 of its manifest, as the index lists it.
    pub manifest_sha256: String,
    /// sha256 of its component.
    pub wasm_sha256: String,
    /// Size of its component in bytes.
    pub wasm_size: u64,
}

impl LockedPlugin {
    /// `name@version`.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

impl Lockfile {
    /// Parses a lock file's text.
    pub fn parse(text: &str) -> Result<Lockfile, String> {
        let lock: Lockfile = toml::from_str(text).map_err(|e| e.message().trim().to_string())?;
        if lock.format != 1 {
            return Err(format!(
                "lock format {} is not one this palisade reads (1)",
                lock.format
            ));
        }
        for plugin in &lock.plugins {
            for digest in [&plugin.manifest_sha256, &plugin.wasm_sha256] {
                if digest.len() != 64
                    || !digest
                        .bytes()
                        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                {
                    return Err(format!(
                        "{}: `{digest}` is not a sha256 digest",
                        plugin.id()
                    ));
                }
            }
        }
        Ok(lock)
    }

    /// The canonical text, with a header saying where it comes from.
    pub fn to_toml(&self) -> String {
        let mut sorted = self.clone();
        sorted.plugins.sort_by(|a, b| a.name.cmp(&b.name));
        let body = toml::to_string(&sorted).expect("a lock is plain data that TOML can hold");
        format!("{HEADER}{body}")
    }

    /// Whether this lock still answers the config: the same registry, the same packs, each at a
    /// version its requirement accepts. The error says what changed.
    pub fn check_matches(
        &self,
        registry: &str,
        wanted: &BTreeMap<String, RegistryPlugin>,
    ) -> Result<(), String> {
        if self.registry != registry {
            return Err(format!(
                "it was made for registry {}, the config names {registry}",
                self.registry
            ));
        }
        for (name, plugin) in wanted {
            let Some(locked) = self.plugins.iter().find(|p| &p.name == name) else {
                return Err(format!("it does not pin `{name}`"));
            };
            let requirement = VersionReq::parse(plugin.requirement())
                .map_err(|e| format!("`{name}` requirement: {e}"))?;
            if !requirement.matches(&locked.version) {
                return Err(format!(
                    "it pins {}, which `{}` does not accept",
                    locked.id(),
                    plugin.requirement()
                ));
            }
        }
        if let Some(extra) = self.plugins.iter().find(|p| !wanted.contains_key(&p.name)) {
            return Err(format!(
                "it pins {}, which the config no longer asks for",
                extra.id()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock() -> Lockfile {
        Lockfile {
            format: 1,
            registry: "https://r.example/".to_string(),
            index_version: 3,
            plugins: vec![LockedPlugin {
                name: "platform/k8s".to_string(),
                version: Version::new(1, 2, 0),
                manifest_sha256: "a".repeat(64),
                wasm_sha256: "b".repeat(64),
                wasm_size: 10,
            }],
        }
    }

    #[test]
    fn a_lock_round_trips_with_its_header() {
        let text = lock().to_toml();
        assert!(text.starts_with("# Written by `palisade lock`"), "{text}");
        assert!(
            text.contains("[[plugin]]\nname = \"platform/k8s\""),
            "{text}"
        );
        assert_eq!(Lockfile::parse(&text), Ok(lock()));
    }

    #[test]
    fn a_bad_digest_or_format_is_refused() {
        let text = lock().to_toml().replace(&"a".repeat(64), "abc");
        assert!(
            Lockfile::parse(&text)
                .unwrap_err()
                .contains("not a sha256 digest")
        );
        let text = lock().to_toml().replace("format = 1", "format = 2");
        assert!(
            Lockfile::parse(&text)
                .unwrap_err()
                .contains("lock format 2")
        );
    }

    #[test]
    fn a_lock_that_no_longer_answers_the_config_says_why() {
        let wanted = |req: &str| {
            BTreeMap::from([(
                "platform/k8s".to_string(),
                RegistryPlugin::Version(req.to_string()),
            )])
        };
        let lock = lock();
        assert_eq!(
            lock.check_matches("https://r.example/", &wanted("^1.1")),
            Ok(())
        );
        let error = lock
            .check_matches("https://r.example/", &wanted("^2"))
            .unwrap_err();
        assert!(
            error.contains("pins platform/k8s@1.2.0, which `^2`"),
            "{error}"
        );
        let error = lock
            .check_matches("https://other.example/", &wanted("1"))
            .unwrap_err();
        assert!(
            error.contains("made for registry https://r.example/"),
            "{error}"
        );
        let error = lock
            .check_matches("https://r.example/", &BTreeMap::new())
            .unwrap_err();
        assert!(error.contains("no longer asks for"), "{error}");
    }
}
