//! The configuration as the evaluator reads it: bodies, blocks and expressions with their
//! positions, lowered from hcl-edit's syntax tree (native syntax) or from a JSON document
//! (Terraform's JSON syntax), so evaluation has one input whatever the file's syntax.

use std::ops::Range;

use hcl_edit::Span as _;
use hcl_edit::expr::{self as hx, BinaryOperator, UnaryOperator};
use hcl_edit::structure as hs;
use hcl_edit::template::{self as ht, Strip};

use crate::resource::Span;
use crate::yaml::{Node, Value as YamlValue};

/// A body: the attributes and nested blocks between a block's braces (or of a whole file).
#[derive(Debug, Default, PartialEq)]
pub struct Body {
    pub attrs: Vec<Attr>,
    pub blocks: Vec<Block>,
}

impl Body {
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|attr| attr.name == name)
    }
}

/// `name = expr`.
#[derive(Debug, PartialEq)]
pub struct Attr {
    pub name: String,
    /// Where the name is written.
    pub at: Span,
    pub expr: Expr,
}

/// `kind "label" … { body }`.
#[derive(Debug, PartialEq)]
pub struct Block {
    pub kind: String,
    pub labels: Vec<String>,
    pub at: Span,
    pub end_line: u32,
    pub body: Body,
}

/// An expression, where it starts, and the byte range of its text in its file's source.
#[derive(Debug, PartialEq)]
pub struct Expr {
    pub kind: Kind,
    pub at: Span,
    pub text: Range<u32>,
}

#[derive(Debug, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Template(Vec<Part>),
    Array(Vec<Expr>),
    Object(Vec<(Key, Expr)>),
    Variable(String),
    Traversal(Box<Expr>, Vec<Op>),
    Call(Box<Call>),
    Conditional(Box<(Expr, Expr, Expr)>),
    Unary(UnaryOperator, Box<Expr>),
    Binary(BinaryOperator, Box<(Expr, Expr)>),
    For(Box<For>),
    /// Text that is not a valid expression (a JSON-syntax string that fails to parse).
    Invalid,
}

/// An object key: a bare name is the name itself, anything else is evaluated.
#[derive(Debug, PartialEq)]
pub enum Key {
    Name(String, Span),
    Expr(Expr),
}

impl Key {
    pub fn at(&self) -> Span {
        match self {
            Key::Name(_, at) => *at,
            Key::Expr(expr) => expr.at,
        }
    }
}

#[derive(Debug, PartialEq)]
pub enum Op {
    Attr(String),
    Index(Expr),
    AttrSplat,
    FullSplat,
}

#[derive(Debug, PartialEq)]
pub struct Call {
    pub name: String,
    /// `provider::aws::arn_parse(…)` and other namespaced functions.
    pub namespaced: bool,
    pub args: Vec<Expr>,
    /// The last argument is followed by `...`.
    pub expand_final: bool,
}

#[derive(Debug, PartialEq)]
pub struct For {
    pub key_var: Option<String>,
    pub value_var: String,
    pub collection: Expr,
    pub key: Option<Expr>,
    pub value: Expr,
    pub cond: Option<Expr>,
    pub grouping: bool,
}

/// A piece of a string template, strip markers (`~`) already applied to the literals.
#[derive(Debug, PartialEq)]
pub enum Part {
    Literal(String),
    Interpolation(Expr),
    If {
        cond: Expr,
        then: Vec<Part>,
        otherwise: Vec<Part>,
    },
    For {
        key_var: Option<String>,
        value_var: String,
        collection: Expr,
        body: Vec<Part>,
    },
}

/// Byte offsets of line starts, to turn offsets into 1-based lines and columns.
#[derive(Debug)]
pub struct LineIndex {
    starts: Vec<u32>,
    /// For every `CHECKPOINT` bytes: the first character boundary at or after it, and the
    /// column there, so a column is found without scanning a long line from its start.
    checkpoints: Vec<(u32, u32)>,
    /// The 0-based line of the last lookup (parsers ask in nearly increasing order).
    hint: std::cell::Cell<usize>,
}

/// Distance between column checkpoints, in bytes.
const CHECKPOINT: usize = 256;

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        let mut checkpoints = Vec::with_capacity(text.len() / CHECKPOINT + 1);
        let mut column = 1u32;
        for (at, c) in text.char_indices() {
            while checkpoints.len() * CHECKPOINT <= at {
                checkpoints.push((u32::try_from(at).unwrap_or(u32::MAX), column));
            }
            if c == '\n' {
                starts.push(u32::try_from(at + 1).unwrap_or(u32::MAX));
                column = 1;
            } else {
                column = column.saturating_add(1);
            }
        }
        LineIndex {
            starts,
            checkpoints,
            hint: std::cell::Cell::new(0),
        }
    }

    /// The 1-based line and column (in characters) of byte `offset` of `text`.
    pub fn span(&self, text: &str, offset: usize) -> Span {
        let offset32 = u32::try_from(offset).unwrap_or(u32::MAX);
        let hint = self.hint.get();
        let line = match (self.starts.get(hint), self.starts.get(hint + 1)) {
            (Some(&a), Some(&b)) if a <= offset32 && offset32 < b => hint + 1,
            (Some(&a), None) if a <= offset32 => hint + 1,
            _ => self.starts.partition_point(|&start| start <= offset32),
        };
        let index = line.saturating_sub(1);
        self.hint.set(index);
        let line_start = self.starts.get(index).map_or(0, |&s| s as usize);
        // The nearest checkpoint at or before `offset`, if it is on this line.
        let checkpoint = self
            .checkpoints
            .get(..=(offset / CHECKPOINT).min(self.checkpoints.len().saturating_sub(1)))
            .and_then(|before| before.iter().rev().take(2).find(|(at, _)| *at <= offset32))
            .filter(|(at, _)| *at as usize >= line_start);
        let (from, base) = checkpoint.map_or((line_start, 1), |&(at, column)| {
            (at as usize, column as usize)
        });
        let column = text
            .get(from..offset.min(text.len()))
            .map_or(base, |prefix| {
                if prefix.is_ascii() {
                    base + prefix.len()
                } else {
                    base + prefix.chars().count()
                }
            });
        Span {
            line: u32::try_from(line.max(1)).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }

    pub fn line(&self, offset: usize) -> u32 {
        let offset = u32::try_from(offset).unwrap_or(u32::MAX);
        u32::try_from(self.starts.partition_point(|&start| start <= offset).max(1))
            .unwrap_or(u32::MAX)
    }
}

/// Lowers hcl-edit's tree for one native-syntax file.
pub struct Lower<'a> {
    text: &'a str,
    lines: &'a LineIndex,
    /// Added to every byte range (a JSON-syntax template is parsed on its own).
    base: u32,
    /// The position every expression gets (a JSON-syntax template sits on one JSON string).
    fixed: Option<Span>,
}

impl<'a> Lower<'a> {
    pub fn new(text: &'a str, lines: &'a LineIndex) -> Self {
        Lower {
            text,
            lines,
            base: 0,
            fixed: None,
        }
    }

    fn at(&self, range: Option<Range<usize>>) -> Span {
        if let Some(fixed) = self.fixed {
            return fixed;
        }
        range.map_or(Span { line: 1, column: 1 }, |range| {
            self.lines.span(self.text, range.start)
        })
    }

    fn text_range(&self, range: Option<Range<usize>>) -> Range<u32> {
        let range = range.unwrap_or(0..0);
        let start = u32::try_from(range.start).unwrap_or(u32::MAX);
        let end = u32::try_from(range.end).unwrap_or(u32::MAX);
        start.saturating_add(self.base)..end.saturating_add(self.base)
    }

    pub fn body(&self, body: &hs::Body) -> Body {
        let mut out = Body::default();
        for structure in body.iter() {
            match structure {
                hs::Structure::Attribute(attr) => out.attrs.push(Attr {
                    name: attr.key.as_str().to_owned(),
                    at: self.at(attr.key.span().or_else(|| attr.span())),
                    expr: self.expr(&attr.value),
                }),
                hs::Structure::Block(block) => out.blocks.push(self.block(block)),
            }
        }
        out
    }

    fn block(&self, block: &hs::Block) -> Block {
        let span = block.span();
        let at = self.at(span.clone());
        let end_line = span.map_or(at.line, |range| {
            self.lines.line(range.end.saturating_sub(1)).max(at.line)
        });
        Block {
            kind: block.ident.as_str().to_owned(),
            labels: block
                .labels
                .iter()
                .map(|label| label.as_str().to_owned())
                .collect(),
            at,
            end_line,
            body: self.body(&block.body),
        }
    }

    pub fn expr(&self, expr: &hx::Expression) -> Expr {
        let span = expr.span();
        let kind = match expr {
            hx::Expression::Null(_) => Kind::Null,
            hx::Expression::Bool(b) => Kind::Bool(*b.value()),
            hx::Expression::Number(n) => Kind::Number(n.value().as_f64().unwrap_or(f64::NAN)),
            hx::Expression::String(s) => Kind::String(s.value().clone()),
            hx::Expression::Array(array) => {
                Kind::Array(array.iter().map(|e| self.expr(e)).collect())
            }
            hx::Expression::Object(object) => Kind::Object(
                object
                    .iter()
                    .map(|(key, value)| {
                        let key = match key {
                            hx::ObjectKey::Ident(ident) => {
                                Key::Name(ident.as_str().to_owned(), self.at(ident.span()))
                            }
                            hx::ObjectKey::Expression(expr) => match expr {
                                hx::Expression::Variable(ident) => {
                                    Key::Name(ident.as_str().to_owned(), self.at(ident.span()))
                                }
                                expr => Key::Expr(self.expr(expr)),
                            },
                        };
                        (key, self.expr(value.expr()))
                    })
                    .collect(),
            ),
            hx::Expression::StringTemplate(template) => {
                let mut parts = self.template(template.iter());
                // `"${expr}"` alone is the expression's value, not its text.
                if let [Part::Interpolation(_)] = parts.as_slice()
                    && let Some(Part::Interpolation(inner)) = parts.pop()
                {
                    return inner;
                }
                Kind::Template(parts)
            }
            hx::Expression::HeredocTemplate(heredoc) => {
                Kind::Template(self.template(heredoc.template.iter()))
            }
            hx::Expression::Parenthesis(inner) => return self.expr(inner.inner()),
            hx::Expression::Variable(ident) => Kind::Variable(ident.as_str().to_owned()),
            hx::Expression::Conditional(cond) => Kind::Conditional(Box::new((
                self.expr(&cond.cond_expr),
                self.expr(&cond.true_expr),
                self.expr(&cond.false_expr),
            ))),
            hx::Expression::FuncCall(call) => Kind::Call(Box::new(Call {
                name: call.name.name.as_str().to_owned(),
                namespaced: call.name.is_namespaced(),
                args: call.args.iter().map(|e| self.expr(e)).collect(),
                expand_final: call.args.expand_final(),
            })),
            hx::Expression::Traversal(traversal) => {
                let ops = traversal
                    .operators
                    .iter()
                    .map(|op| match op.value() {
                        hx::TraversalOperator::AttrSplat(_) => Op::AttrSplat,
                        hx::TraversalOperator::FullSplat(_) => Op::FullSplat,
                        hx::TraversalOperator::GetAttr(ident) => {
                            Op::Attr(ident.as_str().to_owned())
                        }
                        hx::TraversalOperator::Index(expr) => Op::Index(self.expr(expr)),
                        hx::TraversalOperator::LegacyIndex(index) => {
                            // `list.0`: an index written as an attribute.
                            Op::Index(Expr {
                                kind: Kind::Number(*index.value() as f64),
                                at: self.at(index.span()),
                                text: self.text_range(index.span()),
                            })
                        }
                    })
                    .collect();
                Kind::Traversal(Box::new(self.expr(&traversal.expr)), ops)
            }
            hx::Expression::UnaryOp(op) => {
                Kind::Unary(*op.operator.value(), Box::new(self.expr(&op.expr)))
            }
            hx::Expression::BinaryOp(op) => Kind::Binary(
                *op.operator.value(),
                Box::new((self.expr(&op.lhs_expr), self.expr(&op.rhs_expr))),
            ),
            hx::Expression::ForExpr(for_expr) => Kind::For(Box::new(For {
                key_var: for_expr
                    .intro
                    .key_var
                    .as_ref()
                    .map(|ident| ident.as_str().to_owned()),
                value_var: for_expr.intro.value_var.as_str().to_owned(),
                collection: self.expr(&for_expr.intro.collection_expr),
                key: for_expr.key_expr.as_ref().map(|e| self.expr(e)),
                value: self.expr(&for_expr.value_expr),
                cond: for_expr.cond.as_ref().map(|cond| self.expr(&cond.expr)),
                grouping: for_expr.grouping,
            })),
        };
        Expr {
            kind,
            at: self.at(span.clone()),
            text: self.text_range(span),
        }
    }

    /// The parts of a whole template file (`templatefile`).
    pub fn template_parts(&self, template: &ht::Template) -> Vec<Part> {
        self.template(template.iter())
    }

    fn template<'t>(&self, elements: impl Iterator<Item = &'t ht::Element>) -> Vec<Part> {
        let mut parts = Parts::default();
        for element in elements {
            match element {
                ht::Element::Literal(literal) => parts.literal(literal.value()),
                ht::Element::Interpolation(interp) => {
                    parts.open(interp.strip);
                    parts.push(Part::Interpolation(self.expr(&interp.expr)));
                    parts.close(interp.strip);
                }
                ht::Element::Directive(directive) => match directive.as_ref() {
                    ht::Directive::If(dir) => {
                        parts.open(dir.if_expr.strip);
                        let mut then = Parts {
                            trim_next: dir.if_expr.strip.strip_end(),
                            ..Parts::default()
                        };
                        then.extend(self.template(dir.if_expr.template.iter()));
                        let mut otherwise = Parts::default();
                        if let Some(else_expr) = &dir.else_expr {
                            then.trim_last(else_expr.strip.strip_start());
                            otherwise.trim_next = else_expr.strip.strip_end();
                            otherwise.extend(self.template(else_expr.template.iter()));
                            otherwise.trim_last(dir.endif_expr.strip.strip_start());
                        } else {
                            then.trim_last(dir.endif_expr.strip.strip_start());
                        }
                        parts.push(Part::If {
                            cond: self.expr(&dir.if_expr.cond_expr),
                            then: then.parts,
                            otherwise: otherwise.parts,
                        });
                        parts.close(dir.endif_expr.strip);
                    }
                    ht::Directive::For(dir) => {
                        let for_expr = &dir.for_expr;
                        parts.open(for_expr.strip);
                        let mut body = Parts {
                            trim_next: for_expr.strip.strip_end(),
                            ..Parts::default()
                        };
                        body.extend(self.template(for_expr.template.iter()));
                        body.trim_last(dir.endfor_expr.strip.strip_start());
                        parts.push(Part::For {
                            key_var: for_expr
                                .key_var
                                .as_ref()
                                .map(|ident| ident.as_str().to_owned()),
                            value_var: for_expr.value_var.as_str().to_owned(),
                            collection: self.expr(&for_expr.collection_expr),
                            body: body.parts,
                        });
                        parts.close(dir.endfor_expr.strip);
                    }
                },
            }
        }
        parts.parts
    }
}

/// Builds a template's parts, applying strip markers to neighbouring literals.
#[derive(Default)]
pub struct Parts {
    parts: Vec<Part>,
    trim_next: bool,
}

impl Parts {
    /// Parts whose first literal loses its leading whitespace when `trim`.
    pub fn trimming(trim: bool) -> Self {
        Parts {
            parts: Vec::new(),
            trim_next: trim,
        }
    }

    pub fn into_parts(self) -> Vec<Part> {
        self.parts
    }

    pub fn literal(&mut self, text: &str) {
        let text = if std::mem::take(&mut self.trim_next) {
            text.trim_start()
        } else {
            text
        };
        if !text.is_empty() {
            self.parts.push(Part::Literal(text.to_owned()));
        }
    }

    pub fn open(&mut self, strip: Strip) {
        self.trim_last(strip.strip_start());
    }

    pub fn close(&mut self, strip: Strip) {
        self.trim_next = strip.strip_end();
    }

    pub fn push(&mut self, part: Part) {
        self.trim_next = false;
        self.parts.push(part);
    }

    pub fn extend(&mut self, parts: Vec<Part>) {
        for part in parts {
            match part {
                Part::Literal(text) => self.literal(&text),
                part => self.push(part),
            }
        }
    }

    pub fn trim_last(&mut self, trim: bool) {
        if !trim {
            return;
        }
        if let Some(Part::Literal(text)) = self.parts.last_mut() {
            let kept = text.trim_end().len();
            text.truncate(kept);
            if text.is_empty() {
                self.parts.pop();
            }
        }
    }
}

/// The top-level blocks Terraform's JSON syntax nests by label: (block type, label count).
const JSON_BLOCKS: [(&str, usize); 7] = [
    ("resource", 2),
    ("data", 2),
    ("module", 1),
    ("provider", 1),
    ("variable", 1),
    ("output", 1),
    ("locals", 0),
];

/// Attribute names whose object value is a map argument, not a nested block (Terraform's JSON
/// syntax cannot tell them apart without the provider's schema).
const MAP_ATTRIBUTES: [&str; 16] = [
    "tags",
    "tags_all",
    "labels",
    "variables",
    "parameters",
    "metadata",
    "annotations",
    "triggers",
    "environment_variables",
    "context",
    "options",
    "attributes",
    "selector",
    "properties",
    "settings",
    "policy",
];

/// Lowers a Terraform JSON-syntax document. Its strings are templates: each is parsed on its
/// own and its text appended to `source`, so unknown values can still quote their expression.
pub struct LowerJson<'s> {
    pub source: &'s mut String,
    pub errors: Vec<(u32, String)>,
}

impl LowerJson<'_> {
    pub fn file(&mut self, root: &Node) -> Body {
        let mut out = Body::default();
        let Some(entries) = root.as_map() else {
            self.errors.push((
                root.line,
                "a Terraform JSON file should hold an object".to_owned(),
            ));
            return out;
        };
        for entry in entries {
            let Some(&(kind, labels)) = JSON_BLOCKS.iter().find(|(k, _)| *k == entry.key) else {
                continue;
            };
            self.labelled(kind, labels, &entry.value, &mut Vec::new(), &mut out.blocks);
        }
        out
    }

    /// Walks `labels` levels of objects keyed by label, then one body (or a list of them).
    fn labelled(
        &mut self,
        kind: &str,
        labels: usize,
        node: &Node,
        path: &mut Vec<String>,
        out: &mut Vec<Block>,
    ) {
        if let Some(items) = node.as_seq() {
            for item in items {
                self.labelled(kind, labels, item, path, out);
            }
            return;
        }
        if labels == 0 {
            let body = self.body(kind, node);
            out.push(Block {
                kind: kind.to_owned(),
                labels: path.clone(),
                at: node.span(),
                end_line: node.end_line.max(node.line),
                body,
            });
            return;
        }
        let Some(entries) = node.as_map() else {
            self.errors.push((
                node.line,
                format!("`{kind}` in Terraform JSON should be an object keyed by label"),
            ));
            return;
        };
        for entry in entries {
            if entry.key == "//" {
                continue;
            }
            path.push(entry.key.clone());
            if labels == 1 {
                // The block starts at its label.
                let before = out.len();
                self.labelled(kind, 0, &entry.value, path, out);
                for block in out.iter_mut().skip(before) {
                    if block.at.line > entry.key_span.line {
                        block.at = entry.key_span;
                    }
                }
            } else {
                self.labelled(kind, labels - 1, &entry.value, path, out);
            }
            path.pop();
        }
    }

    fn body(&mut self, kind: &str, node: &Node) -> Body {
        let mut body = Body::default();
        let Some(entries) = node.as_map() else {
            self.errors.push((
                node.line,
                format!("a `{kind}` block in Terraform JSON should be an object"),
            ));
            return body;
        };
        for entry in entries {
            let key = entry.key.as_str();
            if key == "//" {
                continue;
            }
            let nested = match kind {
                "locals" | "output" | "module" | "variable" => false,
                _ => {
                    key == "dynamic"
                        || (!MAP_ATTRIBUTES.contains(&key) && is_block_shaped(&entry.value))
                }
            };
            if kind == "variable" && key == "default" {
                body.attrs.push(Attr {
                    name: key.to_owned(),
                    at: entry.key_span,
                    expr: literal(&entry.value),
                });
            } else if kind == "variable" && key == "type" {
                continue;
            } else if key == "dynamic" {
                self.dynamic(&entry.value, &mut body);
            } else if nested {
                let items: Vec<&Node> = match entry.value.as_seq() {
                    Some(items) => items.iter().collect(),
                    None => vec![&entry.value],
                };
                for item in items {
                    let nested = self.body(key, item);
                    body.blocks.push(Block {
                        kind: key.to_owned(),
                        labels: Vec::new(),
                        at: if item.line == entry.key_span.line {
                            entry.key_span
                        } else {
                            item.span()
                        },
                        end_line: item.end_line.max(item.line),
                        body: nested,
                    });
                }
            } else {
                body.attrs.push(Attr {
                    name: key.to_owned(),
                    at: entry.key_span,
                    expr: self.expr(&entry.value),
                });
            }
        }
        body
    }

    /// `"dynamic": {"ingress": {"for_each": …, "iterator": …, "content": {…}}}`.
    fn dynamic(&mut self, node: &Node, body: &mut Body) {
        let Some(entries) = node.as_map() else {
            return;
        };
        for entry in entries {
            let items: Vec<&Node> = match entry.value.as_seq() {
                Some(items) => items.iter().collect(),
                None => vec![&entry.value],
            };
            for item in items {
                let mut dynamic = Body::default();
                for member in item.as_map().unwrap_or_default() {
                    if member.key == "content" {
                        let content = self.body(&entry.key, &member.value);
                        dynamic.blocks.push(Block {
                            kind: "content".to_owned(),
                            labels: Vec::new(),
                            at: member.key_span,
                            end_line: member.value.end_line.max(member.key_span.line),
                            body: content,
                        });
                    } else if member.key != "//" {
                        dynamic.attrs.push(Attr {
                            name: member.key.clone(),
                            at: member.key_span,
                            expr: self.expr(&member.value),
                        });
                    }
                }
                body.blocks.push(Block {
                    kind: "dynamic".to_owned(),
                    labels: vec![entry.key.clone()],
                    at: entry.key_span,
                    end_line: item.end_line.max(entry.key_span.line),
                    body: dynamic,
                });
            }
        }
    }

    pub fn expr(&mut self, node: &Node) -> Expr {
        let at = node.span();
        let empty = self.offset()..self.offset();
        let kind = match &node.value {
            YamlValue::Null => Kind::Null,
            YamlValue::Bool(b) => Kind::Bool(*b),
            YamlValue::Int(i) => Kind::Number(*i as f64),
            YamlValue::Float(f) => Kind::Number(*f),
            YamlValue::String(text) => return self.template(text, at),
            YamlValue::Seq(items) => {
                Kind::Array(items.iter().map(|item| self.expr(item)).collect())
            }
            YamlValue::Map(entries) => Kind::Object(
                entries
                    .iter()
                    .filter(|entry| entry.key != "//")
                    .map(|entry| {
                        let key = if entry.key.contains("${") {
                            Key::Expr(self.template(&entry.key, entry.key_span))
                        } else {
                            Key::Name(entry.key.clone(), entry.key_span)
                        };
                        (key, self.expr(&entry.value))
                    })
                    .collect(),
            ),
        };
        Expr {
            kind,
            at,
            text: empty,
        }
    }

    fn offset(&self) -> u32 {
        u32::try_from(self.source.len()).unwrap_or(u32::MAX)
    }

    fn template(&mut self, text: &str, at: Span) -> Expr {
        let base = self.offset();
        self.source.push_str(text);
        let range = base..self.offset();
        if !text.contains("${") && !text.contains("%{") {
            return Expr {
                kind: Kind::String(text.to_owned()),
                at,
                text: range,
            };
        }
        match hcl_edit::parser::parse_template(text) {
            Ok(template) => {
                let lines = LineIndex::new(text);
                let lower = Lower {
                    text,
                    lines: &lines,
                    base,
                    fixed: Some(at),
                };
                let mut parts = lower.template(template.iter());
                // `"${expr}"` alone is the expression's value, not its text.
                let kind = match parts.as_slice() {
                    [Part::Interpolation(_)] => match parts.pop() {
                        Some(Part::Interpolation(expr)) => return expr,
                        _ => Kind::Null,
                    },
                    _ => Kind::Template(parts),
                };
                Expr {
                    kind,
                    at,
                    text: range,
                }
            }
            Err(error) => {
                self.errors.push((
                    at.line,
                    format!("invalid template string: {}", error.message()),
                ));
                Expr {
                    kind: Kind::Invalid,
                    at,
                    text: range,
                }
            }
        }
    }
}

/// True when a JSON value reads as a nested block: an object, or a non-empty list of objects.
fn is_block_shaped(node: &Node) -> bool {
    match &node.value {
        YamlValue::Map(_) => true,
        YamlValue::Seq(items) => {
            !items.is_empty() && items.iter().all(|item| item.as_map().is_some())
        }
        _ => false,
    }
}

/// A JSON value taken literally (a variable's default is not a template).
fn literal(node: &Node) -> Expr {
    let kind = match &node.value {
        YamlValue::Null => Kind::Null,
        YamlValue::Bool(b) => Kind::Bool(*b),
        YamlValue::Int(i) => Kind::Number(*i as f64),
        YamlValue::Float(f) => Kind::Number(*f),
        YamlValue::String(text) => Kind::String(text.clone()),
        YamlValue::Seq(items) => Kind::Array(items.iter().map(literal).collect()),
        YamlValue::Map(entries) => Kind::Object(
            entries
                .iter()
                .map(|entry| {
                    (
                        Key::Name(entry.key.clone(), entry.key_span),
                        literal(&entry.value),
                    )
                })
                .collect(),
        ),
    };
    Expr {
        kind,
        at: node.span(),
        text: 0..0,
    }
}
