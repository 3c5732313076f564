//! The pack's rules, one per file.

mod iam_wildcard_policy;
mod s3_access_logging_disabled;
mod s3_encryption_disabled;
mod s3_public_access;
mod s3_versioning_disabled;

/// Every rule of the pack, in the order `palisade rules` lists them.
pub const ALL: &[palisade_sdk::Rule] = &[
    s3_public_access::RULE,
    s3_encryption_disabled::RULE,
    s3_versioning_disabled::RULE,
    s3_access_logging_disabled::RULE,
    iam_wildcard_policy::RULE,
];
