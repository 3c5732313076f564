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
a policy is a compromised account.\n\n\
This rule judges permission policies attached to identities: Terraform `aws_iam_policy`, \
`aws_iam_role_policy`, `aws_iam_user_policy`, `aws_iam_group_policy` and the \
`inline_policy` blocks of `aws_iam_role` (the policy as JSON text, `jsonencode(…)`, a heredoc, \
or an `aws_iam_policy_document` data source), and CloudFormation `AWS::IAM::Policy`, \
`AWS::IAM::ManagedPolicy` and the `Policies` of `AWS::IAM::Role`, `User` and `Group`. It fires \
at the statement (at the `policy` line for JSON text, at the data source's `statement` block) \
when the action list holds `*` (or `*:*`) and the resource list holds `*`. Statements with \
conditions are reported too: a condition narrows who may use the grant, not what it grants.",
    remediation: "List the actions and resources the identity needs:\n\n\
```hcl\ndata \"aws_iam_policy_document\" \"deploy\" {\n  statement {\n    actions   = \
[\"s3:PutObject\", \"s3:GetObject\"]\n    resources = [\"${aws_s3_bucket.artifacts.arn}/*\"]\n  \
}\n}\n```\n\n\
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
    for document in iam::identity_policies(report.batch(), resource) {
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
