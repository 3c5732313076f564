//! The pack's rules, one per file.

mod cloudtrail_log_validation_disabled;
mod ebs_unencrypted;
mod ec2_imdsv1;
mod iam_wildcard_policy;
mod kms_rotation_disabled;
mod lambda_public_url;
mod rds_public;
mod rds_unencrypted;
mod s3_access_logging_disabled;
mod s3_encryption_disabled;
mod s3_public_access;
mod s3_versioning_disabled;
mod sg_open_ingress;

/// Every rule of the pack, in the order `palisade rules` lists them.
pub const ALL: &[palisade_sdk::Rule] = &[
    s3_public_access::RULE,
    s3_encryption_disabled::RULE,
    s3_versioning_disabled::RULE,
    s3_access_logging_disabled::RULE,
    sg_open_ingress::RULE,
    rds_public::RULE,
    rds_unencrypted::RULE,
    ebs_unencrypted::RULE,
    iam_wildcard_policy::RULE,
    cloudtrail_log_validation_disabled::RULE,
    kms_rotation_disabled::RULE,
    lambda_public_url::RULE,
    ec2_imdsv1::RULE,
];
