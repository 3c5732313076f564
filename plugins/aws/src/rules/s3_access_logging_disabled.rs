//! `aws/s3-access-logging-disabled`: S3 buckets record who accessed them.

use palisade_sdk::aws::s3::{self, Findings};
use palisade_sdk::{Report, Resource, Rule, Severity};

pub const RULE: Rule = Rule {
    id: "aws/s3-access-logging-disabled",
    title: "S3 bucket without server access logging",
    severity: Severity::Low,
    kinds: s3::LOGGING_KINDS,
    description: "Server access logs record every request made to a bucket: who read or \
deleted what, from where. Without them an incident on the bucket cannot be investigated. The \
severity is low: a missing log exposes nothing by itself, and CloudTrail data events can give \
the same record account-wide.\n
This rule fires at the bucket's first line when neither the bucket (`logging` before provider \
v4, CloudFormation `LoggingConfiguration`) nor a separate `aws_s3_bucket_logging` for it \
configures logging. Buckets that receive access logs are left alone (logging a log bucket into \
itself loops): those with the `log-delivery-write` ACL (`LogDeliveryWrite`), a policy allowing \
`logging.s3.amazonaws.com`, or that another bucket of the same configuration logs to. Nothing \
is reported while a logging resource or target of the batch is only known at apply.",
    remediation: "Deliver access logs to a dedicated log bucket:\n
```hcl\nresource \"aws_s3_bucket_logging\" \"data\" {\n  bucket        = aws_s3_bucket.data.id\n  \
target_bucket = aws_s3_bucket.access_logs.id\n  target_prefix = \"data/\"\n}\n```\n
In CloudFormation: `LoggingConfiguration: {DestinationBucketName: !Ref AccessLogs, \
LogFilePrefix: data/}`.",
    help_uri: Some("https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html"),
    tags: &["aws-fsbp/S3.9", "cwe/778"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    if !s3::BUCKET_KINDS.contains(&resource.kind) {
        return;
    }
    let mut findings = Findings::new(resource);
    for bucket in s3::buckets_for_report(report, resource) {
        if let Some(bucket_resource) = bucket.resource
            && bucket.logging.is_missing()
            && bucket.log_target == Some(false)
        {
            let name = bucket.describe();
            findings.add(
                bucket_resource,
                bucket.missing_pointer(),
                format!("{name} has no server access logging"),
            );
        }
    }
    findings.report(report);
}

#[cfg(test)]
mod tests {
    use palisade_sdk::serde_json::json;

    use crate::rules::test_support::{findings, pairs};

    const RULE: &str = "aws/s3-access-logging-disabled";

    /// `fixtures/aws/s3-access-logging-disabled/fail.tf` and `fail.v3.tf` as the HCL
    /// normalizer gives them.
    #[test]
    fn buckets_without_logging_are_reported_but_not_log_targets() {
        let found = findings(
            RULE,
            &[
                (
                    "terraform/aws_s3_bucket",
                    "aws_s3_bucket.access_logs",
                    json!({"bucket": "acme-s3-access-logs"}),
                ),
                (
                    "terraform/aws_s3_bucket",
                    "aws_s3_bucket.app",
                    json!({"bucket": "acme-app-data"}),
                ),
                (
                    "terraform/aws_s3_bucket_logging",
                    "aws_s3_bucket_logging.app",
                    json!({"bucket": {"$ref": "aws_s3_bucket.app.id"}, "target_bucket": {"$ref": "aws_s3_bucket.access_logs.id"},
                        "target_prefix": "app-data/"}),
                ),
                (
                    "terraform/aws_s3_bucket",
                    "aws_s3_bucket.exports",
                    json!({"bucket": "acme-data-exports"}),
                ),
                (
                    "terraform/aws_s3_bucket",
                    "module.v3.aws_s3_bucket.logs",
                    json!({"bucket": "acme-v3-logs", "acl": "log-delivery-write"}),
                ),
                (
                    "terraform/aws_s3_bucket",
                    "module.v3.aws_s3_bucket.app",
                    json!({"bucket": "acme-v3-app", "logging": [{"target_bucket": {"$ref": "module.v3.aws_s3_bucket.logs.id"}}]}),
                ),
                (
                    "terraform/aws_s3_bucket",
                    "module.v3.aws_s3_bucket.tmp",
                    json!({"bucket": "acme-v3-tmp"}),
                ),
            ],
        );
        assert_eq!(
            found,
            pairs(&[
                ("aws_s3_bucket.exports", ""),
                ("module.v3.aws_s3_bucket.tmp", "")
            ])
        );
    }
}
