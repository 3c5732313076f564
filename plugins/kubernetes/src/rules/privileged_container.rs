//! `k8s/privileged-container`: containers must not run privileged.

use palisade_sdk::{Report, Resource, Rule, Severity, kubernetes};

pub const RULE: Rule = Rule {
    id: "k8s/privileged-container",
    title: "Container runs privileged",
    severity: Severity::Critical,
    kinds: kubernetes::WORKLOAD_KINDS,
    description: "A privileged container runs with every Linux capability and with access to all \
host devices; it can load kernel modules, mount the host filesystem and escape to the node. \
One compromised privileged container means a compromised node.",
    remediation: "Remove `securityContext.privileged: true` (or set it to `false`). Grant the few \
capabilities the workload really needs with `securityContext.capabilities.add` instead.",
    help_uri: Some("https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline"),
    tags: &["pod-security/baseline", "cis-k8s/5.2.2"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    for container in kubernetes::containers(resource) {
        if container.security_context("privileged").as_bool() == Some(true) {
            report.finding(
                container.pointer_to(&["securityContext", "privileged"]),
                format!("{} runs privileged", container.describe()),
            );
        }
    }
}
