//! Lambda: function URLs and who may call them.
//!
//! [`function_url`] reads `aws_lambda_function_url`, `AWS::Lambda::Url` and the
//! `FunctionUrlConfig` of a SAM `AWS::Serverless::Function` (with the template's `Globals`
//! merged in) into one [`FunctionUrl`].

use super::ec2::{is_deployed, is_settings};
use super::{Field, Source};
use crate::Resource;

/// Kinds that declare a function URL.
pub const URL_KINDS: &[&str] = &[
    "terraform/aws_lambda_function_url",
    "cloudformation/AWS::Lambda::Url",
    "cloudformation/AWS::Serverless::Function",
];

/// A Lambda function URL.
#[derive(Debug, Clone)]
pub struct FunctionUrl<'a> {
    /// Where the URL is declared: the resource, or SAM's `FunctionUrlConfig`.
    pub pointer: String,
    /// `authorization_type` / `AuthType`: `AWS_IAM` or `NONE`.
    pub auth_type: Field<'a>,
}

impl FunctionUrl<'_> {
    /// True when anyone on the internet may call the URL (`NONE`); `None` when not known.
    pub fn is_public(&self) -> Option<bool> {
        self.auth_type
            .as_str()
            .map(|auth| auth.trim().eq_ignore_ascii_case("NONE"))
    }
}

/// The function URL `resource` declares; `None` for other kinds and for a SAM function
/// without `FunctionUrlConfig`.
pub fn function_url<'a>(resource: &Resource<'a>) -> Option<FunctionUrl<'a>> {
    if !is_deployed(resource) {
        return None;
    }
    let settings = Field::at(resource, Source::of(resource)?.root());
    match resource.kind {
        "terraform/aws_lambda_function_url" => Some(FunctionUrl {
            pointer: String::new(),
            auth_type: settings.member("authorization_type"),
        }),
        "cloudformation/AWS::Lambda::Url" => Some(FunctionUrl {
            pointer: String::new(),
            auth_type: settings.member("AuthType"),
        }),
        "cloudformation/AWS::Serverless::Function" => {
            let config = settings.member("FunctionUrlConfig");
            is_settings(config.value).then(|| FunctionUrl {
                auth_type: config.member("AuthType"),
                pointer: config.pointer,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OwnedValue;
    use serde_json::json;

    fn url(kind: &str, attributes: serde_json::Value) -> Option<(Option<bool>, String)> {
        let value = OwnedValue::from_string(attributes.to_string()).expect("valid JSON");
        let resource = Resource::new("u", kind, "f", &value);
        function_url(&resource).map(|url| (url.is_public(), url.auth_type.pointer))
    }

    #[test]
    fn urls_are_read_from_every_form() {
        assert_eq!(
            url(
                "terraform/aws_lambda_function_url",
                json!({"authorization_type": "NONE"})
            ),
            Some((Some(true), "/authorization_type".to_owned()))
        );
        assert_eq!(
            url(
                "cloudformation/AWS::Lambda::Url",
                json!({"properties": {"AuthType": "AWS_IAM"}})
            ),
            Some((Some(false), "/properties/AuthType".to_owned()))
        );
        assert_eq!(
            url(
                "cloudformation/AWS::Serverless::Function",
                json!({"properties": {"FunctionUrlConfig": {"AuthType": "none"}}})
            ),
            Some((
                Some(true),
                "/properties/FunctionUrlConfig/AuthType".to_owned()
            ))
        );
        assert_eq!(
            url(
                "cloudformation/AWS::Serverless::Function",
                json!({"properties": {}})
            ),
            None
        );
        assert_eq!(
            url(
                "terraform/aws_lambda_function_url",
                json!({"authorization_type": {"$unknown": "var.auth"}})
            ),
            Some((None, "/authorization_type".to_owned()))
        );
    }
}
