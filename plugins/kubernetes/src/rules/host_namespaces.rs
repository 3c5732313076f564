//! `k8s/host-namespaces`: pods must not share the node's network, process or IPC namespace.

use palisade_sdk::{Report, Resource, Rule, Severity, kubernetes};

pub const RULE: Rule = Rule {
    id: "k8s/host-namespaces",
    title: "Pod shares a host namespace",
    severity: Severity::High,
    kinds: kubernetes::WORKLOAD_KINDS,
    description: "`hostNetwork`, `hostPID` and `hostIPC` put the pod in the node's own network, \
process or IPC namespace. With the host network a pod can reach services bound to the node's \
loopback (the kubelet, cloud metadata proxies), sniff traffic and bypass network policies; with \
the host PID namespace it can see every process on the node, read their environment and, with \
`CAP_SYS_PTRACE`, enter them; with host IPC it can read other workloads' shared memory. Each \
field set to `true` is reported on its own.",
    remediation: "Remove `hostNetwork`, `hostPID` and `hostIPC` from the pod spec (or set them \
to `false`). Expose network services through a `Service` instead of the host network.",
    help_uri: Some("https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline"),
    tags: &[
        "pod-security/baseline",
        "cis-k8s/5.2.3",
        "cis-k8s/5.2.4",
        "cis-k8s/5.2.5",
    ],
    check,
};

/// The pod spec fields that share a host namespace, with the namespace each shares.
const FIELDS: [(&str, &str); 3] = [
    ("hostNetwork", "network"),
    ("hostPID", "process (PID)"),
    ("hostIPC", "IPC"),
];

fn check(resource: &Resource, report: &mut Report) {
    let Some(pod) = kubernetes::pod_spec(resource) else {
        return;
    };
    for (field, namespace) in FIELDS {
        if pod.get(&[field]).as_bool() == Some(true) {
            report.finding(
                pod.pointer_to(&[field]),
                format!("pod shares the node's {namespace} namespace (`{field}: true`)"),
            );
        }
    }
}
