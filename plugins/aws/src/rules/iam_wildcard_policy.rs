//! `aws/iam-wildcard-policy`: IAM policies do not grant every action on every resource.

use palisade_sdk::aws::iam;
use palisade_sdk::{Report, Resource, Rule, Severity};

pub const RULE: Rule = Rule {
    id: "aws/iam-wildcard-policy",
    title: "IAM policy allows every action on every resource",
    severity: Severity::High,
    kinds: iam::IDENTITY_POLICY_KINDS,
    description: "A statement with `Effect: Allow`, `Action: \"*\"` and `Resource: \"*\"` makes \
whoever holds it an administrator of the account: they can read every secret, delete every \
resource and grant themselves anything else. A leaked key or a compromised workload with such \
a policy is a compromised account.\n
This rule judges permission policies attached to identities: Terraform `aws_iam_policy`, \
`aws_iam_role_policy`, `aws_iam_user_policy`, `aws_iam_group_policy` and the \
`inline_policy` blocks of `aws_iam_role` (the policy as JSON text, `jsonencode(…)`, a heredoc, \
or an `aws_iam_policy_document` data source), and CloudFormation `AWS::IAM::Policy`, \
`AWS::IAM::ManagedPolicy`, `AWS::IAM::RolePolicy`, `UserPolicy`, `GroupPolicy` and the \
`Policies` of `AWS::IAM::Role`, `User` and `Group`. It fires \
at the statement (at the `policy` line for JSON text, at the data source's `statement` block) \
when the action list holds `*` (or `*:*`) and the resource list holds `*`. Statements with \
conditions are reported too: a condition narrows who may use the grant, not what it grants.",
    remediation: "List the actions and resources the identity needs:\n
```hcl\ndata \"aws_iam_policy_document\" \"deploy\" {\n  statement {\n    actions   = \
[\"s3:PutObject\", \"s3:GetObject\"]\n    resources = [\"${aws_s3_bucket.artifacts.arn}/*\"]\n  \
}\n}\n```\n
For people who administer the account, attach AWS's `AdministratorAccess` managed policy to \
a role assumed with MFA rather than writing `*` on `*` into custom policies.",
    help_uri: Some(
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
    ),
    tags: &["cis-aws/1.16", "aws-fsbp/IAM.1", "cwe/269"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let mut reported: Vec<String> = Vec::new();
    for document in iam::identity_policies_for_report(report, resource) {
        for statement in &document.statements {
            let every_action = statement.actions.contains("*") || statement.actions.contains("*:*");
            if !iam::same(statement.resource, resource)
                || !statement.allows()
                || !every_action
                || !statement.resources.contains("*")
                || reported.contains(&statement.pointer)
            {
                continue;
            }
            let sid = statement
                .sid
                .as_deref()
                .map(|sid| format!(" `{sid}`"))
                .unwrap_or_default();
            report.finding(
                statement.pointer.clone(),
                format!("statement{sid} allows every action (`*`) on every resource (`*`)"),
            );
            reported.push(statement.pointer.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use palisade_sdk::serde_json::json;

    use crate::rules::test_support::{findings, pairs};

    const RULE: &str = "aws/iam-wildcard-policy";

    /// `fixtures/aws/iam-wildcard-policy/fail.tf` as the HCL normalizer gives it.
    #[test]
    fn every_way_of_writing_a_policy_is_reported_where_the_statement_is() {
        let admin = r#"{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}"#;
        let heredoc = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Sid\": \"Deploy\",\n      \"Effect\": \"Allow\",\n      \"Action\": [\"*\"],\n      \"Resource\": [\"*\"]\n    }\n  ]\n}\n";
        let inline = r#"{"Statement":[{"Action":"*:*","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}"#;
        let found = findings(
            RULE,
            &[
                (
                    "terraform/aws_iam_policy",
                    "aws_iam_policy.platform_admin",
                    json!({"name": "platform-admin", "policy": admin}),
                ),
                (
                    "terraform/aws_iam_role",
                    "aws_iam_role.ci",
                    json!({"name": "ci-deploy", "assume_role_policy": {"$ref": "data.aws_iam_policy_document.ci_trust.json"}}),
                ),
                (
                    "terraform/data.aws_iam_policy_document",
                    "data.aws_iam_policy_document.ci_trust",
                    json!({"statement": [{"actions": ["sts:AssumeRoleWithWebIdentity"],
                        "principals": [{"type": "Federated", "identifiers": ["arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"]}],
                        "condition": [{"test": "StringLike", "variable": "token.actions.githubusercontent.com:sub", "values": ["repo:acme/platform:*"]}]}]}),
                ),
                (
                    "terraform/aws_iam_role_policy",
                    "aws_iam_role_policy.ci_deploy",
                    json!({"name": "deploy", "role": {"$ref": "aws_iam_role.ci.id"}, "policy": heredoc}),
                ),
                (
                    "terraform/aws_iam_user_policy",
                    "aws_iam_user_policy.operator",
                    json!({"name": "operator", "user": {"$ref": "aws_iam_user.operator.name"},
                        "policy": {"$ref": "data.aws_iam_policy_document.operator.json"}}),
                ),
                (
                    "terraform/data.aws_iam_policy_document",
                    "data.aws_iam_policy_document.operator",
                    json!({"statement": [
                     {"sid": "ReadLogs", "actions": ["logs:Get*", "logs:Describe*", "logs:FilterLogEvents"], "resources": ["*"]},
                     {"sid": "BreakGlass", "actions": ["*"], "resources": ["*"],
                      "condition": [{"test": "Bool", "variable": "aws:MultiFactorAuthPresent", "values": ["true"]}]}]}),
                ),
                (
                    "terraform/aws_iam_role",
                    "aws_iam_role.batch",
                    json!({"name": "batch-jobs", "assume_role_policy": {"$ref": "data.aws_iam_policy_document.ci_trust.json"},
                        "inline_policy": [{"name": "everything", "policy": inline}]}),
                ),
            ],
        );
        assert_eq!(
            found,
            pairs(&[
                ("aws_iam_policy.platform_admin", "/policy"),
                ("aws_iam_role_policy.ci_deploy", "/policy"),
                ("data.aws_iam_policy_document.operator", "/statement/1"),
                ("aws_iam_role.batch", "/inline_policy/0/policy"),
            ])
        );
    }

    #[test]
    fn scoped_denied_and_unknown_statements_are_not_reported() {
        let scoped = r#"{"Statement":[{"Action":"s3:*","Effect":"Allow","Resource":"arn:aws:s3:::b/*"},{"Action":"*","Effect":"Deny","Resource":"*"},{"Action":"*","Effect":"Allow","Resource":["arn:aws:s3:::b"]}]}"#;
        let found = findings(
            RULE,
            &[
                (
                    "terraform/aws_iam_policy",
                    "aws_iam_policy.scoped",
                    json!({"policy": scoped}),
                ),
                (
                    "terraform/aws_iam_policy",
                    "aws_iam_policy.templated",
                    json!({"policy": {"$unknown": "templatefile(\"policy.json\", {})"}}),
                ),
                (
                    "terraform/aws_kms_key",
                    "aws_kms_key.k",
                    json!({"policy": {"$ref": "data.aws_iam_policy_document.key.json"}}),
                ),
                (
                    "terraform/data.aws_iam_policy_document",
                    "data.aws_iam_policy_document.key",
                    json!({"statement": [{"actions": ["*"], "resources": ["*"],
                        "principals": [{"type": "AWS", "identifiers": ["arn:aws:iam::111122223333:root"]}]}]}),
                ),
            ],
        );
        assert_eq!(found, pairs(&[]));
    }
}
