//! `aws/ebs-unencrypted`: EBS volumes must be encrypted at rest.

use palisade_sdk::aws::ec2::{self, VolumeRole};
use palisade_sdk::{Report, Resource, Rule, Severity};

pub const RULE: Rule = Rule {
    id: "aws/ebs-unencrypted",
    title: "EBS volume not encrypted",
    severity: Severity::Medium,
    kinds: ec2::VOLUME_KINDS,
    description: "An unencrypted EBS volume stores its data, and every snapshot taken of it, in \
clear. Snapshots are easily copied and shared (sometimes publicly, by mistake), and encryption \
cannot be turned on for an existing volume. EBS encryption uses KMS and costs nothing \
measurable. This rule judges `aws_ebs_volume`, the `root_block_device` and `ebs_block_device` \
blocks of `aws_instance` and `aws_launch_configuration`, the `block_device_mappings` of \
`aws_launch_template` (Terraform), and `AWS::EC2::Volume`, the `BlockDeviceMappings` of \
`AWS::EC2::Instance`, `AWS::EC2::LaunchTemplate` and `AWS::AutoScaling::LaunchConfiguration` \
(CloudFormation). It fires when `encrypted` / `Encrypted` is `false`, pointing at that \
setting, or left out (AWS's default is unencrypted), pointing at the volume's block, or at the \
resource for a standalone volume and for an instance or launch configuration that declares no \
root device (its root volume then comes unencrypted from a typical AMI). Volumes made from a \
snapshot without the setting take the snapshot's encryption and are not judged, nor is an \
instance launched from a launch template (the template is). When the same Terraform \
configuration turns on EBS encryption by default (`aws_ebs_encryption_by_default` with \
`enabled = true`, its default), every new volume of the account and region is encrypted and \
the rule does not fire; CloudFormation has no such resource, so turn it on for the account \
and set `Encrypted` explicitly. Values not known statically are not judged.",
    remediation: "Encrypt each volume, or turn on encryption by default for the account and \
region:\n
```hcl
resource \"aws_instance\" \"web\" {
  # …
  root_block_device {
    encrypted = true
  }
}

resource \"aws_ebs_encryption_by_default\" \"this\" {
  enabled = true
}
```",
    help_uri: Some("https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html"),
    tags: &[
        "cis-aws/2.2.1",
        "aws-foundational/EC2.3",
        "cwe/311",
        "encryption",
    ],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let volumes = ec2::volumes(resource);
    if volumes.is_empty() || ec2::encrypted_by_default_for_report(report) {
        return;
    }
    for volume in volumes {
        if volume.is_encrypted() != Some(false) {
            continue;
        }
        let what = volume.describe();
        if !volume.encrypted.is_absent() {
            report.finding(volume.encrypted.pointer, format!("{what} is not encrypted"));
        } else if volume.role == VolumeRole::Root && volume.pointer.is_empty() {
            report.finding(
                volume.pointer,
                "no root device is declared, so the root volume is created from the AMI's \
                 snapshot without encryption",
            );
        } else {
            report.finding(
                volume.pointer,
                format!("{what} does not set encryption, so it is created unencrypted"),
            );
        }
    }
}
