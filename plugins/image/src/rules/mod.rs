//! The pack's rules, one per file.
//!
//! Which resource a rule judges: what containers run (user, environment, ports, health check,
//! labels, build history) is in `image/config`; what the image holds on disk is in
//! `image/filesystem`, the merged tree after every layer's whiteouts, so a file deleted by a
//! later layer is not judged as present; the image's size is in `image/manifest`.
//!
//! Where a finding points: at the offending value (`/user`, `/env/2`, `/exposed_ports/0`,
//! `/history/4/created_by`, `/files/123`, `/total_size`), or where a missing value belongs
//! (`/healthcheck`, `/labels`).

mod curl_pipe_shell;
mod missing_source_label;
mod no_healthcheck;
mod package_manager_cache;
mod run_as_root;
mod secret_files;
mod secret_in_env;
mod setuid_binaries;
mod ssh_port_exposed;
mod too_large;
mod world_writable_files;

/// Every rule of the pack, in the order `palisade rules` lists them.
pub const ALL: &[palisade_sdk::Rule] = &[
    run_as_root::RULE,
    secret_in_env::RULE,
    ssh_port_exposed::RULE,
    setuid_binaries::RULE,
    world_writable_files::RULE,
    secret_files::RULE,
    package_manager_cache::RULE,
    no_healthcheck::RULE,
    missing_source_label::RULE,
    curl_pipe_shell::RULE,
    too_large::RULE,
];

/// A byte count for messages: `18.3 MiB (19188736 bytes)`.
fn human_size(bytes: u64) -> String {
    const UNITS: &[&str] = &["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    // Precision beyond one decimal does not matter in a message; `as f64` is exact enough.
    let mut size = bytes as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit + 1 < UNITS.len() {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.1} {} ({bytes} bytes)", UNITS[unit])
}

/// What the rules' unit tests share: one resource built from JSON attributes, evaluated by the
/// pack with the given settings.
#[cfg(test)]
mod test_support {
    use palisade_sdk::serde_json;
    use palisade_sdk::{OwnedValue, Policy, Resource, Severity};

    /// One finding as a test sees it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Found {
        pub pointer: String,
        pub message: String,
        pub severity: Option<Severity>,
    }

    /// Findings of `rule` on one resource of `kind` with `attributes`, under `settings` (which
    /// `configure` must accept), in report order.
    pub fn findings_with(
        rule: &str,
        kind: &str,
        attributes: serde_json::Value,
        settings: serde_json::Value,
    ) -> Vec<Found> {
        let config = OwnedValue::from_string(settings.to_string())
            .unwrap_or_else(|e| panic!("settings: {e}"));
        crate::Image::configure(&config).unwrap_or_else(|e| panic!("configure: {e}"));
        let value = OwnedValue::from_string(attributes.to_string())
            .unwrap_or_else(|e| panic!("attributes: {e}"));
        let resource = Resource::new("image/sha256:abc", kind, "app:1.0", &value);
        palisade_sdk::evaluate::<crate::Image>(std::slice::from_ref(&resource), &config)
            .into_iter()
            .filter(|f| f.rule_id == rule)
            .map(|f| Found {
                pointer: f.pointer,
                message: f.message,
                severity: f.severity,
            })
            .collect()
    }

    /// Findings of `rule` without settings.
    pub fn findings(rule: &str, kind: &str, attributes: serde_json::Value) -> Vec<Found> {
        findings_with(rule, kind, attributes, serde_json::json!({}))
    }

    /// The pointers of `rule`'s findings without settings.
    pub fn pointers(rule: &str, kind: &str, attributes: serde_json::Value) -> Vec<String> {
        findings(rule, kind, attributes)
            .into_iter()
            .map(|f| f.pointer)
            .collect()
    }

    /// An `image/filesystem` with the given files (each gets a layer and defaults).
    pub fn filesystem(files: serde_json::Value) -> serde_json::Value {
        let files: Vec<serde_json::Value> = files
            .as_array()
            .expect("a list of files")
            .iter()
            .map(|file| {
                let mut full = serde_json::json!({
                    "type": "file", "mode": 0o644, "uid": 0, "gid": 0, "size": 0, "layer": 0
                });
                for (key, value) in file.as_object().expect("a file object") {
                    full[key] = value.clone();
                }
                full
            })
            .collect();
        serde_json::json!({
            "reference": "app:1.0", "digest": "sha256:abc",
            "layers": [{"digest": "sha256:1a2b3c4d5e6f", "entries": files.len(), "size": 0}],
            "files": files, "removed": [], "total_size": 0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_documented_and_unique() {
        palisade_sdk::testing::check_rule_catalogue(ALL, "image/", 300);
        for rule in ALL {
            assert!(
                rule.description.contains("image/"),
                "{}: the description must say which resource it judges",
                rule.id
            );
            assert!(rule.remediation.len() > 40, "{}", rule.id);
            assert_eq!(rule.kinds.len(), 1, "{}", rule.id);
            assert!(rule.kinds[0].starts_with("image/"), "{}", rule.id);
        }
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(1023), "1023 bytes");
        assert_eq!(human_size(1536), "1.5 KiB (1536 bytes)");
        assert_eq!(human_size(19_188_736), "18.3 MiB (19188736 bytes)");
        assert_eq!(human_size(1_503_238_553), "1.4 GiB (1503238553 bytes)");
    }
}
