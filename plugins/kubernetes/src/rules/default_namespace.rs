//! `k8s/default-namespace`: namespaced objects must name a namespace other than `default`.

use palisade_sdk::{Report, Resource, Rule, Severity, Value, kubernetes, pointer};

pub const RULE: Rule = Rule {
    id: "k8s/default-namespace",
    title: "Object in the default namespace",
    severity: Severity::Low,
    kinds: &["kubernetes/*"],
    description: "Namespaces are the boundary for RBAC, network policies, quotas and Pod \
Security admission. The `default` namespace usually has none of those set up, is shared by \
everything nobody placed deliberately, and is where a stray `kubectl apply` lands. An object \
with no `metadata.namespace` goes to whatever namespace the applying context uses, which makes \
the manifest's effect depend on who applies it. This rule fires for namespaced objects whose \
namespace is missing, empty or `default`. Cluster-scoped kinds (`Namespace`, `ClusterRole`, \
`PersistentVolume`, `StorageClass`, `CustomResourceDefinition`, webhook configurations…) are \
skipped, as are tool configuration files that look like objects (`Kustomization`, \
`KubeletConfiguration`, kubeadm, kind and audit configs, kubeconfig files). Bases meant to be \
placed by Kustomize or Helm can be waived by path.",
    remediation: "Set `metadata.namespace` to the application's own namespace, created with the \
RBAC, network policies, quotas and Pod Security labels it needs.",
    help_uri: Some("https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/"),
    tags: &["cis-k8s/5.7.1", "cis-k8s/5.7.4"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let kind = resource.type_name();
    if is_cluster_scoped(resource) || is_tool_config(resource) {
        return;
    }
    let name = kubernetes::name(resource);
    let unplaced = || {
        format!(
            "{kind} `{name}` names no namespace, so it lands in whichever one is current \
             when applied, often `default`"
        )
    };
    match pointer::get(resource.attributes, "/metadata/namespace") {
        None => {
            let pointer = if !resource.get("/metadata").is_null() {
                "/metadata"
            } else {
                ""
            };
            report.finding(pointer, unplaced());
        }
        Some(Value::Null) => report.finding("/metadata/namespace", unplaced()),
        Some(Value::Str(namespace)) if namespace.is_empty() || namespace == "default" => report
            .finding(
                "/metadata/namespace",
                format!("{kind} `{name}` is in the `default` namespace"),
            ),
        Some(_) => {}
    }
}

/// True for objects outside any namespace. The host's normalizer knows the cluster-scoped kinds
/// (built-in ones and widely used custom resources) and gives their objects a two-part id,
/// `Kind/name`, against `Kind/namespace/name` for namespaced ones; object names cannot contain `/`.
fn is_cluster_scoped(resource: &Resource) -> bool {
    resource.id.split('/').count() < 3
}

/// True for configuration files of Kubernetes tools, which share the object format but are never
/// applied to a cluster: `*.config.k8s.io` (Kustomize, kubelet, kube-proxy, scheduler, API
/// server), kubeadm, kind, audit policies, and kubeconfig files (`v1` `Config`).
fn is_tool_config(resource: &Resource) -> bool {
    let api_version = resource.get("/apiVersion").as_str().unwrap_or("");
    match api_version.rsplit_once('/') {
        Some((group, _)) => {
            group.ends_with(".config.k8s.io")
                || matches!(group, "kubeadm.k8s.io" | "kind.x-k8s.io" | "audit.k8s.io")
        }
        None => resource.type_name() == "Config",
    }
}
