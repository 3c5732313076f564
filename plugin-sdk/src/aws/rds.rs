//! RDS: DB instances and clusters, whether they are reachable from the internet and whether
//! their storage is encrypted.
//!
//! [`database`] reads `aws_db_instance`, `aws_rds_cluster`, `aws_rds_cluster_instance`,
//! `AWS::RDS::DBInstance` and `AWS::RDS::DBCluster` into one [`Database`]. Defaults follow
//! AWS and the Terraform provider: Terraform sends `publicly_accessible = false` when it is not
//! set, whereas CloudFormation leaves it to AWS, which makes an instance public when its VPC has
//! an internet gateway, so an unset `PubliclyAccessible` is not known. Storage is unencrypted
//! unless set, except where it is inherited: an Aurora cluster's instances take the cluster's
//! encryption, and replicas and restored snapshots take their source's.

use super::Field;
use super::ec2::{configured, has_value, is_deployed};
use crate::Resource;

/// Kinds that can be made reachable from the internet (instances; clusters have no such
/// setting).
pub const INSTANCE_KINDS: &[&str] = &[
    "terraform/aws_db_instance",
    "terraform/aws_rds_cluster_instance",
    "cloudformation/AWS::RDS::DBInstance",
];

/// Kinds that decide where data is stored, and so its encryption: instances outside a cluster,
/// and clusters.
pub const STORAGE_KINDS: &[&str] = &[
    "terraform/aws_db_instance",
    "terraform/aws_rds_cluster",
    "cloudformation/AWS::RDS::DBInstance",
    "cloudformation/AWS::RDS::DBCluster",
];

/// What an RDS resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A DB instance of its own (`aws_db_instance`, a `DBInstance` outside a cluster).
    Instance,
    /// An instance of an Aurora cluster (`aws_rds_cluster_instance`, a `DBInstance` with a
    /// `DBClusterIdentifier`): its storage is the cluster's.
    ClusterMember,
    /// A cluster (`aws_rds_cluster`, `DBCluster`).
    Cluster,
}

/// A DB instance or cluster.
#[derive(Debug, Clone)]
pub struct Database<'a> {
    pub role: Role,
    /// `publicly_accessible` / `PubliclyAccessible` (absent for clusters).
    pub publicly_accessible: Field<'a>,
    /// `storage_encrypted` / `StorageEncrypted`; absent when the configuration does not set it.
    pub storage_encrypted: Field<'a>,
    /// `kms_key_id` / `KmsKeyId`.
    pub kms_key_id: Field<'a>,
    /// True when the storage comes from elsewhere (a replica's source, a snapshot, a
    /// point-in-time restore, the cluster), whose encryption it takes when not set.
    pub inherits_storage: bool,
    /// True for an Aurora Serverless v1 cluster (`engine_mode = "serverless"`), which is
    /// always encrypted.
    pub serverless_v1: bool,
    terraform_defaults: bool,
}

impl Database<'_> {
    /// Whether the database is reachable from the internet: the setting, else `false` for
    /// Terraform (the provider's default); `None` when not known, and for clusters.
    pub fn is_public(&self) -> Option<bool> {
        if self.role == Role::Cluster {
            return None;
        }
        if self.publicly_accessible.is_absent() {
            return self.terraform_defaults.then_some(false);
        }
        self.publicly_accessible.as_bool()
    }

    /// Whether the storage is encrypted: the setting, else `false` (AWS's default); `None`
    /// when not known or inherited (see [`Database::inherits_storage`]).
    pub fn is_encrypted(&self) -> Option<bool> {
        if self.serverless_v1 {
            return Some(true);
        }
        if self.storage_encrypted.is_absent() {
            return (!self.inherits_storage).then_some(false);
        }
        self.storage_encrypted.as_bool()
    }
}

/// The database `resource` declares; `None` for other kinds.
pub fn database<'a>(resource: &Resource<'a>) -> Option<Database<'a>> {
    if !is_deployed(resource) {
        return None;
    }
    let (role, terraform) = match resource.kind {
        "terraform/aws_db_instance" => (Role::Instance, true),
        "terraform/aws_rds_cluster_instance" => (Role::ClusterMember, true),
        "terraform/aws_rds_cluster" => (Role::Cluster, true),
        "cloudformation/AWS::RDS::DBInstance" => {
            let in_cluster = !Field::at(resource, "/properties/DBClusterIdentifier").is_absent();
            let role = if in_cluster {
                Role::ClusterMember
            } else {
                Role::Instance
            };
            (role, false)
        }
        "cloudformation/AWS::RDS::DBCluster" => (Role::Cluster, false),
        _ => return None,
    };
    let settings = Field::at(resource, if terraform { "" } else { "/properties" });
    let set = |key: &str| has_value(&settings.member(key));
    let sources: &[&str] = match (terraform, role) {
        (_, Role::ClusterMember) => &[],
        (true, Role::Instance) => &[
            "replicate_source_db",
            "snapshot_identifier",
            "restore_to_point_in_time",
            "s3_import",
        ],
        (true, Role::Cluster) => &[
            "replication_source_identifier",
            "snapshot_identifier",
            "restore_to_point_in_time",
            "s3_import",
        ],
        (false, Role::Instance) => &[
            "SourceDBInstanceIdentifier",
            "DBSnapshotIdentifier",
            "SourceDbiResourceId",
            "SourceDBInstanceAutomatedBackupsArn",
            "SourceDBClusterIdentifier",
        ],
        (false, Role::Cluster) => &[
            "SnapshotIdentifier",
            "SourceDBClusterIdentifier",
            "ReplicationSourceIdentifier",
        ],
    };
    let empty_block = |key: &str| {
        settings
            .member(key)
            .value
            .as_array()
            .is_some_and(|blocks| blocks.is_empty())
    };
    let inherits_storage =
        role == Role::ClusterMember || sources.iter().any(|key| set(key) && !empty_block(key));
    let (public, encrypted, kms, mode) = if terraform {
        (
            "publicly_accessible",
            "storage_encrypted",
            "kms_key_id",
            "engine_mode",
        )
    } else {
        (
            "PubliclyAccessible",
            "StorageEncrypted",
            "KmsKeyId",
            "EngineMode",
        )
    };
    Some(Database {
        role,
        publicly_accessible: configured(settings.member(public)),
        storage_encrypted: configured(settings.member(encrypted)),
        kms_key_id: configured(settings.member(kms)),
        inherits_storage,
        serverless_v1: role == Role::Cluster
            && settings
                .member(mode)
                .as_str()
                .is_some_and(|m| m.eq_ignore_ascii_case("serverless")),
        terraform_defaults: terraform,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OwnedValue;
    use serde_json::json;

    fn parse(attributes: serde_json::Value) -> OwnedValue {
        OwnedValue::from_string(attributes.to_string()).expect("valid JSON")
    }

    fn judge(kind: &str, attributes: serde_json::Value) -> (Option<bool>, Option<bool>) {
        let value = parse(attributes);
        let resource = Resource::new("r", kind, "f", &value);
        let database = database(&resource).expect("an RDS resource");
        (database.is_public(), database.is_encrypted())
    }

    #[test]
    fn public_access_defaults_to_private_in_terraform_only() {
        assert_eq!(judge("terraform/aws_db_instance", json!({})).0, Some(false));
        assert_eq!(
            judge(
                "terraform/aws_db_instance",
                json!({"publicly_accessible": true})
            )
            .0,
            Some(true)
        );
        assert_eq!(
            judge(
                "terraform/aws_rds_cluster_instance",
                json!({"publicly_accessible": "true"})
            )
            .0,
            Some(true)
        );
        assert_eq!(
            judge(
                "cloudformation/AWS::RDS::DBInstance",
                json!({"properties": {}})
            )
            .0,
            None
        );
        assert_eq!(
            judge(
                "cloudformation/AWS::RDS::DBInstance",
                json!({"properties": {"PubliclyAccessible": true}})
            )
            .0,
            Some(true)
        );
        assert_eq!(judge("terraform/aws_rds_cluster", json!({})).0, None);
    }

    #[test]
    fn storage_encryption_defaults_to_off_unless_inherited() {
        let cases = [
            ("terraform/aws_db_instance", json!({}), Some(false)),
            (
                "terraform/aws_db_instance",
                json!({"storage_encrypted": true}),
                Some(true),
            ),
            (
                "terraform/aws_db_instance",
                json!({"replicate_source_db": "orders"}),
                None,
            ),
            (
                "terraform/aws_db_instance",
                json!({"restore_to_point_in_time": []}),
                Some(false),
            ),
            (
                "terraform/aws_db_instance",
                json!({"snapshot_identifier": {"$unknown": "known after apply"}}),
                Some(false),
            ),
            (
                "terraform/aws_rds_cluster",
                json!({"storage_encrypted": {"$unknown": "known after apply"}}),
                Some(false),
            ),
            (
                "terraform/aws_rds_cluster",
                json!({"storage_encrypted": {"$unknown": "var.encrypted"}}),
                None,
            ),
            (
                "terraform/aws_rds_cluster",
                json!({"engine_mode": "serverless"}),
                Some(true),
            ),
            ("terraform/aws_rds_cluster_instance", json!({}), None),
            (
                "cloudformation/AWS::RDS::DBInstance",
                json!({"properties": {"DBClusterIdentifier": {"Ref": "C"}}}),
                None,
            ),
            (
                "cloudformation/AWS::RDS::DBInstance",
                json!({"properties": {"StorageEncrypted": "false"}}),
                Some(false),
            ),
            (
                "cloudformation/AWS::RDS::DBCluster",
                json!({"properties": {}}),
                Some(false),
            ),
            (
                "cloudformation/AWS::RDS::DBCluster",
                json!({"properties": {"SnapshotIdentifier": "snap"}}),
                None,
            ),
        ];
        for (kind, attributes, encrypted) in cases {
            assert_eq!(
                judge(kind, attributes.clone()).1,
                encrypted,
                "{kind} {attributes}"
            );
        }
    }
}
