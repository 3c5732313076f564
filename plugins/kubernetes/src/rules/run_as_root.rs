//! `k8s/run-as-root`: containers must be required to run as a non-root user.

use palisade_sdk::{Report, Resource, Rule, Severity, kubernetes};

pub const RULE: Rule = Rule {
    id: "k8s/run-as-root",
    title: "Container may run as root",
    severity: Severity::High,
    kinds: kubernetes::WORKLOAD_KINDS,
    description: "A container runs as the user its image names unless the pod says otherwise, \
and most images name root. Root in a container is root on the node for anything that crosses \
the boundary: a writable host mount, a kernel bug, a runtime escape. This rule fires when the \
effective `runAsUser` (the container's own, else the pod's) is `0`, or when no non-zero \
`runAsUser` is set and the effective `runAsNonRoot` is not `true`, so nothing stops the image \
from running as root.",
    remediation: "Set `securityContext.runAsNonRoot: true` at the pod level (the kubelet then \
refuses to start a container whose user is root) and a non-zero `runAsUser`, e.g. `10001`; \
do not set `runAsUser: 0` or `runAsNonRoot: false` on any container.",
    help_uri: Some(
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
    ),
    tags: &["pod-security/restricted", "cis-k8s/5.2.7"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let Some(pod) = kubernetes::pod_spec(resource) else {
        return;
    };
    for container in pod.containers() {
        let user = container
            .effective_security_context(pod, "runAsUser")
            .and_then(|(pointer, value)| Some((pointer, value.as_i64()?)));
        let non_root = || {
            container
                .effective_security_context(pod, "runAsNonRoot")
                .and_then(|(pointer, value)| Some((pointer, value.as_bool()?)))
        };
        let (pointer, problem) = match user {
            Some((pointer, 0)) => (pointer, "runs as root (`runAsUser: 0`)"),
            Some(_) => continue,
            None => match non_root() {
                Some((_, true)) => continue,
                Some((pointer, false)) => (
                    pointer,
                    "sets `runAsNonRoot: false` and no non-root `runAsUser`, so it runs as root \
                     if its image does",
                ),
                None => (
                    container.pointer(),
                    "sets neither `runAsNonRoot: true` nor a non-root `runAsUser`, so it runs as \
                     root if its image does",
                ),
            },
        };
        report.finding(pointer, format!("{} {problem}", container.describe()));
    }
}
