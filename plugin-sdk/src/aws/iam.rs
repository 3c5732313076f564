//! IAM policy documents, whichever way they are written.
//!
//! A policy reaches a rule as JSON text (a Terraform `policy` argument, `jsonencode(…)` already
//! evaluated to text, a heredoc), as an object (CloudFormation's `PolicyDocument`), or as the
//! `statement` blocks of a Terraform `aws_iam_policy_document` data source the argument refers
//! to. [`PolicyDocument`] reads all three into the same statements, with `Effect`, `Action`,
//! `Resource` and the principals each as lists, and keeps where each statement is written: the
//! statement itself for an object or a data source, the attribute holding the text for JSON text
//! (text has no lines of its own inside the resource).

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::aws::{Field, is_unknown};
use crate::{Report, Resource, Value};

/// The Terraform data source that builds policy documents from blocks.
pub const POLICY_DOCUMENT_KIND: &str = "terraform/data.aws_iam_policy_document";

/// Resources that attach permissions to identities (users, groups, roles), with the data source
/// their policies may be built with.
pub const IDENTITY_POLICY_KINDS: &[&str] = &[
    "terraform/aws_iam_policy",
    "terraform/aws_iam_role_policy",
    "terraform/aws_iam_user_policy",
    "terraform/aws_iam_group_policy",
    "terraform/aws_iam_role",
    POLICY_DOCUMENT_KIND,
    "cloudformation/AWS::IAM::Policy",
    "cloudformation/AWS::IAM::ManagedPolicy",
    "cloudformation/AWS::IAM::RolePolicy",
    "cloudformation/AWS::IAM::UserPolicy",
    "cloudformation/AWS::IAM::GroupPolicy",
    "cloudformation/AWS::IAM::Role",
    "cloudformation/AWS::IAM::User",
    "cloudformation/AWS::IAM::Group",
];

/// Whether a statement allows or denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// A list of strings as a policy writes it (`"s3:GetObject"` or `["s3:GetObject", …]`): the
/// values known statically, and whether some are not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Strings {
    pub known: Vec<String>,
    /// True when the list, or one of its elements, is not known statically.
    pub unknown: bool,
}

impl Strings {
    /// True when `value` is one of the known values.
    pub fn contains(&self, value: &str) -> bool {
        self.known.iter().any(|known| known == value)
    }

    /// A string or a list of strings; anything else is unknown, `null` is empty.
    fn read(value: &Value<'_>) -> Strings {
        let mut strings = Strings::default();
        match value {
            Value::Null => {}
            Value::Str(s) => strings.known.push(s.to_string()),
            Value::Array(items) => {
                for item in items {
                    match item.as_str() {
                        Some(s) => strings.known.push(s.to_string()),
                        None => strings.unknown = true,
                    }
                }
            }
            _ => strings.unknown = true,
        }
        strings
    }
}

/// One principal a statement names: its type (`AWS`, `Service`, `Federated`, `CanonicalUser`,
/// or `*` for `"Principal": "*"`) and identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub kind: String,
    pub id: String,
}

impl Principal {
    /// True for everyone: `"Principal": "*"`, `{"AWS": "*"}`, or the data source's
    /// `principals { type = "*" identifiers = ["*"] }`.
    pub fn is_anyone(&self) -> bool {
        self.id == "*" && (self.kind == "*" || self.kind == "AWS")
    }
}

/// The principals of a statement: those known statically, and whether some are not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principals {
    pub known: Vec<Principal>,
    pub unknown: bool,
}

impl Principals {
    /// True when the statement names everyone among its known principals.
    pub fn include_anyone(&self) -> bool {
        self.known.iter().any(Principal::is_anyone)
    }

    /// True when some known principal is of `kind` with identifier `id`.
    pub fn contains(&self, kind: &str, id: &str) -> bool {
        self.known.iter().any(|p| p.kind == kind && p.id == id)
    }

    /// `"*"` or an object of type → identifier(s).
    fn read(value: &Value<'_>) -> Principals {
        let mut principals = Principals::default();
        match value {
            Value::Null => {}
            Value::Str(s) => principals.known.push(Principal {
                kind: "*".to_string(),
                id: s.to_string(),
            }),
            Value::Object(members) if !is_unknown(value) => {
                for (kind, ids) in members.iter() {
                    let ids = Strings::read(ids);
                    principals.unknown |= ids.unknown;
                    principals
                        .known
                        .extend(ids.known.into_iter().map(|id| Principal {
                            kind: kind.to_string(),
                            id,
                        }));
                }
            }
            _ => principals.unknown = true,
        }
        principals
    }

    /// The data source's `principals` blocks (`type`, `identifiers`).
    fn read_blocks(value: &Value<'_>) -> Principals {
        let mut principals = Principals::default();
        match value {
            Value::Null => {}
            Value::Array(blocks) => {
                for block in blocks {
                    let kind = block.get("type").as_str();
                    let ids = Strings::read(block.get("identifiers"));
                    principals.unknown |= ids.unknown || kind.is_none();
                    if let Some(kind) = kind {
                        principals
                            .known
                            .extend(ids.known.into_iter().map(|id| Principal {
                                kind: kind.to_string(),
                                id,
                            }));
                    }
                }
            }
            _ => principals.unknown = true,
        }
        principals
    }
}

/// One statement of a policy, normalized.
#[derive(Debug, Clone)]
pub struct Statement<'b, 'r> {
    /// The resource the statement is written in (a data source, when the policy is built by one).
    pub resource: &'b Resource<'r>,
    /// Pointer to the statement in that resource, or to the attribute holding the JSON text.
    pub pointer: String,
    pub sid: Option<String>,
    /// `None` when not known statically.
    pub effect: Option<Effect>,
    pub actions: Strings,
    pub not_actions: Strings,
    pub resources: Strings,
    pub not_resources: Strings,
    pub principals: Principals,
    pub not_principals: Principals,
    /// Whether the statement has conditions; `None` when not known statically.
    pub has_conditions: Option<bool>,
}

impl Statement<'_, '_> {
    /// True when the statement is known to allow.
    pub fn allows(&self) -> bool {
        self.effect == Some(Effect::Allow)
    }

    /// True when the statement is known to have no condition.
    pub fn is_unconditional(&self) -> bool {
        self.has_conditions == Some(false)
    }
}

/// An IAM policy: its statements, and whether some of it is not known statically.
#[derive(Debug, Clone, Default)]
pub struct PolicyDocument<'b, 'r> {
    pub statements: Vec<Statement<'b, 'r>>,
    /// True when the document, or part of its statement list, could not be read statically.
    pub unknown: bool,
}

impl<'b, 'r> PolicyDocument<'b, 'r> {
    /// The policy held by `field` of `resource`: JSON text, an object, or a Terraform reference
    /// to an `aws_iam_policy_document` data source of `batch`. `None` when the field is absent.
    pub fn from_field(
        batch: &'b [Resource<'r>],
        resource: &'b Resource<'r>,
        field: &Field<'r>,
    ) -> Option<Self> {
        PolicyDocument::from_field_with(resource, field, |target| {
            // The longest data-source address the reference points into.
            batch
                .iter()
                .filter(|r| r.kind == POLICY_DOCUMENT_KIND && super::refers_to_id(target, r.id))
                .max_by_key(|r| r.id.len())
        })
    }

    /// [`PolicyDocument::from_field`], finding the data source a Terraform reference points at
    /// with `data_source`.
    pub(crate) fn from_field_with(
        resource: &'b Resource<'r>,
        field: &Field<'r>,
        data_source: impl FnOnce(&str) -> Option<&'b Resource<'r>>,
    ) -> Option<Self> {
        let value = field.value;
        if value.is_null() {
            return None;
        }
        let target = value.get("$ref").as_str();
        let terraform = crate::aws::Source::of(resource) == Some(crate::aws::Source::Terraform);
        if let Some(source) = target.filter(|_| terraform).and_then(data_source) {
            return Some(PolicyDocument::from_data_source(source));
        }
        if let Some(text) = value.as_str() {
            return Some(PolicyDocument::from_json(text, resource, &field.pointer));
        }
        if is_unknown(value) || !value.is_object() {
            return Some(PolicyDocument {
                statements: Vec::new(),
                unknown: true,
            });
        }
        let mut document = PolicyDocument::default();
        document.read_object(value, resource, &field.pointer, None);
        Some(document)
    }

    /// A policy in JSON text, every statement pointing at `pointer` (the attribute holding it).
    /// Text that is not a JSON object (a template Terraform fills in at apply) is unknown; an
    /// empty text is a policy without statements.
    pub fn from_json(text: &str, resource: &'b Resource<'r>, pointer: &str) -> Self {
        let mut document = PolicyDocument::default();
        if text.trim().is_empty() {
            return document;
        }
        match serde_json::from_str::<Value>(text) {
            Ok(value) if value.is_object() => {
                document.read_object(&value, resource, pointer, Some(pointer));
            }
            _ => document.unknown = true,
        }
        document
    }

    /// The statements of an `aws_iam_policy_document` data source (`statement` blocks; the
    /// rendered `json` when a plan has only that).
    pub fn from_data_source(resource: &'b Resource<'r>) -> Self {
        let statements = resource.get("/statement");
        if statements.is_null()
            && let Some(text) = resource.get("/json").as_str()
        {
            return PolicyDocument::from_json(text, resource, "/json");
        }
        let mut document = PolicyDocument::default();
        let Some(blocks) = statements.as_array() else {
            document.unknown = !statements.is_null();
            return document;
        };
        for (index, block) in blocks.iter().enumerate() {
            let effect = match block.get("effect") {
                // The data source's default.
                Value::Null => Some(Effect::Allow),
                other => effect(other),
            };
            let conditions = block.get("condition");
            document.statements.push(Statement {
                resource,
                pointer: format!("/statement/{index}"),
                sid: block.get("sid").as_str().map(str::to_string),
                effect,
                actions: Strings::read(block.get("actions")),
                not_actions: Strings::read(block.get("not_actions")),
                resources: Strings::read(block.get("resources")),
                not_resources: Strings::read(block.get("not_resources")),
                principals: Principals::read_blocks(block.get("principals")),
                not_principals: Principals::read_blocks(block.get("not_principals")),
                has_conditions: match conditions {
                    Value::Null => Some(false),
                    Value::Array(items) => Some(!items.is_empty()),
                    _ => None,
                },
            });
        }
        document
    }

    /// Reads the statements of a policy object; `fixed` is the pointer every statement gets
    /// when the object was parsed from text.
    fn read_object(
        &mut self,
        object: &Value<'_>,
        resource: &'b Resource<'r>,
        base: &str,
        fixed: Option<&str>,
    ) {
        let statements = object.get("Statement");
        let pointer_of = |tokens: &[&str]| match fixed {
            Some(fixed) => fixed.to_string(),
            None => crate::pointer::join(base, tokens),
        };
        match statements {
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    let pointer = pointer_of(&["Statement", &index.to_string()]);
                    self.read_statement(item, resource, pointer);
                }
            }
            Value::Object(_) if !is_unknown(statements) => {
                self.read_statement(statements, resource, pointer_of(&["Statement"]));
            }
            Value::Null => {}
            _ => self.unknown = true,
        }
    }

    fn read_statement(&mut self, value: &Value<'_>, resource: &'b Resource<'r>, pointer: String) {
        if !value.is_object() || is_unknown(value) {
            self.unknown = true;
            return;
        }
        let conditions = value.get("Condition");
        self.statements.push(Statement {
            resource,
            pointer,
            sid: value.get("Sid").as_str().map(str::to_string),
            effect: effect(value.get("Effect")),
            actions: Strings::read(value.get("Action")),
            not_actions: Strings::read(value.get("NotAction")),
            resources: Strings::read(value.get("Resource")),
            not_resources: Strings::read(value.get("NotResource")),
            principals: Principals::read(value.get("Principal")),
            not_principals: Principals::read(value.get("NotPrincipal")),
            has_conditions: match conditions {
                Value::Null => Some(false),
                Value::Object(members) if !is_unknown(conditions) => Some(!members.is_empty()),
                _ => None,
            },
        });
    }
}

/// `Allow` or `Deny` (IAM compares them exactly; Terraform's data source does too).
fn effect(value: &Value<'_>) -> Option<Effect> {
    match value.as_str()? {
        "Allow" => Some(Effect::Allow),
        "Deny" => Some(Effect::Deny),
        _ => None,
    }
}

/// The `aws_iam_policy_document` data sources of a batch by address, and the addresses
/// identity policies refer to, built once per batch so that resolving a reference is a few
/// lookups rather than a pass over the batch.
#[derive(Debug, Default)]
pub(crate) struct Documents {
    by_id: HashMap<String, Vec<usize>>,
    used_by_identities: HashSet<String>,
}

impl Documents {
    pub(crate) fn new(batch: &[Resource<'_>]) -> Self {
        let mut documents = Documents::default();
        for (position, resource) in batch.iter().enumerate() {
            if resource.kind == POLICY_DOCUMENT_KIND {
                documents
                    .by_id
                    .entry(resource.id.to_string())
                    .or_default()
                    .push(position);
            }
            for field in policy_fields(resource) {
                if let Some(target) = field.value.get("$ref").as_str() {
                    documents
                        .used_by_identities
                        .extend(super::referred_ids(target).map(str::to_string));
                }
            }
        }
        documents
    }

    /// The documents of the batch of `report`, built on first request.
    pub(crate) fn of(report: &Report<'_, '_>) -> Rc<Self> {
        report.batch_index(Documents::new)
    }

    /// The data source of `batch` the Terraform reference `target` points into: the one with
    /// the longest address it starts with.
    pub(crate) fn data_source<'b, 'r>(
        &self,
        batch: &'b [Resource<'r>],
        target: &str,
    ) -> Option<&'b Resource<'r>> {
        super::referred_ids(target)
            .find_map(|id| self.by_id.get(id))
            .and_then(|positions| positions.last())
            .and_then(|&position| batch.get(position))
    }
}

/// The fields of an identity-policy resource that hold a policy (empty for other kinds).
fn policy_fields<'r>(resource: &Resource<'r>) -> Vec<Field<'r>> {
    match resource.kind {
        "terraform/aws_iam_policy"
        | "terraform/aws_iam_role_policy"
        | "terraform/aws_iam_user_policy"
        | "terraform/aws_iam_group_policy" => vec![Field::at(resource, "/policy")],
        "terraform/aws_iam_role" => Field::at(resource, "/inline_policy")
            .elements()
            .map(|block| block.member("policy"))
            .collect(),
        "cloudformation/AWS::IAM::Policy"
        | "cloudformation/AWS::IAM::ManagedPolicy"
        | "cloudformation/AWS::IAM::RolePolicy"
        | "cloudformation/AWS::IAM::UserPolicy"
        | "cloudformation/AWS::IAM::GroupPolicy" => {
            vec![Field::at(resource, "/properties/PolicyDocument")]
        }
        "cloudformation/AWS::IAM::Role"
        | "cloudformation/AWS::IAM::User"
        | "cloudformation/AWS::IAM::Group" => Field::at(resource, "/properties/Policies")
            .elements()
            .map(|policy| policy.member("PolicyDocument"))
            .collect(),
        _ => Vec::new(),
    }
}

/// The permission policies `resource` grants to identities: those it holds for an IAM policy,
/// role, user or group, or, for an `aws_iam_policy_document` data source, its own document when
/// an identity policy of `batch` uses it (a document used only as a bucket or key policy is not
/// an identity policy). Trust policies (`assume_role_policy`) are not included.
///
/// This indexes `batch` for the one call; a rule calls [`identity_policies_for_report`], which
/// indexes its batch once for every rule and resource.
pub fn identity_policies<'b, 'r>(
    batch: &'b [Resource<'r>],
    resource: &Resource<'_>,
) -> Vec<PolicyDocument<'b, 'r>> {
    let positions = super::s3::Positions::new(batch);
    identity_policies_indexed(batch, &positions, &Documents::new(batch), resource)
}

/// [`identity_policies`] of the batch of `report`, over indexes built once per batch (see
/// [`Report::batch_index`]).
pub fn identity_policies_for_report<'b, 'r>(
    report: &Report<'b, 'r>,
    resource: &Resource<'_>,
) -> Vec<PolicyDocument<'b, 'r>> {
    let positions = super::s3::Positions::of(report);
    let documents = Documents::of(report);
    identity_policies_indexed(report.batch(), &positions, &documents, resource)
}

fn identity_policies_indexed<'b, 'r>(
    batch: &'b [Resource<'r>],
    positions: &super::s3::Positions,
    documents: &Documents,
    resource: &Resource<'_>,
) -> Vec<PolicyDocument<'b, 'r>> {
    let Some((_, this)) = positions.find(batch, resource) else {
        return Vec::new();
    };
    if this.kind == POLICY_DOCUMENT_KIND {
        return if documents.used_by_identities.contains(this.id) {
            vec![PolicyDocument::from_data_source(this)]
        } else {
            Vec::new()
        };
    }
    policy_fields(this)
        .iter()
        .filter_map(|field| {
            PolicyDocument::from_field_with(this, field, |target| {
                documents.data_source(batch, target)
            })
        })
        .collect()
}

/// True when `a` and `b` are the same resource of a batch.
pub fn same(a: &Resource<'_>, b: &Resource<'_>) -> bool {
    std::ptr::eq(
        a.attributes as *const Value<'_> as *const (),
        b.attributes as *const Value<'_> as *const (),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::s3::tests::{batch, parse};
    use serde_json::json;

    #[test]
    fn json_text_statements_point_at_the_attribute_and_normalize_lists() {
        let text = r#"{"Version":"2012-10-17","Statement":{"Sid":"All","Effect":"Allow","Action":"*","Resource":["*"],"Principal":{"AWS":["arn:aws:iam::111122223333:root","*"]}}}"#;
        let parsed = parse(&[(
            "terraform/aws_iam_policy",
            "aws_iam_policy.admin",
            json!({"policy": text}),
        )]);
        let batch = batch(&parsed);
        let [document] = identity_policies(&batch, &batch[0])
            .try_into()
            .unwrap_or_else(|d: Vec<_>| panic!("one document: {d:?}"));
        assert!(!document.unknown);
        let [statement] = document.statements.as_slice() else {
            panic!("one statement: {:?}", document.statements);
        };
        assert_eq!(statement.pointer, "/policy");
        assert_eq!(statement.sid.as_deref(), Some("All"));
        assert!(statement.allows() && statement.is_unconditional());
        assert_eq!(statement.actions.known, ["*"]);
        assert_eq!(statement.resources.known, ["*"]);
        assert!(statement.principals.include_anyone());
        assert!(
            statement
                .principals
                .contains("AWS", "arn:aws:iam::111122223333:root")
        );
    }

    #[test]
    fn objects_point_at_each_statement_and_keep_intrinsics_unknown() {
        let parsed = parse(&[(
            "cloudformation/AWS::IAM::Role",
            "AWS::IAM::Role/Etl",
            json!({"logical_id": "Etl", "properties": {"Policies": [
                {"PolicyName": "a", "PolicyDocument": {"Statement": [
                    {"Effect": "Allow", "Action": ["s3:GetObject", {"Fn::If": ["C", "s3:*", "s3:List*"]}],
                     "Resource": {"Fn::Sub": "arn:aws:s3:::${Bucket}/*"}}]}},
                {"PolicyName": "b", "PolicyDocument": {"Fn::If": ["C", {}, {}]}}
            ]}}),
        )]);
        let batch = batch(&parsed);
        let documents = identity_policies(&batch, &batch[0]);
        assert_eq!(documents.len(), 2);
        let statement = &documents[0].statements[0];
        assert_eq!(
            statement.pointer,
            "/properties/Policies/0/PolicyDocument/Statement/0"
        );
        assert_eq!(statement.actions.known, ["s3:GetObject"]);
        assert!(statement.actions.unknown);
        assert!(statement.resources.known.is_empty() && statement.resources.unknown);
        assert!(documents[1].unknown && documents[1].statements.is_empty());
    }

    #[test]
    fn text_that_is_not_json_is_unknown_and_empty_text_is_empty() {
        let parsed = parse(&[("terraform/aws_iam_policy", "aws_iam_policy.p", json!({}))]);
        let batch = batch(&parsed);
        let templated =
            PolicyDocument::from_json("${templatefile(\"p.json\", {})}", &batch[0], "/policy");
        assert!(templated.unknown && templated.statements.is_empty());
        let empty = PolicyDocument::from_json("", &batch[0], "/policy");
        assert!(!empty.unknown && empty.statements.is_empty());
    }

    #[test]
    fn data_source_statements_default_to_allow_and_read_blocks() {
        let parsed = parse(&[
            (
                "terraform/aws_iam_role_policy",
                "aws_iam_role_policy.ci",
                json!({"policy": {"$ref": "data.aws_iam_policy_document.ci.json"}}),
            ),
            (
                "terraform/data.aws_iam_policy_document",
                "data.aws_iam_policy_document.ci",
                json!({"statement": [
                    {"actions": ["*"], "resources": ["*"],
                     "condition": [{"test": "Bool", "variable": "aws:MultiFactorAuthPresent", "values": ["true"]}]},
                    {"effect": "Deny", "not_actions": ["iam:*"], "resources": ["*"],
                     "principals": [{"type": "AWS", "identifiers": {"$unknown": "var.admins"}}]}
                ]}),
            ),
            (
                "terraform/data.aws_iam_policy_document",
                "data.aws_iam_policy_document.unused",
                json!({"statement": [{"actions": ["*"], "resources": ["*"]}]}),
            ),
        ]);
        let batch = batch(&parsed);
        // The role policy's statements live in the data source.
        let held = identity_policies(&batch, &batch[0]);
        assert_eq!(
            held[0].statements[0].resource.id,
            "data.aws_iam_policy_document.ci"
        );
        let own = identity_policies(&batch, &batch[1]);
        let statements = &own[0].statements;
        assert_eq!(statements[0].pointer, "/statement/0");
        assert!(statements[0].allows());
        assert_eq!(statements[0].has_conditions, Some(true));
        assert_eq!(statements[1].effect, Some(Effect::Deny));
        assert_eq!(statements[1].not_actions.known, ["iam:*"]);
        assert!(statements[1].principals.unknown);
        // A document no identity policy uses is not an identity policy.
        assert!(identity_policies(&batch, &batch[2]).is_empty());
    }

    #[test]
    fn role_inline_policies_are_read_from_each_block() {
        let parsed = parse(&[(
            "terraform/aws_iam_role",
            "aws_iam_role.batch",
            json!({"assume_role_policy": "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
                   "inline_policy": [{"name": "a", "policy": "{\"Statement\":[]}"},
                                     {"name": "b", "policy": "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*:*\",\"Resource\":\"*\"}]}"}]}),
        )]);
        let batch = batch(&parsed);
        let documents = identity_policies(&batch, &batch[0]);
        assert_eq!(documents.len(), 2);
        assert!(documents[0].statements.is_empty());
        assert_eq!(
            documents[1].statements[0].pointer,
            "/inline_policy/1/policy"
        );
        assert_eq!(documents[1].statements[0].actions.known, ["*:*"]);
    }
}
