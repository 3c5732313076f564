//! The pack's rules, one per file.

mod cloudtrail_log_validation_disabled;
mod ebs_unencrypted;
mod ec2_imdsv1;
mod kms_rotation_disabled;
mod lambda_public_url;
mod rds_public;
mod rds_unencrypted;
mod sg_open_ingress;

/// Every rule of the pack, in the order `palisade rules` lists them.
pub const ALL: &[palisade_sdk::Rule] = &[
    sg_open_ingress::RULE,
    rds_public::RULE,
    rds_unencrypted::RULE,
    ebs_unencrypted::RULE,
    ec2_imdsv1::RULE,
    cloudtrail_log_validation_disabled::RULE,
    kms_rotation_disabled::RULE,
    lambda_public_url::RULE,
];
