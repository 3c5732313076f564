//! `k8s/service-account-token-automount`: pods must opt out of mounting an API token.

use palisade_sdk::{Report, Resource, Rule, Severity, Value, kubernetes, pointer};

pub const RULE: Rule = Rule {
    id: "k8s/service-account-token-automount",
    title: "Service account token is mounted",
    severity: Severity::Medium,
    kinds: &KINDS,
    description: "By default every pod gets a token for its service account mounted at \
`/var/run/secrets/kubernetes.io/serviceaccount`. Most applications never call the Kubernetes \
API, but anyone who compromises them can use that token, with whatever RBAC the account has \
been granted over time, to move through the cluster. This rule fires for every workload whose \
pod spec does not set `automountServiceAccountToken: false`.\n
The pod's setting wins over its service account's, and a rule sees one object at a time, so \
workloads are judged on their own pod spec. Among `ServiceAccount` objects only the `default` \
account is checked (it must set `automountServiceAccountToken: false`): every pod that names no \
account runs as it. Other accounts exist to be used, and their pods are checked directly.",
    remediation: "Set `automountServiceAccountToken: false` in the pod spec, and on the \
namespace's `default` ServiceAccount. A workload that does call the API should run under its own \
ServiceAccount with minimal RBAC, and mount a short-lived, audience-bound token through a \
`projected` volume with a `serviceAccountToken` source.",
    help_uri: Some(
        "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#opt-out-of-api-credential-automounting",
    ),
    tags: &["cis-k8s/5.1.5", "cis-k8s/5.1.6"],
    check,
};

const WORKLOADS: usize = kubernetes::WORKLOAD_KINDS.len();

/// Workload kinds, and `ServiceAccount`.
const KINDS: [&str; WORKLOADS + 1] = {
    let mut kinds = ["kubernetes/ServiceAccount"; WORKLOADS + 1];
    let mut index = 0;
    while index < WORKLOADS {
        kinds[index] = kubernetes::WORKLOAD_KINDS[index];
        index += 1;
    }
    kinds
};

const FIELD: &str = "automountServiceAccountToken";

fn check(resource: &Resource, report: &mut Report) {
    if resource.type_name() == "ServiceAccount" {
        check_service_account(resource, report);
        return;
    }
    let Some(pod) = kubernetes::pod_spec(resource) else {
        return;
    };
    match pod.get(&[FIELD]).as_bool() {
        Some(false) => {}
        Some(true) => report.finding(
            pod.pointer_to(&[FIELD]),
            "pod mounts its service account's API token (`automountServiceAccountToken: true`)",
        ),
        None => {
            let account = pod
                .get(&["serviceAccountName"])
                .as_str()
                .filter(|name| !name.is_empty())
                .unwrap_or("default");
            report.finding(
                pod.pointer,
                format!(
                    "pod does not set `automountServiceAccountToken: false`, so it mounts an API \
                     token for service account `{account}` unless that account opts out"
                ),
            );
        }
    }
}

fn check_service_account(resource: &Resource, report: &mut Report) {
    if kubernetes::name(resource) != "default" {
        return;
    }
    let pointer = "/automountServiceAccountToken";
    match pointer::get(resource.attributes, pointer) {
        Some(Value::Bool(false)) => {}
        Some(_) => report.finding(
            pointer,
            "the `default` service account does not opt out of token automounting, so every \
             pod that names no account mounts its token",
        ),
        None => report.finding(
            "",
            "the `default` service account does not set `automountServiceAccountToken: false`, \
             so every pod that names no account mounts its token",
        ),
    }
}
