//! `k8s/seccomp-unconfined`: pods and containers must run under a seccomp profile.

use palisade_sdk::{Report, Resource, Rule, Severity, kubernetes};

pub const RULE: Rule = Rule {
    id: "k8s/seccomp-unconfined",
    title: "Container runs without seccomp",
    severity: Severity::Medium,
    kinds: kubernetes::WORKLOAD_KINDS,
    description: "A seccomp profile limits the system calls a container may make; the runtime's \
default profile blocks around fifty rarely needed ones (`keyctl`, `bpf`, `unshare`, \
`open_by_handle_at`…) that keep appearing in kernel exploits and container escapes. \
`seccompProfile.type: Unconfined` turns that filter off, and is reported at the pod or \
container level where it is set. A container that sets no profile at either level also runs \
unconfined, unless every node's kubelet enables `--seccomp-default`; that is reported at \
**low** severity on the container. Pods for Windows nodes (`spec.os.name: windows`) are exempt.",
    remediation: "Set `securityContext.seccompProfile.type: RuntimeDefault` in the pod spec (or \
`Localhost` with a `localhostProfile` tailored to the workload), and remove any \
`Unconfined` profile from the pod and its containers.",
    help_uri: Some("https://kubernetes.io/docs/tutorials/security/seccomp/"),
    tags: &[
        "pod-security/baseline",
        "pod-security/restricted",
        "cis-k8s/5.7.2",
    ],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let Some(pod) = kubernetes::pod_spec(resource) else {
        return;
    };
    if super::is_windows(pod) {
        return;
    }
    let path = ["securityContext", "seccompProfile", "type"];
    let pod_type = pod.get(&path).as_str();
    if pod_type.is_some_and(is_unconfined) {
        report.finding(
            pod.pointer_to(&path),
            "pod sets seccomp profile `Unconfined`, so its containers may make any system call",
        );
    }
    for container in pod.containers() {
        match container.get(&path).as_str() {
            Some(kind) if is_unconfined(kind) => report.finding(
                container.pointer_to(&path),
                format!(
                    "{} sets seccomp profile `Unconfined`, so it may make any system call",
                    container.describe()
                ),
            ),
            Some(_) => {}
            None if pod_type.is_none() => report.finding_with_severity(
                container.pointer(),
                format!(
                    "{} sets no seccomp profile and runs unconfined unless the kubelet \
                     defaults to one",
                    container.describe()
                ),
                Severity::Low,
            ),
            None => {}
        }
    }
}

fn is_unconfined(kind: &str) -> bool {
    kind.eq_ignore_ascii_case("Unconfined")
}
