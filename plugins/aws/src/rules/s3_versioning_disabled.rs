//! `aws/s3-versioning-disabled`: S3 buckets keep object versions.

use palisade_sdk::aws::s3::{self, Findings};
use palisade_sdk::{Report, Resource, Rule, Severity};

pub const RULE: Rule = Rule {
    id: "aws/s3-versioning-disabled",
    title: "S3 bucket without versioning",
    severity: Severity::Medium,
    kinds: s3::VERSIONING_KINDS,
    description: "Without versioning, an overwrite or a delete destroys the object for good: a \
buggy deploy, a mistyped `aws s3 rm --recursive` or ransomware with write access leaves \
nothing to restore. Versioning keeps every version until a lifecycle rule expires it, and is \
required for replication and Object Lock.\n
This rule fires at the bucket's first line when nothing configures versioning (the bucket's \
`versioning` block before provider v4, a separate `aws_s3_bucket_versioning`, CloudFormation \
`VersioningConfiguration`), and at the setting when it is off: `enabled = false`, status \
`Suspended` or `Disabled`, or the status left out. A versioning resource whose bucket only \
apply knows counts as present.",
    remediation: "Turn versioning on, and add a lifecycle rule expiring noncurrent versions to \
bound the cost:\n
```hcl\nresource \"aws_s3_bucket_versioning\" \"data\" {\n  bucket = aws_s3_bucket.data.id\n  \
versioning_configuration {\n    status = \"Enabled\"\n  }\n}\n```\n
In CloudFormation: `VersioningConfiguration: {Status: Enabled}`.",
    help_uri: Some("https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html"),
    tags: &["aws-fsbp/S3.14", "cwe/693"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let mut findings = Findings::new(resource);
    for bucket in s3::buckets_for_report(report, resource) {
        let name = bucket.describe();
        if let Some(bucket_resource) = bucket.resource
            && bucket.versioning.is_missing()
        {
            findings.add(
                bucket_resource,
                bucket.missing_pointer(),
                format!("{name} has no versioning configuration"),
            );
        }
        for versioning in &bucket.versioning.found {
            if versioning.enabled() == Some(false) {
                findings.add_setting(
                    &versioning.status,
                    format!("versioning of {name} is not enabled"),
                );
            }
        }
    }
    findings.report(report);
}

#[cfg(test)]
mod tests {
    use palisade_sdk::serde_json::json;

    use crate::rules::test_support::{findings, pairs};

    const RULE: &str = "aws/s3-versioning-disabled";

    /// `fixtures/aws/s3-versioning-disabled/fail.tf` and `fail.v3.tf` as the HCL normalizer
    /// gives them.
    #[test]
    fn missing_suspended_and_disabled_versioning_are_reported_at_their_place() {
        let found = findings(
            RULE,
            &[
                (
                    "terraform/aws_s3_bucket",
                    "aws_s3_bucket.documents",
                    json!({"bucket": "acme-customer-documents"}),
                ),
                (
                    "terraform/aws_s3_bucket",
                    "aws_s3_bucket.state",
                    json!({"bucket": "acme-terraform-state"}),
                ),
                (
                    "terraform/aws_s3_bucket_versioning",
                    "aws_s3_bucket_versioning.state",
                    json!({"bucket": {"$ref": "aws_s3_bucket.state.id"}, "versioning_configuration": [{"status": "Suspended"}]}),
                ),
                (
                    "terraform/aws_s3_bucket",
                    "aws_s3_bucket.media",
                    json!({"bucket": "acme-media"}),
                ),
                (
                    "terraform/aws_s3_bucket_versioning",
                    "aws_s3_bucket_versioning.media",
                    json!({"bucket": {"$ref": "aws_s3_bucket.media.id"}, "versioning_configuration": [{"status": "Enabled"}]}),
                ),
                (
                    "terraform/aws_s3_bucket",
                    "module.legacy.aws_s3_bucket.state",
                    json!({"bucket": "acme-legacy-state", "acl": "private", "versioning": [{"enabled": false}]}),
                ),
                (
                    "terraform/aws_s3_bucket",
                    "module.legacy.aws_s3_bucket.scratch",
                    json!({"bucket": "acme-legacy-scratch", "versioning": [{"mfa_delete": false}]}),
                ),
            ],
        );
        assert_eq!(
            found,
            pairs(&[
                ("aws_s3_bucket.documents", ""),
                (
                    "aws_s3_bucket_versioning.state",
                    "/versioning_configuration/0/status"
                ),
                ("module.legacy.aws_s3_bucket.state", "/versioning/0/enabled"),
                (
                    "module.legacy.aws_s3_bucket.scratch",
                    "/versioning/0/enabled"
                ),
            ])
        );
    }

    #[test]
    fn versioning_whose_bucket_or_status_is_unknown_is_not_reported() {
        let found = findings(
            RULE,
            &[
                (
                    "terraform/aws_s3_bucket",
                    "aws_s3_bucket.a",
                    json!({"bucket": "acme-a"}),
                ),
                (
                    "terraform/aws_s3_bucket_versioning",
                    "aws_s3_bucket_versioning.x",
                    json!({"bucket": {"$unknown": "var.bucket"}, "versioning_configuration": [{"status": {"$unknown": "var.status"}}]}),
                ),
            ],
        );
        assert_eq!(found, pairs(&[]));
    }
}
