//! Terraform plan JSON (`terraform show -json plan.out`) → the same resources as the HCL.
//!
//! Resources come from `planned_values`, root module and child modules: what will exist once the
//! plan is applied. A value Terraform only learns during apply (`after_unknown`) becomes
//! `{"$unknown": "known after apply"}`, a sensitive one `{"$unknown": "sensitive"}`, so secrets
//! never reach a plugin or a report. Data sources Terraform could read while planning have no
//! change and so are only in `prior_state`; they are taken from there. State JSON
//! (`terraform show -json` without a plan) is read the same way from `values`.
//!
//! Spans point into the JSON text: a resource at its `planned_values` entry, every attribute at
//! its key inside `values`.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use serde_json::{Map, Value as Json};

use crate::resource::{Diagnostic, Limits, Normalized, Resource, Span, SpanTable};
use crate::yaml::{self, Node, ParseErrorKind, Value};

/// The reason given for a value Terraform only knows after apply.
const KNOWN_AFTER_APPLY: &str = "known after apply";
/// The reason given for a value Terraform marks sensitive.
const SENSITIVE: &str = "sensitive";

/// True when a JSON text is a Terraform plan (or state) in `terraform show -json` form.
///
/// A plan has a string `format_version` and `planned_values` or `resource_changes`; a state has
/// a string `format_version` and `values` with a `root_module`. Only the text is searched, as
/// this runs on every JSON file of a scan.
pub fn looks_like_plan(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text).trim_start();
    text.starts_with('{')
        && has_key(text, "format_version", &['"'])
        && (has_key(text, "planned_values", &['{'])
            || has_key(text, "resource_changes", &['['])
            || (has_key(text, "values", &['{']) && has_key(text, "root_module", &['{'])))
}

/// True when `text` has a member `"key": <value>` whose value starts with one of `starts`.
fn has_key(text: &str, key: &str, starts: &[char]) -> bool {
    text.match_indices(key).any(|(at, _)| {
        let Some(before) = text[..at].strip_suffix('"') else {
            return false;
        };
        // `\"key\"` is text inside a string (a plan embedded in a manifest), not a member.
        if before.ends_with('\\') {
            return false;
        }
        let Some(after) = text[at + key.len()..].strip_prefix('"') else {
            return false;
        };
        let Some(value) = after.trim_start().strip_prefix(':') else {
            return false;
        };
        value.trim_start().starts_with(starts)
    })
}

/// Normalizes one plan; `display` names the file in the results.
pub fn normalize(display: &str, text: &str, limits: &Limits) -> Normalized {
    let mut normalized = Normalized {
        recognized: true,
        ..Normalized::default()
    };
    let (documents, error) = yaml::parse_json(text, limits);
    if let Some(error) = error {
        let message = match error.kind {
            ParseErrorKind::Syntax => format!("invalid JSON in Terraform plan: {}", error.message),
            ParseErrorKind::Limit => format!("stopped reading Terraform plan: {}", error.message),
        };
        normalized.diagnostics.push(Diagnostic {
            file: display.to_owned(),
            line: Some(error.line),
            message,
        });
        return normalized;
    }
    let Some(document) = documents.first() else {
        normalized.diagnostics.push(Diagnostic {
            file: display.to_owned(),
            line: None,
            message: "Terraform plan file holds no JSON value".to_owned(),
        });
        return normalized;
    };
    let mut reader = Reader::new(display, limits);
    reader.read(document);
    normalized.resources = reader.resources;
    normalized.diagnostics = reader.diagnostics;
    normalized
}

/// Where a resource entry comes from, which decides where its values are and which are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// `planned_values`: every resource, with its change's unknown and sensitive values.
    Planned,
    /// `prior_state.values` of a plan: only the data sources read while planning.
    PriorData,
    /// `values` of a state.
    State,
    /// `resource_changes` of a plan without `planned_values`: values from `change.after`.
    Changes,
}

/// Collects the resources and diagnostics of one parsed plan or state.
struct Reader<'a> {
    display: &'a str,
    limits: &'a Limits,
    resources: Vec<Resource>,
    diagnostics: Vec<Diagnostic>,
    /// Addresses already emitted, so each address is one resource.
    seen: HashSet<String>,
    /// `configuration` expressions by resource address without instance keys
    /// (`module.net.aws_s3_bucket.logs`).
    expressions: HashMap<String, &'a Node>,
}

impl<'a> Reader<'a> {
    fn new(display: &'a str, limits: &'a Limits) -> Self {
        Reader {
            display,
            limits,
            resources: Vec::new(),
            diagnostics: Vec::new(),
            seen: HashSet::new(),
            expressions: HashMap::new(),
        }
    }

    /// Indexes the `expressions` of every resource in `configuration`, modules included.
    fn index_configuration(&mut self, module: &'a Node, prefix: &str, depth: usize) {
        if depth > self.limits.max_depth {
            return;
        }
        for resource in module
            .get("resources")
            .and_then(Node::as_seq)
            .unwrap_or(&[])
        {
            if let (Some(address), Some(expressions)) = (
                resource.get("address").and_then(Node::as_str),
                resource.get("expressions"),
            ) {
                self.expressions
                    .insert(format!("{prefix}{address}"), expressions);
            }
        }
        for call in module
            .get("module_calls")
            .and_then(Node::as_map)
            .unwrap_or(&[])
        {
            if let Some(child) = call.value.get("module") {
                let prefix = format!("{prefix}module.{}.", call.key);
                self.index_configuration(child, &prefix, depth + 1);
            }
        }
    }

    fn report(&mut self, node: &Node, message: String) {
        self.diagnostics.push(Diagnostic {
            file: self.display.to_owned(),
            line: Some(node.line),
            message,
        });
    }

    fn read(&mut self, document: &'a Node) {
        if document.as_map().is_none() {
            let found = describe(document);
            self.report(
                document,
                format!("a Terraform plan should be a JSON object, found {found}"),
            );
            return;
        }
        self.check_version(document);
        if document
            .get("errored")
            .is_some_and(|errored| errored.value == Value::Bool(true))
        {
            self.report(
                document,
                "Terraform reported errors while planning (`errored`); the planned values may be \
                 incomplete"
                    .to_owned(),
            );
        }
        if let Some(root) = document
            .get("configuration")
            .and_then(|c| c.get("root_module"))
        {
            self.index_configuration(root, "", 0);
        }
        let changes = self.index_changes(document.get("resource_changes"));
        if let Some(planned) = document.get("planned_values") {
            self.read_values(planned, "planned_values", Source::Planned, &changes);
            if let Some(prior) = document.get("prior_state").and_then(|s| s.get("values")) {
                self.read_values(prior, "prior_state.values", Source::PriorData, &changes);
            }
        } else if let Some(values) = document.get("values") {
            self.read_values(values, "values", Source::State, &HashMap::new());
        } else if let Some(list) = document.get("resource_changes").and_then(Node::as_seq) {
            for (index, entry) in list.iter().enumerate() {
                let path = format!("resource_changes[{index}]");
                self.read_resource(entry, &path, None, Source::Changes, &changes);
            }
        } else {
            self.report(
                document,
                "a Terraform plan should have `planned_values` or `resource_changes`, and a \
                 state `values`; found none"
                    .to_owned(),
            );
        }
    }

    /// Warns about a format of a major version this reader was not written for.
    fn check_version(&mut self, document: &Node) {
        let Some(version) = document.get("format_version") else {
            return;
        };
        let text = version.to_text();
        // 0.x (Terraform 0.12 to 0.14) and 1.x share the shape read here.
        if !matches!(text.split('.').next(), Some("0" | "1")) {
            self.report(
                version,
                format!(
                    "Terraform JSON `format_version` {text} is newer than this reader (1.x); \
                     reading it as 1.x"
                ),
            );
        }
    }

    /// The entries of `resource_changes` by address, deposed objects left out.
    fn index_changes<'n>(&mut self, list: Option<&'n Node>) -> HashMap<&'n str, &'n Node> {
        let mut changes = HashMap::new();
        let Some(list) = list.filter(|list| list.value != Value::Null) else {
            return changes;
        };
        let Some(entries) = list.as_seq() else {
            let found = describe(list);
            self.report(
                list,
                format!("`resource_changes` should be a list, found {found}"),
            );
            return changes;
        };
        for (index, entry) in entries.iter().enumerate() {
            // A deposed object (the old half of a create_before_destroy replacement) shares
            // the address of the live instance; its delete is not the live instance's fate.
            if entry.get("deposed").is_some() {
                continue;
            }
            match entry.get("address").and_then(Node::as_str) {
                Some(address) => {
                    changes.insert(address, entry);
                }
                None => self.report(
                    entry,
                    format!("`resource_changes[{index}]` has no string `address`"),
                ),
            }
        }
        changes
    }

    /// Reads the modules of a `values` representation (`planned_values`, `values`...).
    fn read_values(
        &mut self,
        values: &Node,
        path: &str,
        source: Source,
        changes: &HashMap<&str, &Node>,
    ) {
        if values.value == Value::Null {
            return;
        }
        if values.as_map().is_none() {
            let found = describe(values);
            self.report(
                values,
                format!("`{path}` should be an object, found {found}"),
            );
            return;
        }
        if let Some(root) = values.get("root_module") {
            let path = format!("{path}.root_module");
            self.read_module(root, &path, source, changes, 0);
        }
    }

    /// Reads a module's resources, then its child modules, at most `max_depth` modules deep.
    fn read_module(
        &mut self,
        module: &Node,
        path: &str,
        source: Source,
        changes: &HashMap<&str, &Node>,
        depth: usize,
    ) {
        if module.value == Value::Null {
            return;
        }
        if module.as_map().is_none() {
            let found = describe(module);
            self.report(
                module,
                format!("`{path}` should be an object, found {found}"),
            );
            return;
        }
        if depth > self.limits.max_depth {
            let max = self.limits.max_depth;
            self.report(
                module,
                format!("`{path}`: modules nested deeper than {max} levels are not read"),
            );
            return;
        }
        let address = module.get("address").and_then(Node::as_str);
        if let Some(resources) = self.list(module, "resources", path) {
            for (index, entry) in resources.iter().enumerate() {
                let path = format!("{path}.resources[{index}]");
                self.read_resource(entry, &path, address, source, changes);
            }
        }
        if let Some(children) = self.list(module, "child_modules", path) {
            for (index, child) in children.iter().enumerate() {
                let path = format!("{path}.child_modules[{index}]");
                self.read_module(child, &path, source, changes, depth + 1);
            }
        }
    }

    /// The list member `key` of `object`; absent or null is none, anything else is reported.
    fn list<'n>(&mut self, object: &'n Node, key: &str, path: &str) -> Option<&'n [Node]> {
        let member = object.get(key)?;
        if member.value == Value::Null {
            return None;
        }
        let list = member.as_seq();
        if list.is_none() {
            let found = describe(member);
            self.report(
                member,
                format!("`{path}.{key}` should be a list, found {found}"),
            );
        }
        list
    }

    /// Adds the resource `entry` describes, unless it will not exist after the plan.
    fn read_resource(
        &mut self,
        entry: &Node,
        path: &str,
        module_address: Option<&str>,
        source: Source,
        changes: &HashMap<&str, &Node>,
    ) {
        if entry.as_map().is_none() {
            let found = describe(entry);
            self.report(
                entry,
                format!("`{path}` should be an object, found {found}"),
            );
            return;
        }
        // The old half of a replacement, about to be destroyed.
        if entry.get("deposed").is_some() || entry.get("deposed_key").is_some() {
            return;
        }
        let mode = entry.get("mode");
        let data = match mode.and_then(Node::as_str) {
            Some("managed") => false,
            Some("data") => true,
            _ => {
                let found = mode.map_or_else(|| "nothing".to_owned(), describe_value);
                self.report(
                    entry,
                    format!("`{path}.mode` should be \"managed\" or \"data\", found {found}"),
                );
                return;
            }
        };
        if source == Source::PriorData && !data {
            return;
        }
        let Some(resource_type) = entry
            .get("type")
            .and_then(Node::as_str)
            .filter(|t| !t.is_empty())
        else {
            self.report(entry, format!("`{path}` has no string `type`"));
            return;
        };
        let address = entry
            .get("address")
            .and_then(Node::as_str)
            .filter(|a| !a.is_empty());
        let module_address =
            module_address.or_else(|| entry.get("module_address").and_then(Node::as_str));
        let id = match address {
            Some(address) => address.to_owned(),
            None => match build_address(entry, module_address, data, resource_type) {
                Some(address) => address,
                None => {
                    self.report(entry, format!("`{path}` has neither `address` nor `name`"));
                    return;
                }
            },
        };
        let change = changes
            .get(id.as_str())
            .and_then(|change| change.get("change"));
        if change.is_some_and(is_delete_only) {
            return;
        }
        if !self.seen.insert(id.clone()) {
            // A data source read while planning is in both planned_values and prior_state.
            if source != Source::PriorData {
                self.report(
                    entry,
                    format!("`{path}`: {id} is listed twice; the first is kept"),
                );
            }
            return;
        }

        let (values, values_path) = match source {
            Source::Changes => (
                change.and_then(|change| change.get("after")),
                format!("{path}.change.after"),
            ),
            _ => (entry.get("values"), format!("{path}.values")),
        };
        let values = values.filter(|values| values.value != Value::Null);
        let values = match values {
            Some(node) if node.as_map().is_none() => {
                let found = describe(node);
                self.report(
                    node,
                    format!("`{values_path}` should be an object, found {found}"),
                );
                None
            }
            values => values,
        };
        let mut attributes = values.map_or_else(|| Json::Object(Map::new()), Node::to_json);
        let sensitive = [
            entry.get("sensitive_values"),
            change.and_then(|change| change.get("after_sensitive")),
        ];
        for mask in sensitive.into_iter().flatten() {
            mark_attributes(&mut attributes, mask, SENSITIVE, false);
        }
        if source != Source::PriorData
            && let Some(mask) = change.and_then(|change| change.get("after_unknown"))
        {
            mark_attributes(&mut attributes, mask, KNOWN_AFTER_APPLY, true);
            if let Some(expressions) = self.expressions.get(&without_instance_keys(&id)) {
                let module = module_prefix(&id);
                link_references(
                    &mut attributes,
                    expressions,
                    module,
                    0,
                    self.limits.max_depth,
                );
            }
        }

        let mut spans = SpanTable::default();
        spans.insert(String::new(), entry.span());
        record_spans(
            &attributes,
            values,
            &mut String::new(),
            entry.span(),
            &mut spans,
        );
        let kind = if data {
            format!("terraform/data.{resource_type}")
        } else {
            format!("terraform/{resource_type}")
        };
        self.resources.push(Resource {
            id,
            kind,
            file: self.display.to_owned(),
            line: entry.line,
            end_line: entry.end_line.max(entry.line),
            attributes,
            spans,
            details: Default::default(),
        });
    }
}

/// The address Terraform would give `entry`, from its module, mode, type, name and index.
fn build_address(
    entry: &Node,
    module_address: Option<&str>,
    data: bool,
    resource_type: &str,
) -> Option<String> {
    let name = entry
        .get("name")
        .and_then(Node::as_str)
        .filter(|n| !n.is_empty())?;
    let mut address = String::new();
    if let Some(module) = module_address.filter(|m| !m.is_empty()) {
        address.push_str(module);
        address.push('.');
    }
    if data {
        address.push_str("data.");
    }
    address.push_str(resource_type);
    address.push('.');
    address.push_str(name);
    match entry.get("index").map(|index| &index.value) {
        Some(Value::Int(count)) => {
            write!(address, "[{count}]").expect("writing to a String cannot fail");
        }
        Some(Value::String(key)) => {
            write!(address, "[{}]", Json::from(key.as_str()))
                .expect("writing to a String cannot fail");
        }
        _ => {}
    }
    Some(address)
}

/// `address` without its instance keys (`module.net["a"].aws_instance.web[0]` →
/// `module.net.aws_instance.web`), as `configuration` names resources.
fn without_instance_keys(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let mut depth = 0usize;
    let mut quoted = false;
    let mut escaped = false;
    for c in address.chars() {
        if depth > 0 {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                '[' if !quoted => depth += 1,
                ']' if !quoted => depth -= 1,
                _ => {}
            }
        } else if c == '[' {
            depth = 1;
        } else {
            out.push(c);
        }
    }
    out
}

/// The module part of a resource address, with its trailing dot (`module.net[0].aws_x.y` →
/// `module.net[0].`), or `""` in the root module.
fn module_prefix(address: &str) -> &str {
    // The resource part is `[data.]type.name[key]`; a module part is `module.name[key].`
    let mut end = 0;
    let mut rest = address;
    while let Some(after) = rest.strip_prefix("module.") {
        // Skip the module name and an optional instance key up to the next `.` outside quotes.
        let mut quoted = false;
        let mut escaped = false;
        let mut cut = None;
        for (at, c) in after.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                '.' if !quoted => {
                    cut = Some(at);
                    break;
                }
                _ => {}
            }
        }
        let Some(cut) = cut else { break };
        let consumed = "module.".len() + cut + 1;
        end += consumed;
        rest = &rest[consumed..];
    }
    &address[..end]
}

/// Replaces each value still `{"$unknown": "known after apply"}` whose configuration
/// expression references another resource with `{"$ref": "<that reference>"}`, so a rule can
/// tell which object an attribute will hold (a bucket policy's bucket). `expressions` mirrors
/// the attributes: objects by key, nested blocks as arrays; a leaf has `references`, most
/// specific first. References to variables, locals and the like are left unknown.
fn link_references(value: &mut Json, expressions: &Node, module: &str, depth: usize, max: usize) {
    if depth > max {
        return;
    }
    if is_unknown(value) {
        if value.get("$unknown").and_then(Json::as_str) != Some(KNOWN_AFTER_APPLY) {
            return;
        }
        let first = expressions
            .get("references")
            .and_then(Node::as_seq)
            .and_then(|references| references.first())
            .and_then(Node::as_str);
        if let Some(reference) = first.filter(|r| refers_to_resource(r)) {
            let mut object = Map::new();
            object.insert(
                "$ref".to_owned(),
                Json::from(format!("{module}{reference}")),
            );
            *value = Json::Object(object);
        }
        return;
    }
    match value {
        Json::Object(object) => {
            for (key, member) in object.iter_mut() {
                if let Some(expression) = expressions.get(key) {
                    link_references(member, expression, module, depth + 1, max);
                }
            }
        }
        Json::Array(items) => {
            if let Some(blocks) = expressions.as_seq() {
                for (item, expression) in items.iter_mut().zip(blocks) {
                    link_references(item, expression, module, depth + 1, max);
                }
            }
        }
        _ => {}
    }
}

/// True when a configuration reference names a managed resource or a data source rather than
/// a variable, local value, module output or other symbol.
fn refers_to_resource(reference: &str) -> bool {
    const SYMBOLS: [&str; 8] = [
        "var.",
        "local.",
        "module.",
        "each.",
        "count.",
        "path.",
        "terraform.",
        "self.",
    ];
    !SYMBOLS.iter().any(|s| reference.starts_with(s))
        && reference
            .split('.')
            .nth(1)
            .is_some_and(|name| !name.is_empty())
}

/// True for a change whose only action is `delete`: the object will not exist afterwards.
fn is_delete_only(change: &Node) -> bool {
    change
        .get("actions")
        .and_then(Node::as_seq)
        .is_some_and(|actions| matches!(actions, [only] if only.as_str() == Some("delete")))
}

/// Applies a mask that covers the whole attribute object (`after_unknown`, `sensitive_values`).
///
/// Only an object mask applies: the attributes stay an object even if a hand-written plan marks
/// the whole resource.
fn mark_attributes(attributes: &mut Json, mask: &Node, reason: &str, create: bool) {
    if mask.as_map().is_some() {
        mark(attributes, mask, reason, create);
    }
}

/// Replaces every value `mask` marks `true` with `{"$unknown": reason}`.
///
/// The mask mirrors the value's shape, objects by key and arrays by position, as Terraform's
/// `after_unknown` and `sensitive_values` do. With `create`, a marked member missing from its
/// object is added (plans leave unknown values out); without it, a null stays null, as there is
/// nothing to hide.
fn mark(value: &mut Json, mask: &Node, reason: &str, create: bool) {
    match &mask.value {
        Value::Bool(true) if create || !value.is_null() => *value = unknown(reason),
        Value::Map(entries) if !is_unknown(value) => {
            let Json::Object(object) = value else {
                return;
            };
            for entry in entries.iter() {
                match object.get_mut(&entry.key) {
                    Some(member) => mark(member, &entry.value, reason, create),
                    None if create && entry.value.value == Value::Bool(true) => {
                        object.insert(entry.key.clone(), unknown(reason));
                    }
                    None => {}
                }
            }
        }
        Value::Seq(masks) if !is_unknown(value) => {
            let Json::Array(items) = value else {
                return;
            };
            for (item, mask) in items.iter_mut().zip(masks.iter()) {
                mark(item, mask, reason, create);
            }
        }
        _ => {}
    }
}

fn unknown(reason: &str) -> Json {
    let mut object = Map::new();
    object.insert("$unknown".to_owned(), Json::from(reason));
    Json::Object(object)
}

fn is_unknown(value: &Json) -> bool {
    value
        .as_object()
        .is_some_and(|object| object.len() == 1 && object.contains_key("$unknown"))
}

/// Records a span for every value below `value`, taking positions from `node`, the source the
/// value was made from; `span` is the position of `value` itself.
///
/// Members the source lacks (unknowns a plan leaves out) get the position of their parent; the
/// inside of a replaced value is not recorded, as it is not in the attributes.
fn record_spans(
    value: &Json,
    node: Option<&Node>,
    pointer: &mut String,
    span: Span,
    table: &mut SpanTable,
) {
    if is_unknown(value) {
        return;
    }
    let parent = pointer.len();
    match value {
        Json::Object(object) => {
            let mut found = 0;
            for entry in node.and_then(Node::as_map).unwrap_or_default() {
                let Some(member) = object.get(&entry.key) else {
                    continue;
                };
                found += 1;
                pointer.push('/');
                yaml::push_pointer_token(pointer, &entry.key);
                table.insert(pointer.clone(), entry.key_span);
                record_spans(member, Some(&entry.value), pointer, entry.key_span, table);
                pointer.truncate(parent);
            }
            if found < object.len() {
                for key in object.keys() {
                    pointer.push('/');
                    yaml::push_pointer_token(pointer, key);
                    if table.get(pointer).is_none() {
                        table.insert(pointer.clone(), span);
                    }
                    pointer.truncate(parent);
                }
            }
        }
        Json::Array(items) => {
            let nodes = node.and_then(Node::as_seq).unwrap_or_default();
            for (index, item) in items.iter().enumerate() {
                write!(pointer, "/{index}").expect("writing to a String cannot fail");
                let child = nodes.get(index);
                let child_span = child.map_or(span, Node::span);
                table.insert(pointer.clone(), child_span);
                record_spans(item, child, pointer, child_span, table);
                pointer.truncate(parent);
            }
        }
        _ => {}
    }
}

/// What a node is, for messages: "a list", "an object"...
fn describe(node: &Node) -> &'static str {
    match node.value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::Float(_) => "a number",
        Value::String(_) => "a string",
        Value::Seq(_) => "a list",
        Value::Map(_) => "an object",
    }
}

/// A string quoted, anything else as [`describe`] says it.
fn describe_value(node: &Node) -> String {
    match &node.value {
        Value::String(text) => Json::from(text.as_str()).to_string(),
        _ => describe(node).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A plan as `terraform show -json plan.out | jq .` prints it, trimmed to what is tested.
    const PLAN: &str = r#"{
  "format_version": "1.2",
  "terraform_version": "1.9.5",
  "planned_values": {
    "root_module": {
      "resources": [
        {
          "address": "aws_s3_bucket.logs",
          "mode": "managed",
          "type": "aws_s3_bucket",
          "name": "logs",
          "provider_name": "registry.terraform.io/hashicorp/aws",
          "schema_version": 0,
          "values": {
            "bucket": "acme-logs",
            "force_destroy": false,
            "tags": {
              "team": "platform"
            },
            "versioning": [
              {
                "enabled": true,
                "mfa_delete": false
              }
            ]
          },
          "sensitive_values": {
            "tags": {},
            "versioning": [
              {}
            ]
          }
        },
        {
          "address": "aws_instance.web[0]",
          "mode": "managed",
          "type": "aws_instance",
          "name": "web",
          "index": 0,
          "provider_name": "registry.terraform.io/hashicorp/aws",
          "schema_version": 1,
          "values": {
            "ami": "ami-0abcdef1234567890",
            "instance_type": "t3.micro",
            "metadata_options": [
              {
                "http_tokens": "required"
              }
            ],
            "root_block_device": [
              {
                "encrypted": true,
                "volume_size": 20
              }
            ],
            "tags": null
          },
          "sensitive_values": {
            "metadata_options": [
              {}
            ],
            "root_block_device": [
              {}
            ]
          }
        },
        {
          "address": "aws_instance.web[1]",
          "mode": "managed",
          "type": "aws_instance",
          "name": "web",
          "index": 1,
          "provider_name": "registry.terraform.io/hashicorp/aws",
          "schema_version": 1,
          "values": {
            "ami": "ami-0abcdef1234567890",
            "instance_type": "t3.micro"
          },
          "sensitive_values": {}
        },
        {
          "address": "aws_iam_user.ci[\"alice\"]",
          "mode": "managed",
          "type": "aws_iam_user",
          "name": "ci",
          "index": "alice",
          "provider_name": "registry.terraform.io/hashicorp/aws",
          "schema_version": 0,
          "values": {
            "name": "alice",
            "path": "/ci/"
          },
          "sensitive_values": {}
        },
        {
          "address": "aws_db_instance.main",
          "mode": "managed",
          "type": "aws_db_instance",
          "name": "main",
          "provider_name": "registry.terraform.io/hashicorp/aws",
          "schema_version": 2,
          "values": {
            "engine": "postgres",
            "kms_key_id": null,
            "password": "hunter2hunter2",
            "storage_encrypted": false
          },
          "sensitive_values": {
            "kms_key_id": true,
            "password": true
          }
        },
        {
          "address": "aws_instance.legacy",
          "mode": "managed",
          "type": "aws_instance",
          "name": "legacy",
          "provider_name": "registry.terraform.io/hashicorp/aws",
          "values": {
            "instance_type": "m1.small"
          }
        },
        {
          "address": "data.aws_ami.ubuntu",
          "mode": "data",
          "type": "aws_ami",
          "name": "ubuntu",
          "provider_name": "registry.terraform.io/hashicorp/aws",
          "schema_version": 0,
          "values": {
            "most_recent": true,
            "owners": [
              "099720109477"
            ]
          },
          "sensitive_values": {}
        }
      ],
      "child_modules": [
        {
          "address": "module.net",
          "resources": [
            {
              "address": "module.net.aws_security_group.web",
              "mode": "managed",
              "type": "aws_security_group",
              "name": "web",
              "provider_name": "registry.terraform.io/hashicorp/aws",
              "schema_version": 1,
              "values": {
                "description": "web",
                "ingress": [
                  {
                    "cidr_blocks": [
                      "0.0.0.0/0",
                      null
                    ],
                    "from_port": 443,
                    "protocol": "tcp",
                    "to_port": 443
                  }
                ],
                "name": "web"
              },
              "sensitive_values": {
                "ingress": [
                  {
                    "cidr_blocks": [
                      false,
                      false
                    ]
                  }
                ]
              }
            }
          ],
          "child_modules": [
            {
              "address": "module.net.module.subnets[\"a\"]",
              "resources": [
                {
                  "address": "module.net.module.subnets[\"a\"].aws_subnet.private",
                  "mode": "managed",
                  "type": "aws_subnet",
                  "name": "private",
                  "provider_name": "registry.terraform.io/hashicorp/aws",
                  "schema_version": 1,
                  "values": {
                    "cidr_block": "10.0.1.0/24",
                    "map_public_ip_on_launch": false
                  },
                  "sensitive_values": {}
                }
              ]
            }
          ]
        }
      ]
    }
  },
  "resource_changes": [
    {
      "address": "aws_s3_bucket.logs",
      "mode": "managed",
      "type": "aws_s3_bucket",
      "name": "logs",
      "provider_name": "registry.terraform.io/hashicorp/aws",
      "change": {
        "actions": ["create"],
        "before": null,
        "after": {
          "bucket": "acme-logs",
          "force_destroy": false,
          "tags": {"team": "platform"},
          "versioning": [{"enabled": true, "mfa_delete": false}]
        },
        "after_unknown": {
          "arn": true,
          "id": true,
          "tags": {},
          "tags_all": true,
          "versioning": [{}]
        },
        "before_sensitive": false,
        "after_sensitive": {"tags": {}, "versioning": [{}]}
      }
    },
    {
      "address": "aws_instance.web[0]",
      "mode": "managed",
      "type": "aws_instance",
      "name": "web",
      "index": 0,
      "provider_name": "registry.terraform.io/hashicorp/aws",
      "change": {
        "actions": ["create"],
        "before": null,
        "after": {},
        "after_unknown": {
          "arn": true,
          "id": true,
          "metadata_options": [{"http_endpoint": true}],
          "root_block_device": [{"volume_id": true}],
          "subnet_id": true,
          "tags": true
        },
        "before_sensitive": false,
        "after_sensitive": {}
      }
    },
    {
      "address": "aws_instance.web[0]",
      "mode": "managed",
      "type": "aws_instance",
      "name": "web",
      "index": 0,
      "deposed": "00000001",
      "provider_name": "registry.terraform.io/hashicorp/aws",
      "change": {
        "actions": ["delete"],
        "before": {},
        "after": null,
        "after_unknown": {}
      }
    },
    {
      "address": "aws_db_instance.main",
      "mode": "managed",
      "type": "aws_db_instance",
      "name": "main",
      "provider_name": "registry.terraform.io/hashicorp/aws",
      "change": {
        "actions": ["update"],
        "before": {},
        "after": {},
        "after_unknown": {},
        "after_sensitive": {"password": true}
      }
    },
    {
      "address": "aws_instance.legacy",
      "mode": "managed",
      "type": "aws_instance",
      "name": "legacy",
      "provider_name": "registry.terraform.io/hashicorp/aws",
      "change": {
        "actions": ["delete"],
        "before": {"instance_type": "m1.small"},
        "after": null,
        "after_unknown": {}
      }
    },
    {
      "address": "module.net.aws_security_group.web",
      "module_address": "module.net",
      "mode": "managed",
      "type": "aws_security_group",
      "name": "web",
      "provider_name": "registry.terraform.io/hashicorp/aws",
      "change": {
        "actions": ["delete", "create"],
        "before": {},
        "after": {},
        "after_unknown": {
          "id": true,
          "ingress": [{"cidr_blocks": [false, true]}],
          "vpc_id": true
        }
      }
    }
  ],
  "prior_state": {
    "format_version": "1.0",
    "terraform_version": "1.9.5",
    "values": {
      "root_module": {
        "resources": [
          {
            "address": "data.aws_iam_policy_document.assume",
            "mode": "data",
            "type": "aws_iam_policy_document",
            "name": "assume",
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "schema_version": 0,
            "values": {
              "id": "2851119427",
              "json": "{\"Version\":\"2012-10-17\"}",
              "statement": [
                {
                  "actions": ["sts:AssumeRole"],
                  "effect": "Allow"
                }
              ]
            },
            "sensitive_values": {"statement": [{"actions": [false]}]}
          },
          {
            "address": "data.aws_ami.ubuntu",
            "mode": "data",
            "type": "aws_ami",
            "name": "ubuntu",
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "values": {"most_recent": true}
          },
          {
            "address": "aws_instance.legacy",
            "mode": "managed",
            "type": "aws_instance",
            "name": "legacy",
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "values": {"instance_type": "m1.small"}
          }
        ]
      }
    }
  },
  "configuration": {
    "provider_config": {
      "aws": {"name": "aws", "full_name": "registry.terraform.io/hashicorp/aws"}
    },
    "root_module": {
      "resources": [
        {
          "address": "aws_instance.web",
          "mode": "managed",
          "type": "aws_instance",
          "name": "web",
          "provider_config_key": "aws",
          "expressions": {
            "ami": {"references": ["data.aws_ami.ubuntu.id", "data.aws_ami.ubuntu"]},
            "instance_type": {"constant_value": "t3.micro"}
          },
          "schema_version": 1,
          "count_expression": {"constant_value": 2}
        }
      ]
    }
  }
}
"#;

    /// State as `terraform show -json` prints it after an apply.
    const STATE: &str = r#"{
  "format_version": "1.0",
  "terraform_version": "1.9.5",
  "values": {
    "outputs": {
      "bucket": {"sensitive": false, "value": "acme-logs", "type": "string"}
    },
    "root_module": {
      "resources": [
        {
          "address": "aws_s3_bucket.logs",
          "mode": "managed",
          "type": "aws_s3_bucket",
          "name": "logs",
          "provider_name": "registry.terraform.io/hashicorp/aws",
          "schema_version": 0,
          "values": {
            "arn": "arn:aws:s3:::acme-logs",
            "bucket": "acme-logs",
            "versioning": [{"enabled": false, "mfa_delete": false}]
          },
          "sensitive_values": {"versioning": [{}]},
          "depends_on": ["aws_kms_key.logs"]
        },
        {
          "address": "aws_s3_bucket.logs",
          "mode": "managed",
          "type": "aws_s3_bucket",
          "name": "logs",
          "deposed_key": "5f2a",
          "provider_name": "registry.terraform.io/hashicorp/aws",
          "values": {"bucket": "acme-logs-old"}
        }
      ],
      "child_modules": [
        {
          "address": "module.iam",
          "resources": [
            {
              "address": "module.iam.data.aws_iam_policy_document.x",
              "mode": "data",
              "type": "aws_iam_policy_document",
              "name": "x",
              "provider_name": "registry.terraform.io/hashicorp/aws",
              "values": {"json": "{}"}
            },
            {
              "address": "module.iam.aws_iam_access_key.ci",
              "mode": "managed",
              "type": "aws_iam_access_key",
              "name": "ci",
              "provider_name": "registry.terraform.io/hashicorp/aws",
              "values": {"secret": "wJalrXUtnFEMI", "user": "ci"},
              "sensitive_values": {"secret": true}
            }
          ]
        }
      ]
    }
  }
}
"#;

    fn run(text: &str) -> Normalized {
        normalize("plan.json", text, &Limits::default())
    }

    fn ids(normalized: &Normalized) -> Vec<&str> {
        normalized.resources.iter().map(|r| r.id.as_str()).collect()
    }

    fn find<'a>(normalized: &'a Normalized, id: &str) -> &'a Resource {
        normalized
            .resources
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no {id} in {:?}", ids(normalized)))
    }

    /// The 1-based line of the `nth` (0-based) line of `text` that contains `needle`.
    fn line_of(text: &str, needle: &str, nth: usize) -> u32 {
        let index = text
            .lines()
            .enumerate()
            .filter(|(_, line)| line.contains(needle))
            .nth(nth)
            .unwrap_or_else(|| panic!("{needle:?} #{nth} not in the fixture"))
            .0;
        u32::try_from(index + 1).expect("fixtures are short")
    }

    fn span_line(resource: &Resource, pointer: &str) -> Option<u32> {
        resource.spans.get(pointer).map(|span| span.line)
    }

    #[test]
    fn unknown_values_that_reference_a_resource_become_references() {
        let plan = json!({
            "format_version": "1.2",
            "planned_values": {"root_module": {"child_modules": [{
                "address": "module.site[0]",
                "resources": [
                    {"address": "module.site[0].aws_s3_bucket.this", "mode": "managed",
                     "type": "aws_s3_bucket", "name": "this", "values": {"bucket_prefix": "site-"}},
                    {"address": "module.site[0].aws_s3_bucket_versioning.this", "mode": "managed",
                     "type": "aws_s3_bucket_versioning", "name": "this",
                     "values": {"versioning_configuration": [{"status": "Enabled"}]}},
                    {"address": "module.site[0].aws_s3_bucket_policy.this", "mode": "managed",
                     "type": "aws_s3_bucket_policy", "name": "this", "values": {}},
                ],
            }]}},
            "resource_changes": [
                {"address": "module.site[0].aws_s3_bucket_versioning.this",
                 "change": {"actions": ["create"], "after_unknown": {"bucket": true, "id": true}}},
                {"address": "module.site[0].aws_s3_bucket_policy.this",
                 "change": {"actions": ["create"], "after_unknown": {"bucket": true, "policy": true}}},
            ],
            "configuration": {"root_module": {"module_calls": {"site": {"module": {"resources": [
                {"address": "aws_s3_bucket_versioning.this",
                 "expressions": {"bucket": {"references": ["aws_s3_bucket.this.id", "aws_s3_bucket.this"]},
                                 "versioning_configuration": [{"status": {"constant_value": "Enabled"}}]}},
                {"address": "aws_s3_bucket_policy.this",
                 "expressions": {"bucket": {"references": ["var.bucket"]},
                                 "policy": {"references": ["data.aws_iam_policy_document.this.json", "data.aws_iam_policy_document.this"]}}},
            ]}}}}},
        })
        .to_string();
        let normalized = run(&plan);
        assert_eq!(normalized.diagnostics, []);
        let by_id = |id: &str| {
            normalized
                .resources
                .iter()
                .find(|r| r.id == id)
                .map(|r| r.attributes.clone())
        };
        assert_eq!(
            by_id("module.site[0].aws_s3_bucket_versioning.this"),
            Some(json!({
                "bucket": {"$ref": "module.site[0].aws_s3_bucket.this.id"},
                "id": {"$unknown": "known after apply"},
                "versioning_configuration": [{"status": "Enabled"}],
            }))
        );
        assert_eq!(
            by_id("module.site[0].aws_s3_bucket_policy.this"),
            Some(json!({
                "bucket": {"$unknown": "known after apply"},
                "policy": {"$ref": "module.site[0].data.aws_iam_policy_document.this.json"},
            })),
            "a variable is not a resource; a data source is"
        );
    }

    #[test]
    fn addresses_lose_instance_keys_and_split_into_module_and_resource() {
        assert_eq!(
            without_instance_keys(r#"module.a["x.]y"].aws_instance.web[0]"#),
            "module.a.aws_instance.web"
        );
        assert_eq!(
            module_prefix(r#"module.a["x.y"].module.b.aws_instance.web[0]"#),
            r#"module.a["x.y"].module.b."#
        );
        assert_eq!(module_prefix("aws_instance.web"), "");
        assert_eq!(module_prefix("data.aws_ami.x"), "");
    }

    #[test]
    fn detects_plans_and_states() {
        assert!(looks_like_plan(PLAN));
        assert!(looks_like_plan(STATE));
        // `terraform show -json` prints one line, with a byte order mark on some Windows shells.
        let compact = json!({
            "format_version": "1.2",
            "resource_changes": [],
            "planned_values": {"root_module": {}},
        })
        .to_string();
        assert!(looks_like_plan(&compact));
        assert!(looks_like_plan(&format!("\u{feff}\n {compact}")));
        assert!(looks_like_plan(
            r#"{"format_version" : "1.2", "resource_changes" : [ ]}"#
        ));
    }

    #[test]
    fn other_json_is_not_a_plan() {
        let others = [
            // A configuration in JSON syntax, even one whose names echo plan keys.
            r#"{"resource": {"aws_s3_bucket": {"logs": {"bucket": "acme-logs"}}},
                "variable": {"format_version": {"default": "1"}},
                "locals": {"planned_values": "x"}}"#,
            r#"{"name": "web", "version": "1.0.0", "dependencies": {"values": "^1"}}"#,
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "plan"},
                "data": {"plan.json": "{\"format_version\":\"1.2\",\"planned_values\":{}}"}}"#,
            r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"template": {"spec": {"containers": [{"name": "web"}]}}}}"#,
            // State without resources has no `values`; a format version alone says nothing.
            r#"{"format_version": "1.0"}"#,
            r#"{"format_version": "1.0", "values": {"outputs": {}}}"#,
            "format_version: '1.2'\nplanned_values: {}\n",
            "[1, 2]",
            "",
        ];
        for text in others {
            assert!(!looks_like_plan(text), "{text}");
        }
    }

    #[test]
    fn plan_resources_of_every_module_with_their_addresses_and_kinds() {
        let normalized = run(PLAN);
        assert!(normalized.recognized);
        assert_eq!(normalized.diagnostics, []);
        assert_eq!(
            ids(&normalized),
            [
                "aws_s3_bucket.logs",
                "aws_instance.web[0]",
                "aws_instance.web[1]",
                "aws_iam_user.ci[\"alice\"]",
                "aws_db_instance.main",
                "data.aws_ami.ubuntu",
                "module.net.aws_security_group.web",
                "module.net.module.subnets[\"a\"].aws_subnet.private",
                "data.aws_iam_policy_document.assume",
            ]
        );
        let kinds: Vec<&str> = normalized
            .resources
            .iter()
            .map(|r| r.kind.as_str())
            .collect();
        assert_eq!(
            kinds,
            [
                "terraform/aws_s3_bucket",
                "terraform/aws_instance",
                "terraform/aws_instance",
                "terraform/aws_iam_user",
                "terraform/aws_db_instance",
                "terraform/data.aws_ami",
                "terraform/aws_security_group",
                "terraform/aws_subnet",
                "terraform/data.aws_iam_policy_document",
            ]
        );
        let subnet = find(
            &normalized,
            "module.net.module.subnets[\"a\"].aws_subnet.private",
        );
        assert_eq!(
            subnet.attributes,
            json!({"cidr_block": "10.0.1.0/24", "map_public_ip_on_launch": false})
        );
        assert!(normalized.resources.iter().all(|r| r.file == "plan.json"));
    }

    #[test]
    fn attributes_are_the_planned_values() {
        let normalized = run(PLAN);
        let bucket = find(&normalized, "aws_s3_bucket.logs");
        assert_eq!(
            bucket.attributes,
            json!({
                "bucket": "acme-logs",
                "force_destroy": false,
                "tags": {"team": "platform"},
                "versioning": [{"enabled": true, "mfa_delete": false}],
                "arn": {"$unknown": "known after apply"},
                "id": {"$unknown": "known after apply"},
                "tags_all": {"$unknown": "known after apply"},
            })
        );
        let policy = find(&normalized, "data.aws_iam_policy_document.assume");
        assert_eq!(
            policy.attributes["statement"][0]["actions"],
            json!(["sts:AssumeRole"])
        );
    }

    #[test]
    fn unknown_values_are_marked_at_nested_paths() {
        let normalized = run(PLAN);
        let unknown = json!({"$unknown": "known after apply"});
        let web = find(&normalized, "aws_instance.web[0]");
        assert_eq!(web.attributes["subnet_id"], unknown);
        assert_eq!(web.attributes["tags"], unknown);
        assert_eq!(web.attributes["root_block_device"][0]["volume_id"], unknown);
        assert_eq!(
            web.attributes["root_block_device"][0]["encrypted"],
            json!(true)
        );
        assert_eq!(
            web.attributes["metadata_options"][0]["http_endpoint"],
            unknown
        );
        assert_eq!(
            web.attributes["metadata_options"][0]["http_tokens"],
            json!("required")
        );
        // The other instance has no change entry: nothing unknown.
        let other = find(&normalized, "aws_instance.web[1]");
        assert_eq!(
            other.attributes,
            json!({"ami": "ami-0abcdef1234567890", "instance_type": "t3.micro"})
        );
        // An unknown element of a list keeps its position.
        let group = find(&normalized, "module.net.aws_security_group.web");
        assert_eq!(
            group.attributes["ingress"][0]["cidr_blocks"],
            json!(["0.0.0.0/0", unknown])
        );
        assert_eq!(group.attributes["vpc_id"], unknown);
    }

    #[test]
    fn sensitive_values_are_hidden() {
        let normalized = run(PLAN);
        let db = find(&normalized, "aws_db_instance.main");
        assert_eq!(
            db.attributes,
            json!({
                "engine": "postgres",
                "kms_key_id": null,
                "password": {"$unknown": "sensitive"},
                "storage_encrypted": false,
            })
        );
        assert!(!format!("{:?}", normalized.resources).contains("hunter2"));
    }

    #[test]
    fn resources_only_being_deleted_are_left_out() {
        let normalized = run(PLAN);
        // Listed in planned_values by hand and in prior_state, but its only action is delete.
        assert!(!ids(&normalized).contains(&"aws_instance.legacy"));
        // A deposed object's delete does not remove the live instance at the same address, and
        // a replacement (delete, create) stays.
        assert!(ids(&normalized).contains(&"aws_instance.web[0]"));
        assert!(ids(&normalized).contains(&"module.net.aws_security_group.web"));
    }

    #[test]
    fn lines_and_spans_point_into_the_json() {
        let normalized = run(PLAN);
        let bucket = find(&normalized, "aws_s3_bucket.logs");
        // The resource's object starts on the line before its address.
        let start = line_of(PLAN, "\"address\": \"aws_s3_bucket.logs\"", 0) - 1;
        assert_eq!(bucket.line, start);
        assert_eq!(
            bucket.end_line,
            line_of(PLAN, "\"sensitive_values\"", 0) + 6
        );
        assert_eq!(span_line(bucket, ""), Some(start));
        assert_eq!(
            span_line(bucket, "/versioning/0/enabled"),
            Some(line_of(PLAN, "\"enabled\": true", 0))
        );
        assert_eq!(
            bucket.locate("/versioning/0/enabled"),
            Span {
                line: line_of(PLAN, "\"enabled\": true", 0),
                column: 17
            }
        );
        assert_eq!(
            span_line(bucket, "/versioning/0"),
            Some(line_of(PLAN, "\"versioning\": [", 0) + 1)
        );
        assert_eq!(
            span_line(bucket, "/tags/team"),
            Some(line_of(PLAN, "\"team\": \"platform\"", 0))
        );
        // Unknowns the plan leaves out point at their resource, or at the block they belong to.
        assert_eq!(span_line(bucket, "/arn"), Some(start));
        let web = find(&normalized, "aws_instance.web[0]");
        assert_eq!(span_line(web, "/subnet_id"), Some(web.line));
        assert_eq!(
            span_line(web, "/root_block_device/0/volume_id"),
            Some(line_of(PLAN, "\"root_block_device\": [", 0) + 1)
        );
        // A replaced value keeps the line of its key.
        assert_eq!(
            span_line(web, "/tags"),
            Some(line_of(PLAN, "\"tags\": null", 0))
        );
        let group = find(&normalized, "module.net.aws_security_group.web");
        assert_eq!(
            span_line(group, "/ingress/0/cidr_blocks/1"),
            Some(line_of(PLAN, "\"0.0.0.0/0\",", 0) + 1)
        );
        let db = find(&normalized, "aws_db_instance.main");
        assert_eq!(
            span_line(db, "/password"),
            Some(line_of(PLAN, "\"password\": \"hunter2", 0))
        );
        // Every attribute has a span.
        for resource in &normalized.resources {
            let mut missing = Vec::new();
            collect_pointers(&resource.attributes, &mut String::new(), &mut |pointer| {
                if resource.spans.get(pointer).is_none() {
                    missing.push(pointer.to_owned());
                }
            });
            assert_eq!(missing, Vec::<String>::new(), "{}", resource.id);
        }
    }

    fn collect_pointers(value: &Json, pointer: &mut String, on: &mut impl FnMut(&str)) {
        on(pointer);
        if is_unknown(value) {
            return;
        }
        let parent = pointer.len();
        match value {
            Json::Object(object) => {
                for (key, member) in object {
                    pointer.push('/');
                    yaml::push_pointer_token(pointer, key);
                    collect_pointers(member, pointer, on);
                    pointer.truncate(parent);
                }
            }
            Json::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    write!(pointer, "/{index}").expect("writing to a String cannot fail");
                    collect_pointers(item, pointer, on);
                    pointer.truncate(parent);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn state_is_read_from_values() {
        let normalized = normalize("terraform.tfstate.json", STATE, &Limits::default());
        assert!(normalized.recognized);
        assert_eq!(normalized.diagnostics, []);
        assert_eq!(
            ids(&normalized),
            [
                "aws_s3_bucket.logs",
                "module.iam.data.aws_iam_policy_document.x",
                "module.iam.aws_iam_access_key.ci",
            ]
        );
        let bucket = &normalized.resources[0];
        assert_eq!(bucket.attributes["bucket"], json!("acme-logs"));
        assert_eq!(
            span_line(bucket, "/versioning/0/enabled"),
            Some(line_of(STATE, "\"versioning\": [{\"enabled\": false", 0))
        );
        assert_eq!(
            normalized.resources[1].kind,
            "terraform/data.aws_iam_policy_document"
        );
        assert_eq!(
            normalized.resources[2].attributes,
            json!({"secret": {"$unknown": "sensitive"}, "user": "ci"})
        );
    }

    #[test]
    fn addresses_are_built_when_missing() {
        let text = r#"{
  "format_version": "1.2",
  "planned_values": {"root_module": {
    "resources": [
      {"mode": "managed", "type": "aws_instance", "name": "web", "index": 3, "values": {}},
      {"mode": "data", "type": "aws_ami", "name": "x", "index": "a\"b", "values": null}
    ],
    "child_modules": [{"address": "module.m[0]", "resources": [
      {"mode": "managed", "type": "aws_vpc", "name": "main"}
    ]}]
  }}
}"#;
        let normalized = run(text);
        assert_eq!(normalized.diagnostics, []);
        assert_eq!(
            ids(&normalized),
            [
                "aws_instance.web[3]",
                "data.aws_ami.x[\"a\\\"b\"]",
                "module.m[0].aws_vpc.main"
            ]
        );
        assert_eq!(normalized.resources[2].attributes, json!({}));
    }

    #[test]
    fn a_plan_without_planned_values_is_read_from_its_changes() {
        let text = r#"{
  "format_version": "1.2",
  "resource_changes": [
    {
      "address": "module.a.aws_s3_bucket.b",
      "module_address": "module.a",
      "mode": "managed",
      "type": "aws_s3_bucket",
      "name": "b",
      "change": {
        "actions": ["create"],
        "after": {"bucket": "b", "acl": "public-read"},
        "after_unknown": {"id": true}
      }
    },
    {
      "address": "aws_s3_bucket.gone",
      "mode": "managed",
      "type": "aws_s3_bucket",
      "name": "gone",
      "change": {"actions": ["delete"], "before": {}, "after": null}
    }
  ]
}"#;
        let normalized = run(text);
        assert_eq!(normalized.diagnostics, []);
        assert_eq!(ids(&normalized), ["module.a.aws_s3_bucket.b"]);
        let bucket = &normalized.resources[0];
        assert_eq!(
            bucket.attributes,
            json!({"bucket": "b", "acl": "public-read", "id": {"$unknown": "known after apply"}})
        );
        assert_eq!(bucket.line, 4);
        assert_eq!(span_line(bucket, "/acl"), Some(12));
    }

    #[test]
    fn malformed_json_is_reported_with_its_line() {
        let text = "{\n  \"format_version\": \"1.2\",\n  \"planned_values\": {\n    \"root_module\": {,}\n  }\n}\n";
        assert!(looks_like_plan(text));
        let normalized = run(text);
        assert!(normalized.recognized);
        assert!(normalized.resources.is_empty());
        let [diagnostic] = normalized.diagnostics.as_slice() else {
            panic!("one diagnostic expected: {:?}", normalized.diagnostics);
        };
        assert_eq!(diagnostic.file, "plan.json");
        assert_eq!(diagnostic.line, Some(4));
        assert!(
            diagnostic
                .message
                .starts_with("invalid JSON in Terraform plan"),
            "{}",
            diagnostic.message
        );
        let truncated = &PLAN[..PLAN.len() / 2];
        let normalized = run(truncated);
        assert_eq!(normalized.diagnostics.len(), 1);
        assert!(normalized.resources.is_empty());
    }

    #[test]
    fn unexpected_structure_is_reported_and_the_rest_is_read() {
        let text = r#"{
  "format_version": "1.2",
  "planned_values": {
    "root_module": {
      "resources": {"aws_s3_bucket.logs": {}},
      "child_modules": [
        {
          "address": "module.a",
          "resources": [
            "aws_vpc.main",
            {"address": "module.a.aws_vpc.main", "mode": "managed", "type": "aws_vpc",
             "name": "main", "values": {"cidr_block": "10.0.0.0/16"}},
            {"address": "module.a.aws_vpc.odd", "mode": "ephemeral", "type": "aws_vpc"},
            {"address": "module.a.aws_vpc.bad", "mode": "managed", "type": "aws_vpc",
             "values": [1]}
          ]
        },
        7
      ]
    }
  },
  "resource_changes": {"address": "x"}
}"#;
        let normalized = run(text);
        assert_eq!(
            ids(&normalized),
            ["module.a.aws_vpc.main", "module.a.aws_vpc.bad"]
        );
        assert_eq!(normalized.resources[1].attributes, json!({}));
        let messages: Vec<(Option<u32>, &str)> = normalized
            .diagnostics
            .iter()
            .map(|d| (d.line, d.message.as_str()))
            .collect();
        assert_eq!(
            messages,
            [
                (
                    Some(22),
                    "`resource_changes` should be a list, found an object"
                ),
                (
                    Some(5),
                    "`planned_values.root_module.resources` should be a list, found an object"
                ),
                (
                    Some(10),
                    "`planned_values.root_module.child_modules[0].resources[0]` should be an \
                     object, found a string"
                ),
                (
                    Some(13),
                    "`planned_values.root_module.child_modules[0].resources[2].mode` should be \
                     \"managed\" or \"data\", found \"ephemeral\""
                ),
                (
                    Some(15),
                    "`planned_values.root_module.child_modules[0].resources[3].values` should \
                     be an object, found a list"
                ),
                (
                    Some(18),
                    "`planned_values.root_module.child_modules[1]` should be an object, found a \
                     number"
                ),
            ]
        );
    }

    /// A plan whose modules nest `depth` levels below the root, one resource in the deepest.
    /// Built as text: a `serde_json::Value` this deep would overflow the stack when dropped.
    fn nested_plan(depth: usize) -> String {
        let mut text =
            String::from(r#"{"format_version": "1.2", "planned_values": {"root_module": "#);
        text.push_str(&r#"{"address": "module.m", "child_modules": ["#.repeat(depth));
        text.push_str(
            r#"{"address": "module.m", "resources": [{"address": "deep.x", "mode": "managed", "type": "null_resource", "name": "x"}]}"#,
        );
        text.push_str(&"]}".repeat(depth));
        text.push_str("}}");
        text
    }

    #[test]
    fn nested_modules_are_bounded_by_the_depth_limit() {
        // Within the parser's limit, but not the module walk's.
        let text = nested_plan(5);
        let (documents, error) = yaml::parse_json(&text, &Limits::default());
        assert_eq!(error, None);
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        let mut reader = Reader::new("plan.json", &limits);
        reader.read(&documents[0]);
        assert!(reader.resources.is_empty());
        let [diagnostic] = reader.diagnostics.as_slice() else {
            panic!("one diagnostic expected: {:?}", reader.diagnostics);
        };
        assert!(
            diagnostic
                .message
                .ends_with("modules nested deeper than 3 levels are not read"),
            "{}",
            diagnostic.message
        );
        assert_eq!(ids(&run(&text)), ["deep.x"]);

        // Far past every limit: the parser stops it, without overflowing the stack.
        let normalized = run(&nested_plan(10_000));
        assert!(normalized.resources.is_empty());
        assert_eq!(normalized.diagnostics.len(), 1);
        assert!(
            normalized.diagnostics[0]
                .message
                .starts_with("stopped reading Terraform plan"),
            "{}",
            normalized.diagnostics[0].message
        );
    }

    #[test]
    fn odd_documents_do_not_panic() {
        for text in [
            "{}",
            "{\"format_version\": 2, \"planned_values\": 1}",
            "{\"format_version\": \"1.2\", \"planned_values\": {\"root_module\": []}}",
            "{\"format_version\": \"1.2\", \"planned_values\": {\"root_module\": {\"resources\": [{\"mode\": \"managed\"}]}}}",
            "{\"format_version\": \"1.2\", \"resource_changes\": [{\"address\": 1}, {\"address\": \"a.b\", \"change\": 3}]}",
            "[]",
            "",
            "\"x\"",
        ] {
            let normalized = run(text);
            assert!(normalized.recognized, "{text}");
            assert!(normalized.resources.is_empty(), "{text}");
        }
        let normalized = run(
            "{\"format_version\": \"2.0\", \"errored\": true, \"planned_values\": {\"root_module\": {}}}",
        );
        assert_eq!(
            normalized.diagnostics.len(),
            2,
            "{:?}",
            normalized.diagnostics
        );
    }
}
