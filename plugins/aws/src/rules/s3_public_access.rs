//! `aws/s3-public-access`: S3 buckets are not open to the public.

use palisade_sdk::aws::s3::{self, Bucket, Findings};
use palisade_sdk::{Report, Resource, Rule, Severity};

pub const RULE: Rule = Rule {
    id: "aws/s3-public-access",
    title: "S3 bucket open to the public",
    severity: Severity::High,
    kinds: s3::PUBLIC_ACCESS_KINDS,
    description: "A bucket anyone on the internet can read (or write) is the most common way \
data leaks from AWS, and nothing in the bucket itself shows it. This rule fires on each of:\n
- a public canned ACL (`public-read`, `public-read-write`, `authenticated-read`; \
CloudFormation `PublicRead`, `PublicReadWrite`, `AuthenticatedRead`), at the `acl` or \
`AccessControl` line, also on a separate `aws_s3_bucket_acl`;
- a grant to the `AllUsers` or `AuthenticatedUsers` group (`grant` blocks, \
`access_control_policy`), at the grantee's `uri`;
- a bucket policy statement that allows everyone (`Principal: \"*\"` or `{\"AWS\": \"*\"}`) \
without a condition, at the statement (at the `policy` line for a policy written as JSON text, \
at the `statement` block of an `aws_iam_policy_document` the policy is built from);
- a bucket without a public-access block with all four flags on: at the bucket's first line \
when there is none, at each flag set to `false`, and at the block when it leaves flags out \
(S3 reads a missing flag as off).\n
A public-access block may be a separate `aws_s3_bucket_public_access_block`, found by its \
`bucket`; an `aws_s3_account_public_access_block` with all four flags on covers every bucket. \
Settings whose value or bucket only apply knows are never reported as missing.",
    remediation: "Keep the bucket private and block public access explicitly; serve public \
content through CloudFront with origin access control instead.\n
```hcl\nresource \"aws_s3_bucket_public_access_block\" \"reports\" {\n  bucket                  = \
aws_s3_bucket.reports.id\n  block_public_acls       = true\n  block_public_policy     = true\n  \
ignore_public_acls      = true\n  restrict_public_buckets = true\n}\n```\n
In CloudFormation, set all four flags of `PublicAccessBlockConfiguration` to `true`, drop \
`AccessControl: PublicRead`, and give policy statements for `\"*\"` a condition (such as \
`aws:SourceVpce` or `aws:PrincipalOrgID`).",
    help_uri: Some(
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html",
    ),
    tags: &[
        "cis-aws/2.1.4",
        "aws-fsbp/S3.2",
        "aws-fsbp/S3.3",
        "aws-fsbp/S3.8",
        "cwe/732",
    ],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let mut findings = Findings::new(resource);
    for bucket in s3::buckets_for_report(report, resource) {
        judge(&bucket, &mut findings);
    }
    findings.report(report);
}

fn judge(bucket: &Bucket, findings: &mut Findings) {
    let name = bucket.describe();
    for acl in bucket.acls.found.iter().filter(|acl| acl.is_public()) {
        let who = if acl.name == "authenticated-read" {
            "every AWS account"
        } else {
            "everyone"
        };
        findings.add_setting(
            &acl.setting,
            format!("the `{}` ACL opens {name} to {who}", acl.name),
        );
    }
    for grant in bucket.grants.iter().filter(|grant| grant.is_public()) {
        let group = grant.uri.rsplit('/').next().unwrap_or("AllUsers");
        findings.add_setting(
            &grant.setting,
            format!("{name} grants access to the `{group}` group"),
        );
    }
    for policy in &bucket.policies.found {
        for statement in &policy.document.statements {
            if statement.allows()
                && statement.principals.include_anyone()
                && statement.is_unconditional()
            {
                let which = statement.sid.as_deref().map_or_else(
                    || "a statement".to_string(),
                    |sid| format!("statement `{sid}`"),
                );
                findings.add(
                    statement.resource,
                    &statement.pointer,
                    format!(
                        "{which} in the policy of {name} allows everyone (`Principal: \"*\"`) \
                         without a condition"
                    ),
                );
            }
        }
    }
    if bucket.account_blocks_public_access() {
        return;
    }
    if let Some(resource) = bucket.resource
        && bucket.public_access_blocks.is_missing()
    {
        findings.add(
            resource,
            bucket.missing_pointer(),
            format!("{name} has no public-access block: nothing stops a later ACL or policy from making it public"),
        );
    }
    for block in &bucket.public_access_blocks.found {
        let mut left_out = Vec::new();
        for flag in block.flags() {
            let flag_name = flag.pointer().rsplit('/').next().unwrap_or_default();
            if flag.field.is_absent() {
                left_out.push(format!("`{flag_name}`"));
            } else if flag.field.as_bool() == Some(false) {
                findings.add_setting(
                    flag,
                    format!("the public-access block of {name} turns `{flag_name}` off"),
                );
            }
        }
        if !left_out.is_empty() {
            findings.add_setting(
                &block.setting,
                format!(
                    "the public-access block of {name} leaves {} out, which S3 reads as off",
                    left_out.join(", ")
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use palisade_sdk::serde_json::json;

    use crate::rules::test_support::{findings, pairs};

    const RULE: &str = "aws/s3-public-access";

    /// `fixtures/aws/s3-public-access/fail.tf` as the HCL normalizer gives it.
    #[test]
    fn separate_resources_of_provider_v4_are_reported_where_they_are_written() {
        let exports_policy = r#"{"Statement":[{"Action":["s3:GetObject","s3:ListBucket"],"Effect":"Allow","Principal":{"AWS":"*"},"Resource":["arn:aws:s3:::acme-partner-exports","arn:aws:s3:::acme-partner-exports/*"],"Sid":"PartnerDownload"}],"Version":"2012-10-17"}"#;
        let found = findings(
            RULE,
            &[
                (
                    "terraform/aws_s3_bucket",
                    "aws_s3_bucket.assets",
                    json!({"bucket": "acme-web-assets"}),
                ),
                (
                    "terraform/aws_s3_bucket_acl",
                    "aws_s3_bucket_acl.assets",
                    json!({"bucket": {"$ref": "aws_s3_bucket.assets.id"}, "acl": "public-read"}),
                ),
                (
                    "terraform/aws_s3_bucket_public_access_block",
                    "aws_s3_bucket_public_access_block.assets",
                    json!({"bucket": {"$ref": "aws_s3_bucket.assets.id"}, "block_public_acls": false,
                        "block_public_policy": false, "ignore_public_acls": false, "restrict_public_buckets": false}),
                ),
                (
                    "terraform/aws_s3_bucket_policy",
                    "aws_s3_bucket_policy.assets",
                    json!({"bucket": {"$ref": "aws_s3_bucket.assets.id"},
                        "policy": {"$ref": "data.aws_iam_policy_document.assets_public_read.json"}}),
                ),
                (
                    "terraform/data.aws_iam_policy_document",
                    "data.aws_iam_policy_document.assets_public_read",
                    json!({"statement": [{"sid": "PublicRead", "actions": ["s3:GetObject"],
                        "resources": [{"$unknown": "\"${aws_s3_bucket.assets.arn}/*\""}],
                        "principals": [{"type": "*", "identifiers": ["*"]}]}]}),
                ),
                (
                    "terraform/aws_s3_bucket",
                    "aws_s3_bucket.exports",
                    json!({"bucket": "acme-partner-exports"}),
                ),
                (
                    "terraform/aws_s3_bucket_policy",
                    "aws_s3_bucket_policy.exports",
                    json!({"bucket": {"$ref": "aws_s3_bucket.exports.id"}, "policy": exports_policy}),
                ),
                (
                    "terraform/aws_s3_bucket",
                    "aws_s3_bucket.reports",
                    json!({"bucket": "acme-finance-reports"}),
                ),
                (
                    "terraform/aws_s3_bucket_acl",
                    "aws_s3_bucket_acl.reports",
                    json!({"bucket": {"$ref": "aws_s3_bucket.reports.id"}, "access_control_policy": [{
                        "grant": [{"grantee": [{"type": "Group",
                                   "uri": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"}],
                                   "permission": "READ"}],
                        "owner": [{"id": {"$ref": "data.aws_canonical_user_id.current.id"}}]}]}),
                ),
                (
                    "terraform/aws_s3_bucket_public_access_block",
                    "aws_s3_bucket_public_access_block.reports",
                    json!({"bucket": {"$ref": "aws_s3_bucket.reports.id"}, "block_public_acls": true,
                        "ignore_public_acls": true}),
                ),
            ],
        );
        assert_eq!(
            found,
            pairs(&[
                ("aws_s3_bucket_acl.assets", "/acl"),
                (
                    "aws_s3_bucket_public_access_block.assets",
                    "/block_public_acls"
                ),
                (
                    "aws_s3_bucket_public_access_block.assets",
                    "/block_public_policy"
                ),
                (
                    "aws_s3_bucket_public_access_block.assets",
                    "/ignore_public_acls"
                ),
                (
                    "aws_s3_bucket_public_access_block.assets",
                    "/restrict_public_buckets"
                ),
                (
                    "data.aws_iam_policy_document.assets_public_read",
                    "/statement/0"
                ),
                ("aws_s3_bucket.exports", ""),
                ("aws_s3_bucket_policy.exports", "/policy"),
                (
                    "aws_s3_bucket_acl.reports",
                    "/access_control_policy/0/grant/0/grantee/0/uri"
                ),
                ("aws_s3_bucket_public_access_block.reports", ""),
            ])
        );
    }

    /// `fixtures/aws/s3-public-access/fail.v3.tf` as the HCL normalizer gives it.
    #[test]
    fn inline_settings_of_provider_v3_are_reported_on_the_bucket() {
        let policy = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Sid\": \"PublicReadGetObject\",\n      \"Effect\": \"Allow\",\n      \"Principal\": \"*\",\n      \"Action\": \"s3:GetObject\",\n      \"Resource\": \"arn:aws:s3:::acme-marketing-site/*\"\n    }\n  ]\n}\n";
        let flags = json!({"bucket": {"$ref": "aws_s3_bucket.downloads.id"}, "block_public_acls": true,
                           "block_public_policy": true, "ignore_public_acls": true, "restrict_public_buckets": true});
        let found = findings(
            RULE,
            &[
                (
                    "terraform/aws_s3_bucket",
                    "aws_s3_bucket.website",
                    json!({"bucket": "acme-marketing-site", "acl": "public-read", "policy": policy,
                        "website": [{"index_document": "index.html", "error_document": "404.html"}]}),
                ),
                (
                    "terraform/aws_s3_bucket",
                    "aws_s3_bucket.downloads",
                    json!({"bucket": "acme-public-downloads", "grant": [{"type": "Group", "permissions": ["READ"],
                        "uri": "http://acs.amazonaws.com/groups/global/AllUsers"}]}),
                ),
                (
                    "terraform/aws_s3_bucket_public_access_block",
                    "aws_s3_bucket_public_access_block.downloads",
                    flags,
                ),
            ],
        );
        assert_eq!(
            found,
            pairs(&[
                ("aws_s3_bucket.website", ""),
                ("aws_s3_bucket.website", "/acl"),
                ("aws_s3_bucket.website", "/policy"),
                ("aws_s3_bucket.downloads", "/grant/0/uri"),
            ])
        );
    }

    #[test]
    fn an_account_wide_block_covers_buckets_and_unknown_flags_are_not_reported() {
        let found = findings(
            RULE,
            &[
                (
                    "terraform/aws_s3_bucket",
                    "aws_s3_bucket.a",
                    json!({"bucket": "acme-a"}),
                ),
                (
                    "terraform/aws_s3_account_public_access_block",
                    "aws_s3_account_public_access_block.this",
                    json!({"block_public_acls": true, "block_public_policy": true,
                        "ignore_public_acls": true, "restrict_public_buckets": true}),
                ),
            ],
        );
        assert_eq!(found, pairs(&[]));
        let found = findings(
            RULE,
            &[
                (
                    "terraform/aws_s3_bucket",
                    "aws_s3_bucket.b",
                    json!({"bucket": "acme-b"}),
                ),
                (
                    "terraform/aws_s3_bucket_public_access_block",
                    "aws_s3_bucket_public_access_block.b",
                    json!({"bucket": {"$ref": "aws_s3_bucket.b.id"}, "block_public_acls": {"$unknown": "var.strict"},
                        "block_public_policy": true, "ignore_public_acls": true, "restrict_public_buckets": true}),
                ),
                (
                    "terraform/aws_s3_bucket_policy",
                    "aws_s3_bucket_policy.b",
                    json!({"bucket": {"$ref": "aws_s3_bucket.b.id"}, "policy": {"$unknown": "templatefile(...)"}}),
                ),
            ],
        );
        assert_eq!(found, pairs(&[]));
    }
}
