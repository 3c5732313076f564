//! `aws/s3-public-access`: S3 buckets are not open to the public.

use palisade_sdk::aws::s3::{self, Bucket, Findings};
use palisade_sdk::{Report, Resource, Rule, Severity};

pub const RULE: Rule = Rule {
    id: "aws/s3-public-access",
    title: "S3 bucket open to the public",
    severity: Severity::High,
    kinds: s3::PUBLIC_ACCESS_KINDS,
    description: "A bucket anyone on the internet can read (or write) is the most common way \
data leaks from AWS, and nothing in the bucket itself shows it. This rule fires on each of:\n\n\
- a public canned ACL (`public-read`, `public-read-write`, `authenticated-read`; \
CloudFormation `PublicRead`, `PublicReadWrite`, `AuthenticatedRead`), at the `acl` or \
`AccessControl` line, also on a separate `aws_s3_bucket_acl`;\n\
- a grant to the `AllUsers` or `AuthenticatedUsers` group (`grant` blocks, \
`access_control_policy`), at the grantee's `uri`;\n\
- a bucket policy statement that allows everyone (`Principal: \"*\"` or `{\"AWS\": \"*\"}`) \
without a condition, at the statement (at the `policy` line for a policy written as JSON text, \
at the `statement` block of an `aws_iam_policy_document` the policy is built from);\n\
- a bucket without a public-access block with all four flags on: at the bucket's first line \
when there is none, at each flag set to `false`, and at the block when it leaves flags out \
(S3 reads a missing flag as off).\n\n\
A public-access block may be a separate `aws_s3_bucket_public_access_block`, found by its \
`bucket`; an `aws_s3_account_public_access_block` with all four flags on covers every bucket. \
Settings whose value or bucket only apply knows are never reported as missing.",
    remediation: "Keep the bucket private and block public access explicitly; serve public \
content through CloudFront with origin access control instead.\n\n\
```hcl\nresource \"aws_s3_bucket_public_access_block\" \"reports\" {\n  bucket                  = \
aws_s3_bucket.reports.id\n  block_public_acls       = true\n  block_public_policy     = true\n  \
ignore_public_acls      = true\n  restrict_public_buckets = true\n}\n```\n\n\
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
    for bucket in s3::buckets_for(report.batch(), resource) {
        judge(&bucket, &mut findings);
    }
    findings.report(report);
}

fn judge(bucket: &Bucket, findings: &mut Findings) {
    let name = s3::display_name(bucket).unwrap_or_else(|| "the bucket".to_string());
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
                let sid = statement
                    .sid
                    .as_deref()
                    .map(|sid| format!(" `{sid}`"))
                    .unwrap_or_default();
                findings.add(
                    statement.resource,
                    &statement.pointer,
                    format!(
                        "the bucket policy statement{sid} of {name} allows everyone \
                         (`Principal: \"*\"`) without a condition"
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
