//! `k8s/capabilities-not-dropped`: containers must drop all Linux capabilities.

use palisade_sdk::{Report, Resource, Rule, Severity, Value, kubernetes};

pub const RULE: Rule = Rule {
    id: "k8s/capabilities-not-dropped",
    title: "Container keeps default capabilities",
    severity: Severity::Low,
    kinds: kubernetes::WORKLOAD_KINDS,
    description: "Container runtimes grant a default set of Linux capabilities (`CHOWN`, \
`DAC_OVERRIDE`, `FOWNER`, `SETUID`, `SETGID`, `NET_BIND_SERVICE`, and with some runtimes \
`NET_RAW`, among others) that most applications never use. Each one is attack surface for a \
process that gets compromised: `DAC_OVERRIDE` ignores file permissions, `NET_RAW` allows \
spoofing, `SETUID` eases escalation. This rule fires when `securityContext.capabilities.drop` \
does not contain `ALL` (in any case; container runtimes do not recognize `CAP_ALL`). Pods for \
Windows nodes (`spec.os.name: windows`) are exempt.",
    remediation: "Set `securityContext.capabilities.drop: [\"ALL\"]` on every container and add \
back only what the process needs, e.g. `add: [\"NET_BIND_SERVICE\"]` to bind ports below 1024.",
    help_uri: Some(
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
    ),
    tags: &["pod-security/restricted", "cis-k8s/5.2.10"],
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
        let path = ["securityContext", "capabilities", "drop"];
        let dropped = container.get(&path).as_array();
        // Runtimes recognize `ALL` in any case, but not `CAP_ALL`.
        let drops_all = dropped
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|name| name.trim().eq_ignore_ascii_case("ALL"));
        if drops_all {
            continue;
        }
        let message = if dropped.is_some() {
            format!(
                "{} drops some capabilities but not `ALL`",
                container.describe()
            )
        } else {
            format!("{} does not drop `ALL` capabilities", container.describe())
        };
        report.finding(container.pointer_to(&path), message);
    }
}
