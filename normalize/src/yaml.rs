//! A YAML (and JSON) document tree that keeps source positions.
//!
//! Built on yaml-rust2's event parser rather than its `YamlLoader`, which drops positions and
//! expands aliases without bound. The tree is built iteratively (an explicit stack), so hostile
//! nesting ends in a [`ParseError`] instead of a stack overflow, and every alias expansion is
//! charged against [`Limits::max_nodes`] (billion laughs). Collections are shared between an
//! anchor and its aliases rather than copied, so even a rejected expansion costs no work.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use crate::resource::{Limits, Span, SpanTable};

/// A YAML node and where it starts and ends in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Line of the node's first token (1-based).
    pub line: u32,
    /// Column of the node's first token (1-based, in characters).
    pub column: u32,
    /// Last line of any token in the node's subtree; for an alias, the alias's own line.
    pub end_line: u32,
    /// An application tag such as `!Ref`; core schema tags (`!!str`, `!!int`...) are applied
    /// to the value instead of being kept.
    pub tag: Option<String>,
    pub value: Value,
}

/// The data of a [`Node`], resolved with the YAML 1.2 core schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// Always finite: `.inf` and `.nan` stay strings, as JSON cannot hold them.
    Float(f64),
    String(String),
    /// Elements in source order; shared with the anchor when the node is an alias.
    Seq(Arc<Vec<Node>>),
    /// Members in source order, keys unique (the last duplicate wins), merge keys applied;
    /// shared with the anchor when the node is an alias.
    Map(Arc<Vec<Entry>>),
}

/// One member of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key as text; non-string keys are written out (`1`, `true`, `["a"]`).
    pub key: String,
    /// Where the key starts.
    pub key_span: Span,
    pub value: Node,
}

/// Why a stream could not be read to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The text is not valid YAML.
    Syntax,
    /// The text exceeds one of the [`Limits`] (nesting, node count, alias expansion, size).
    Limit,
}

/// A YAML syntax error or exceeded limit, with its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: u32,
    pub column: u32,
    pub kind: ParseErrorKind,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.message, self.line, self.column
        )
    }
}

impl std::error::Error for ParseError {}

/// Parses every document of a YAML stream (JSON is YAML 1.2, so JSON files go through here too).
///
/// Returns the documents completed before any error, plus the error.
pub fn parse_documents(text: &str, limits: &Limits) -> (Vec<Node>, Option<ParseError>) {
    let mut documents = Vec::new();
    let error = parse_each_document(text, limits, |document| documents.push(document));
    (documents, error)
}

/// Parses a YAML stream like [`parse_documents`], handing each document to `on_document` as
/// soon as it is complete, so a caller can convert and drop it before the next is built.
pub fn parse_each_document(
    text: &str,
    limits: &Limits,
    on_document: impl FnMut(Node),
) -> Option<ParseError> {
    if u64::try_from(text.len()).unwrap_or(u64::MAX) > limits.max_file_bytes {
        return Some(ParseError {
            line: 1,
            column: 1,
            kind: ParseErrorKind::Limit,
            message: format!("file is larger than {} bytes", limits.max_file_bytes),
        });
    }
    // yaml-rust2 does not skip a byte order mark; it would become part of the first token.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parser = Parser::new_from_str(text);
    let mut builder = Builder::new(text, limits, on_document);
    loop {
        let outcome = match parser.next_token() {
            Ok((event, mark)) => builder.on_event(event, mark),
            Err(error) => Err(scan_error(&error, limits)),
        };
        match outcome {
            Ok(Flow::Continue) => {}
            Ok(Flow::StreamEnd) => return None,
            Err(error) => return Some(error),
        }
    }
}

/// Parses a JSON text, like [`parse_documents`] but also accepting tabs wherever JSON allows
/// whitespace.
pub fn parse_json(text: &str, limits: &Limits) -> (Vec<Node>, Option<ParseError>) {
    let mut documents = Vec::new();
    let error = parse_each_json_document(text, limits, |document| documents.push(document));
    (documents, error)
}

/// Parses a JSON text like [`parse_json`], handing each document to `on_document`.
pub fn parse_each_json_document(
    text: &str,
    limits: &Limits,
    on_document: impl FnMut(Node),
) -> Option<ParseError> {
    // yaml-rust2 rejects a tab between `:` and a plain scalar ("':' must be followed by a valid
    // YAML whitespace"). JSON allows no raw tab inside strings, so in valid JSON every tab is
    // insignificant whitespace, and a space in its place keeps every line and column.
    if text.contains('\t') {
        parse_each_document(&text.replace('\t', " "), limits, on_document)
    } else {
        parse_each_document(text, limits, on_document)
    }
}

impl Node {
    /// The node as JSON, consuming it so strings move instead of being copied; tags are
    /// dropped (the value under a tag is kept).
    pub fn into_json(self) -> serde_json::Value {
        use serde_json::Value as Json;
        match self.value {
            Value::String(s) => Json::String(s),
            Value::Seq(items) => match Arc::try_unwrap(items) {
                Ok(items) => Json::Array(items.into_iter().map(Node::into_json).collect()),
                Err(shared) => Json::Array(shared.iter().map(Node::to_json).collect()),
            },
            Value::Map(entries) => match Arc::try_unwrap(entries) {
                Ok(entries) => Json::Object(
                    entries
                        .into_iter()
                        .map(|entry| (entry.key, entry.value.into_json()))
                        .collect(),
                ),
                Err(shared) => map_to_json(&shared),
            },
            Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => self.to_json(),
        }
    }

    /// The node as JSON; tags are dropped (the value under a tag is kept).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as Json;
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::String(s) => Json::String(s.clone()),
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => map_to_json(entries),
        }
    }

    /// Records a span for this node at `pointer` and for every descendant (object members at
    /// their key's position, array elements at the element's position), escaping pointer tokens
    /// per RFC 6901 (`~0`, `~1`).
    pub fn record_spans(&self, pointer: &mut String, table: &mut SpanTable) {
        table.insert(pointer.clone(), self.span());
        self.record_child_spans(pointer, table);
    }

    fn record_child_spans(&self, pointer: &mut String, table: &mut SpanTable) {
        let parent = pointer.len();
        match &self.value {
            Value::Seq(items) => {
                for (index, item) in items.iter().enumerate() {
                    write!(pointer, "/{index}").expect("writing to a String cannot fail");
                    item.record_spans(pointer, table);
                    pointer.truncate(parent);
                }
            }
            Value::Map(entries) => {
                for entry in entries.iter() {
                    pointer.push('/');
                    push_pointer_token(pointer, &entry.key);
                    table.insert(pointer.clone(), entry.key_span);
                    entry.value.record_child_spans(pointer, table);
                    pointer.truncate(parent);
                }
            }
            _ => {}
        }
    }

    /// The member `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|entry| entry.key == key)
            .map(|entry| &entry.value)
    }

    /// The text of a string node.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The members of a mapping node.
    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The elements of a sequence node.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// Where the node starts.
    pub fn span(&self) -> Span {
        Span {
            line: self.line,
            column: self.column,
        }
    }

    /// The node written as text: strings as they are, other scalars as YAML spells them,
    /// collections as JSON.
    pub fn to_text(&self) -> String {
        match &self.value {
            Value::Null => "null".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::String(s) => s.clone(),
            Value::Seq(_) | Value::Map(_) => self.to_json().to_string(),
        }
    }
}

fn map_to_json(entries: &[Entry]) -> serde_json::Value {
    serde_json::Value::Object(
        entries
            .iter()
            .map(|entry| (entry.key.clone(), entry.value.to_json()))
            .collect(),
    )
}

/// Appends `token` to a JSON pointer, escaping `~` and `/` (RFC 6901).
pub fn push_pointer_token(pointer: &mut String, token: &str) {
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

fn scan_error(error: &ScanError, limits: &Limits) -> ParseError {
    let (line, column) = position(*error.marker());
    // yaml-rust2 keeps its flow depth in a u8 and fails at 256 levels, sometimes before our own
    // depth check sees the events (it scans ahead); report it as the limit it is.
    if error.info() == "recursion limit exceeded" {
        return ParseError {
            line,
            column,
            kind: ParseErrorKind::Limit,
            message: depth_message(limits.max_depth.min(255)),
        };
    }
    ParseError {
        line,
        column,
        kind: ParseErrorKind::Syntax,
        message: error.info().to_owned(),
    }
}

fn depth_message(max_depth: usize) -> String {
    format!("nesting deeper than {max_depth} levels")
}

/// yaml-rust2 markers have 1-based lines and 0-based columns.
fn position(mark: Marker) -> (u32, u32) {
    let line = u32::try_from(mark.line()).unwrap_or(u32::MAX).max(1);
    let column = u32::try_from(mark.col())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    (line, column)
}

enum Flow {
    Continue,
    StreamEnd,
}

/// Turns parser events into [`Node`]s, one open collection per stack frame.
struct Builder<'a, F> {
    limits: &'a Limits,
    source: Source<'a>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    /// Nodes in the file so far, counting every alias as the full subtree it stands for.
    nodes: usize,
    /// Bytes of text aliases stand for so far.
    copied_bytes: usize,
    root: Option<Node>,
    on_document: F,
}

/// An anchored node kept for its aliases, with the cost of expanding one of them.
struct Anchored {
    node: Node,
    nodes: usize,
    bytes: usize,
}

struct Frame {
    line: u32,
    column: u32,
    /// Last line of content seen in the collection so far.
    end_line: u32,
    tag: Option<String>,
    anchor: usize,
    /// Nodes and bytes of text in the subtree so far: what an alias to it will cost.
    nodes: usize,
    bytes: usize,
    body: Body,
}

enum Body {
    Seq(Vec<Node>),
    Map(MapBuilder),
}

/// A mapping under construction.
#[derive(Default)]
struct MapBuilder {
    entries: Vec<Entry>,
    /// Key → position in `entries`, built once the mapping is large enough for linear lookups
    /// to hurt.
    index: Option<HashMap<String, usize>>,
    key: Option<PendingKey>,
    first_key: Option<Span>,
    /// Values of `<<` keys, merged when the mapping ends so explicit keys win wherever they are.
    merges: Vec<Node>,
}

struct PendingKey {
    text: String,
    span: Span,
    merge: bool,
}

const INDEXED_MAP_LEN: usize = 16;

impl MapBuilder {
    fn set_key(&mut self, key: PendingKey) {
        if self.first_key.is_none() {
            self.first_key = Some(key.span);
        }
        self.key = Some(key);
    }

    fn find(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self.entries.iter().position(|entry| entry.key == key),
        }
    }

    fn insert_value(&mut self, key: PendingKey, value: Node) {
        if key.merge && is_mergeable(&value) {
            self.merges.push(value);
            return;
        }
        self.insert(Entry {
            key: key.text,
            key_span: key.span,
            value,
        });
    }

    /// Adds `entry`, replacing an earlier member with the same key (the last one wins).
    fn insert(&mut self, entry: Entry) {
        if let Some(at) = self.find(&entry.key) {
            self.entries[at] = entry;
        } else {
            self.push_new(entry);
        }
    }

    fn push_new(&mut self, entry: Entry) {
        if let Some(index) = &mut self.index {
            index.insert(entry.key.clone(), self.entries.len());
        }
        self.entries.push(entry);
        if self.index.is_none() && self.entries.len() >= INDEXED_MAP_LEN {
            let index = self
                .entries
                .iter()
                .enumerate()
                .map(|(at, entry)| (entry.key.clone(), at))
                .collect();
            self.index = Some(index);
        }
    }

    fn finish(mut self) -> Vec<Entry> {
        if let Some(key) = self.key.take() {
            let value = Node {
                line: key.span.line,
                column: key.span.column,
                end_line: key.span.line,
                tag: None,
                value: Value::Null,
            };
            self.insert_value(key, value);
        }
        for source in std::mem::take(&mut self.merges) {
            match &source.value {
                Value::Map(entries) => self.merge(entries),
                Value::Seq(items) => {
                    // Earlier mappings in `<<: [*a, *b]` take precedence, so merge in order.
                    for item in items.iter() {
                        if let Value::Map(entries) = &item.value {
                            self.merge(entries);
                        }
                    }
                }
                _ => {}
            }
        }
        self.entries
    }

    fn merge(&mut self, entries: &[Entry]) {
        for entry in entries {
            if self.find(&entry.key).is_none() {
                // Cheap: the member's collections are shared, only its key and scalars copy.
                self.push_new(entry.clone());
            }
        }
    }
}

/// A `<<` value that can be merged: a mapping or a sequence of mappings. Anything else stays an
/// ordinary `<<` member.
fn is_mergeable(value: &Node) -> bool {
    match &value.value {
        Value::Map(_) => true,
        Value::Seq(items) => items.iter().all(|item| matches!(item.value, Value::Map(_))),
        _ => false,
    }
}

impl<'a, F: FnMut(Node)> Builder<'a, F> {
    fn new(text: &'a str, limits: &'a Limits, on_document: F) -> Self {
        Builder {
            limits,
            source: Source::new(text),
            stack: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            copied_bytes: 0,
            root: None,
            on_document,
        }
    }

    fn on_event(&mut self, event: Event, mark: Marker) -> Result<Flow, ParseError> {
        match event {
            Event::Nothing | Event::StreamStart => {}
            Event::StreamEnd => return Ok(Flow::StreamEnd),
            Event::DocumentStart => {
                // Anchors are scoped to their document.
                self.anchors.clear();
                self.stack.clear();
                self.root = None;
            }
            Event::DocumentEnd => {
                self.stack.clear();
                if let Some(root) = self.root.take() {
                    (self.on_document)(root);
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.scalar(text, style, anchor, tag, mark)?;
            }
            Event::Alias(anchor) => self.alias(anchor, mark)?,
            Event::SequenceStart(anchor, tag) => {
                self.open(Body::Seq(Vec::new()), anchor, tag, mark)?;
            }
            Event::MappingStart(anchor, tag) => {
                self.open(Body::Map(MapBuilder::default()), anchor, tag, mark)?;
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(mark)?,
        }
        Ok(Flow::Continue)
    }

    fn count_node(&mut self, mark: Marker) -> Result<(), ParseError> {
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            return Err(limit_error(
                mark,
                format!("file has more than {} nodes", self.limits.max_nodes),
            ));
        }
        Ok(())
    }

    fn scalar(
        &mut self,
        text: String,
        style: TScalarStyle,
        anchor: usize,
        tag: Option<Tag>,
        mark: Marker,
    ) -> Result<(), ParseError> {
        self.count_node(mark)?;
        let (line, column) = position(mark);
        let quoted = matches!(
            style,
            TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted
        );
        // An empty unquoted scalar is often implicit (`key:` with no value); the parser marks it
        // at the *next* token, which must not stretch the parent's last line.
        let has_content = quoted || !text.is_empty();
        let end_line = if has_content {
            self.source
                .scalar_end_line(mark.index(), line, style, &text)
        } else {
            line
        };
        let content_end = if has_content { end_line } else { 0 };
        let bytes = text.len();

        if anchor == 0
            && let Some(Frame {
                body: Body::Map(map),
                ..
            }) = self.stack.last()
            && map.key.is_none()
        {
            // A scalar key keeps its text as written: `1:` is the key "1", `0x10:` is "0x10".
            let merge = style == TScalarStyle::Plain && tag.is_none() && text == "<<";
            let key = PendingKey {
                text,
                span: Span { line, column },
                merge,
            };
            let frame = self.stack.last_mut().expect("checked above");
            frame.nodes += 1;
            frame.bytes += bytes;
            frame.end_line = frame.end_line.max(content_end);
            if let Body::Map(map) = &mut frame.body {
                map.set_key(key);
            }
            return Ok(());
        }

        let (value, tag) = resolve_scalar(text, style, classify_tag(tag));
        let node = Node {
            line,
            column,
            end_line,
            tag,
            value,
        };
        self.complete(node, 1, bytes, content_end, anchor);
        Ok(())
    }

    fn alias(&mut self, anchor: usize, mark: Marker) -> Result<(), ParseError> {
        let Some(anchored) = self.anchors.get(&anchor) else {
            return Err(error_at(
                mark,
                ParseErrorKind::Syntax,
                "alias refers to an anchor that is still open or in another document".into(),
            ));
        };
        let (nodes, bytes) = (anchored.nodes, anchored.bytes);
        self.charge_expansion(nodes, bytes, mark)?;
        let anchored = self.anchors.get(&anchor).expect("looked up above");
        let mut node = anchored.node.clone();
        let (line, column) = position(mark);
        node.line = line;
        node.column = column;
        node.end_line = line;
        self.attach(node, nodes, bytes, line);
        Ok(())
    }

    /// Checks, before expanding an alias, that the expansion stays in budget.
    fn charge_expansion(
        &mut self,
        nodes: usize,
        bytes: usize,
        mark: Marker,
    ) -> Result<(), ParseError> {
        if self.nodes.saturating_add(nodes) > self.limits.max_nodes {
            return Err(limit_error(
                mark,
                format!(
                    "document expands to more than {} nodes (alias expansion)",
                    self.limits.max_nodes
                ),
            ));
        }
        // Node counting alone misses a few aliases of one huge string, which cost a copy here
        // and in every consumer of the tree; cap the text, at what one file may hold.
        let byte_budget = usize::try_from(self.limits.max_file_bytes).unwrap_or(usize::MAX);
        if self.copied_bytes.saturating_add(bytes) > byte_budget {
            return Err(limit_error(
                mark,
                format!(
                    "document expands to more than {byte_budget} bytes of text (alias expansion)"
                ),
            ));
        }
        self.nodes += nodes;
        self.copied_bytes += bytes;
        Ok(())
    }

    fn open(
        &mut self,
        body: Body,
        anchor: usize,
        tag: Option<Tag>,
        mark: Marker,
    ) -> Result<(), ParseError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(limit_error(mark, depth_message(self.limits.max_depth)));
        }
        self.count_node(mark)?;
        let (line, column) = position(mark);
        let tag = match classify_tag(tag) {
            Some(TagRule::Application(tag)) => Some(tag),
            _ => None,
        };
        self.stack.push(Frame {
            line,
            column,
            end_line: line,
            tag,
            anchor,
            nodes: 1,
            bytes: 0,
            body,
        });
        Ok(())
    }

    fn close(&mut self, mark: Marker) -> Result<(), ParseError> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        let mut end_line = frame.end_line;
        // A flow collection ends at its `]` or `}`; a block collection's end event is marked at
        // whatever token follows it, possibly many lines later.
        if matches!(self.source.char_at(mark.index()), Some(']' | '}')) {
            end_line = end_line.max(position(mark).0);
        }
        let mut start = Span {
            line: frame.line,
            column: frame.column,
        };
        let value = match frame.body {
            Body::Seq(items) => Value::Seq(Arc::new(items)),
            Body::Map(map) => {
                // A block mapping's start event is marked at its first `:`; its first key is
                // where it really starts.
                if let Some(first_key) = map.first_key {
                    start = start.min(first_key);
                }
                Value::Map(Arc::new(map.finish()))
            }
        };
        let node = Node {
            line: start.line,
            column: start.column,
            end_line,
            tag: frame.tag,
            value,
        };
        self.complete(node, frame.nodes, frame.bytes, end_line, frame.anchor);
        Ok(())
    }

    /// Registers a finished node under its anchor, if any, and adds it to its parent.
    fn complete(
        &mut self,
        node: Node,
        nodes: usize,
        bytes: usize,
        content_end: u32,
        anchor: usize,
    ) {
        if anchor != 0 {
            // Shares the node's collections; only a scalar's text is copied.
            let anchored = Anchored {
                node: node.clone(),
                nodes,
                bytes,
            };
            self.anchors.insert(anchor, anchored);
        }
        self.attach(node, nodes, bytes, content_end);
    }

    fn attach(&mut self, node: Node, nodes: usize, bytes: usize, content_end: u32) {
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(node);
            return;
        };
        frame.nodes += nodes;
        frame.bytes += bytes;
        frame.end_line = frame.end_line.max(content_end);
        match &mut frame.body {
            Body::Seq(items) => items.push(node),
            Body::Map(map) => match map.key.take() {
                Some(key) => map.insert_value(key, node),
                None => map.set_key(PendingKey {
                    text: node.to_text(),
                    span: node.span(),
                    merge: false,
                }),
            },
        }
    }
}

fn limit_error(mark: Marker, message: String) -> ParseError {
    error_at(mark, ParseErrorKind::Limit, message)
}

fn error_at(mark: Marker, kind: ParseErrorKind, message: String) -> ParseError {
    let (line, column) = position(mark);
    ParseError {
        line,
        column,
        kind,
        message,
    }
}

/// What a tag asks of its node.
enum TagRule {
    /// A YAML core schema tag (`!!str`, `!!int`...), by its suffix.
    Core(String),
    /// The non-specific `!`: the scalar is a string.
    NonSpecific,
    /// Any other tag (`!Ref`, `!!binary`...), kept on the node.
    Application(String),
}

const CORE_TAG_PREFIX: &str = "tag:yaml.org,2002:";
const CORE_SCHEMA_TAGS: [&str; 7] = ["str", "int", "float", "bool", "null", "seq", "map"];

fn classify_tag(tag: Option<Tag>) -> Option<TagRule> {
    let Tag { handle, suffix } = tag?;
    Some(if handle == CORE_TAG_PREFIX {
        if CORE_SCHEMA_TAGS.contains(&suffix.as_str()) {
            TagRule::Core(suffix)
        } else {
            TagRule::Application(format!("!!{suffix}"))
        }
    } else if handle.is_empty() && suffix == "!" {
        TagRule::NonSpecific
    } else {
        TagRule::Application(handle + &suffix)
    })
}

/// Resolves a scalar's text to a value, returning the tag to keep on the node.
fn resolve_scalar(
    text: String,
    style: TScalarStyle,
    rule: Option<TagRule>,
) -> (Value, Option<String>) {
    let value = match rule {
        None if style == TScalarStyle::Plain => resolve_plain(text),
        None | Some(TagRule::NonSpecific) => Value::String(text),
        Some(TagRule::Application(tag)) => return (Value::String(text), Some(tag)),
        Some(TagRule::Core(core)) => match core.as_str() {
            "null" => Value::Null,
            "bool" => parse_bool(&text).map_or(Value::String(text), Value::Bool),
            "int" => parse_int(&text).map_or(Value::String(text), Value::Int),
            "float" => parse_float(&text)
                .or_else(|| parse_int(&text).map(|i| i as f64))
                .map_or(Value::String(text), Value::Float),
            // `!!str`, and `!!seq`/`!!map` misplaced on a scalar.
            _ => Value::String(text),
        },
    };
    (value, None)
}

/// Resolves an untagged plain scalar with the YAML 1.2 core schema.
fn resolve_plain(text: String) -> Value {
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        _ => {}
    }
    if let Some(b) = parse_bool(&text) {
        return Value::Bool(b);
    }
    if !text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.')) {
        return Value::String(text);
    }
    if let Some(i) = parse_int(&text) {
        return Value::Int(i);
    }
    if is_decimal_int(&text) {
        // Too large for i64: keep the magnitude as a float, as JSON tools do.
        return text
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map_or(Value::String(text), Value::Float);
    }
    parse_float(&text).map_or(Value::String(text), Value::Float)
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Core schema integers: `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`.
fn parse_int(text: &str) -> Option<i64> {
    if let Some(octal) = text.strip_prefix("0o") {
        return radix_digits(octal, 8);
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return radix_digits(hex, 16);
    }
    if is_decimal_int(text) {
        return text.parse().ok();
    }
    None
}

fn radix_digits(digits: &str, radix: u32) -> Option<i64> {
    // from_str_radix would also accept a sign, which the core schema does not.
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    i64::from_str_radix(digits, radix).ok()
}

fn is_decimal_int(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Core schema floats, `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, when finite.
/// `.inf` and `.nan` give `None`: JSON has no such numbers, so they stay strings.
fn parse_float(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let mut at = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    let digits = |at: &mut usize| {
        let start = *at;
        while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
            *at += 1;
        }
        *at - start
    };
    let whole = digits(&mut at);
    let mut fraction = 0;
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        fraction = digits(&mut at);
    }
    if whole == 0 && fraction == 0 {
        return None;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'-' | b'+')) {
            at += 1;
        }
        if digits(&mut at) == 0 {
            return None;
        }
    }
    if at != bytes.len() {
        return None;
    }
    text.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// The source text, for what the parser's events do not say: where a scalar ends and which
/// character closes a collection.
struct Source<'a> {
    text: &'a str,
    /// Markers count characters; in ASCII text that is also the byte offset.
    ascii: bool,
    /// A cursor (character index, byte offset), moved to each lookup: events come in source
    /// order, so converting every marker costs one pass over the text in total.
    chars: usize,
    bytes: usize,
}

impl<'a> Source<'a> {
    fn new(text: &'a str) -> Self {
        Source {
            text,
            ascii: text.is_ascii(),
            chars: 0,
            bytes: 0,
        }
    }

    /// Byte offset of the character at `char_index`, if inside the text.
    fn byte_offset(&mut self, char_index: usize) -> Option<usize> {
        if self.ascii {
            return (char_index < self.text.len()).then_some(char_index);
        }
        if char_index >= self.chars {
            let mut rest = self.text[self.bytes..].chars();
            while self.chars < char_index {
                self.bytes += rest.next()?.len_utf8();
                self.chars += 1;
            }
        } else {
            let mut before = self.text[..self.bytes].chars().rev();
            while self.chars > char_index {
                self.bytes -= before.next()?.len_utf8();
                self.chars -= 1;
            }
        }
        (self.bytes < self.text.len()).then_some(self.bytes)
    }

    fn char_at(&mut self, char_index: usize) -> Option<char> {
        let at = self.byte_offset(char_index)?;
        self.text[at..].chars().next()
    }

    /// Last line of the scalar starting at `char_index` on `line`: the parser only marks where
    /// a scalar starts, and quoted, plain and block scalars may all span lines.
    fn scalar_end_line(
        &mut self,
        char_index: usize,
        line: u32,
        style: TScalarStyle,
        value: &str,
    ) -> u32 {
        let Some(start) = self.byte_offset(char_index) else {
            return line;
        };
        let rest = &self.text.as_bytes()[start..];
        let newlines = match style {
            TScalarStyle::SingleQuoted => quoted_newlines(rest, b'\'', false),
            TScalarStyle::DoubleQuoted => quoted_newlines(rest, b'"', true),
            TScalarStyle::Plain => content_newlines(rest, value),
            TScalarStyle::Literal | TScalarStyle::Folded => {
                // The marker is on the content, but skip a header if it ever points there.
                let content = match rest.first() {
                    Some(b'|' | b'>') => match rest.iter().position(|&b| b == b'\n') {
                        Some(eol) => &rest[eol + 1..],
                        None => &[],
                    },
                    _ => rest,
                };
                let header = usize::from(content.len() != rest.len());
                header + content_newlines(content, value)
            }
        };
        line.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX))
    }
}

/// Line breaks inside the quoted scalar at the start of `text`.
fn quoted_newlines(text: &[u8], quote: u8, backslash_escapes: bool) -> usize {
    if text.first() != Some(&quote) {
        return 0;
    }
    let mut newlines = 0;
    let mut at = 1;
    while let Some(&b) = text.get(at) {
        match b {
            b'\\' if backslash_escapes => {
                if text.get(at + 1) == Some(&b'\n') {
                    newlines += 1;
                }
                at += 2;
                continue;
            }
            b'\n' => newlines += 1,
            // `''` is an escaped quote inside a single-quoted scalar.
            _ if b == quote && !backslash_escapes && text.get(at + 1) == Some(&quote) => at += 1,
            _ if b == quote => break,
            _ => {}
        }
        at += 1;
    }
    newlines
}

/// Line breaks in `text` up to the last non-blank character of `value`.
///
/// Plain and block scalars differ from their source only in whitespace (folding, indentation),
/// so the value's non-blank bytes appear in the source in order, separated by blanks.
fn content_newlines(text: &[u8], value: &str) -> usize {
    let is_blank = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let mut newlines = 0;
    let mut matched_newlines = 0;
    let mut at = 0;
    for wanted in value.bytes().filter(|&b| !is_blank(b)) {
        loop {
            let Some(&b) = text.get(at) else {
                return matched_newlines;
            };
            at += 1;
            if b == wanted {
                matched_newlines = newlines;
                break;
            }
            if b == b'\n' {
                newlines += 1;
            } else if !is_blank(b) {
                // Not the text we expected (should not happen); stop at what matched.
                return matched_newlines;
            }
        }
    }
    matched_newlines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Node> {
        let (documents, error) = parse_documents(text, &Limits::default());
        assert_eq!(error, None, "unexpected error parsing {text:?}");
        documents
    }

    fn parse_one(text: &str) -> Node {
        let mut documents = parse(text);
        assert_eq!(documents.len(), 1);
        documents.remove(0)
    }

    fn parse_err(text: &str, limits: &Limits) -> ParseError {
        parse_documents(text, limits)
            .1
            .unwrap_or_else(|| panic!("expected an error parsing {text:?}"))
    }

    fn json(text: &str) -> serde_json::Value {
        parse_one(text).to_json()
    }

    fn spans(node: &Node) -> SpanTable {
        let mut table = SpanTable::default();
        node.record_spans(&mut String::new(), &mut table);
        table
    }

    fn at(line: u32, column: u32) -> Option<Span> {
        Some(Span { line, column })
    }

    #[test]
    fn plain_scalars_resolve_with_the_core_schema() {
        let doc = json(
            "a: ~\nb: null\nc:\nd: True\ne: FALSE\nf: 42\ng: -7\nh: 0x1F\ni: 0o17\nj: 1.5\n\
             k: -.5e3\nl: .inf\nm: -.Inf\nn: .nan\no: yes\np: 0755\nq: 1_000\nr: 1e999\n\
             s: 99999999999999999999\nt: +12\nu: 0xZZ\nv: .\nw: 1.2.3\n",
        );
        assert_eq!(
            doc,
            serde_json::json!({
                "a": null, "b": null, "c": null, "d": true, "e": false, "f": 42, "g": -7,
                "h": 31, "i": 15, "j": 1.5, "k": -500.0, "l": ".inf", "m": "-.Inf",
                "n": ".nan", "o": "yes", "p": 755, "q": "1_000", "r": "1e999",
                "s": 1e20, "t": 12, "u": "0xZZ", "v": ".", "w": "1.2.3"
            })
        );
    }

    #[test]
    fn quoted_and_block_scalars_are_strings() {
        let doc = json("a: '42'\nb: \"true\"\nc: |\n  x\n  y\nd: >-\n  x\n  y\ne: ''\n");
        assert_eq!(
            doc,
            serde_json::json!({"a": "42", "b": "true", "c": "x\ny\n", "d": "x y", "e": ""})
        );
    }

    #[test]
    fn core_tags_are_applied_and_other_tags_kept() {
        let node = parse_one(
            "a: !!str 42\nb: !!int '7'\nc: !!bool 'true'\nd: !!float 3\ne: !!null x\n\
             f: ! 12\ng: !Ref MyBucket\nh: !GetAtt [A, B]\ni: !!int nope\n",
        );
        assert_eq!(
            node.to_json(),
            serde_json::json!({
                "a": "42", "b": 7, "c": true, "d": 3.0, "e": null, "f": "12",
                "g": "MyBucket", "h": ["A", "B"], "i": "nope"
            })
        );
        assert_eq!(node.get("a").and_then(|n| n.tag.clone()), None);
        assert_eq!(node.get("g").and_then(|n| n.tag.as_deref()), Some("!Ref"));
        assert_eq!(
            node.get("h").and_then(|n| n.tag.as_deref()),
            Some("!GetAtt")
        );
    }

    #[test]
    fn keys_are_text_and_the_last_duplicate_wins() {
        let node = parse_one("1: a\ntrue: b\n~: c\n[x, 1]: d\nk: first\nk: second\n");
        assert_eq!(
            node.to_json(),
            serde_json::json!({"1": "a", "true": "b", "~": "c", "[\"x\",1]": "d", "k": "second"})
        );
        let keys: Vec<&str> = node
            .as_map()
            .expect("a mapping")
            .iter()
            .map(|entry| entry.key.as_str())
            .collect();
        assert_eq!(keys, ["1", "true", "~", "[\"x\",1]", "k"]);
        assert_eq!(spans(&node).get("/k").copied(), at(6, 1));
    }

    #[test]
    fn duplicate_keys_stay_unique_in_large_mappings() {
        let mut text = String::new();
        for i in 0..100 {
            writeln!(text, "k{}: {i}", i % 40).expect("write to String");
        }
        let node = parse_one(&text);
        assert_eq!(node.as_map().map(<[Entry]>::len), Some(40));
        assert_eq!(
            node.get("k0").map(Node::to_json),
            Some(serde_json::json!(80))
        );
        assert_eq!(spans(&node).get("/k0").copied(), at(81, 1));
    }

    #[test]
    fn aliases_copy_the_anchored_node_at_the_alias_position() {
        let node = parse_one("base: &b\n  x: 1\n  y: [2]\ncopy: *b\nlist:\n  - *b\n");
        let mut expected = node.get("base").cloned().expect("base");
        expected.line = 4;
        expected.column = 7;
        expected.end_line = 4;
        assert_eq!(node.get("copy"), Some(&expected));
        let table = spans(&node);
        assert_eq!(table.get("/list/0").copied(), at(6, 5));
        // Inside the copy, positions are those of the anchored original.
        assert_eq!(table.get("/list/0/x").copied(), at(2, 3));
    }

    #[test]
    fn merge_keys_add_only_missing_members() {
        let node = parse_one(
            "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\n\
             one:\n  x: 0\n  <<: *a\n\
             many:\n  <<: [*a, *b]\n  z: 9\n\
             quoted:\n  '<<': *a\n\
             scalar:\n  <<: 5\n",
        );
        assert_eq!(
            node.get("one").map(Node::to_json),
            Some(serde_json::json!({"x": 0, "y": 1}))
        );
        assert_eq!(
            node.get("many").map(Node::to_json),
            Some(serde_json::json!({"x": 1, "y": 1, "z": 9}))
        );
        assert_eq!(
            node.get("quoted").map(Node::to_json),
            Some(serde_json::json!({"<<": {"x": 1, "y": 1}}))
        );
        assert_eq!(
            node.get("scalar").map(Node::to_json),
            Some(serde_json::json!({"<<": 5}))
        );
    }

    #[test]
    fn anchors_do_not_cross_documents() {
        let (documents, error) = parse_documents("a: &x 1\n---\nb: *x\n", &Limits::default());
        assert_eq!(documents.len(), 1);
        let error = error.expect("undefined alias");
        assert_eq!((error.line, error.column), (3, 4));
    }

    #[test]
    fn recursive_alias_is_an_error_not_a_loop() {
        let error = parse_err("a: &x [1, *x]\n", &Limits::default());
        assert_eq!(error.kind, ParseErrorKind::Syntax);
        assert_eq!(error.line, 1);
    }

    #[test]
    fn spans_point_at_keys_and_elements() {
        let node = parse_one(
            "# comment\napiVersion: v1\nspec:\n  containers:\n    - name: web\n      \
             securityContext:\n        privileged: true\n    -   name: b\n  a~b/c: 1\n",
        );
        let table = spans(&node);
        assert_eq!(table.get("").copied(), at(2, 1));
        assert_eq!(table.get("/apiVersion").copied(), at(2, 1));
        assert_eq!(table.get("/spec").copied(), at(3, 1));
        assert_eq!(table.get("/spec/containers/0").copied(), at(5, 7));
        assert_eq!(
            table
                .get("/spec/containers/0/securityContext/privileged")
                .copied(),
            at(7, 9)
        );
        assert_eq!(table.get("/spec/containers/1").copied(), at(8, 9));
        assert_eq!(table.get("/spec/a~0b~1c").copied(), at(9, 3));
        assert_eq!(table.len(), 11);
    }

    #[test]
    fn end_lines_cover_multi_line_scalars() {
        let cases = [
            ("a: 1\nb: |\n  x\n\n  y\n\n\n# trailing comment\n", 5),
            ("a: >\n  folded\n  text\nb: 1\n", 4),
            ("a: \"multi\n  line\"\n\n", 2),
            ("a: 'it''s\n  two'\n", 2),
            ("a: plain\n  continued\n  # not content\n", 2),
            ("a: [1,\n  2\n  ]\n# c\n", 3),
            ("a:\n  b:\n# comment\n---\n", 2),
            ("- x\n- \"\"\n", 2),
            ("a: \"esc\\\n  aped\"\n", 2),
            ("k: 'é'\nl: |\n  ünïcödé\n  ok\n", 4),
        ];
        for (text, end_line) in cases {
            let (documents, error) = parse_documents(text, &Limits::default());
            assert_eq!(error, None, "{text:?}");
            assert_eq!(documents[0].end_line, end_line, "{text:?}");
        }
    }

    #[test]
    fn documents_are_split_and_empty_ones_kept_as_null() {
        let documents = parse("---\na: 1\n---\n---\nb: 2\n...\n");
        assert_eq!(documents.len(), 3);
        assert_eq!(documents[0].line, 2);
        assert_eq!(documents[1].value, Value::Null);
        assert_eq!(documents[2].line, 5);
        assert!(parse("").is_empty());
        assert!(parse("# only a comment\n").is_empty());
    }

    #[test]
    fn syntax_errors_keep_earlier_documents_and_have_positions() {
        let (documents, error) =
            parse_documents("a: 1\n---\nb: [1, 2\nc: 3\n---\nd: 4\n", &Limits::default());
        assert_eq!(documents.len(), 1);
        let error = error.expect("an unterminated flow sequence");
        assert_eq!(error.kind, ParseErrorKind::Syntax);
        assert_eq!(error.line, 4);
        assert!(!error.message.contains("line"), "{}", error.message);

        let error = parse_err("a: 1\n b: 2\n", &Limits::default());
        assert_eq!((error.line, error.column), (2, 3));
        assert_eq!(
            error.message,
            "mapping values are not allowed in this context"
        );
    }

    #[test]
    fn crlf_line_ends_count_once() {
        let node = parse_one("a: 1\r\nb: |\r\n  x\r\n  y\r\nc: \"q\r\n  r\"\r\nd: é\r\n");
        let table = spans(&node);
        assert_eq!(table.get("/b").copied(), at(2, 1));
        assert_eq!(table.get("/c").copied(), at(5, 1));
        assert_eq!(table.get("/d").copied(), at(7, 1));
        assert_eq!(node.get("b").map(|b| b.end_line), Some(4));
        assert_eq!(node.get("c").map(|c| c.end_line), Some(6));
        assert_eq!(node.end_line, 7);
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        assert_eq!(json("\u{feff}a: 1\n"), serde_json::json!({"a": 1}));
    }

    #[test]
    fn tab_indented_json_keeps_lines() {
        let text = "{\n\t\"a\": {\n\t\t\"b\": [1,\t2],\n\t\t\"c\":\t7\n\t}\n}\n";
        // A tab between `:` and a plain scalar is rejected by yaml-rust2 ...
        assert!(parse_documents(text, &Limits::default()).1.is_some());
        // ... and accepted by parse_json, positions unchanged.
        let (documents, error) = parse_json(text, &Limits::default());
        assert_eq!(error, None);
        let node = &documents[0];
        assert_eq!(
            node.to_json(),
            serde_json::json!({"a": {"b": [1, 2], "c": 7}})
        );
        let table = spans(node);
        assert_eq!(table.get("").copied(), at(1, 1));
        assert_eq!(table.get("/a").copied(), at(2, 2));
        assert_eq!(table.get("/a/b/1").copied(), at(3, 12));
        assert_eq!(table.get("/a/c").copied(), at(4, 3));
        assert_eq!((node.line, node.end_line), (1, 6));
    }

    #[test]
    fn minified_json_keeps_columns() {
        let text = r#"{"a":{"b":[true,null,"x\/y\u00e9"]},"c":-1.5e3}"#;
        let (documents, error) = parse_json(text, &Limits::default());
        assert_eq!(error, None);
        let node = &documents[0];
        assert_eq!(
            node.to_json(),
            serde_json::json!({"a": {"b": [true, null, "x/yé"]}, "c": -1500.0})
        );
        let table = spans(node);
        assert_eq!(table.get("/a/b/2").copied(), at(1, 22));
        assert_eq!(table.get("/c").copied(), at(1, 37));
        assert_eq!(node.end_line, 1);
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let node = parse_one("é: [ü, x]\n");
        assert_eq!(spans(&node).get("/é/1").copied(), at(1, 8));
        assert_eq!(node.end_line, 1);
    }

    fn deep_flow(depth: usize) -> String {
        "[".repeat(depth) + &"]".repeat(depth)
    }

    fn deep_block_mapping(depth: usize) -> String {
        let mut text = String::new();
        for level in 0..depth {
            text.push_str(&" ".repeat(level));
            text.push_str("k:\n");
        }
        text
    }

    #[test]
    fn nesting_limit_is_enforced() {
        let limits = Limits::default();
        let error = parse_err(&deep_flow(129), &limits);
        assert_eq!(error.kind, ParseErrorKind::Limit);
        assert_eq!(error.message, "nesting deeper than 128 levels");
        assert_eq!((error.line, error.column), (1, 129));
        assert!(parse_documents(&deep_flow(128), &limits).1.is_none());
        let error = parse_err(&deep_block_mapping(200), &limits);
        assert_eq!(error.message, "nesting deeper than 128 levels");
        assert_eq!(error.line, 129);
    }

    #[test]
    fn very_deep_nesting_fails_fast_without_overflowing_the_stack() {
        // The 10,000-deep block mapping is ~50 MB of indentation.
        let limits = Limits {
            max_file_bytes: u64::MAX,
            ..Limits::default()
        };
        let inputs = [
            deep_flow(10_000),
            "{a: ".repeat(10_000) + "1" + &"}".repeat(10_000),
            "- ".repeat(10_000) + "x\n",
            deep_block_mapping(10_000),
        ];
        let started = std::time::Instant::now();
        for text in &inputs {
            let error = parse_err(text, &limits);
            assert_eq!(error.message, "nesting deeper than 128 levels");
        }
        let elapsed = started.elapsed();
        assert!(
            elapsed < std::time::Duration::from_secs(1),
            "took {elapsed:?}"
        );
    }

    #[test]
    fn yaml_rust2_parses_deep_block_nesting_without_recursion() {
        // Our builder stops at the depth limit; this drives yaml-rust2 alone over the whole
        // input, to show its event parser (unlike its `load`) keeps no native stack per level.
        let text = "- ".repeat(10_000) + "x\n";
        let mut parser = Parser::new_from_str(&text);
        let mut events = 0;
        loop {
            let (event, _) = parser.next_token().expect("valid YAML");
            events += 1;
            if event == Event::StreamEnd {
                break;
            }
        }
        assert_eq!(events, 2 * 10_000 + 5);
    }

    #[test]
    fn depth_limit_message_follows_the_configured_limit() {
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        let error = parse_err("a:\n  b:\n    c:\n      d: 1\n", &limits);
        assert_eq!(error.message, "nesting deeper than 3 levels");
        assert_eq!(error.line, 4);
        // yaml-rust2's own flow limit (255) reports in the same terms.
        let limits = Limits {
            max_depth: 1000,
            ..Limits::default()
        };
        let error = parse_err(&deep_flow(300), &limits);
        assert_eq!(error.message, "nesting deeper than 255 levels");
    }

    fn lol_bomb() -> String {
        let mut text = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for (name, previous) in ["b", "c", "d", "e", "f", "g", "h", "i"]
            .iter()
            .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
        {
            let aliases = vec![format!("*{previous}"); 9].join(",");
            writeln!(text, "{name}: &{name} [{aliases}]").expect("write to String");
        }
        text
    }

    #[test]
    fn billion_laughs_fails_fast() {
        let started = std::time::Instant::now();
        let error = parse_err(&lol_bomb(), &Limits::default());
        assert_eq!(error.kind, ParseErrorKind::Limit);
        assert_eq!(
            error.message,
            "document expands to more than 2000000 nodes (alias expansion)"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn many_aliases_of_a_large_string_hit_the_text_budget() {
        let limits = Limits {
            max_file_bytes: 100_000,
            ..Limits::default()
        };
        let text = format!(
            "a: &a {}\nb: [{}]\n",
            "x".repeat(10_000),
            vec!["*a"; 20].join(",")
        );
        let error = parse_err(&text, &limits);
        assert_eq!(
            error.message,
            "document expands to more than 100000 bytes of text (alias expansion)"
        );
        assert_eq!(error.line, 2);
    }

    #[test]
    fn node_and_size_limits() {
        let limits = Limits {
            max_nodes: 10,
            ..Limits::default()
        };
        let error = parse_err("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", &limits);
        assert_eq!(error.message, "file has more than 10 nodes");
        assert!(
            parse_documents("[1, 2, 3, 4, 5, 6, 7, 8, 9]", &limits)
                .1
                .is_none()
        );
        let limits = Limits {
            max_file_bytes: 4,
            ..Limits::default()
        };
        assert_eq!(
            parse_err("a: 12", &limits).message,
            "file is larger than 4 bytes"
        );
    }

    #[test]
    fn mutated_inputs_never_panic() {
        let sample = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  \
                      labels: {app: \"web\", tier: 'front'}\nspec:\n  template:\n    spec:\n      \
                      containers:\n        - &c\n          name: web\n          image: nginx:1.25\n          \
                      args: [\"--port\", 8080, 0x1F, .inf]\n          env:\n            - name: K\n              \
                      value: |\n                multi\n                line\n        - <<: *c\n          \
                      name: side\n---\n!Ref x: ? complex\n...\n{\"json\": [1, 2, {\"a\": null}]}\n";
        let alphabet: Vec<char> = "[]{}:-?&*!|>'\"#,%@\t\n \\~<.0aé".chars().collect();
        let chars: Vec<char> = sample.chars().collect();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |bound: usize| {
            // xorshift64: deterministic, so a failure reproduces.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            usize::try_from(seed % bound as u64).expect("bound fits usize")
        };
        let limits = Limits::default();
        let mut variants = Vec::new();
        for cut in (0..chars.len()).step_by(3) {
            variants.push(chars[..cut].iter().collect::<String>());
        }
        for _ in 0..400 {
            let mut mutated = chars.clone();
            for _ in 0..1 + next(4) {
                let at = next(mutated.len());
                match next(3) {
                    0 => mutated[at] = alphabet[next(alphabet.len())],
                    1 => mutated.insert(at, alphabet[next(alphabet.len())]),
                    _ => {
                        mutated.remove(at);
                    }
                }
            }
            variants.push(mutated.into_iter().collect());
        }
        for text in &variants {
            let (documents, _) = parse_documents(text, &limits);
            for document in &documents {
                document.to_json();
                spans(document);
            }
            parse_json(text, &limits);
        }
    }
}
