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
required for replication and Object Lock.\n\n\
This rule fires at the bucket's first line when nothing configures versioning (the bucket's \
`versioning` block before provider v4, a separate `aws_s3_bucket_versioning`, CloudFormation \
`VersioningConfiguration`), and at the setting when it is off: `enabled = false`, status \
`Suspended` or `Disabled`, or the status left out. A versioning resource whose bucket only \
apply knows counts as present.",
    remediation: "Turn versioning on, and add a lifecycle rule expiring noncurrent versions to \
bound the cost:\n\n\
```hcl\nresource \"aws_s3_bucket_versioning\" \"data\" {\n  bucket = aws_s3_bucket.data.id\n  \
versioning_configuration {\n    status = \"Enabled\"\n  }\n}\n```\n\n\
In CloudFormation: `VersioningConfiguration: {Status: Enabled}`.",
    help_uri: Some("https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html"),
    tags: &["aws-fsbp/S3.14", "cwe/693"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let mut findings = Findings::new(resource);
    for bucket in s3::buckets_for(report.batch(), resource) {
        let name = s3::display_name(&bucket).unwrap_or_else(|| "the bucket".to_string());
        if let Some(bucket_resource) = bucket.resource
            && bucket.versioning.is_missing()
        {
            findings.add(
                bucket_resource,
                bucket.missing_pointer(),
                format!("bucket {name} has no versioning configuration"),
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
