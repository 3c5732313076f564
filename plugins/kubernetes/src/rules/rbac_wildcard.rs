//! `k8s/rbac-wildcard`: RBAC roles must not grant wildcards.

use palisade_sdk::{Report, Resource, Rule, Severity};

pub const RULE: Rule = Rule {
    id: "k8s/rbac-wildcard",
    title: "Role grants a wildcard",
    severity: Severity::High,
    kinds: &["kubernetes/Role", "kubernetes/ClusterRole"],
    description: "A `*` in a role rule's `apiGroups`, `resources` or `verbs` grants everything \
that exists now and everything added later: every verb includes `escalate`, `bind` and \
`impersonate`, every resource includes `secrets`, and every API group includes each CRD \
installed next year. Wildcard roles are how least privilege quietly turns into admin. Each \
wildcard entry is reported at its list item, including partial ones such as `pods/*` (every \
subresource, `exec` among them). In a `ClusterRole`, a rule with `*` in all three lists is \
`cluster-admin` under another name and is reported as **critical**.",
    remediation: "List the API groups, resources and verbs the subject needs explicitly, e.g. \
`apiGroups: [\"apps\"]`, `resources: [\"deployments\"]`, `verbs: [\"get\", \"list\", \"watch\"]`. \
Use the built-in `view`, `edit` or `admin` roles where they fit.",
    help_uri: Some("https://kubernetes.io/docs/concepts/security/rbac-good-practices/"),
    tags: &["cis-k8s/5.1.3"],
    check,
};

/// The lists of a role rule that may hold wildcards, with what a `*` in each matches.
const FIELDS: [(&str, &str); 3] = [
    ("apiGroups", "API group"),
    ("resources", "resource"),
    ("verbs", "verb"),
];

fn check(resource: &Resource, report: &mut Report) {
    let Some(rules) = resource.get("/rules").as_array() else {
        return;
    };
    let cluster_role = resource.type_name() == "ClusterRole";
    for (rule_index, rule) in rules.iter().enumerate() {
        let full_admin = cluster_role
            && FIELDS.iter().all(|(field, _)| {
                rule.get(*field)
                    .as_array()
                    .is_some_and(|items| items.iter().any(|item| item.as_str() == Some("*")))
            });
        for (field, noun) in FIELDS {
            let Some(items) = rule.get(field).as_array() else {
                continue;
            };
            for (index, item) in items.iter().enumerate() {
                let Some(item) = item.as_str().filter(|item| item.contains('*')) else {
                    continue;
                };
                let pointer = format!("/rules/{rule_index}/{field}/{index}");
                let matches = if item == "*" {
                    format!("every {noun}")
                } else {
                    format!("many {noun}s")
                };
                if full_admin {
                    report.finding_with_severity(
                        pointer,
                        format!(
                            "`rules[{rule_index}]` grants `*` in `{field}`, and `*` in all three \
                             lists is full cluster admin"
                        ),
                        Severity::Critical,
                    );
                } else {
                    report.finding(
                        pointer,
                        format!(
                            "`rules[{rule_index}]` grants `{item}` in `{field}`, matching {matches}"
                        ),
                    );
                }
            }
        }
    }
}
