//! `k8s/missing-resource-limits`: containers must set CPU and memory limits.

use palisade_sdk::kubernetes::ContainerRole;
use palisade_sdk::{Report, Resource, Rule, Severity, kubernetes};

pub const RULE: Rule = Rule {
    id: "k8s/missing-resource-limits",
    title: "Container has no resource limits",
    severity: Severity::Medium,
    kinds: kubernetes::WORKLOAD_KINDS,
    description: "Without `resources.limits`, one container can take all the memory or CPU of \
its node: a leak, a traffic spike or a deliberate attack (a zip bomb, a crypto miner) then \
starves or evicts every other pod scheduled there, and the namespace's `ResourceQuota` cannot \
account for it. A missing memory limit is reported at **medium** severity; a container that \
only lacks a CPU limit at **low**, since CPU is compressible and some teams leave it unlimited \
on purpose to avoid throttling. Init containers are checked too; ephemeral containers cannot \
set resources and are skipped.",
    remediation: "Set `resources.limits.memory` and `resources.limits.cpu` on every container \
(with matching `requests`), sized from observed usage; a `LimitRange` in the namespace can \
supply defaults.",
    help_uri: Some(
        "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
    ),
    tags: &["availability"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    for container in kubernetes::containers(resource) {
        if container.role == ContainerRole::Ephemeral {
            continue;
        }
        let limits = container.get(&["resources", "limits"]);
        let has = |name: &'static str| !limits.get(name).is_null();
        let pointer = || container.pointer_to(&["resources", "limits"]);
        match (has("cpu"), has("memory")) {
            (true, true) => {}
            (false, true) => report.finding_with_severity(
                pointer(),
                format!("{} has no CPU limit", container.describe()),
                Severity::Low,
            ),
            (true, false) => report.finding(
                pointer(),
                format!("{} has no memory limit", container.describe()),
            ),
            (false, false) => report.finding(
                pointer(),
                format!("{} has no CPU or memory limit", container.describe()),
            ),
        }
    }
}
