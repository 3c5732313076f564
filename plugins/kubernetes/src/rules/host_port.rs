//! `k8s/host-port`: containers must not bind ports of the node.

use palisade_sdk::{Report, Resource, Rule, Severity, kubernetes};

pub const RULE: Rule = Rule {
    id: "k8s/host-port",
    title: "Container binds a host port",
    severity: Severity::Medium,
    kinds: kubernetes::WORKLOAD_KINDS,
    description: "`ports[].hostPort` opens a port on the node's own address and forwards it to \
the container. It exposes the workload outside the cluster's network policies and service \
layer, ties the pod to nodes where that port is free, and lets a compromised workload \
impersonate a node service. A `hostPort` of `0` means none and is not reported.",
    remediation: "Remove `hostPort` and expose the container through a `Service` (`ClusterIP`, \
`NodePort` or `LoadBalancer`) or an `Ingress`.",
    help_uri: Some("https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline"),
    tags: &["pod-security/baseline", "cis-k8s/5.2.13"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    for container in kubernetes::containers(resource) {
        let Some(ports) = container.get(&["ports"]).as_array() else {
            continue;
        };
        for (index, port) in ports.iter().enumerate() {
            let Some(host_port) = port.get("hostPort").as_i64() else {
                continue;
            };
            if host_port != 0 {
                report.finding(
                    container.pointer_to(&["ports", &index.to_string(), "hostPort"]),
                    format!(
                        "{} binds port {host_port} of the node",
                        container.describe()
                    ),
                );
            }
        }
    }
}
