//! CloudFormation and SAM templates (YAML or JSON) → one resource per entry of `Resources`.
//!
//! A resource `LogsBucket` of type `AWS::S3::Bucket` becomes the resource
//! `AWS::S3::Bucket/LogsBucket` of kind `cloudformation/AWS::S3::Bucket`, with the attributes
//!
//! ```json
//! {"logical_id": "LogsBucket", "type": "AWS::S3::Bucket", "properties": {},
//!  "condition": null, "condition_value": true, "depends_on": [],
//!  "deletion_policy": null, "update_replace_policy": null, "metadata": null}
//! ```
//!
//! Short-form tags (`!Ref X`, `!GetAtt A.B`...) become the long JSON form (`{"Ref": "X"}`,
//! `{"Fn::GetAtt": ["A", "B"]}`), and intrinsic functions are evaluated where the template alone
//! decides their value: references to parameters with a default, conditions over such values,
//! `Fn::If`, `Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::FindInMap`, `Fn::Length`.
//! Anything that depends on the deployment (pseudo parameters, other resources, imports) stays
//! the intrinsic object, with its arguments evaluated as far as they go. `condition_value` is
//! `true` for a resource without a condition, the condition's value when it is known, and
//! `null` otherwise.
//!
//! SAM resources (`AWS::Serverless::*`) get the template's `Globals` merged in the way SAM does
//! it (mappings merged, lists appended, the resource's own scalars win); merged-in values point
//! at their lines under `Globals`.
//!
//! Spans: every member of the attributes points at its key, every array element at its first
//! token. A value computed by evaluation points where the expression is written, so a finding on
//! `BucketName: !Ref Name` reports that line, not the parameter's default.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use crate::resource::{Diagnostic, Limits, Normalized, Resource, Span, SpanTable};
use crate::yaml::{self, Entry, Node, ParseErrorKind, Value};

/// What a resource type starts with: AWS's own, Alexa skills, and custom resources.
const RESOURCE_TYPE_PREFIXES: [&str; 3] = ["AWS::", "Alexa::", "Custom::"];
/// The SAM transform, `AWS::Serverless-2016-10-31`, without its version.
const SAM_TRANSFORM: &str = "AWS::Serverless-";
/// The type prefix of SAM resources, whose `Globals` section is named by the rest of the type.
const SAM_TYPE_PREFIX: &str = "AWS::Serverless::";
/// The pseudo parameter whose reference removes the member or element it is the value of.
const NO_VALUE: &str = "AWS::NoValue";
/// Collections enclosing a resource's attributes (`Properties`...): the root and `Resources`,
/// and the resource itself.
const ATTRIBUTE_DEPTH: usize = 3;
/// Collections enclosing a condition's definition: the root and `Conditions`.
const CONDITION_DEPTH: usize = 2;

/// True when a YAML or JSON text is a CloudFormation template rather than something else.
///
/// A template has, at its top level, `AWSTemplateFormatVersion`, or `Resources` whose entries
/// have a `Type` such as `AWS::S3::Bucket` (or `Alexa::`, `Custom::`), or the SAM transform.
/// This runs on every YAML and JSON file of a scan, so it reads the text line by line (YAML) or
/// token by token (JSON); only a JSON-like text whose keys are not all quoted (YAML flow style)
/// and that mentions a template key is parsed to decide.
pub fn looks_like_template(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Every template mentions one of these; most other files mention none.
    if !text.contains("AWSTemplateFormatVersion")
        && !RESOURCE_TYPE_PREFIXES
            .iter()
            .any(|prefix| text.contains(prefix))
    {
        return false;
    }
    match first_content_byte(text) {
        Some(b'{') => scan_json(text).unwrap_or_else(|| parses_as_template(text)),
        Some(b'[') | None => false,
        Some(_) => scan_yaml(text),
    }
}

/// The first byte that is neither whitespace nor in a `#` comment.
fn first_content_byte(text: &str) -> Option<u8> {
    text.lines()
        .map(str::trim_start)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .and_then(|line| line.bytes().next())
}

/// Which top-level member a scan is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Resources,
    Transform,
    Other,
}

/// Decides a block-style YAML text from its top-level keys and the `Type:` lines under
/// `Resources`.
fn scan_yaml(text: &str) -> bool {
    let mut top_indent = None;
    let mut section = Section::Other;
    for line in text.lines() {
        if line.starts_with("---") || line.starts_with("...") {
            top_indent = None;
            section = Section::Other;
            continue;
        }
        let content = line.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') || line.starts_with('%') {
            continue;
        }
        let indent = line.len() - content.len();
        // A root mapping may be indented as a whole; its first line sets the indentation.
        if indent <= *top_indent.get_or_insert(indent) {
            section = Section::Other;
            let Some((key, rest)) = split_key(content) else {
                continue;
            };
            match key {
                "AWSTemplateFormatVersion" => return true,
                "Resources" => section = Section::Resources,
                "Transform" => section = Section::Transform,
                _ => {}
            }
            if (section == Section::Resources && mentions_resource_type(rest))
                || (section == Section::Transform && rest.contains(SAM_TRANSFORM))
            {
                return true;
            }
            continue;
        }
        match section {
            Section::Resources if mentions_resource_type(content) => return true,
            Section::Transform if content.contains(SAM_TRANSFORM) => return true,
            _ => {}
        }
    }
    false
}

/// Splits `key: rest` (the key plain or quoted) at its colon.
fn split_key(line: &str) -> Option<(&str, &str)> {
    let (key, rest) = match line.as_bytes().first() {
        Some(&quote @ (b'"' | b'\'')) => {
            let inner = &line[1..];
            let end = inner.find(char::from(quote))?;
            let rest = inner[end + 1..].trim_start().strip_prefix(':')?;
            (&inner[..end], rest)
        }
        _ => {
            let (at, _) = line.match_indices(':').find(|&(at, _)| {
                matches!(line.as_bytes().get(at + 1), None | Some(b' ' | b'\t'))
            })?;
            (line[..at].trim_end(), &line[at + 1..])
        }
    };
    Some((key, rest))
}

/// True when `text` holds `Type: AWS::…` (key and value plain or quoted, block or flow style).
fn mentions_resource_type(text: &str) -> bool {
    text.match_indices("Type").any(|(at, word)| {
        let starts_word =
            at == 0 || matches!(text.as_bytes()[at - 1], b' ' | b'{' | b',' | b'"' | b'\'');
        if !starts_word {
            return false;
        }
        let rest = text[at + word.len()..].trim_start_matches(['"', '\'']);
        let Some(value) = rest.trim_start().strip_prefix(':') else {
            return false;
        };
        is_resource_type(value.trim_start().trim_start_matches(['"', '\'']))
    })
}

fn is_resource_type(text: &str) -> bool {
    RESOURCE_TYPE_PREFIXES
        .iter()
        .any(|prefix| text.starts_with(prefix))
}

/// Decides a JSON text by its tokens: `Some(true)` or `Some(false)` when sure, `None` when the
/// text may be YAML flow style with unquoted keys the scan cannot see.
fn scan_json(text: &str) -> Option<bool> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut section = Section::Other;
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let end = string_end(bytes, at + 1);
                let content = &text[at + 1..end];
                let after = skip_whitespace(bytes, end + 1);
                if bytes.get(after) == Some(&b':') {
                    if depth == 1 {
                        section = match content {
                            "AWSTemplateFormatVersion" => return Some(true),
                            "Resources" => Section::Resources,
                            "Transform" => Section::Transform,
                            _ => Section::Other,
                        };
                    } else if depth == 3 && section == Section::Resources && content == "Type" {
                        let value = skip_whitespace(bytes, after + 1);
                        if bytes.get(value) == Some(&b'"') && is_resource_type(&text[value + 1..]) {
                            return Some(true);
                        }
                    }
                    at = after + 1;
                } else {
                    if section == Section::Transform && content.starts_with(SAM_TRANSFORM) {
                        return Some(true);
                    }
                    at = end + 1;
                }
                continue;
            }
            _ => {}
        }
        at += 1;
    }
    let unquoted = |word: &str| {
        text.match_indices(word)
            .any(|(at, _)| at == 0 || bytes[at - 1] != b'"')
    };
    if unquoted("AWSTemplateFormatVersion") || unquoted("Resources") {
        None
    } else {
        Some(false)
    }
}

/// Index of the quote closing the JSON string whose content starts at `at` (or the text's end).
fn string_end(bytes: &[u8], mut at: usize) -> usize {
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'\\' => at += 2,
            b'"' => return at,
            _ => at += 1,
        }
    }
    bytes.len()
}

fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// The slow path of [`looks_like_template`]: parses the first document and looks at its keys.
fn parses_as_template(text: &str) -> bool {
    let mut found = None;
    yaml::parse_each_json_document(text, &Limits::default(), |document| {
        found.get_or_insert_with(|| is_template(&document));
    });
    found.unwrap_or(false)
}

/// True when a parsed document has the top-level shape of a template.
fn is_template(root: &Node) -> bool {
    if root.get("AWSTemplateFormatVersion").is_some() {
        return true;
    }
    let resources = root.get("Resources").and_then(Node::as_map).unwrap_or(&[]);
    let typed = resources.iter().any(|entry| {
        entry
            .value
            .get("Type")
            .and_then(plain_str)
            .is_some_and(is_resource_type)
    });
    let sam = root.get("Transform").is_some_and(|transform| {
        let is_sam = |node: &Node| plain_str(node).is_some_and(|t| t.starts_with(SAM_TRANSFORM));
        is_sam(transform)
            || transform
                .as_seq()
                .is_some_and(|items| items.iter().any(is_sam))
    });
    typed || sam
}

/// Normalizes one template; `display` names the file in the results.
pub fn normalize(display: &str, text: &str, limits: &Limits) -> Normalized {
    let json = Path::new(display)
        .extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| extension.eq_ignore_ascii_case("json"));
    let mut resources = Vec::new();
    let mut diagnostics = Vec::new();
    let on_document = |document: Node| {
        if document.as_map().is_none() {
            return;
        }
        let mut template = Template::new(display, limits, &document);
        template.resources(&document, &mut resources);
        diagnostics.append(&mut template.diagnostics);
    };
    let error = if json {
        yaml::parse_each_json_document(text, limits, on_document)
    } else {
        yaml::parse_each_document(text, limits, on_document)
    };
    if let Some(error) = error {
        let format = if json { "JSON" } else { "YAML" };
        let message = match error.kind {
            ParseErrorKind::Syntax => format!("invalid {format}: {}", error.message),
            ParseErrorKind::Limit => format!("stopped reading {format}: {}", error.message),
        };
        diagnostics.push(Diagnostic {
            file: display.to_owned(),
            line: Some(error.line),
            message,
        });
    }
    // Only called for texts that look like templates: even an empty or broken one is ours.
    Normalized {
        recognized: true,
        resources,
        diagnostics,
    }
}

/// One template's parameters, mappings and conditions, and the evaluation state over them.
struct Template<'a> {
    display: &'a str,
    limits: &'a Limits,
    /// Parameter name → the value a reference to it has: the default, as declared (a list for
    /// list types). Parameters without a usable default are absent.
    parameters: HashMap<String, Node>,
    mappings: Option<Node>,
    conditions: HashMap<String, ConditionState>,
    /// Conditions being evaluated, outermost first: a reference to one of them is a cycle.
    condition_chain: Vec<String>,
    /// Conditions on a cycle: unknown, whatever their other operands say.
    cyclic: HashSet<String>,
    globals: Option<Node>,
    /// `Globals` sections evaluated so far, by name (`Function`...).
    evaluated_globals: HashMap<String, Option<Node>>,
    /// Nodes and bytes of text evaluation has made beyond the source (substituted defaults,
    /// mapping values, computed strings), bounded like alias expansion.
    expanded_nodes: usize,
    expanded_bytes: usize,
    reported_budget: bool,
    reported_depth: bool,
    diagnostics: Vec<Diagnostic>,
}

enum ConditionState {
    Pending(Node),
    /// Being evaluated; the line of its definition.
    Evaluating(u32),
    Done(Option<bool>),
}

/// A call of an intrinsic function: `{"Fn::Join": [...]}` or `!Join [...]`.
struct Call<'n> {
    /// The long-form name: `Ref`, `Condition` or `Fn::<Name>`.
    name: Cow<'n, str>,
    /// The argument, without the short form's tag.
    arg: Cow<'n, Node>,
    /// Where the name is written: the key of the long form, the tag of the short form.
    name_span: Span,
    /// True for the long form, whose argument is one collection deeper than the call.
    nested: bool,
}

impl<'n> Call<'n> {
    fn arg_depth(&self, depth: usize) -> usize {
        if self.nested { depth + 1 } else { depth }
    }
}

/// The intrinsic function call `node` is, if any.
fn call_of(node: &Node) -> Option<Call<'_>> {
    if let Some(tag) = &node.tag {
        let short = tag
            .strip_prefix('!')
            .filter(|name| is_function_name(name))?;
        let name = match short {
            "Ref" | "Condition" => short.to_owned(),
            _ => format!("Fn::{short}"),
        };
        let mut arg = node.clone();
        arg.tag = None;
        return Some(Call {
            name: Cow::Owned(name),
            arg: Cow::Owned(arg),
            name_span: node.span(),
            nested: false,
        });
    }
    let [entry] = node.as_map()? else {
        return None;
    };
    let key = entry.key.as_str();
    (key == "Ref" || key == "Condition" || key.starts_with("Fn::")).then_some(Call {
        name: Cow::Borrowed(key),
        arg: Cow::Borrowed(&entry.value),
        name_span: entry.key_span,
        nested: true,
    })
}

/// True when `node` is an intrinsic function call, like [`call_of`] without copying anything.
fn is_call(node: &Node) -> bool {
    match (&node.tag, node.as_map()) {
        (Some(tag), _) => tag.strip_prefix('!').is_some_and(is_function_name),
        (None, Some([entry])) => {
            entry.key == "Ref" || entry.key == "Condition" || entry.key.starts_with("Fn::")
        }
        (None, _) => false,
    }
}

/// `Ref`, `GetAtt`, `Foo`: what may follow `!` in a short-form tag.
fn is_function_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
}

impl<'a> Template<'a> {
    fn new(display: &'a str, limits: &'a Limits, root: &Node) -> Self {
        let mut template = Template {
            display,
            limits,
            parameters: HashMap::new(),
            mappings: root.get("Mappings").cloned(),
            conditions: HashMap::new(),
            condition_chain: Vec::new(),
            cyclic: HashSet::new(),
            globals: root.get("Globals").cloned(),
            evaluated_globals: HashMap::new(),
            expanded_nodes: 0,
            expanded_bytes: 0,
            reported_budget: false,
            reported_depth: false,
            diagnostics: Vec::new(),
        };
        for entry in root.get("Parameters").and_then(Node::as_map).unwrap_or(&[]) {
            if let Some(value) = parameter_value(&entry.value) {
                template.parameters.insert(entry.key.clone(), value);
            }
        }
        let conditions = root.get("Conditions").and_then(Node::as_map).unwrap_or(&[]);
        for entry in conditions {
            let pending = ConditionState::Pending(entry.value.clone());
            template.conditions.insert(entry.key.clone(), pending);
        }
        // Evaluate every condition, used or not, so that each cycle is reported.
        for entry in conditions {
            template.condition(&entry.key, CONDITION_DEPTH);
        }
        template
    }

    fn report(&mut self, line: u32, message: String) {
        self.diagnostics.push(Diagnostic {
            file: self.display.to_owned(),
            line: Some(line),
            message,
        });
    }

    /// Reports, once per template, that evaluation went as deep as the limits allow.
    fn too_deep(&mut self, line: u32) {
        if !self.reported_depth {
            self.reported_depth = true;
            let message = format!(
                "intrinsic functions nest deeper than {} levels; the rest is left unevaluated",
                self.limits.max_depth
            );
            self.report(line, message);
        }
    }

    /// Counts what evaluation makes beyond the source; false (reported once) when over budget.
    fn charge(&mut self, node: &Node, line: u32) -> bool {
        let (nodes, bytes) = weigh(node);
        self.expanded_nodes = self.expanded_nodes.saturating_add(nodes);
        self.expanded_bytes = self.expanded_bytes.saturating_add(bytes);
        let byte_budget = usize::try_from(self.limits.max_file_bytes).unwrap_or(usize::MAX);
        if self.expanded_nodes <= self.limits.max_nodes && self.expanded_bytes <= byte_budget {
            return true;
        }
        if !self.reported_budget {
            self.reported_budget = true;
            let message = format!(
                "intrinsic functions expand to more than {} nodes or {byte_budget} bytes; \
                 the rest is left unevaluated",
                self.limits.max_nodes
            );
            self.report(line, message);
        }
        false
    }

    /// Adds a resource for every entry of the template's `Resources`.
    fn resources(&mut self, root: &Node, out: &mut Vec<Resource>) {
        let Some(resources) = root.get("Resources") else {
            return;
        };
        let Some(entries) = resources.as_map() else {
            let message = "`Resources` is not a mapping".to_owned();
            self.report(resources.line, message);
            return;
        };
        for entry in entries {
            // `Fn::ForEach::<Loop>` (the LanguageExtensions transform) makes resources only
            // when deployed; its body is not a resource.
            if entry.key.starts_with("Fn::ForEach::") {
                continue;
            }
            if let Some(resource) = self.resource(entry) {
                out.push(resource);
            }
        }
    }

    fn resource(&mut self, entry: &Entry) -> Option<Resource> {
        let logical_id = entry.key.as_str();
        let root = entry.key_span;
        let node = &entry.value;
        if node.as_map().is_none() {
            let message = format!("resource `{logical_id}` is not a mapping");
            self.report(root.line, message);
            return None;
        }
        let Some(type_entry) = member(node, "Type") else {
            self.report(root.line, format!("resource `{logical_id}` has no Type"));
            return None;
        };
        let Some(resource_type) = plain_str(&type_entry.value).filter(|t| !t.is_empty()) else {
            let message = format!("resource `{logical_id}` has a Type that is not a string");
            self.report(type_entry.key_span.line, message);
            return None;
        };
        let at_root = Node {
            line: root.line,
            column: root.column,
            end_line: root.line,
            tag: None,
            value: Value::Null,
        };

        let mut attributes = Vec::new();
        let mut add = |key: &str, key_span: Span, value: Node| {
            attributes.push(Entry {
                key: key.to_owned(),
                key_span,
                value,
            });
        };
        add(
            "logical_id",
            root,
            with_value(&at_root, Value::String(logical_id.to_owned())),
        );
        add(
            "type",
            type_entry.key_span,
            with_value(&type_entry.value, Value::String(resource_type.to_owned())),
        );

        let (properties_span, mut properties) = match member(node, "Properties") {
            Some(properties) => (
                properties.key_span,
                self.eval(&properties.value, ATTRIBUTE_DEPTH)
                    .unwrap_or_else(|| with_value(&properties.value, empty_map())),
            ),
            None => (root, with_value(&at_root, empty_map())),
        };
        if let Some(section) = resource_type.strip_prefix(SAM_TYPE_PREFIX)
            && let Some(globals) = self.globals_for(section)
        {
            properties = merge_globals(&globals, properties);
        }
        add("properties", properties_span, properties);

        let (condition_span, condition, condition_value) = match member(node, "Condition") {
            Some(condition) => {
                let known = plain_str(&condition.value)
                    .and_then(|name| self.condition(name, ATTRIBUTE_DEPTH));
                let value = self.eval_or_null(&condition.value);
                (condition.key_span, value, known)
            }
            None => (root, with_value(&at_root, Value::Null), Some(true)),
        };
        add("condition", condition_span, condition);
        let condition_value = condition_value.map_or(Value::Null, Value::Bool);
        add(
            "condition_value",
            condition_span,
            with_value(&at_root, condition_value),
        );

        let depends_on = match member(node, "DependsOn") {
            Some(depends_on) => {
                let value = self.eval_or_null(&depends_on.value);
                let value = match value.value {
                    Value::String(_) => {
                        let position = with_value(&value, Value::Null);
                        with_value(&position, Value::Seq(Arc::new(vec![value])))
                    }
                    _ => value,
                };
                (depends_on.key_span, value)
            }
            None => (root, with_value(&at_root, Value::Seq(Arc::new(Vec::new())))),
        };
        add("depends_on", depends_on.0, depends_on.1);

        for (key, attribute) in [
            ("DeletionPolicy", "deletion_policy"),
            ("UpdateReplacePolicy", "update_replace_policy"),
            ("Metadata", "metadata"),
        ] {
            let (span, value) = match member(node, key) {
                Some(member) => (member.key_span, self.eval_or_null(&member.value)),
                None => (root, with_value(&at_root, Value::Null)),
            };
            add(attribute, span, value);
        }

        let attributes = Node {
            line: root.line,
            column: root.column,
            end_line: node.end_line.max(root.line),
            tag: None,
            value: Value::Map(Arc::new(attributes)),
        };
        let mut spans = SpanTable::default();
        attributes.record_spans(&mut String::new(), &mut spans);
        Some(Resource {
            id: format!("{resource_type}/{logical_id}"),
            kind: format!("cloudformation/{resource_type}"),
            file: self.display.to_owned(),
            line: root.line,
            end_line: attributes.end_line,
            attributes: attributes.into_json(),
            spans,
            details: Default::default(),
        })
    }

    /// A resource attribute evaluated; `AWS::NoValue` leaves it null.
    fn eval_or_null(&mut self, node: &Node) -> Node {
        self.eval(node, ATTRIBUTE_DEPTH)
            .unwrap_or_else(|| with_value(node, Value::Null))
    }

    /// The evaluated `Globals` section for SAM resources of one type (`Function`...).
    fn globals_for(&mut self, section: &str) -> Option<Node> {
        if let Some(evaluated) = self.evaluated_globals.get(section) {
            return evaluated.clone();
        }
        let evaluated = self
            .globals
            .as_ref()
            .and_then(|globals| globals.get(section))
            .cloned()
            .and_then(|node| self.eval(&node, CONDITION_DEPTH))
            .filter(|node| node.as_map().is_some() && !is_call(node));
        self.evaluated_globals
            .insert(section.to_owned(), evaluated.clone());
        evaluated
    }

    /// Evaluates `node`, which `depth` collections enclose in the document. `None` stands for
    /// `AWS::NoValue`: the member or element holding it is removed.
    fn eval(&mut self, node: &Node, depth: usize) -> Option<Node> {
        if depth >= self.limits.max_depth {
            self.too_deep(node.line);
            return Some(node.clone());
        }
        if let Some(call) = call_of(node) {
            return self.call(&call, node, depth);
        }
        let value = match &node.value {
            Value::Seq(items) => Value::Seq(Arc::new(
                items
                    .iter()
                    .filter_map(|item| self.eval(item, depth + 1))
                    .collect(),
            )),
            Value::Map(entries) => Value::Map(Arc::new(
                entries
                    .iter()
                    .filter_map(|entry| {
                        Some(Entry {
                            key: entry.key.clone(),
                            key_span: entry.key_span,
                            value: self.eval(&entry.value, depth + 1)?,
                        })
                    })
                    .collect(),
            )),
            scalar => scalar.clone(),
        };
        Some(with_value(node, value))
    }

    /// Evaluates the call `at` is; what stays unknown is the call with evaluated arguments.
    fn call(&mut self, call: &Call<'_>, at: &Node, depth: usize) -> Option<Node> {
        let arg_depth = call.arg_depth(depth);
        match call.name.as_ref() {
            "Ref" => return self.reference(call, at),
            "Fn::If" => return self.branch(call, at, arg_depth),
            _ => {}
        }
        let arg = self
            .eval(&call.arg, arg_depth)
            .unwrap_or_else(|| no_value(&call.arg));
        let computed = match call.name.as_ref() {
            "Fn::Sub" => substitute(&arg, |name| self.variable(name)),
            "Fn::Join" => {
                join(&arg).map(|text| Substituted::Known(with_value(at, Value::String(text))))
            }
            "Fn::Split" => split(&arg, at),
            "Fn::FindInMap" => self.find_in_map(&arg, at),
            "Fn::Select" => {
                return Some(select(&arg).map_or_else(
                    || unresolved(call, arg, at),
                    |selected| with_position(selected, at),
                ));
            }
            "Fn::Length" => {
                let length = arg.as_seq().map(|items| items.len());
                let length = length.and_then(|length| i64::try_from(length).ok());
                length.map(|length| Substituted::Known(with_value(at, Value::Int(length))))
            }
            "Fn::GetAtt" => return Some(unresolved(call, split_attribute(arg), at)),
            _ => None,
        };
        let node = match computed {
            Some(Substituted::Known(node)) => with_position(node, at),
            Some(Substituted::Partial(partial)) => unresolved(call, partial, at),
            None => return Some(unresolved(call, arg, at)),
        };
        if self.charge(&node, at.line) {
            Some(node)
        } else {
            Some(unresolved(call, arg, at))
        }
    }

    /// `Ref`: a parameter's default, `AWS::NoValue`, or (pseudo parameters, resources) itself.
    fn reference(&mut self, call: &Call<'_>, at: &Node) -> Option<Node> {
        if let Some(target) = plain_str(&call.arg) {
            if target == NO_VALUE {
                return None;
            }
            if let Some(default) = self.parameters.get(target) {
                let value = relocated(default, at);
                if self.charge(&value, at.line) {
                    return Some(value);
                }
            }
        }
        Some(unresolved(call, call.arg.as_ref().clone(), at))
    }

    /// `Fn::If`: the chosen branch when the condition is known, else the call with both
    /// branches evaluated.
    fn branch(&mut self, call: &Call<'_>, at: &Node, depth: usize) -> Option<Node> {
        if let Some([condition, then, otherwise]) = call.arg.as_seq() {
            let known = plain_str(condition).and_then(|name| self.condition(name, depth + 1));
            if let Some(known) = known {
                let chosen = if known { then } else { otherwise };
                return self
                    .eval(chosen, depth + 1)
                    .map(|node| with_position(node, at));
            }
        }
        let arg = match call.arg.as_seq() {
            Some(items) => {
                let items = items
                    .iter()
                    .map(|item| self.eval(item, depth + 1).unwrap_or_else(|| no_value(item)))
                    .collect();
                with_value(&call.arg, Value::Seq(Arc::new(items)))
            }
            None => self
                .eval(&call.arg, depth)
                .unwrap_or_else(|| no_value(&call.arg)),
        };
        Some(unresolved(call, arg, at))
    }

    /// The text `${name}` in `Fn::Sub` stands for, when the template alone decides it.
    fn variable(&self, name: &str) -> Option<String> {
        self.parameters.get(name).and_then(scalar_text)
    }

    /// `Fn::FindInMap` over literal keys: the mapping's value, else the `DefaultValue` given.
    fn find_in_map(&mut self, arg: &Node, at: &Node) -> Option<Substituted> {
        let (keys, options) = match arg.as_seq()? {
            [map, top, second] => ([map, top, second], None),
            [map, top, second, options] => ([map, top, second], Some(options)),
            _ => return None,
        };
        let [map, top, second] = keys.map(scalar_text);
        let found = self
            .mappings
            .as_ref()
            .and_then(|mappings| mappings.get(&map?))
            .and_then(|map| map.get(&top?))
            .and_then(|top| top.get(&second?));
        let value = match found {
            Some(found) => relocated(found, at),
            None => {
                // Without the keys, the mapping may still hold the value: no default then.
                let [map, top, second] = keys.map(scalar_text);
                map.and(top).and(second)?;
                with_position(options?.get("DefaultValue")?.clone(), at)
            }
        };
        Some(Substituted::Known(value))
    }

    /// The value of a named condition, evaluated once; `None` when it is unknown, undefined or
    /// part of a cycle.
    fn condition(&mut self, name: &str, depth: usize) -> Option<bool> {
        let state = self.conditions.get_mut(name)?;
        let definition = match state {
            ConditionState::Done(value) => return *value,
            ConditionState::Evaluating(line) => {
                let line = *line;
                self.report_cycle(name, line);
                return None;
            }
            ConditionState::Pending(definition) => {
                let line = definition.line;
                let definition = definition.clone();
                *state = ConditionState::Evaluating(line);
                definition
            }
        };
        self.condition_chain.push(name.to_owned());
        let value = self.condition_expr(&definition, depth);
        self.condition_chain.pop();
        let value = value.filter(|_| !self.cyclic.contains(name));
        self.conditions
            .insert(name.to_owned(), ConditionState::Done(value));
        value
    }

    fn report_cycle(&mut self, name: &str, line: u32) {
        let start = self
            .condition_chain
            .iter()
            .position(|open| open == name)
            .unwrap_or(0);
        let mut chain: Vec<&str> = self.condition_chain[start..]
            .iter()
            .map(String::as_str)
            .collect();
        chain.push(name);
        self.cyclic
            .extend(chain.iter().map(|name| (*name).to_owned()));
        let message = format!("conditions refer to each other: {}", chain.join(" → "));
        self.report(line, message);
    }

    /// A condition expression (`Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not`, `Condition`)
    /// evaluated with three values: true, false, unknown (`None`).
    fn condition_expr(&mut self, node: &Node, depth: usize) -> Option<bool> {
        if depth >= self.limits.max_depth {
            let name = self.condition_chain.first().cloned().unwrap_or_default();
            // Reported at the definition of the condition the chain starts from.
            let line = match self.conditions.get(&name) {
                Some(ConditionState::Evaluating(line)) => *line,
                _ => node.line,
            };
            if !self.reported_depth {
                self.reported_depth = true;
                let message = format!(
                    "condition `{name}` nests deeper than {} levels",
                    self.limits.max_depth
                );
                self.report(line, message);
            }
            return None;
        }
        if let (None, Value::Bool(value)) = (&node.tag, &node.value) {
            return Some(*value);
        }
        let call = call_of(node)?;
        let depth = call.arg_depth(depth);
        match call.name.as_ref() {
            "Condition" => {
                let name = plain_str(&call.arg)?;
                self.condition(name, depth + 1)
            }
            "Fn::Equals" => {
                let [left, right] = call.arg.as_seq()? else {
                    return None;
                };
                let left = self.eval(left, depth + 1)?;
                let right = self.eval(right, depth + 1)?;
                equal(&left, &right)
            }
            "Fn::Not" => {
                let [operand] = call.arg.as_seq()? else {
                    return None;
                };
                self.condition_expr(operand, depth + 1).map(|value| !value)
            }
            name @ ("Fn::And" | "Fn::Or") => {
                let deciding = name == "Fn::Or";
                // Every operand is evaluated, so a cycle behind a deciding one is still found.
                let values: Vec<Option<bool>> = call
                    .arg
                    .as_seq()?
                    .iter()
                    .map(|operand| self.condition_expr(operand, depth + 1))
                    .collect();
                if values.contains(&Some(deciding)) {
                    Some(deciding)
                } else if values.iter().all(Option::is_some) {
                    Some(!deciding)
                } else {
                    None
                }
            }
            _ => None,
        }
    }
}

/// The value a reference to a parameter has, when its default decides it.
fn parameter_value(parameter: &Node) -> Option<Node> {
    let declared = parameter
        .get("Type")
        .and_then(plain_str)
        .unwrap_or("String");
    // The default of an SSM parameter type names the SSM parameter; its value is not here.
    if declared.starts_with("AWS::SSM::Parameter::Value") {
        return None;
    }
    let default = parameter.get("Default")?;
    if default.tag.is_some() || matches!(default.value, Value::Null) {
        return None;
    }
    let is_list = declared == "CommaDelimitedList" || declared.starts_with("List<");
    if is_list && default.as_seq().is_none() {
        let text = scalar_text(default)?;
        let items = text
            .split(',')
            .map(|item| with_value(default, Value::String(item.trim().to_owned())))
            .collect();
        return Some(with_value(default, Value::Seq(Arc::new(items))));
    }
    Some(default.clone())
}

/// The member `key` of a mapping node, with its key's position.
fn member<'n>(node: &'n Node, key: &str) -> Option<&'n Entry> {
    node.as_map()?.iter().find(|entry| entry.key == key)
}

/// The text of an untagged string node (`!Ref X` is a call, not the string "X").
fn plain_str(node: &Node) -> Option<&str> {
    node.tag.is_none().then(|| node.as_str()).flatten()
}

/// An untagged scalar as CloudFormation reads it in a string context.
fn scalar_text(node: &Node) -> Option<String> {
    if node.tag.is_some() {
        return None;
    }
    match &node.value {
        Value::String(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) => Some(node.to_text()),
        Value::Null | Value::Seq(_) | Value::Map(_) => None,
    }
}

/// True when a value holds no intrinsic call: the template alone decides it.
fn is_literal(node: &Node) -> bool {
    if node.tag.is_some() || is_call(node) {
        return false;
    }
    match &node.value {
        Value::Seq(items) => items.iter().all(is_literal),
        Value::Map(entries) => entries.iter().all(|entry| is_literal(&entry.value)),
        _ => true,
    }
}

/// `Fn::Equals` over two evaluated values: scalars compare as text (parameters are strings to
/// CloudFormation), collections structurally.
fn equal(left: &Node, right: &Node) -> Option<bool> {
    if !is_literal(left) || !is_literal(right) {
        return None;
    }
    let text = |node: &Node| match node.value {
        Value::Null => Some(String::new()),
        _ => scalar_text(node),
    };
    Some(match (text(left), text(right)) {
        (Some(left), Some(right)) => left == right,
        _ => left.to_json() == right.to_json(),
    })
}

/// The result of an evaluation that may go part of the way.
enum Substituted {
    /// The value, decided.
    Known(Node),
    /// The call's argument with what is known put in; the call stays.
    Partial(Node),
}

/// A piece of an `Fn::Sub` string.
enum Piece<'t> {
    Text(&'t str),
    /// `${!Name}`: the literal `${Name}`.
    Escaped(&'t str),
    /// `${Name}`, `${Resource.Attribute}`, `${AWS::Region}`.
    Variable(&'t str),
}

fn sub_pieces(template: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            break;
        };
        pieces.push(Piece::Text(&rest[..start]));
        let inner = &after[..end];
        pieces.push(match inner.strip_prefix('!') {
            Some(literal) => Piece::Escaped(literal),
            None => Piece::Variable(inner),
        });
        rest = &after[end + 1..];
    }
    pieces.push(Piece::Text(rest));
    pieces
}

/// `Fn::Sub` over its evaluated argument (`"text"` or `["text", {variables}]`): the string when
/// every variable is known, else the argument with the known ones put in.
fn substitute(arg: &Node, parameter: impl Fn(&str) -> Option<String>) -> Option<Substituted> {
    let (template, variables) = match &arg.value {
        Value::String(template) => (template.as_str(), None),
        Value::Seq(items) => match items.as_slice() {
            [template, variables] => (template.as_str()?, Some(variables)),
            [template] => (template.as_str()?, None),
            _ => return None,
        },
        _ => return None,
    };
    let pieces = sub_pieces(template);
    let values: Vec<Option<String>> = pieces
        .iter()
        .map(|piece| match piece {
            Piece::Variable(name) => match variables.and_then(|variables| variables.get(name)) {
                // Variables given to the call hide parameters of the same name.
                Some(value) => scalar_text(value),
                None if name.contains('.') => None,
                None => parameter(name),
            },
            Piece::Text(_) | Piece::Escaped(_) => None,
        })
        .collect();
    let known = pieces
        .iter()
        .zip(&values)
        .all(|(piece, value)| !matches!(piece, Piece::Variable(_)) || value.is_some());
    let mut text = String::with_capacity(template.len());
    for (piece, value) in pieces.iter().zip(&values) {
        match (piece, value) {
            (Piece::Text(literal), _) => text.push_str(literal),
            (Piece::Escaped(literal), _) if known => {
                text.push_str("${");
                text.push_str(literal);
                text.push('}');
            }
            (Piece::Escaped(literal), _) => {
                text.push_str("${!");
                text.push_str(literal);
                text.push('}');
            }
            (Piece::Variable(_), Some(value)) if known => text.push_str(value),
            // Still a template: a `${` in a value put in must stay literal.
            (Piece::Variable(_), Some(value)) => text.push_str(&value.replace("${", "${!")),
            (Piece::Variable(name), None) => {
                text.push_str("${");
                text.push_str(name);
                text.push('}');
            }
        }
    }
    let text_node = match &arg.value {
        Value::Seq(items) => with_value(&items[0], Value::String(text)),
        _ => with_value(arg, Value::String(text)),
    };
    if known {
        return Some(Substituted::Known(text_node));
    }
    Some(Substituted::Partial(match variables {
        Some(variables) => with_value(
            arg,
            Value::Seq(Arc::new(vec![text_node, variables.clone()])),
        ),
        None => text_node,
    }))
}

/// `Fn::Join` over a delimiter and a list of known scalars.
fn join(arg: &Node) -> Option<String> {
    let [delimiter, list] = arg.as_seq()? else {
        return None;
    };
    let delimiter = scalar_text(delimiter)?;
    let items = list
        .as_seq()?
        .iter()
        .map(scalar_text)
        .collect::<Option<Vec<_>>>()?;
    Some(items.join(&delimiter))
}

/// `Fn::Select` over a known index into a list written out.
fn select(arg: &Node) -> Option<Node> {
    let [index, list] = arg.as_seq()? else {
        return None;
    };
    let index: usize = match &index.value {
        Value::Int(index) => usize::try_from(*index).ok()?,
        Value::String(index) => index.trim().parse().ok()?,
        _ => return None,
    };
    if is_call(list) {
        return None;
    }
    list.as_seq()?.get(index).cloned()
}

/// `Fn::Split` of a known string at a known, non-empty delimiter.
fn split(arg: &Node, at: &Node) -> Option<Substituted> {
    let [delimiter, source] = arg.as_seq()? else {
        return None;
    };
    let delimiter = scalar_text(delimiter).filter(|d| !d.is_empty())?;
    let source = scalar_text(source)?;
    let items = source
        .split(delimiter.as_str())
        .map(|item| with_value(at, Value::String(item.to_owned())))
        .collect();
    Some(Substituted::Known(with_value(
        at,
        Value::Seq(Arc::new(items)),
    )))
}

/// `Fn::GetAtt`'s argument in list form: `A.B.C` → `["A", "B.C"]`.
fn split_attribute(arg: Node) -> Node {
    let Value::String(text) = &arg.value else {
        return arg;
    };
    let Some((resource, attribute)) = text.split_once('.') else {
        return arg;
    };
    let items = vec![
        with_value(&arg, Value::String(resource.to_owned())),
        with_value(&arg, Value::String(attribute.to_owned())),
    ];
    with_value(&arg, Value::Seq(Arc::new(items)))
}

/// The call in long form, `{"<name>": arg}`, where `at` is written.
fn unresolved(call: &Call<'_>, arg: Node, at: &Node) -> Node {
    let entry = Entry {
        key: call.name.clone().into_owned(),
        key_span: call.name_span,
        value: arg,
    };
    with_value(at, Value::Map(Arc::new(vec![entry])))
}

/// `{"Ref": "AWS::NoValue"}` where `at` is written: a removed value kept inside a call whose
/// outcome is unknown.
fn no_value(at: &Node) -> Node {
    let entry = Entry {
        key: "Ref".to_owned(),
        key_span: at.span(),
        value: with_value(at, Value::String(NO_VALUE.to_owned())),
    };
    with_value(at, Value::Map(Arc::new(vec![entry])))
}

fn empty_map() -> Value {
    Value::Map(Arc::new(Vec::new()))
}

/// A node with `value`, untagged, where `at` is written.
fn with_value(at: &Node, value: Value) -> Node {
    Node {
        line: at.line,
        column: at.column,
        end_line: at.end_line,
        tag: None,
        value,
    }
}

/// `node` moved to where `at` is written; its contents keep their own positions.
fn with_position(node: Node, at: &Node) -> Node {
    with_value(at, node.value)
}

/// A copy of `node` (a default, a mapping value: written elsewhere) entirely placed where `at`
/// is written, and untagged.
fn relocated(node: &Node, at: &Node) -> Node {
    let value = match &node.value {
        Value::Seq(items) => Value::Seq(Arc::new(
            items.iter().map(|item| relocated(item, at)).collect(),
        )),
        Value::Map(entries) => Value::Map(Arc::new(
            entries
                .iter()
                .map(|entry| Entry {
                    key: entry.key.clone(),
                    key_span: at.span(),
                    value: relocated(&entry.value, at),
                })
                .collect(),
        )),
        scalar => scalar.clone(),
    };
    with_value(at, value)
}

/// Nodes and bytes of text in a tree.
fn weigh(node: &Node) -> (usize, usize) {
    match &node.value {
        Value::String(text) => (1, text.len()),
        Value::Seq(items) => items.iter().map(weigh).fold((1, 0), add_weights),
        Value::Map(entries) => entries
            .iter()
            .map(|entry| {
                let (nodes, bytes) = weigh(&entry.value);
                (nodes, bytes + entry.key.len())
            })
            .fold((1, 0), add_weights),
        _ => (1, 0),
    }
}

fn add_weights(total: (usize, usize), part: (usize, usize)) -> (usize, usize) {
    (
        total.0.saturating_add(part.0),
        total.1.saturating_add(part.1),
    )
}

/// A SAM resource's properties with its type's `Globals` merged in, as SAM merges them:
/// mappings member by member, lists appended to the global ones, scalars the resource's own.
fn merge_globals(globals: &Node, local: Node) -> Node {
    if is_call(&local) || is_call(globals) {
        return local;
    }
    let position = with_value(&local, Value::Null);
    let value = match (&globals.value, local.value) {
        (Value::Map(global_entries), Value::Map(local_entries)) => {
            let mut entries = Arc::unwrap_or_clone(local_entries);
            for global in global_entries.iter() {
                match entries.iter_mut().find(|entry| entry.key == global.key) {
                    Some(entry) => {
                        let value = std::mem::replace(&mut entry.value, position.clone());
                        entry.value = merge_globals(&global.value, value);
                    }
                    None => entries.push(global.clone()),
                }
            }
            Value::Map(Arc::new(entries))
        }
        (Value::Seq(global_items), Value::Seq(local_items)) => Value::Seq(Arc::new(
            global_items
                .iter()
                .cloned()
                .chain(Arc::unwrap_or_clone(local_items))
                .collect(),
        )),
        (_, value) => value,
    };
    with_value(&position, value)
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use serde_json::json;

    use super::*;

    fn run(display: &str, text: &str) -> Normalized {
        normalize(display, text, &Limits::default())
    }

    /// Normalizes a template that must give no diagnostics.
    fn clean(display: &str, text: &str) -> Normalized {
        let normalized = run(display, text);
        assert!(normalized.recognized);
        assert_eq!(normalized.diagnostics, [], "{text}");
        normalized
    }

    fn resource<'n>(normalized: &'n Normalized, id: &str) -> &'n Resource {
        normalized
            .resources
            .iter()
            .find(|resource| resource.id == id)
            .unwrap_or_else(|| panic!("no resource {id}; have {:?}", ids(normalized)))
    }

    fn ids(normalized: &Normalized) -> Vec<&str> {
        normalized.resources.iter().map(|r| r.id.as_str()).collect()
    }

    fn line_of(resource: &Resource, pointer: &str) -> Option<u32> {
        resource.spans.get(pointer).map(|span| span.line)
    }

    fn messages(normalized: &Normalized) -> Vec<(Option<u32>, &str)> {
        normalized
            .diagnostics
            .iter()
            .map(|d| (d.line, d.message.as_str()))
            .collect()
    }

    #[test]
    fn templates_are_detected() {
        let templates = [
            "AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n",
            "# a stack\nDescription: x\nResources:\n  Logs:\n    Type: AWS::S3::Bucket\n",
            "Resources:\n  Skill:\n    Type: 'Alexa::ASK::Skill'\n",
            "Resources:\n  Seed:\n    \"Type\": \"Custom::Seeder\"\n",
            "\"Resources\":\n  Q: {Type: AWS::SQS::Queue}\n",
            "Resources: {Q: {Type: AWS::SQS::Queue}}\n",
            "Transform: AWS::Serverless-2016-10-31\nResources: {}\n",
            "Transform:\n  - AWS::LanguageExtensions\n  - AWS::Serverless-2016-10-31\n",
            "\u{feff}---\r\nAWSTemplateFormatVersion: 2010-09-09\r\n",
            "  Resources:\n    Q:\n      Type: AWS::SQS::Queue\n",
            "{\n  \"AWSTemplateFormatVersion\": \"2010-09-09\",\n  \"Resources\": {}\n}\n",
            r#"{"Resources":{"Q":{"Properties":{"A":"}"},"Type":"AWS::SQS::Queue"}}}"#,
            r#"{"Transform": ["AWS::Serverless-2016-10-31"], "Resources": {}}"#,
            "{AWSTemplateFormatVersion: 2010-09-09, Resources: {}}\n",
        ];
        for text in templates {
            assert!(looks_like_template(text), "{text:?}");
        }
    }

    #[test]
    fn other_yaml_and_json_files_are_not_templates() {
        let others = [
            // Kubernetes, even with a template inside.
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
            "apiVersion: v1\nkind: ConfigMap\ndata:\n  stack.yaml: |\n    \
             AWSTemplateFormatVersion: '2010-09-09'\n    Resources:\n      B:\n        \
             Type: AWS::S3::Bucket\n",
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "data": {"t": "AWSTemplateFormatVersion: x"}}"#,
            // A GitHub workflow that deploys one.
            "on: push\njobs:\n  deploy:\n    steps:\n      - run: |\n          \
             aws cloudformation deploy # creates AWS::S3::Bucket\n          \
             echo 'Resources:'\n",
            "services:\n  web:\n    image: nginx\n    environment:\n      TYPE: AWS::S3\n",
            "openapi: 3.0.1\npaths:\n  /:\n    get:\n      x-amazon-apigateway-integration:\n        \
             uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda\n        type: aws_proxy\n",
            r#"{"name": "infra", "description": "makes AWS::S3::Bucket", "scripts": {}}"#,
            // The Serverless Framework nests a template fragment under `resources`.
            "service: api\nresources:\n  Resources:\n    Q:\n      Type: AWS::SQS::Queue\n",
            r#"{"config": {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}}"#,
            "Resources:\n  Q:\n    Type: Queue\n",
            "Transform: AWS::Include\nResources: {}\n",
            "[\"AWS::S3::Bucket\"]\n",
            "",
        ];
        for text in others {
            assert!(!looks_like_template(text), "{text:?}");
        }
    }

    #[test]
    fn detection_is_a_scan_not_a_parse() {
        // A large file with markers but no template shape is decided by the line scan alone.
        let mut text = String::from("kind: Inventory\nitems:\n");
        for i in 0..50_000 {
            writeln!(text, "  - {{name: b{i}, type: AWS::S3::Bucket}}").expect("write to String");
        }
        let started = std::time::Instant::now();
        assert!(!looks_like_template(&text));
        assert!(
            started.elapsed() < std::time::Duration::from_millis(500),
            "took {:?}",
            started.elapsed()
        );
    }

    const SHORT_FORMS: &str = "\
AWSTemplateFormatVersion: '2010-09-09'
Mappings:
  M:
    us-east-1: {Ami: ami-1}
Conditions:
  Unknown: !Equals [!Ref AWS::Region, us-east-1]
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Ref: !Ref Other
      GetAtt: !GetAtt Role.Arn
      GetAttNested: !GetAtt Stack.Outputs.Url
      GetAttList: !GetAtt [Role, Arn]
      Sub: !Sub '${AWS::Region}-x'
      SubList: !Sub ['${A}-${AWS::Region}', {A: !GetAtt Role.Arn}]
      Join: !Join [',', [a, !Ref AWS::Region]]
      Select: !Select [0, !GetAZs '']
      Split: !Split [',', !ImportValue Shared]
      If: !If [Unknown, a, b]
      Base64: !Base64 text
      Cidr: !Cidr [10.0.0.0/16, 4, 8]
      GetAZs: !GetAZs
      ImportValue: !ImportValue Shared
      FindInMap: !FindInMap [M, !Ref AWS::Region, Ami]
      Transform: !Transform {Name: AWS::Include, Parameters: {Location: s3://b/k}}
      Custom: !Frobnicate [1, 2]
      Binary: !!binary aGVsbG8=
      Condition: !Condition Unknown
      Equals: !Equals [!Ref AWS::Region, x]
      Logic: !And [!Or [!Condition Unknown], !Not [!Condition Unknown]]
";

    #[test]
    fn short_form_tags_become_the_long_form() {
        let normalized = clean("t.yaml", SHORT_FORMS);
        let function = resource(&normalized, "AWS::Lambda::Function/Fn");
        let region = json!({"Ref": "AWS::Region"});
        assert_eq!(
            function.attributes["properties"],
            json!({
                "Ref": {"Ref": "Other"},
                "GetAtt": {"Fn::GetAtt": ["Role", "Arn"]},
                "GetAttNested": {"Fn::GetAtt": ["Stack", "Outputs.Url"]},
                "GetAttList": {"Fn::GetAtt": ["Role", "Arn"]},
                "Sub": {"Fn::Sub": "${AWS::Region}-x"},
                "SubList": {"Fn::Sub": ["${A}-${AWS::Region}", {"A": {"Fn::GetAtt": ["Role", "Arn"]}}]},
                "Join": {"Fn::Join": [",", ["a", region]]},
                "Select": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
                "Split": {"Fn::Split": [",", {"Fn::ImportValue": "Shared"}]},
                "If": {"Fn::If": ["Unknown", "a", "b"]},
                "Base64": {"Fn::Base64": "text"},
                "Cidr": {"Fn::Cidr": ["10.0.0.0/16", 4, 8]},
                "GetAZs": {"Fn::GetAZs": ""},
                "ImportValue": {"Fn::ImportValue": "Shared"},
                "FindInMap": {"Fn::FindInMap": ["M", region, "Ami"]},
                "Transform": {"Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "s3://b/k"}}},
                "Custom": {"Fn::Frobnicate": [1, 2]},
                "Binary": "aGVsbG8=",
                "Condition": {"Condition": "Unknown"},
                "Equals": {"Fn::Equals": [region, "x"]},
                "Logic": {"Fn::And": [
                    {"Fn::Or": [{"Condition": "Unknown"}]},
                    {"Fn::Not": [{"Condition": "Unknown"}]}
                ]},
            })
        );
        // The long form's key points at the tag.
        assert_eq!(line_of(function, "/properties/GetAtt/Fn::GetAtt"), Some(12));
        assert_eq!(
            line_of(function, "/properties/GetAtt/Fn::GetAtt/1"),
            Some(12)
        );
    }

    const PARAMETERS: &str = "\
Parameters:
  Env: {Type: String, Default: prod, AllowedValues: [prod, dev]}
  Count: {Type: Number, Default: 3}
  Quoted: {Type: Number, Default: '3'}
  Subnets: {Type: CommaDelimitedList, Default: 'subnet-a, subnet-b,subnet-c'}
  Ids: {Type: 'List<AWS::EC2::SecurityGroup::Id>', Default: sg-1}
  NoDefault: {Type: String}
  NullDefault: {Type: String, Default: }
  Ami:
    Type: AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>
    Default: /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64
Mappings:
  Regions:
    us-east-1: {Ami: ami-1}
  Sizes:
    prod: {Instance: m5.large, Disks: [a, b]}
Resources:
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      Env: !Ref Env
      Count: !Ref Count
      Quoted: !Ref Quoted
      Subnets: !Ref Subnets
      Ids: !Ref Ids
      NoDefault: !Ref NoDefault
      NullDefault: !Ref NullDefault
      Ami: !Ref Ami
      Region: !Ref AWS::Region
      Resource: !Ref Other
      LongForm: {Ref: Env}
      Joined: !Join ['-', !Ref Subnets]
      JoinedNumbers: !Join [':', [a, 1, true]]
      JoinedUnknown: !Join [':', [a, !Ref AWS::AccountId]]
      Second: !Select [1, !Ref Subnets]
      SecondQuoted: !Select ['1', [x, y]]
      OutOfRange: !Select [5, [x, y]]
      Split: !Split [',', 'a,b']
      SelectSplit: !Select [2, !Split ['/', a/b/c]]
      Mapped: !FindInMap [Regions, us-east-1, Ami]
      MappedByParam: !FindInMap [Sizes, !Ref Env, Instance]
      MappedList: !FindInMap [Sizes, prod, Disks]
      MappedDefault: !FindInMap [Sizes, test, Instance, {DefaultValue: t3.micro}]
      MappedMissing: !FindInMap [Sizes, test, Instance]
      MappedUnknown: !FindInMap [Regions, !Ref AWS::Region, Ami]
      Length: {'Fn::Length': [a, b, c]}
      Other:
";

    #[test]
    fn references_to_parameters_with_defaults_are_evaluated() {
        let normalized = clean("p.yaml", PARAMETERS);
        let sg = resource(&normalized, "AWS::EC2::SecurityGroup/Sg");
        assert_eq!(
            sg.attributes["properties"],
            json!({
                "Env": "prod",
                "Count": 3,
                "Quoted": "3",
                "Subnets": ["subnet-a", "subnet-b", "subnet-c"],
                "Ids": ["sg-1"],
                "NoDefault": {"Ref": "NoDefault"},
                "NullDefault": {"Ref": "NullDefault"},
                "Ami": {"Ref": "Ami"},
                "Region": {"Ref": "AWS::Region"},
                "Resource": {"Ref": "Other"},
                "LongForm": "prod",
                "Joined": "subnet-a-subnet-b-subnet-c",
                "JoinedNumbers": "a:1:true",
                "JoinedUnknown": {"Fn::Join": [":", ["a", {"Ref": "AWS::AccountId"}]]},
                "Second": "subnet-b",
                "SecondQuoted": "y",
                "OutOfRange": {"Fn::Select": [5, ["x", "y"]]},
                "Split": ["a", "b"],
                "SelectSplit": "c",
                "Mapped": "ami-1",
                "MappedByParam": "m5.large",
                "MappedList": ["a", "b"],
                "MappedDefault": "t3.micro",
                "MappedMissing": {"Fn::FindInMap": ["Sizes", "test", "Instance"]},
                "MappedUnknown": {"Fn::FindInMap": ["Regions", {"Ref": "AWS::Region"}, "Ami"]},
                "Length": 3,
                "Other": null,
            })
        );
    }

    const CONDITIONS: &str = "\
Parameters:
  Env: {Type: String, Default: prod}
  Count: {Type: Number, Default: 3}
  Open: {Type: String}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  ProdOrDev: !Or [!Condition IsProd, !Condition IsDev]
  ProdAndOpen: !And [!Condition IsProd, !Equals [!Ref Open, x]]
  DevAndOpen: !And [!Condition IsDev, !Equals [!Ref Open, x]]
  ProdOrOpen: {'Fn::Or': [{Condition: IsProd}, {'Fn::Equals': [{Ref: Open}, x]}]}
  CountIsThree: !Equals [!Ref Count, '3']
  LongForm: {'Fn::Equals': [{Ref: Env}, dev]}
  Lists: !Equals [[a, b], !Split [',', 'a,b']]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Condition: IsProd
    Properties:
      BucketName: !If [IsProd, prod-logs, dev-logs]
      Tags:
        - !If [IsDev, {Key: a, Value: b}, !Ref AWS::NoValue]
        - Key: env
          Value: !Ref Env
      VersioningConfiguration: !If [IsDev, {Status: Enabled}, !Ref AWS::NoValue]
      Open: !If [ProdAndOpen, a, !Ref AWS::NoValue]
      Removed: !Ref AWS::NoValue
      Checks: [!If [ProdOrDev, 1, 0], !If [DevAndOpen, 1, 0], !If [ProdOrOpen, 1, 0],
               !If [CountIsThree, 1, 0], !If [LongForm, 1, 0], !If [Lists, 1, 0],
               !If [Undefined, 1, 0]]
  DevOnly:
    Type: AWS::SNS::Topic
    Condition: IsDev
  Maybe:
    Type: AWS::SNS::Topic
    Condition: ProdAndOpen
  Always:
    Type: AWS::SNS::Topic
";

    #[test]
    fn conditions_choose_branches_when_known() {
        let normalized = clean("c.yaml", CONDITIONS);
        let bucket = resource(&normalized, "AWS::S3::Bucket/Bucket");
        assert_eq!(
            bucket.attributes["properties"],
            json!({
                "BucketName": "prod-logs",
                "Tags": [{"Key": "env", "Value": "prod"}],
                "Open": {"Fn::If": ["ProdAndOpen", "a", {"Ref": "AWS::NoValue"}]},
                "Checks": [1, 0, 1, 1, 0, 1, {"Fn::If": ["Undefined", 1, 0]}],
            })
        );
        assert_eq!(bucket.attributes["condition"], json!("IsProd"));
        assert_eq!(bucket.attributes["condition_value"], json!(true));
        // A resource whose condition is false is still there, marked.
        let dev_only = resource(&normalized, "AWS::SNS::Topic/DevOnly");
        assert_eq!(dev_only.attributes["condition_value"], json!(false));
        let maybe = resource(&normalized, "AWS::SNS::Topic/Maybe");
        assert_eq!(maybe.attributes["condition_value"], json!(null));
        let always = resource(&normalized, "AWS::SNS::Topic/Always");
        assert_eq!(always.attributes["condition"], json!(null));
        assert_eq!(always.attributes["condition_value"], json!(true));
    }

    #[test]
    fn sub_is_evaluated_when_every_variable_is_known() {
        let text = "\
Parameters:
  Env: {Type: String, Default: prod}
  Count: {Type: Number, Default: 3}
  Subnets: {Type: CommaDelimitedList, Default: 'a,b'}
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      Plain: !Sub 'logs-${Env}-${Count}'
      NoVariables: !Sub plain
      Listed: !Sub ['${Name}-${Env}', {Name: !Join ['', [a, b]]}]
      Escaped: !Sub '${!Literal}-${Env}'
      Partial: !Sub 'arn:${AWS::Partition}:s3:::${Env}-${!Keep}'
      Injected: !Sub ['${AWS::Region}/${V}', {V: '${x}'}]
      Attribute: !Sub '${Bucket.Arn}/*'
      Shadowed: !Sub ['${Env}', {Env: !Ref AWS::Region}]
      List: !Sub '${Subnets}'
      LongForm: {'Fn::Sub': 'x-${Env}'}
      Unterminated: !Sub 'a-${Env'
";
        let normalized = clean("s.yaml", text);
        let topic = resource(&normalized, "AWS::SNS::Topic/Topic");
        assert_eq!(
            topic.attributes["properties"],
            json!({
                "Plain": "logs-prod-3",
                "NoVariables": "plain",
                "Listed": "ab-prod",
                "Escaped": "${Literal}-prod",
                "Partial": {"Fn::Sub": "arn:${AWS::Partition}:s3:::prod-${!Keep}"},
                "Injected": {"Fn::Sub": ["${AWS::Region}/${!x}", {"V": "${x}"}]},
                "Attribute": {"Fn::Sub": "${Bucket.Arn}/*"},
                "Shadowed": {"Fn::Sub": ["${Env}", {"Env": {"Ref": "AWS::Region"}}]},
                "List": {"Fn::Sub": "${Subnets}"},
                "LongForm": "x-prod",
                "Unterminated": "a-${Env",
            })
        );
    }

    const SPANS: &str = "\
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Name:
    Type: String
    Default: logs
  Subnets:
    Type: CommaDelimitedList
    Default: a,b
Resources:
  LogsBucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    Properties:
      BucketName: !Ref Name
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault:
              SSEAlgorithm: AES256
      VersioningConfiguration:
        Status: Enabled
      Subnets:
        !Ref Subnets
      Tags:
        - !If
          - Always
          - Key: a
            Value: b
          - !Ref AWS::NoValue
  Other:
    Type: AWS::SNS::Topic
    DependsOn: LogsBucket
Conditions:
  Always: !Equals [a, a]
";

    #[test]
    fn spans_point_at_the_lines_values_are_written_on() {
        let normalized = clean("stack/template.yaml", SPANS);
        assert_eq!(
            ids(&normalized),
            ["AWS::S3::Bucket/LogsBucket", "AWS::SNS::Topic/Other"]
        );
        let bucket = &normalized.resources[0];
        assert_eq!(bucket.kind, "cloudformation/AWS::S3::Bucket");
        assert_eq!(bucket.file, "stack/template.yaml");
        assert_eq!((bucket.line, bucket.end_line), (10, 28));
        assert_eq!(
            bucket.attributes,
            json!({
                "logical_id": "LogsBucket",
                "type": "AWS::S3::Bucket",
                "properties": {
                    "BucketName": "logs",
                    "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]},
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "Subnets": ["a", "b"],
                    "Tags": [{"Key": "a", "Value": "b"}],
                },
                "condition": null,
                "condition_value": true,
                "depends_on": [],
                "deletion_policy": "Retain",
                "update_replace_policy": null,
                "metadata": null,
            })
        );
        for (pointer, line) in [
            ("", 10),
            ("/logical_id", 10),
            ("/type", 11),
            ("/deletion_policy", 12),
            ("/properties", 13),
            ("/properties/BucketName", 14),
            (
                "/properties/BucketEncryption/ServerSideEncryptionConfiguration/0/ServerSideEncryptionByDefault/SSEAlgorithm",
                18,
            ),
            ("/properties/VersioningConfiguration/Status", 20),
            // A parameter's list default, at the reference.
            ("/properties/Subnets", 21),
            ("/properties/Subnets/1", 22),
            // The chosen branch sits where the `Fn::If` is (a tagged block sequence starts at
            // its first item), its members where they are written.
            ("/properties/Tags/0", 25),
            ("/properties/Tags/0/Value", 27),
        ] {
            assert_eq!(line_of(bucket, pointer), Some(line), "{pointer}");
        }
        assert_eq!(bucket.locate("/properties/Missing/Deep").line, 13);
        let other = &normalized.resources[1];
        assert_eq!((other.line, other.end_line), (29, 31));
        assert_eq!(other.attributes["depends_on"], json!(["LogsBucket"]));
        assert_eq!(line_of(other, "/depends_on/0"), Some(31));
        assert_eq!(other.attributes["properties"], json!({}));
    }

    #[test]
    fn sam_resources_get_their_globals() {
        let text = "\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
    Environment:
      Variables:
        STAGE: prod
        SHARED: 'yes'
    Layers: [arn:layer:global]
Resources:
  Handler:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Timeout: 30
      Environment:
        Variables:
          STAGE: dev
      Layers: [arn:layer:own]
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
  Bare:
    Type: AWS::Serverless::Function
";
        assert!(looks_like_template(text));
        let normalized = clean("template.yml", text);
        let handler = resource(&normalized, "AWS::Serverless::Function/Handler");
        assert_eq!(handler.kind, "cloudformation/AWS::Serverless::Function");
        assert_eq!(
            handler.attributes["properties"],
            json!({
                "Handler": "app.handler",
                "Runtime": "python3.12",
                "Timeout": 30,
                "Environment": {"Variables": {"STAGE": "dev", "SHARED": "yes"}},
                "Layers": ["arn:layer:global", "arn:layer:own"],
            })
        );
        for (pointer, line) in [
            ("/properties/Runtime", 4),
            ("/properties/Timeout", 16),
            ("/properties/Environment/Variables/STAGE", 19),
            ("/properties/Environment/Variables/SHARED", 9),
            ("/properties/Layers/0", 10),
            ("/properties/Layers/1", 20),
        ] {
            assert_eq!(line_of(handler, pointer), Some(line), "{pointer}");
        }
        let api = resource(&normalized, "AWS::Serverless::Api/Api");
        assert_eq!(api.attributes["properties"], json!({"StageName": "prod"}));
        let bare = resource(&normalized, "AWS::Serverless::Function/Bare");
        assert_eq!(
            bare.attributes["properties"]["Runtime"],
            json!("python3.12")
        );
        assert_eq!(line_of(bare, "/properties/Timeout"), Some(5));
    }

    #[test]
    fn json_templates_read_like_yaml_ones() {
        let text = "{
  \"AWSTemplateFormatVersion\": \"2010-09-09\",
  \"Parameters\": {\"Env\": {\"Type\": \"String\", \"Default\": \"prod\"}},
  \"Conditions\": {\"IsProd\": {\"Fn::Equals\": [{\"Ref\": \"Env\"}, \"prod\"]}},
  \"Resources\": {
    \"Bucket\": {
      \"Type\": \"AWS::S3::Bucket\",
      \"Properties\": {
        \"BucketName\": {\"Fn::If\": [\"IsProd\", {\"Fn::Sub\": \"${Env}-logs\"}, \"dev\"]},
        \"Arn\": {\"Fn::GetAtt\": [\"Role\", \"Arn\"]},
        \"VersioningConfiguration\": {\"Status\": \"Suspended\"}
      },
      \"DependsOn\": [\"Role\"],
      \"Metadata\": {\"cfn_nag\": {\"rules_to_suppress\": [{\"id\": \"W35\"}]}}
    },
\t\"Role\": {\"Type\":\t\"AWS::IAM::Role\", \"UpdateReplacePolicy\": \"Retain\"}
  }
}
";
        assert!(looks_like_template(text));
        let normalized = clean("stack.template.json", text);
        assert_eq!(
            ids(&normalized),
            ["AWS::S3::Bucket/Bucket", "AWS::IAM::Role/Role"]
        );
        let bucket = &normalized.resources[0];
        assert_eq!(
            bucket.attributes["properties"],
            json!({
                "BucketName": "prod-logs",
                "Arn": {"Fn::GetAtt": ["Role", "Arn"]},
                "VersioningConfiguration": {"Status": "Suspended"},
            })
        );
        assert_eq!(bucket.attributes["depends_on"], json!(["Role"]));
        assert_eq!(
            bucket.attributes["metadata"]["cfn_nag"]["rules_to_suppress"][0]["id"],
            json!("W35")
        );
        assert_eq!(line_of(bucket, "/properties/BucketName"), Some(9));
        assert_eq!(
            line_of(bucket, "/properties/VersioningConfiguration/Status"),
            Some(11)
        );
        assert_eq!((bucket.line, bucket.end_line), (6, 15));
        let role = &normalized.resources[1];
        assert_eq!(role.attributes["update_replace_policy"], json!("Retain"));
        assert_eq!(role.line, 16);
    }

    #[test]
    fn syntax_errors_are_reported_with_their_line() {
        let normalized = run(
            "bad.yaml",
            "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  A:\n    Type: AWS::S3::Bucket\n   Properties: x\n",
        );
        assert!(normalized.recognized);
        assert!(normalized.resources.is_empty());
        assert_eq!(normalized.diagnostics.len(), 1);
        let diagnostic = &normalized.diagnostics[0];
        assert_eq!(diagnostic.file, "bad.yaml");
        assert_eq!(diagnostic.line, Some(5));
        assert!(
            diagnostic.message.starts_with("invalid YAML: "),
            "{diagnostic:?}"
        );

        let normalized = run(
            "bad.json",
            "{\"AWSTemplateFormatVersion\": \"2010-09-09\",\n \"Resources\": {,}}\n",
        );
        assert_eq!(normalized.diagnostics.len(), 1);
        assert_eq!(normalized.diagnostics[0].line, Some(2));
        assert!(
            normalized.diagnostics[0]
                .message
                .starts_with("invalid JSON: ")
        );
    }

    #[test]
    fn resources_without_a_type_are_reported_and_the_rest_kept() {
        let text = "\
Resources:
  NoType:
    Properties: {A: 1}
  NotAMapping: 5
  TaggedType:
    Type: !Ref Kind
  Good:
    Type: AWS::SNS::Topic
  EmptyType:
    Type: ''
  Fn::ForEach::Topics:
    - Name
    - [A, B]
    - Topic${Name}: {Type: AWS::SNS::Topic}
";
        let normalized = run("t.yaml", text);
        assert_eq!(ids(&normalized), ["AWS::SNS::Topic/Good"]);
        assert_eq!(
            messages(&normalized),
            [
                (Some(2), "resource `NoType` has no Type"),
                (Some(4), "resource `NotAMapping` is not a mapping"),
                (
                    Some(6),
                    "resource `TaggedType` has a Type that is not a string"
                ),
                (
                    Some(10),
                    "resource `EmptyType` has a Type that is not a string"
                ),
            ]
        );
        let normalized = run("t.yaml", "AWSTemplateFormatVersion: x\nResources:\n  - a\n");
        assert_eq!(
            messages(&normalized),
            [(Some(3), "`Resources` is not a mapping")]
        );
        let normalized = run("t.yaml", "AWSTemplateFormatVersion: x\n");
        assert!(normalized.recognized);
        assert!(normalized.resources.is_empty() && normalized.diagnostics.is_empty());
    }

    #[test]
    fn condition_cycles_are_reported_not_followed() {
        let text = "\
Conditions:
  Self: !Condition Self
  A: !And [!Equals [x, y], !Condition B]
  B: !Or [!Condition A]
  UsesCycle: !Not [!Condition A]
  Fine: !Equals [x, x]
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Condition: A
    Properties:
      Name: !If [B, a, b]
      Other: !If [Fine, a, b]
";
        let normalized = run("cycle.yaml", text);
        assert_eq!(
            messages(&normalized),
            [
                (Some(2), "conditions refer to each other: Self → Self"),
                (Some(3), "conditions refer to each other: A → B → A"),
            ]
        );
        let topic = resource(&normalized, "AWS::SNS::Topic/Topic");
        assert_eq!(topic.attributes["condition_value"], json!(null));
        assert_eq!(
            topic.attributes["properties"],
            json!({"Name": {"Fn::If": ["B", "a", "b"]}, "Other": "a"})
        );
    }

    #[test]
    fn long_condition_chains_end_in_a_diagnostic() {
        let mut text = String::from("Conditions:\n");
        for i in 0..2_000 {
            writeln!(text, "  C{i}: !Not [!Condition C{}]", i + 1).expect("write to String");
        }
        text.push_str("  C2000: !Equals [a, a]\nResources:\n  T:\n    Type: AWS::SNS::Topic\n");
        text.push_str("    Properties: {A: !If [C0, x, y], B: !If [C1999, x, y]}\n");
        let started = std::time::Instant::now();
        let normalized = run("chain.yaml", &text);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(
            normalized.diagnostics.len(),
            1,
            "{:?}",
            messages(&normalized)
        );
        assert!(
            normalized.diagnostics[0]
                .message
                .starts_with("condition `C0` nests deeper than 128 levels"),
            "{:?}",
            normalized.diagnostics
        );
        let topic = resource(&normalized, "AWS::SNS::Topic/T");
        assert_eq!(
            topic.attributes["properties"]["A"],
            json!({"Fn::If": ["C0", "x", "y"]})
        );
        assert_eq!(topic.attributes["properties"]["B"], json!("y"));

        let limits = Limits {
            max_depth: 6,
            ..Limits::default()
        };
        let text = "Conditions:\n  A: !Condition B\n  B: !Condition C\n  C: !Condition D\n  \
                    D: !Condition E\n  E: !Condition F\n  F: !Equals [a, a]\n";
        let normalized = normalize("deep.yaml", text, &limits);
        assert_eq!(
            messages(&normalized),
            [(Some(2), "condition `A` nests deeper than 6 levels")]
        );
    }

    #[test]
    fn deep_nesting_is_a_diagnostic() {
        let deep = "[".repeat(500) + &"]".repeat(500);
        let text = format!(
            "AWSTemplateFormatVersion: x\nResources:\n  A:\n    Type: AWS::SNS::Topic\n    \
             Properties: {{A: !Join [',', {deep}]}}\n"
        );
        let normalized = run("deep.yaml", &text);
        assert_eq!(normalized.diagnostics.len(), 1);
        assert!(
            normalized.diagnostics[0]
                .message
                .starts_with("stopped reading YAML: nesting deeper than"),
            "{:?}",
            normalized.diagnostics
        );
    }

    #[test]
    fn substitution_is_bounded_like_alias_expansion() {
        let limits = Limits {
            max_nodes: 5_000,
            ..Limits::default()
        };
        let mut text =
            String::from("Parameters:\n  Many:\n    Type: CommaDelimitedList\n    Default: '");
        text.push_str(&vec!["x"; 1_000].join(","));
        text.push_str("'\nResources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n");
        for i in 0..20 {
            writeln!(text, "      P{i}: !Ref Many").expect("write to String");
        }
        let normalized = normalize("big.yaml", &text, &limits);
        assert_eq!(
            normalized.diagnostics.len(),
            1,
            "{:?}",
            messages(&normalized)
        );
        assert!(
            normalized.diagnostics[0]
                .message
                .contains("expand to more than 5000 nodes")
        );
        let properties = &normalized.resources[0].attributes["properties"];
        assert_eq!(properties["P0"].as_array().map(Vec::len), Some(1_000));
        assert_eq!(properties["P19"], json!({"Ref": "Many"}));
    }

    #[test]
    fn files_are_routed_here_by_content() {
        let limits = Limits::default();
        let template = crate::normalize_file(
            "infra/template.yaml",
            Path::new("infra/template.yaml"),
            SPANS,
            &limits,
        );
        assert_eq!(template.resources[0].kind, "cloudformation/AWS::S3::Bucket");
        let manifest = crate::normalize_file(
            "k8s/cm.yaml",
            Path::new("k8s/cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stack}\ndata:\n  t: |\n    \
             AWSTemplateFormatVersion: x\n",
            &limits,
        );
        assert_eq!(manifest.resources[0].kind, "kubernetes/ConfigMap");
    }

    #[test]
    fn ten_thousand_resources() {
        let mut text = String::from(
            "AWSTemplateFormatVersion: '2010-09-09'\nParameters:\n  Env: {Type: String, \
             Default: prod}\nConditions:\n  IsProd: !Equals [!Ref Env, prod]\nResources:\n",
        );
        for i in 0..10_000 {
            writeln!(
                text,
                "  Bucket{i}:\n    Type: AWS::S3::Bucket\n    Condition: IsProd\n    \
                 Properties:\n      BucketName: !Sub '${{Env}}-logs-{i}'\n      \
                 VersioningConfiguration: {{Status: !If [IsProd, Enabled, Suspended]}}\n      \
                 Tags:\n        - {{Key: env, Value: !Ref Env}}\n        - Key: arn\n          \
                 Value: !GetAtt Role.Arn"
            )
            .expect("write to String");
        }
        assert!(looks_like_template(&text));
        let started = std::time::Instant::now();
        let normalized = clean("many.yaml", &text);
        let elapsed = started.elapsed();
        assert_eq!(normalized.resources.len(), 10_000);
        let last = &normalized.resources[9_999];
        assert_eq!(last.id, "AWS::S3::Bucket/Bucket9999");
        assert_eq!(last.line, 10 * 9_999 + 7);
        assert_eq!(
            last.attributes["properties"]["BucketName"],
            json!("prod-logs-9999")
        );
        // Release builds take a small fraction of this; the bound only catches quadratic work.
        assert!(
            elapsed < std::time::Duration::from_secs(20),
            "took {elapsed:?}"
        );
    }

    #[test]
    fn mutated_templates_never_panic() {
        let sample = format!(
            "{SHORT_FORMS}{}",
            &CONDITIONS[CONDITIONS.find("Resources:").unwrap_or(0) + 11..]
        );
        let alphabet: Vec<char> = "[]{}:-!&*|>'\"#,${}.\n AWS::Ref".chars().collect();
        let chars: Vec<char> = sample.chars().collect();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |bound: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            usize::try_from(seed % bound as u64).expect("bound fits usize")
        };
        let limits = Limits::default();
        for _ in 0..300 {
            let mut mutated = chars.clone();
            for _ in 0..1 + next(5) {
                let at = next(mutated.len());
                match next(3) {
                    0 => mutated[at] = alphabet[next(alphabet.len())],
                    1 => mutated.insert(at, alphabet[next(alphabet.len())]),
                    _ => {
                        mutated.remove(at);
                    }
                }
            }
            let text: String = mutated.into_iter().collect();
            looks_like_template(&text);
            normalize("m.yaml", &text, &limits);
            normalize("m.json", &text, &limits);
        }
        for cut in (0..chars.len()).step_by(7) {
            let text: String = chars[..cut].iter().collect();
            looks_like_template(&text);
            normalize("m.yaml", &text, &limits);
        }
    }
}
