//! `aws/s3-encryption-disabled`: S3 buckets declare their default encryption.

use palisade_sdk::aws::s3::{self, Findings};
use palisade_sdk::{Report, Resource, Rule, Severity};

pub const RULE: Rule = Rule {
    id: "aws/s3-encryption-disabled",
    title: "S3 bucket without a default encryption configuration",
    severity: Severity::Medium,
    kinds: s3::ENCRYPTION_KINDS,
    description: "Default encryption decides how every object written to the bucket is \
encrypted at rest. Since January 2023 S3 applies SSE-S3 (AES-256 with keys S3 manages) to new \
objects when a bucket says nothing, so data is no longer stored in the clear; but S3-managed \
keys give no separate access control and no key-usage audit trail, and the bucket's intent is \
left to a service default. This rule asks for an explicit configuration, ideally SSE-KMS with a \
customer managed key, whose key policy is a second gate on reading the data and whose use \
CloudTrail records. The severity stays medium: a missing configuration is a gap in control and \
audit, not exposed data.\n
It fires at the bucket's first line when neither the bucket \
(`server_side_encryption_configuration` before provider v4, CloudFormation `BucketEncryption`) \
nor a separate `aws_s3_bucket_server_side_encryption_configuration` for it configures \
encryption. A configuration resource whose bucket only apply knows counts as present.",
    remediation: "Declare default encryption with a KMS key (and an S3 bucket key to keep KMS \
costs down):\n
```hcl\nresource \"aws_s3_bucket_server_side_encryption_configuration\" \"data\" {\n  bucket = \
aws_s3_bucket.data.id\n  rule {\n    apply_server_side_encryption_by_default {\n      \
sse_algorithm     = \"aws:kms\"\n      kms_master_key_id = aws_kms_key.data.arn\n    }\n    \
bucket_key_enabled = true\n  }\n}\n```\n
In CloudFormation, add `BucketEncryption.ServerSideEncryptionConfiguration` with \
`SSEAlgorithm: aws:kms` and a `KMSMasterKeyID`.",
    help_uri: Some(
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-bucket-encryption.html",
    ),
    tags: &["cis-aws/2.1.1", "aws-fsbp/S3.4", "cwe/311"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    if !s3::BUCKET_KINDS.contains(&resource.kind) {
        return;
    }
    let mut findings = Findings::new(resource);
    for bucket in s3::buckets_for_report(report, resource) {
        if let Some(bucket_resource) = bucket.resource
            && bucket.encryption.is_missing()
        {
            let name = bucket.describe();
            findings.add(
                bucket_resource,
                bucket.missing_pointer(),
                format!("{name} has no default encryption configuration (KMS recommended)"),
            );
        }
    }
    findings.report(report);
}

#[cfg(test)]
mod tests {
    use palisade_sdk::serde_json::json;

    use crate::rules::test_support::{findings, pairs};

    const RULE: &str = "aws/s3-encryption-disabled";

    /// `fixtures/aws/s3-encryption-disabled/fail.tf` and `fail.v3.tf` as the HCL normalizer
    /// gives them.
    #[test]
    fn buckets_without_a_configuration_anywhere_are_reported() {
        let found = findings(
            RULE,
            &[
                (
                    "terraform/aws_s3_bucket",
                    "aws_s3_bucket.uploads",
                    json!({"bucket": "acme-user-uploads", "tags": {"Team": "web"}}),
                ),
                (
                    "terraform/aws_s3_bucket",
                    "aws_s3_bucket.data",
                    json!({"bucket": "acme-analytics-data"}),
                ),
                (
                    "terraform/aws_s3_bucket_server_side_encryption_configuration",
                    "aws_s3_bucket_server_side_encryption_configuration.data",
                    json!({"bucket": {"$ref": "aws_s3_bucket.data.id"}, "rule": [{"apply_server_side_encryption_by_default": [
                        {"sse_algorithm": "aws:kms", "kms_master_key_id": {"$ref": "aws_kms_key.data.arn"}}], "bucket_key_enabled": true}]}),
                ),
                (
                    "terraform/aws_s3_bucket",
                    "module.v3.aws_s3_bucket.artifacts",
                    json!({"bucket": "acme-build-artifacts", "acl": "private", "versioning": [{"enabled": true}]}),
                ),
                (
                    "terraform/aws_s3_bucket",
                    "module.v3.aws_s3_bucket.backups",
                    json!({"bucket": "acme-db-backups", "server_side_encryption_configuration": [{"rule": [
                        {"apply_server_side_encryption_by_default": [{"sse_algorithm": "AES256"}]}]}]}),
                ),
            ],
        );
        assert_eq!(
            found,
            pairs(&[
                ("aws_s3_bucket.uploads", ""),
                ("module.v3.aws_s3_bucket.artifacts", ""),
            ])
        );
    }

    #[test]
    fn a_configuration_whose_bucket_is_unknown_may_be_any_buckets() {
        let found = findings(
            RULE,
            &[
                (
                    "terraform/aws_s3_bucket",
                    "aws_s3_bucket.uploads",
                    json!({"bucket": "acme-user-uploads"}),
                ),
                (
                    "terraform/aws_s3_bucket_server_side_encryption_configuration",
                    "aws_s3_bucket_server_side_encryption_configuration.templated",
                    json!({"bucket": {"$unknown": "var.name"}, "rule": [{}]}),
                ),
            ],
        );
        assert_eq!(found, pairs(&[]));
    }
}
