//! CloudTrail: trails and the integrity of the log files they deliver.
//!
//! [`trail`] reads `aws_cloudtrail` and `AWS::CloudTrail::Trail` into one [`Trail`].

use super::ec2::is_deployed;
use super::{Field, Source};
use crate::Resource;

/// Kinds that declare a trail.
pub const TRAIL_KINDS: &[&str] = &[
    "terraform/aws_cloudtrail",
    "cloudformation/AWS::CloudTrail::Trail",
];

/// A CloudTrail trail.
#[derive(Debug, Clone)]
pub struct Trail<'a> {
    /// `enable_log_file_validation` / `EnableLogFileValidation`.
    pub log_file_validation: Field<'a>,
}

impl Trail<'_> {
    /// Whether CloudTrail signs digest files for the delivered logs: the setting, else `false`
    /// (the default in both formats); `None` when not known.
    pub fn validates_log_files(&self) -> Option<bool> {
        if self.log_file_validation.is_absent() {
            return Some(false);
        }
        self.log_file_validation.as_bool()
    }
}

/// The trail `resource` declares; `None` for other kinds.
pub fn trail<'a>(resource: &Resource<'a>) -> Option<Trail<'a>> {
    if !is_deployed(resource) {
        return None;
    }
    let key = match resource.kind {
        "terraform/aws_cloudtrail" => "enable_log_file_validation",
        "cloudformation/AWS::CloudTrail::Trail" => "EnableLogFileValidation",
        _ => return None,
    };
    let root = Source::of(resource)?.root();
    Some(Trail {
        log_file_validation: Field::at(resource, root).member(key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OwnedValue;
    use serde_json::json;

    #[test]
    fn validation_defaults_to_off_and_unknowns_stay_unknown() {
        for (kind, attributes, validates, pointer) in [
            (
                "terraform/aws_cloudtrail",
                json!({}),
                Some(false),
                "/enable_log_file_validation",
            ),
            (
                "terraform/aws_cloudtrail",
                json!({"enable_log_file_validation": true}),
                Some(true),
                "/enable_log_file_validation",
            ),
            (
                "cloudformation/AWS::CloudTrail::Trail",
                json!({"properties": {"EnableLogFileValidation": "false"}}),
                Some(false),
                "/properties/EnableLogFileValidation",
            ),
            (
                "cloudformation/AWS::CloudTrail::Trail",
                json!({"properties": {"EnableLogFileValidation": {"Ref": "Validate"}}}),
                None,
                "/properties/EnableLogFileValidation",
            ),
        ] {
            let value = OwnedValue::from_string(attributes.to_string()).expect("valid JSON");
            let resource = Resource::new("t", kind, "f", &value);
            let trail = trail(&resource).expect("a trail");
            assert_eq!(trail.validates_log_files(), validates, "{attributes}");
            assert_eq!(trail.log_file_validation.pointer, pointer);
        }
    }
}
