//! `k8s/cluster-admin-binding`: bindings must not grant the `cluster-admin` role.

use palisade_sdk::{Report, Resource, Rule, Severity, Value};

pub const RULE: Rule = Rule {
    id: "k8s/cluster-admin-binding",
    title: "Binding grants cluster-admin",
    severity: Severity::High,
    kinds: &["kubernetes/RoleBinding", "kubernetes/ClusterRoleBinding"],
    description: "`cluster-admin` allows every action on every resource. A `ClusterRoleBinding` \
to it makes its subjects superusers of the whole cluster: a service account bound this way \
turns any compromise of its pods into a compromise of the cluster. A `RoleBinding` to it grants \
the same inside one namespace (secrets, RBAC, workloads), and is reported at **medium** \
severity. The built-in binding of the `system:masters` group is not reported.",
    remediation: "Bind a role that grants only what the subjects need: a custom `Role` or \
`ClusterRole`, or the built-in `view`, `edit` or `admin` roles with a namespace-scoped \
`RoleBinding`. Keep `cluster-admin` for break-glass access by people, not by workloads.",
    help_uri: Some(
        "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles",
    ),
    tags: &["cis-k8s/5.1.1"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    if resource.get("/roleRef/name").as_str() != Some("cluster-admin") {
        return;
    }
    if !matches!(
        resource.get("/roleRef/kind").as_str(),
        None | Some("ClusterRole")
    ) {
        return;
    }
    let subjects = resource.get("/subjects").as_array().unwrap_or_default();
    if !subjects.is_empty() && subjects.iter().all(is_system_masters) {
        return;
    }
    let whom = describe_subjects(subjects);
    if resource.type_name() == "ClusterRoleBinding" {
        report.finding(
            "/roleRef/name",
            format!("grants `cluster-admin` over the whole cluster to {whom}"),
        );
    } else {
        report.finding_with_severity(
            "/roleRef/name",
            format!("grants `cluster-admin` over its namespace to {whom}"),
            Severity::Medium,
        );
    }
}

fn is_system_masters(subject: &Value) -> bool {
    subject.get("kind").as_str() == Some("Group")
        && subject.get("name").as_str() == Some("system:masters")
}

/// "ServiceAccount `ci/deployer`, Group `ops`" (at most three, then a count of the rest).
fn describe_subjects(subjects: &[Value]) -> String {
    const SHOWN: usize = 3;
    if subjects.is_empty() {
        return "no subjects yet".to_string();
    }
    let mut out = String::new();
    for subject in subjects.iter().take(SHOWN) {
        if !out.is_empty() {
            out.push_str(", ");
        }
        let field = |name| subject.get(name).as_str().unwrap_or("");
        let (kind, name, namespace) = (field("kind"), field("name"), field("namespace"));
        out.push_str(if kind.is_empty() { "subject" } else { kind });
        out.push_str(" `");
        if !namespace.is_empty() {
            out.push_str(namespace);
            out.push('/');
        }
        out.push_str(name);
        out.push('`');
    }
    if subjects.len() > SHOWN {
        out.push_str(&format!(" and {} more", subjects.len() - SHOWN));
    }
    out
}
