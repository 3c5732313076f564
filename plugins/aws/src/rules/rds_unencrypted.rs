//! `aws/rds-unencrypted`: database storage must be encrypted at rest.

use palisade_sdk::aws::rds;
use palisade_sdk::{Report, Resource, Rule, Severity};

pub const RULE: Rule = Rule {
    id: "aws/rds-unencrypted",
    title: "RDS storage not encrypted",
    severity: Severity::High,
    kinds: rds::STORAGE_KINDS,
    description: "Without storage encryption, a database's volumes, automated backups, read \
replicas and snapshots hold its data in clear. A snapshot shared by mistake, or copied by \
someone with snapshot permissions, is then readable anywhere, and encryption cannot be turned \
on later without restoring into a new instance. Storage encryption uses KMS at no performance \
cost worth mentioning. This rule judges `aws_db_instance` and `aws_rds_cluster` (Terraform) \
and `AWS::RDS::DBInstance` and `AWS::RDS::DBCluster` (CloudFormation). It fires when \
`storage_encrypted` / `StorageEncrypted` is `false`, pointing at that setting, or when it is \
left out (AWS's default is unencrypted), pointing at the resource. Aurora cluster instances \
are not judged (they use the cluster's storage, judged on the cluster), nor are replicas, \
snapshot and point-in-time restores that leave the setting out (they take their source's \
encryption), nor Aurora Serverless v1 clusters (always encrypted). Values not known statically \
are not judged.",
    remediation: "Encrypt the storage, with a customer managed key where you need to control \
access to it:\n
```hcl
resource \"aws_db_instance\" \"orders\" {
  # …
  storage_encrypted = true
  kms_key_id        = aws_kms_key.rds.arn
}
```\n
An existing unencrypted instance must be migrated: snapshot it, copy the snapshot with \
encryption, and restore from the copy.",
    help_uri: Some(
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.html",
    ),
    tags: &[
        "cis-aws/2.3.1",
        "aws-foundational/RDS.3",
        "cwe/311",
        "encryption",
    ],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let Some(database) = rds::database(resource) else {
        return;
    };
    if database.role == rds::Role::ClusterMember || database.is_encrypted() != Some(false) {
        return;
    }
    let what = match database.role {
        rds::Role::Cluster => "cluster",
        _ => "DB instance",
    };
    if database.storage_encrypted.is_absent() {
        report.finding(
            "",
            format!("the {what} does not set storage encryption, so its storage is unencrypted"),
        );
    } else {
        report.finding(
            database.storage_encrypted.pointer,
            format!("the {what}'s storage encryption is turned off"),
        );
    }
}
