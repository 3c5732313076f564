//! AWS resources as typed views, whichever format declared them.
//!
//! The same bucket can be written in Terraform HCL, arrive as Terraform plan JSON, or be a
//! CloudFormation resource. The host normalizes Terraform to one shape (plan JSON's: arguments as
//! values, nested blocks as arrays of objects, `{"$unknown": …}` for what only apply knows,
//! `{"$ref": "aws_s3_bucket.logs.id"}` for a reference) and CloudFormation to its own
//! (`/properties/…`, intrinsics kept as `{"Ref": …}`/`{"Fn::…": …}` where not evaluated). The
//! service modules read both and hand rules one view with the pointer of every field in its
//! own resource, so a finding lands on the right line of the right file.
//!
//! Unknown values are never a violation by themselves: every accessor here answers `None` for a
//! value that is not known statically, and rules only report what is known to be wrong (or known
//! to be missing).

pub mod iam;
pub mod s3;

use crate::{Resource, Value};

pub mod cloudtrail;
pub mod ec2;
pub mod kms;
pub mod lambda;
pub mod rds;

/// Where a resource comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Terraform HCL or plan JSON: kind `terraform/<type>`.
    Terraform,
    /// CloudFormation or SAM: kind `cloudformation/<AWS::Service::Type>`.
    CloudFormation,
}

impl Source {
    /// The format of `resource`, when it is Terraform or CloudFormation.
    pub fn of(resource: &Resource<'_>) -> Option<Source> {
        let (format, _) = resource.kind.split_once('/')?;
        match format {
            "terraform" => Some(Source::Terraform),
            "cloudformation" => Some(Source::CloudFormation),
            _ => None,
        }
    }

    /// The pointer under which the resource's own settings live: the attributes themselves for
    /// Terraform, `/properties` for CloudFormation.
    pub fn root(self) -> &'static str {
        match self {
            Source::Terraform => "",
            Source::CloudFormation => "/properties",
        }
    }
}

/// A value of a resource together with its JSON pointer (for the finding's line).
#[derive(Debug, Clone)]
pub struct Field<'a> {
    pub value: &'a Value<'a>,
    pub pointer: String,
}

impl<'a> Field<'a> {
    /// The value at `pointer` in `resource` (`Value::Null` when absent).
    pub fn at(resource: &Resource<'a>, pointer: impl Into<String>) -> Self {
        let pointer = pointer.into();
        Field {
            value: resource.get(&pointer),
            pointer,
        }
    }

    /// The member `key` of this object value.
    pub fn member(&self, key: &str) -> Field<'a> {
        Field {
            value: crate::pointer::field(self.value, key).unwrap_or(&crate::NULL),
            pointer: crate::pointer::join(&self.pointer, &[key]),
        }
    }

    /// The element `index` of this array value.
    pub fn element(&self, index: usize) -> Field<'a> {
        Field {
            value: self.value.get(index),
            pointer: crate::pointer::join(&self.pointer, &[&index.to_string()]),
        }
    }

    /// The elements of this array value, each with its pointer (none when not an array).
    pub fn elements(&self) -> impl Iterator<Item = Field<'a>> + '_ {
        let len = self.value.as_array().map_or(0, |a| a.len());
        (0..len).map(|i| self.element(i))
    }

    /// True when the value is absent (`null` or missing).
    pub fn is_absent(&self) -> bool {
        self.value.is_null()
    }

    /// The value as a boolean, when it is known (see [`known_bool`]).
    pub fn as_bool(&self) -> Option<bool> {
        known_bool(self.value)
    }

    /// The value as a string, when it is a known string.
    pub fn as_str(&self) -> Option<&'a str> {
        known_str(self.value)
    }

    /// The value as a number, when it is known (see [`known_i64`]).
    pub fn as_i64(&self) -> Option<i64> {
        known_i64(self.value)
    }
}

/// True when `value` is not known statically: a Terraform `{"$unknown": …}` or `{"$ref": …}`,
/// or a CloudFormation intrinsic the template alone does not decide (`{"Ref": …}`,
/// `{"Fn::GetAtt": …}`, …).
pub fn is_unknown(value: &Value<'_>) -> bool {
    let Some(object) = value.as_object() else {
        return false;
    };
    let mut keys = object.iter().map(|(k, _)| k);
    match (keys.next(), keys.next()) {
        (Some(key), None) => {
            key == "$unknown" || key == "$ref" || key == "Ref" || key.starts_with("Fn::")
        }
        _ => false,
    }
}

/// A boolean, also written as a string (`"true"`, `"false"`, as CloudFormation and Terraform
/// accept); `None` when absent, unknown or something else.
pub fn known_bool(value: &Value<'_>) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A string value; `None` when absent, unknown or not a string.
pub fn known_str<'a>(value: &'a Value<'a>) -> Option<&'a str> {
    value.as_str()
}

/// An integer, also written as a string (`"22"`); `None` when absent, unknown or not a whole
/// number.
pub fn known_i64(value: &Value<'_>) -> Option<i64> {
    match value {
        Value::Number(_) => value.as_i64(),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// What a reference value points at: a Terraform address (`aws_s3_bucket.logs.id` →
/// `aws_s3_bucket.logs.id`, module prefix included) or a CloudFormation logical id
/// (`{"Ref": "Logs"}` and `{"Fn::GetAtt": ["Logs", "Arn"]}` → `Logs`).
pub fn reference<'a>(value: &'a Value<'a>) -> Option<&'a str> {
    if let Some(target) = value.get("$ref").as_str() {
        return Some(target);
    }
    if let Some(target) = value.get("Ref").as_str() {
        return Some(target);
    }
    let get_att = value.get("Fn::GetAtt");
    match get_att {
        Value::Array(parts) => parts.first().and_then(Value::as_str),
        Value::Str(s) => s.split_once('.').map(|(logical, _)| logical),
        _ => None,
    }
}

/// True when the Terraform reference `target` (`data.aws_iam_policy_document.x.json`) points
/// into the object with address `id`.
pub(crate) fn refers_to_id(target: &str, id: &str) -> bool {
    target
        .strip_prefix(id)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// The addresses a Terraform reference may point into, longest first: the reference itself and
/// each prefix ending before a `.` (`aws_s3_bucket.logs.id`, `aws_s3_bucket.logs`,
/// `aws_s3_bucket`), i.e. every `id` for which [`refers_to_id`] holds. Joins look these up in a
/// per-batch index ([`crate::Report::batch_index`]) rather than scanning the batch.
pub(crate) fn referred_ids(target: &str) -> impl Iterator<Item = &str> {
    let cuts = target.rmatch_indices('.').map(|(at, _)| at);
    std::iter::once(target).chain(cuts.filter_map(|at| target.get(..at)))
}
