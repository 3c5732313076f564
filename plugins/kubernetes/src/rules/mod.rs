//! The pack's rules, one per file.
//!
//! Where a finding points: at the offending value when it exists; when a required field is
//! missing, at the deepest object on its path that does exist (the container's `securityContext`,
//! else the container), so the host reports the line where the field belongs. Fields a container
//! inherits from the pod (`runAsNonRoot`, `runAsUser`, `seccompProfile`) point at the container
//! when set at neither level, since either level would fix it.

use palisade_sdk::Rule;
use palisade_sdk::kubernetes::PodSpec;

mod capabilities_not_dropped;
mod cluster_admin_binding;
mod dangerous_capabilities;
mod default_namespace;
mod host_namespaces;
mod host_path_volume;
mod host_port;
mod image_latest_tag;
mod missing_resource_limits;
mod privilege_escalation;
mod privileged_container;
mod rbac_wildcard;
mod run_as_root;
mod seccomp_unconfined;
mod secret_in_env;
mod service_account_token_automount;
mod writable_root_filesystem;

/// Every rule of the pack, in the order `palisade rules` lists them.
pub const ALL: &[Rule] = &[
    privileged_container::RULE,
    privilege_escalation::RULE,
    run_as_root::RULE,
    host_namespaces::RULE,
    host_path_volume::RULE,
    host_port::RULE,
    dangerous_capabilities::RULE,
    capabilities_not_dropped::RULE,
    seccomp_unconfined::RULE,
    writable_root_filesystem::RULE,
    secret_in_env::RULE,
    image_latest_tag::RULE,
    missing_resource_limits::RULE,
    service_account_token_automount::RULE,
    default_namespace::RULE,
    rbac_wildcard::RULE,
    cluster_admin_binding::RULE,
];

/// True for pods bound to Windows nodes (`spec.os.name: windows`), which cannot set the
/// Linux-only security fields (capabilities, seccomp, `allowPrivilegeEscalation`,
/// `readOnlyRootFilesystem`…); the Pod Security Standards exempt them from those checks.
fn is_windows(pod: &PodSpec) -> bool {
    pod.get(&["os", "name"]).as_str() == Some("windows")
}

/// A Linux capability name without its optional `CAP_` prefix, e.g. `SYS_ADMIN`.
fn capability_name(raw: &str) -> &str {
    let raw = raw.trim();
    match raw.get(..4) {
        Some(prefix) if prefix.eq_ignore_ascii_case("CAP_") => &raw[4..],
        _ => raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_documented_and_unique() {
        palisade_sdk::testing::check_rule_catalogue(ALL, "k8s/", 80);
        for rule in ALL {
            assert!(
                rule.help_uri
                    .is_some_and(|uri| uri.starts_with("https://kubernetes.io/")),
                "{}",
                rule.id
            );
        }
    }

    #[test]
    fn capability_names_drop_the_cap_prefix_in_any_case() {
        assert_eq!(capability_name("CAP_SYS_ADMIN"), "SYS_ADMIN");
        assert_eq!(capability_name("cap_net_raw"), "net_raw");
        assert_eq!(capability_name(" ALL "), "ALL");
        assert_eq!(capability_name("CAP"), "CAP");
        assert_eq!(capability_name("é"), "é");
    }
}
