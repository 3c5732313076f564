//! `k8s/writable-root-filesystem`: containers should mount their root filesystem read-only.

use palisade_sdk::{Report, Resource, Rule, Severity, kubernetes};

pub const RULE: Rule = Rule {
    id: "k8s/writable-root-filesystem",
    title: "Container root filesystem is writable",
    severity: Severity::Medium,
    kinds: kubernetes::WORKLOAD_KINDS,
    description: "Unless `readOnlyRootFilesystem` is `true`, a compromised process can write to \
the container's image layers: drop tools and payloads, replace binaries and libraries the \
application loads later, or tamper with its configuration, and the changes live as long as the \
container does. A read-only root filesystem makes the container immutable at run time and \
attacks much harder to stage. Every container is checked, init and ephemeral ones included; pods \
for Windows nodes (`spec.os.name: windows`) are exempt, as the field does not exist there.",
    remediation: "Set `securityContext.readOnlyRootFilesystem: true` and mount an `emptyDir` \
volume at each path the application must write to (`/tmp`, caches, sockets).",
    help_uri: Some("https://kubernetes.io/docs/tasks/configure-pod-container/security-context/"),
    tags: &["cis-k8s/5.7.3"],
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
        let read_only = container
            .security_context("readOnlyRootFilesystem")
            .as_bool();
        if read_only == Some(true) {
            continue;
        }
        let message = if read_only == Some(false) {
            format!(
                "{} sets `readOnlyRootFilesystem: false`",
                container.describe()
            )
        } else {
            format!(
                "{} does not set `readOnlyRootFilesystem: true`",
                container.describe()
            )
        };
        report.finding(
            container.pointer_to(&["securityContext", "readOnlyRootFilesystem"]),
            message,
        );
    }
}
