//! `k8s/privilege-escalation`: containers must set `allowPrivilegeEscalation: false`.

use palisade_sdk::{Report, Resource, Rule, Severity, kubernetes};

pub const RULE: Rule = Rule {
    id: "k8s/privilege-escalation",
    title: "Container may escalate privileges",
    severity: Severity::High,
    kinds: kubernetes::WORKLOAD_KINDS,
    description: "`allowPrivilegeEscalation` sets the kernel's `no_new_privs` flag on the \
container's processes. Unless it is explicitly `false`, a process can gain more privileges than \
its parent through setuid binaries or file capabilities, turning a foothold as an unprivileged \
user into root inside the container. Kubernetes allows escalation when the field is absent, and \
always for privileged containers. Every container is checked, init and ephemeral ones included; \
pods for Windows nodes (`spec.os.name: windows`) are exempt, as the field does not exist there.",
    remediation: "Set `securityContext.allowPrivilegeEscalation: false` on every container, and \
do not run it privileged.",
    help_uri: Some(
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
    ),
    tags: &["pod-security/restricted", "cis-k8s/5.2.6"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let Some(pod) = kubernetes::pod_spec(resource) else {
        return;
    };
    if super::is_windows(pod) {
        return;
    }
    for container in pod.containers() {
        let allowed = container
            .security_context("allowPrivilegeEscalation")
            .as_bool();
        if allowed == Some(false) {
            // Even when privileged: the API server rejects that combination, and
            // `k8s/privileged-container` reports the privilege itself.
            continue;
        }
        let privileged = container.security_context("privileged").as_bool() == Some(true);
        let message = if privileged {
            format!(
                "{} runs privileged, which always allows privilege escalation",
                container.describe()
            )
        } else if allowed == Some(true) {
            format!(
                "{} sets `allowPrivilegeEscalation: true`",
                container.describe()
            )
        } else {
            format!(
                "{} does not set `allowPrivilegeEscalation: false`, so its processes may gain \
                 privileges",
                container.describe()
            )
        };
        report.finding(
            container.pointer_to(&["securityContext", "allowPrivilegeEscalation"]),
            message,
        );
    }
}
