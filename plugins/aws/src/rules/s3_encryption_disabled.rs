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
audit, not exposed data.\n\n\
It fires at the bucket's first line when neither the bucket \
(`server_side_encryption_configuration` before provider v4, CloudFormation `BucketEncryption`) \
nor a separate `aws_s3_bucket_server_side_encryption_configuration` for it configures \
encryption. A configuration resource whose bucket only apply knows counts as present.",
    remediation: "Declare default encryption with a KMS key (and an S3 bucket key to keep KMS \
costs down):\n\n\
```hcl\nresource \"aws_s3_bucket_server_side_encryption_configuration\" \"data\" {\n  bucket = \
aws_s3_bucket.data.id\n  rule {\n    apply_server_side_encryption_by_default {\n      \
sse_algorithm     = \"aws:kms\"\n      kms_master_key_id = aws_kms_key.data.arn\n    }\n    \
bucket_key_enabled = true\n  }\n}\n```\n\n\
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
    for bucket in s3::buckets_for(report.batch(), resource) {
        if let Some(bucket_resource) = bucket.resource
            && bucket.encryption.is_missing()
        {
            let name = s3::display_name(&bucket).unwrap_or_default();
            findings.add(
                bucket_resource,
                bucket.missing_pointer(),
                format!("bucket {name} has no default encryption configuration (KMS recommended)"),
            );
        }
    }
    findings.report(report);
}
