//! `aws/cloudtrail-log-validation-disabled`: trails must sign their log files.

use palisade_sdk::aws::cloudtrail;
use palisade_sdk::{Report, Resource, Rule, Severity};

pub const RULE: Rule = Rule {
    id: "aws/cloudtrail-log-validation-disabled",
    title: "CloudTrail log file validation disabled",
    severity: Severity::Medium,
    kinds: cloudtrail::TRAIL_KINDS,
    description: "With log file validation, CloudTrail delivers a signed digest file every \
hour that chains the hashes of the log files, so anyone can later prove that no log was \
modified, deleted or forged after delivery (`aws cloudtrail validate-logs`). Without it, an \
attacker who reaches the log bucket can cover their tracks undetected, and the logs lose much \
of their value as evidence. This rule judges `aws_cloudtrail` (Terraform) and \
`AWS::CloudTrail::Trail` (CloudFormation). It fires when `enable_log_file_validation` / \
`EnableLogFileValidation` is `false`, pointing at that setting, or left out (the default is \
off in both), pointing at the resource. Values not known statically are not judged.",
    remediation: "Turn validation on:\n
```hcl
resource \"aws_cloudtrail\" \"main\" {
  # …
  enable_log_file_validation = true
}
```",
    help_uri: Some(
        "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-intro.html",
    ),
    tags: &[
        "cis-aws/3.2",
        "aws-foundational/CloudTrail.4",
        "cwe/354",
        "logging",
    ],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let Some(trail) = cloudtrail::trail(resource) else {
        return;
    };
    if trail.validates_log_files() != Some(false) {
        return;
    }
    if trail.log_file_validation.is_absent() {
        report.finding(
            "",
            "the trail does not turn on log file validation, so tampering with its logs goes \
             undetected",
        );
    } else {
        report.finding(
            trail.log_file_validation.pointer,
            "log file validation is turned off, so tampering with the trail's logs goes \
             undetected",
        );
    }
}
