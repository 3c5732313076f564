//! `aws/ec2-imdsv1`: instances must require IMDSv2 session tokens.

use palisade_sdk::aws::ec2::{self, Imds};
use palisade_sdk::{Report, Resource, Rule, Severity};

pub const RULE: Rule = Rule {
    id: "aws/ec2-imdsv1",
    title: "Instance metadata service allows IMDSv1",
    severity: Severity::Medium,
    kinds: ec2::METADATA_KINDS,
    description: "The instance metadata service hands out the instance role's temporary AWS \
credentials. IMDSv1 answers any plain HTTP GET, so a server-side request forgery in an \
application on the instance (or a misconfigured proxy) is enough to steal them, as in the \
Capital One breach. IMDSv2 requires a session token obtained with a PUT and a hop limit, which \
SSRF cannot forge. This rule judges `aws_instance`, `aws_launch_template` and \
`aws_launch_configuration` (Terraform), and `AWS::EC2::LaunchTemplate` and \
`AWS::AutoScaling::LaunchConfiguration` (CloudFormation). It fires when `http_tokens` / `HttpTokens` is \
`optional`, pointing at it, or when it is left out (AWS then answers IMDSv1 unless the AMI or \
an account default says otherwise), pointing at the `metadata_options` block or, without one, \
at the resource. A metadata service turned off (`http_endpoint = \"disabled\"`) is fine. An \
`aws_instance` launched from a launch template without its own `metadata_options` is not \
judged (the template is). A CloudFormation `AWS::EC2::Instance` has no metadata settings of \
its own: one that uses no launch template cannot require IMDSv2 and fires at the resource. \
Values not known statically are not judged.",
    remediation: "Require session tokens:\n
```hcl
resource \"aws_launch_template\" \"web\" {
  # …
  metadata_options {
    http_endpoint               = \"enabled\"
    http_tokens                 = \"required\"
    http_put_response_hop_limit = 1
  }
}
```\n
In CloudFormation, give the instance a launch template with \
`MetadataOptions: {HttpTokens: required}`. Update the AWS SDKs and agents on the instance \
first: versions from 2020 on use IMDSv2.",
    help_uri: Some(
        "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-new-instances.html",
    ),
    tags: &[
        "cis-aws/5.6",
        "aws-foundational/EC2.8",
        "cwe/918",
        "credentials",
    ],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let Some(options) = ec2::metadata_options(resource) else {
        return;
    };
    if options.imds() != Some(Imds::V1Allowed) {
        return;
    }
    if options.not_settable {
        report.finding(
            options.pointer,
            "the instance uses no launch template, so it cannot require IMDSv2 and answers \
             IMDSv1 requests",
        );
    } else if let Some(tokens) = options.http_tokens.as_str() {
        report.finding(
            options.http_tokens.pointer.clone(),
            format!(
                "session tokens are `{tokens}`, not `required`: the metadata service answers \
                 IMDSv1 requests"
            ),
        );
    } else if options.pointer.is_empty() {
        report.finding(
            options.pointer,
            "no metadata options are set, so the metadata service answers IMDSv1 requests",
        );
    } else {
        report.finding(
            options.pointer,
            "the metadata options do not require session tokens, so the metadata service \
             answers IMDSv1 requests",
        );
    }
}
