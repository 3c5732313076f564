//! `k8s/dangerous-capabilities`: containers must not add powerful Linux capabilities.

use palisade_sdk::{Report, Resource, Rule, Severity, kubernetes};

pub const RULE: Rule = Rule {
    id: "k8s/dangerous-capabilities",
    title: "Container adds a dangerous capability",
    severity: Severity::High,
    kinds: kubernetes::WORKLOAD_KINDS,
    description: "Linux capabilities split root's power into pieces; `securityContext.\
capabilities.add` hands pieces back. Some of them are as good as root on the node: `ALL`, \
`SYS_ADMIN` (mount, namespaces, BPF, and much more), `SYS_MODULE` (load kernel modules), \
`SYS_RAWIO` (raw device and memory access) and `DAC_READ_SEARCH` (read any host file through \
`open_by_handle_at`, the \"shocker\" escape) are reported as **critical**. Others widen the \
attack surface enough to be reported as **high**: `NET_ADMIN`, `NET_RAW` (spoofing, ARP and DNS \
poisoning), `SYS_PTRACE`, `BPF`, `PERFMON`, `SYS_BOOT`, `SYS_TIME`, `SYSLOG`, `MAC_ADMIN`, \
`MAC_OVERRIDE`, `LINUX_IMMUTABLE`, `AUDIT_CONTROL`. Any other capability outside the Pod \
Security baseline set (`AUDIT_WRITE`, `CHOWN`, `DAC_OVERRIDE`, `FOWNER`, `FSETID`, `KILL`, \
`MKNOD`, `NET_BIND_SERVICE`, `SETFCAP`, `SETGID`, `SETPCAP`, `SETUID`, `SYS_CHROOT`) is \
reported as **medium**. Names match with or without the `CAP_` prefix, in any case.",
    remediation: "Remove the capability from `securityContext.capabilities.add`. Drop `ALL` and \
add back only what the process needs, typically nothing or `NET_BIND_SERVICE`; if it needs more, \
move that task out of the container (a node agent, a CNI plugin, a privileged operator outside \
the application's blast radius).",
    help_uri: Some(
        "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/#set-capabilities-for-a-container",
    ),
    tags: &["pod-security/baseline", "cis-k8s/5.2.8", "cis-k8s/5.2.9"],
    check,
};

/// Capabilities worth a finding above medium, with their severity and what they give away.
const DANGEROUS: &[(&str, Severity, &str)] = &[
    ("ALL", Severity::Critical, "every capability root has"),
    (
        "SYS_ADMIN",
        Severity::Critical,
        "mounts, namespaces and most of root's power",
    ),
    ("SYS_MODULE", Severity::Critical, "loading kernel modules"),
    (
        "SYS_RAWIO",
        Severity::Critical,
        "raw access to devices and memory",
    ),
    (
        "DAC_READ_SEARCH",
        Severity::Critical,
        "reading any file of the node",
    ),
    (
        "SYS_PTRACE",
        Severity::High,
        "tracing and injecting code into other processes",
    ),
    (
        "NET_ADMIN",
        Severity::High,
        "reconfiguring the network stack",
    ),
    (
        "NET_RAW",
        Severity::High,
        "raw sockets for spoofing and poisoning",
    ),
    (
        "BPF",
        Severity::High,
        "loading BPF programs into the kernel",
    ),
    (
        "PERFMON",
        Severity::High,
        "kernel performance monitoring that can leak memory",
    ),
    ("SYS_BOOT", Severity::High, "rebooting the node"),
    ("SYS_TIME", Severity::High, "setting the node's clock"),
    (
        "SYSLOG",
        Severity::High,
        "reading kernel logs and addresses",
    ),
    (
        "MAC_ADMIN",
        Severity::High,
        "changing mandatory access control policy",
    ),
    (
        "MAC_OVERRIDE",
        Severity::High,
        "bypassing mandatory access control",
    ),
    (
        "LINUX_IMMUTABLE",
        Severity::High,
        "changing immutable and append-only files",
    ),
    (
        "AUDIT_CONTROL",
        Severity::High,
        "changing the kernel's audit rules",
    ),
];

/// Capabilities the Pod Security baseline profile allows to be added.
const BASELINE: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn check(resource: &Resource, report: &mut Report) {
    for container in kubernetes::containers(resource) {
        let Some(added) = container
            .get(&["securityContext", "capabilities", "add"])
            .as_array()
        else {
            continue;
        };
        for (index, raw) in added.iter().enumerate() {
            let Some(raw) = raw.as_str() else {
                continue;
            };
            let Some((severity, why)) = assess(raw) else {
                continue;
            };
            let pointer = container.pointer_to(&[
                "securityContext",
                "capabilities",
                "add",
                &index.to_string(),
            ]);
            let message = format!("{} adds capability `{raw}`: {why}", container.describe());
            if severity == RULE.severity {
                report.finding(pointer, message);
            } else {
                report.finding_with_severity(pointer, message, severity);
            }
        }
    }
}

/// The severity and reason of adding the capability `raw`, or `None` when the baseline allows it.
fn assess(raw: &str) -> Option<(Severity, &'static str)> {
    let name = super::capability_name(raw);
    if let Some((_, severity, why)) = DANGEROUS
        .iter()
        .find(|(known, ..)| known.eq_ignore_ascii_case(name))
    {
        return Some((*severity, why));
    }
    if BASELINE
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(name))
    {
        return None;
    }
    Some((Severity::Medium, "outside the Pod Security baseline set"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_with_or_without_prefix_in_any_case() {
        for raw in [
            "SYS_ADMIN",
            "CAP_SYS_ADMIN",
            "sys_admin",
            "cap_Sys_Admin",
            " SYS_ADMIN ",
        ] {
            assert_eq!(
                assess(raw).map(|(s, _)| s),
                Some(Severity::Critical),
                "{raw}"
            );
        }
        assert_eq!(assess("all").map(|(s, _)| s), Some(Severity::Critical));
        assert_eq!(assess("CAP_NET_RAW").map(|(s, _)| s), Some(Severity::High));
    }

    #[test]
    fn baseline_capabilities_pass_and_others_are_medium() {
        for raw in ["NET_BIND_SERVICE", "cap_chown", "KILL", "SYS_CHROOT"] {
            assert_eq!(assess(raw), None, "{raw}");
        }
        for raw in [
            "IPC_LOCK",
            "SYS_NICE",
            "SYS_RESOURCE",
            "NOT_A_CAPABILITY",
            "",
        ] {
            assert_eq!(assess(raw).map(|(s, _)| s), Some(Severity::Medium), "{raw}");
        }
    }
}
