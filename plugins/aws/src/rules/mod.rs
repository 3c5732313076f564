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

/// What the rules' unit tests share: a batch built from JSON attributes, evaluated by the pack.
#[cfg(test)]
mod test_support {
    use palisade_sdk::serde_json;
    use palisade_sdk::{OwnedValue, Resource};

    /// Findings of `rule` over a batch of `(kind, id, attributes)`, as `(resource, pointer)`.
    pub fn findings(
        rule: &str,
        items: &[(&str, &str, serde_json::Value)],
    ) -> Vec<(String, String)> {
        let parsed: Vec<_> = items
            .iter()
            .map(|(kind, id, attributes)| {
                let value = OwnedValue::from_string(attributes.to_string())
                    .unwrap_or_else(|e| panic!("attributes of {id}: {e}"));
                (*kind, *id, value)
            })
            .collect();
        let batch: Vec<Resource> = parsed
            .iter()
            .map(|(kind, id, value)| Resource::new(id, kind, "main.tf", value))
            .collect();
        let config = OwnedValue::from_str("{}").unwrap_or_else(|e| panic!("{e}"));
        let mut found: Vec<_> = palisade_sdk::evaluate::<crate::Aws>(&batch, &config)
            .into_iter()
            .filter(|f| f.rule_id == rule)
            .map(|f| (f.resource_id, f.pointer))
            .collect();
        found.sort();
        found
    }

    pub fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut pairs: Vec<_> = expected
            .iter()
            .map(|(r, p)| (r.to_string(), p.to_string()))
            .collect();
        pairs.sort();
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::ALL;

    #[test]
    fn rules_are_documented_and_unique() {
        palisade_sdk::testing::check_rule_catalogue(ALL, "aws/", 200);
    }
}
