//! A fast parser for the common subset of HCL's native syntax, straight into [`super::syntax`].
//!
//! hcl-edit keeps every comment and whitespace run so a file can be written back unchanged;
//! a scan needs none of that and spends most of its time there. This parser reads the same
//! grammar without the decoration and gives up (`None`) on anything it is not sure of —
//! non-ASCII identifiers, unusual layouts, syntax errors, nesting past hcl-edit's own bounds —
//! so the caller parses that file with hcl-edit instead, which also words the error. The two
//! agree on everything this one accepts (see the tests, which compare them on every input).

use hcl_edit::expr::{BinaryOperator, UnaryOperator};
use hcl_edit::template::Strip;

use super::syntax::{Attr, Block, Body, Call, Expr, For, Key, Kind, LineIndex, Op, Part, Parts};

/// hcl-edit's nesting bound (`MAX_NESTING_DEPTH`): deeper input goes to hcl-edit.
const MAX_DEPTH: usize = 60;
/// hcl-edit's bound on binary operators along one path (`MAX_OPERATOR_DEPTH`).
const MAX_OPERATORS: usize = 120;

type P<T> = Option<T>;

/// Parses a whole file; `None` when the fast path does not apply.
pub fn parse(text: &str, lines: &LineIndex) -> Option<Body> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        lines,
        depth: 0,
        operators: 0,
    };
    let body = parser.body(true)?;
    (parser.pos == parser.bytes.len()).then_some(body)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    lines: &'a LineIndex,
    depth: usize,
    operators: usize,
}

/// A template element before strip markers are applied.
enum Elem {
    Literal(String),
    Interpolation(Expr, Strip),
    If {
        cond: Expr,
        if_strip: Strip,
        then: Vec<Elem>,
        otherwise: Option<(Strip, Vec<Elem>)>,
        endif_strip: Strip,
    },
    For {
        key_var: Option<String>,
        value_var: String,
        collection: Expr,
        for_strip: Strip,
        body: Vec<Elem>,
        endfor_strip: Strip,
    },
}

/// The directive that ended a nested template, with its strip markers.
type Closing = (Directive, Strip);

/// A directive keyword inside `%{ … }`.
enum Directive {
    If(Expr),
    Else,
    EndIf,
    For(Option<String>, String, Expr),
    EndFor,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        self.bytes
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(s.as_bytes()))
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, byte: u8) -> P<()> {
        self.eat(byte).then_some(())
    }

    fn at(&self, offset: usize) -> crate::resource::Span {
        self.lines.span(self.text, offset)
    }

    fn range(&self, start: usize) -> std::ops::Range<u32> {
        let start = u32::try_from(start).unwrap_or(u32::MAX);
        let end = u32::try_from(self.pos).unwrap_or(u32::MAX);
        start..end
    }

    fn expr_at(&self, kind: Kind, start: usize) -> Expr {
        Expr {
            kind,
            at: self.at(start),
            text: self.range(start),
        }
    }

    /// Skips spaces, tabs and comments, and newlines too when `newlines`.
    fn skip(&mut self, newlines: bool) -> P<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t') => self.pos += 1,
                Some(b'\r') if self.peek_at(1) == Some(b'\n') && newlines => self.pos += 2,
                Some(b'\n') if newlines => self.pos += 1,
                Some(b'#') => self.line_comment(),
                Some(b'/') if self.peek_at(1) == Some(b'/') => self.line_comment(),
                Some(b'/') if self.peek_at(1) == Some(b'*') => {
                    let rest = self.text.get(self.pos + 2..)?;
                    let end = rest.find("*/")?;
                    // A block comment spanning lines ends an attribute like a newline would;
                    // leave that layout to hcl-edit.
                    if !newlines && rest.get(..end)?.contains('\n') {
                        return None;
                    }
                    self.pos += 2 + end + 2;
                }
                _ => return Some(()),
            }
        }
    }

    /// Skips to the end of the line (not past the newline).
    fn line_comment(&mut self) {
        while let Some(b) = self.peek() {
            if b == b'\n' || (b == b'\r' && self.peek_at(1) == Some(b'\n')) {
                break;
            }
            self.pos += 1;
        }
    }

    /// The end of a line: a newline, or the end of the file.
    fn end_of_line(&mut self) -> P<()> {
        self.skip(false)?;
        match self.peek() {
            None => Some(()),
            Some(b'\n') => {
                self.pos += 1;
                Some(())
            }
            Some(b'\r') if self.peek_at(1) == Some(b'\n') => {
                self.pos += 2;
                Some(())
            }
            _ => None,
        }
    }

    fn ident(&mut self) -> P<String> {
        let start = self.pos;
        match self.peek() {
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => self.pos += 1,
            _ => return None,
        }
        while let Some(b) = self.peek() {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
                self.pos += 1;
            } else if b >= 0x80 {
                return None;
            } else {
                break;
            }
        }
        Some(self.text.get(start..self.pos)?.to_owned())
    }

    fn body(&mut self, top: bool) -> P<Body> {
        let mut body = Body::default();
        // Attribute names so far, to leave a redefined one to hcl-edit's error.
        let mut names = std::collections::HashSet::new();
        loop {
            self.skip(true)?;
            match self.peek() {
                None if top => return Some(body),
                Some(b'}') if !top => return Some(body),
                None | Some(b'}') => return None,
                _ => {}
            }
            let start = self.pos;
            let name = self.ident()?;
            self.skip(false)?;
            if self.peek() == Some(b'=') && self.peek_at(1) != Some(b'=') {
                self.pos += 1;
                self.skip(false)?;
                let expr = self.expression(false)?;
                self.end_of_line()?;
                // Most bodies are short: compare directly, and hash only long ones.
                let redefined = if body.attrs.len() < 32 {
                    body.attrs.iter().any(|attr| attr.name == name)
                } else {
                    if names.is_empty() {
                        names.extend(body.attrs.iter().map(|attr| attr.name.clone()));
                    }
                    !names.insert(name.clone())
                };
                if redefined {
                    return None;
                }
                body.attrs.push(Attr {
                    name,
                    at: self.at(start),
                    expr,
                });
                continue;
            }
            let mut labels = Vec::new();
            loop {
                self.skip(false)?;
                match self.peek() {
                    Some(b'"') => labels.push(self.plain_string()?),
                    Some(b'{') => break,
                    _ => labels.push(self.ident()?),
                }
            }
            self.pos += 1;
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return None;
            }
            self.skip(false)?;
            let inner = match self.peek() {
                Some(b'\n' | b'\r') => self.body(false)?,
                Some(b'}') => Body::default(),
                // `block { attr = value }` on one line: at most one attribute.
                _ => {
                    let attr_start = self.pos;
                    let name = self.ident()?;
                    self.skip(false)?;
                    if !self.eat(b'=') || self.peek() == Some(b'=') {
                        return None;
                    }
                    self.skip(false)?;
                    let expr = self.expression(false)?;
                    self.skip(false)?;
                    Body {
                        attrs: vec![Attr {
                            name,
                            at: self.at(attr_start),
                            expr,
                        }],
                        blocks: Vec::new(),
                    }
                }
            };
            self.depth -= 1;
            self.expect(b'}')?;
            let end_line = self.lines.line(self.pos - 1);
            self.end_of_line()?;
            body.blocks.push(Block {
                kind: name,
                labels,
                at: self.at(start),
                end_line,
                body: inner,
            });
        }
    }

    /// A quoted string without interpolation (a block label).
    fn plain_string(&mut self) -> P<String> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return Some(out);
                }
                b'\\' => self.escape(&mut out)?,
                b'\n' | b'$' | b'%' => return None,
                _ => self.literal_char(&mut out)?,
            }
        }
    }

    /// Copies a run of literal text to `out`: up to the next byte that may mean something in
    /// a template (at least one character).
    fn literal_char(&mut self, out: &mut String) -> P<()> {
        let rest = self.text.get(self.pos..)?;
        let first = rest.chars().next()?;
        // A newline alone: a heredoc checks for its delimiter at every line start.
        let run = if first == '\n' {
            1
        } else {
            rest.get(first.len_utf8()..)?
                .find(['\\', '"', '\n', '$', '%', '\r'])
                .map_or(rest.len(), |at| at + first.len_utf8())
        };
        out.push_str(rest.get(..run)?);
        self.pos += run;
        Some(())
    }

    fn escape(&mut self, out: &mut String) -> P<()> {
        self.pos += 1;
        let c = self.peek()?;
        self.pos += 1;
        match c {
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'u' | b'U' => {
                let digits = if c == b'u' { 4 } else { 8 };
                let hex = self.text.get(self.pos..self.pos + digits)?;
                let code = u32::from_str_radix(hex, 16).ok()?;
                out.push(char::from_u32(code)?);
                self.pos += digits;
            }
            _ => return None,
        }
        Some(())
    }

    /// An expression; `nl` says whether newlines may appear (inside brackets).
    fn expression(&mut self, nl: bool) -> P<Expr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let start = self.pos;
        let operators = self.operators;
        self.operators = 0;
        let cond = self.binary(0, nl)?;
        self.operators = self.operators.max(operators);
        let before = self.pos;
        self.skip(nl)?;
        let result = if self.peek() == Some(b'?') {
            self.pos += 1;
            self.skip(true)?;
            let then = self.expression(true)?;
            self.skip(true)?;
            self.expect(b':')?;
            self.skip(true)?;
            let otherwise = self.expression(nl)?;
            self.expr_at(Kind::Conditional(Box::new((cond, then, otherwise))), start)
        } else {
            self.pos = before;
            cond
        };
        self.depth -= 1;
        Some(result)
    }

    fn binary_operator(&self) -> Option<(BinaryOperator, usize, u8)> {
        let two = self.bytes.get(self.pos..self.pos + 2);
        let op = match two {
            Some(b"||") => (BinaryOperator::Or, 2, 1),
            Some(b"&&") => (BinaryOperator::And, 2, 2),
            Some(b"==") => (BinaryOperator::Eq, 2, 3),
            Some(b"!=") => (BinaryOperator::NotEq, 2, 3),
            Some(b"<=") => (BinaryOperator::LessEq, 2, 4),
            Some(b">=") => (BinaryOperator::GreaterEq, 2, 4),
            Some(b"=>") => return None,
            _ => match self.peek()? {
                b'<' if self.peek_at(1) != Some(b'<') => (BinaryOperator::Less, 1, 4),
                b'>' => (BinaryOperator::Greater, 1, 4),
                b'+' => (BinaryOperator::Plus, 1, 5),
                b'-' => (BinaryOperator::Minus, 1, 5),
                b'*' => (BinaryOperator::Mul, 1, 6),
                b'/' if !matches!(self.peek_at(1), Some(b'/' | b'*')) => {
                    (BinaryOperator::Div, 1, 6)
                }
                b'%' => (BinaryOperator::Mod, 1, 6),
                _ => return None,
            },
        };
        Some(op)
    }

    fn binary(&mut self, min: u8, nl: bool) -> P<Expr> {
        let start = self.pos;
        let mut left = self.unary(nl)?;
        loop {
            let before = self.pos;
            self.skip(nl)?;
            let Some((op, len, precedence)) = self.binary_operator() else {
                self.pos = before;
                return Some(left);
            };
            if precedence <= min && min > 0 {
                self.pos = before;
                return Some(left);
            }
            self.pos += len;
            self.operators += 1;
            if self.operators > MAX_OPERATORS {
                return None;
            }
            self.skip(nl)?;
            let right = self.binary(precedence, nl)?;
            left = self.expr_at(Kind::Binary(op, Box::new((left, right))), start);
        }
    }

    fn unary(&mut self, nl: bool) -> P<Expr> {
        let start = self.pos;
        let op = match self.peek()? {
            // `-1` (and `- 1`) is a number, as hcl-edit reads it.
            b'-' if self
                .bytes
                .get(self.pos + 1..)
                .and_then(|rest| rest.iter().find(|b| !matches!(b, b' ' | b'\t')))
                .is_some_and(u8::is_ascii_digit) =>
            {
                self.pos += 1;
                self.skip(false)?;
                let number = self.number()?;
                let Kind::Number(n) = number.kind else {
                    return None;
                };
                let literal = self.expr_at(Kind::Number(-n), start);
                return self.postfix_of(literal, start, nl);
            }
            b'-' => UnaryOperator::Neg,
            b'!' => UnaryOperator::Not,
            _ => return self.postfix(nl),
        };
        self.pos += 1;
        self.skip(nl)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let operand = self.unary(nl)?;
        self.depth -= 1;
        Some(self.expr_at(Kind::Unary(op, Box::new(operand)), start))
    }

    fn postfix(&mut self, nl: bool) -> P<Expr> {
        let start = self.pos;
        let term = self.term()?;
        self.postfix_of(term, start, nl)
    }

    /// Traversal operators after `term`.
    fn postfix_of(&mut self, term: Expr, start: usize, nl: bool) -> P<Expr> {
        let mut ops = Vec::new();
        loop {
            let before = self.pos;
            self.skip(nl)?;
            match self.peek() {
                Some(b'.') if self.peek_at(1) == Some(b'*') => {
                    self.pos += 2;
                    ops.push(Op::AttrSplat);
                }
                Some(b'.') if self.peek_at(1).is_some_and(|b| b.is_ascii_digit()) => {
                    self.pos += 1;
                    let at = self.pos;
                    while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                        self.pos += 1;
                    }
                    let index: f64 = self.text.get(at..self.pos)?.parse().ok()?;
                    ops.push(Op::Index(self.expr_at(Kind::Number(index), at)));
                }
                Some(b'.') if self.peek_at(1) != Some(b'.') => {
                    self.pos += 1;
                    ops.push(Op::Attr(self.ident()?));
                }
                Some(b'[') => {
                    self.pos += 1;
                    self.skip(true)?;
                    if self.eat(b'*') {
                        self.skip(true)?;
                        self.expect(b']')?;
                        ops.push(Op::FullSplat);
                    } else {
                        let index = self.expression(true)?;
                        self.skip(true)?;
                        self.expect(b']')?;
                        ops.push(Op::Index(index));
                    }
                }
                _ => {
                    self.pos = before;
                    break;
                }
            }
        }
        if ops.is_empty() {
            Some(term)
        } else {
            Some(self.expr_at(Kind::Traversal(Box::new(term), ops), start))
        }
    }

    fn term(&mut self) -> P<Expr> {
        let start = self.pos;
        match self.peek()? {
            b'0'..=b'9' => self.number(),
            b'"' => self.quoted(),
            b'<' if self.starts_with("<<") => self.heredoc(),
            b'[' => {
                self.pos += 1;
                self.skip(true)?;
                if self.keyword("for") {
                    return self.for_expr(start, b']');
                }
                let mut items = Vec::new();
                loop {
                    self.skip(true)?;
                    if self.eat(b']') {
                        break;
                    }
                    items.push(self.expression(true)?);
                    self.skip(true)?;
                    if !self.eat(b',') {
                        self.skip(true)?;
                        self.expect(b']')?;
                        break;
                    }
                }
                Some(self.expr_at(Kind::Array(items), start))
            }
            b'{' => {
                self.pos += 1;
                self.skip(true)?;
                if self.keyword("for") {
                    return self.for_expr(start, b'}');
                }
                self.object(start)
            }
            b'(' => {
                self.pos += 1;
                self.skip(true)?;
                let inner = self.expression(true)?;
                self.skip(true)?;
                self.expect(b')')?;
                Some(inner)
            }
            _ => {
                let name = self.ident()?;
                match name.as_str() {
                    "true" => return Some(self.expr_at(Kind::Bool(true), start)),
                    "false" => return Some(self.expr_at(Kind::Bool(false), start)),
                    "null" => return Some(self.expr_at(Kind::Null, start)),
                    _ => {}
                }
                let mut name = name;
                let mut namespaced = false;
                while self.starts_with("::") {
                    self.pos += 2;
                    name = self.ident()?;
                    namespaced = true;
                }
                if self.eat(b'(') {
                    return self.call(start, name, namespaced);
                }
                if namespaced {
                    return None;
                }
                Some(self.expr_at(Kind::Variable(name), start))
            }
        }
    }

    /// True (and consumed) when the next word is `word`, followed by a space on the same line
    /// (other layouts are left to hcl-edit).
    fn keyword(&mut self, word: &str) -> bool {
        if self.starts_with(word) && matches!(self.peek_at(word.len()), Some(b' ' | b'\t')) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn number(&mut self) -> P<Expr> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.peek() == Some(b'.') && self.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return None;
            }
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        let value: f64 = self.text.get(start..self.pos)?.parse().ok()?;
        Some(self.expr_at(Kind::Number(value), start))
    }

    fn call(&mut self, start: usize, name: String, namespaced: bool) -> P<Expr> {
        let mut args = Vec::new();
        let mut expand_final = false;
        loop {
            self.skip(true)?;
            if self.eat(b')') {
                break;
            }
            args.push(self.expression(true)?);
            self.skip(true)?;
            if self.starts_with("...") {
                self.pos += 3;
                expand_final = true;
                self.skip(true)?;
                self.eat(b',');
                self.skip(true)?;
                self.expect(b')')?;
                break;
            }
            if !self.eat(b',') {
                self.skip(true)?;
                self.expect(b')')?;
                break;
            }
        }
        Some(self.expr_at(
            Kind::Call(Box::new(Call {
                name,
                namespaced,
                args,
                expand_final,
            })),
            start,
        ))
    }

    fn object(&mut self, start: usize) -> P<Expr> {
        let mut entries = Vec::new();
        loop {
            self.skip(true)?;
            if self.eat(b'}') {
                break;
            }
            let key_start = self.pos;
            let key = match self.peek()? {
                b if b.is_ascii_alphabetic() || b == b'_' => {
                    let name = self.ident()?;
                    let after = self.pos;
                    self.skip(false)?;
                    let assigns = match self.peek() {
                        Some(b'=') => self.peek_at(1) != Some(b'='),
                        Some(b':') => true,
                        _ => false,
                    };
                    if assigns {
                        match name.as_str() {
                            // hcl-edit reads these as literal values, not names.
                            "true" | "false" | "null" => return None,
                            _ => Key::Name(name, self.at(key_start)),
                        }
                    } else {
                        self.pos = key_start;
                        let _ = after;
                        Key::Expr(self.expression(false)?)
                    }
                }
                _ => Key::Expr(self.expression(false)?),
            };
            self.skip(false)?;
            if !(self.eat(b'=') || self.eat(b':')) {
                return None;
            }
            // The value is on the key's line: a newline ends it (inside brackets it may not).
            self.skip(false)?;
            let value = self.expression(false)?;
            entries.push((key, value));
            self.skip(false)?;
            if self.eat(b',') {
                continue;
            }
            if matches!(self.peek(), Some(b'\n' | b'\r')) {
                continue;
            }
            self.skip(true)?;
            self.expect(b'}')?;
            break;
        }
        Some(self.expr_at(Kind::Object(entries), start))
    }

    /// After `for`: `[key,] value in collection`, as in `for` expressions and `%{for}`
    /// directives.
    fn for_head(&mut self) -> P<(Option<String>, String, Expr)> {
        self.skip(true)?;
        let first = self.ident()?;
        self.skip(true)?;
        let (key_var, value_var) = if self.eat(b',') {
            self.skip(true)?;
            (Some(first), self.ident()?)
        } else {
            (None, first)
        };
        self.skip(true)?;
        if !self.keyword("in") {
            return None;
        }
        self.skip(true)?;
        Some((key_var, value_var, self.expression(true)?))
    }

    fn for_expr(&mut self, start: usize, close: u8) -> P<Expr> {
        let (key_var, value_var, collection) = self.for_head()?;
        self.skip(true)?;
        self.expect(b':')?;
        self.skip(true)?;
        let first = self.expression(true)?;
        self.skip(true)?;
        let (key, value) = if close == b'}' {
            if !self.starts_with("=>") {
                return None;
            }
            self.pos += 2;
            self.skip(true)?;
            (Some(first), self.expression(true)?)
        } else {
            (None, first)
        };
        self.skip(true)?;
        let mut grouping = false;
        if close == b'}' && self.starts_with("...") {
            self.pos += 3;
            grouping = true;
            self.skip(true)?;
        }
        let cond = if self.keyword("if") {
            self.skip(true)?;
            Some(self.expression(true)?)
        } else {
            None
        };
        self.skip(true)?;
        self.expect(close)?;
        Some(self.expr_at(
            Kind::For(Box::new(For {
                key_var,
                value_var,
                collection,
                key,
                value,
                cond,
                grouping,
            })),
            start,
        ))
    }

    /// `"…"`: a plain string, or a template.
    fn quoted(&mut self) -> P<Expr> {
        let start = self.pos;
        self.pos += 1;
        let elems = self.template_elems(Some(b'"'), None)?;
        self.expect(b'"')?;
        if let [Elem::Literal(_)] | [] = elems.as_slice() {
            let text = match elems.into_iter().next() {
                Some(Elem::Literal(text)) => text,
                _ => String::new(),
            };
            return Some(self.expr_at(Kind::String(text), start));
        }
        let mut parts = build(elems);
        if let [Part::Interpolation(_)] = parts.as_slice()
            && let Some(Part::Interpolation(inner)) = parts.pop()
        {
            return Some(inner);
        }
        Some(self.expr_at(Kind::Template(parts), start))
    }

    fn heredoc(&mut self) -> P<Expr> {
        let start = self.pos;
        self.pos += 2;
        let indented = self.eat(b'-');
        let delimiter = self.ident()?;
        self.eat(b'\r');
        self.expect(b'\n')?;
        let mut elems = self.template_elems(None, Some(&delimiter))?;
        // The closing delimiter, after optional indentation.
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        if !self.starts_with(&delimiter) {
            return None;
        }
        self.pos += delimiter.len();
        if indented {
            dedent(&mut elems);
        }
        let parts = build(elems);
        Some(self.expr_at(Kind::Template(parts), start))
    }

    /// True when the current position starts a line holding only the heredoc delimiter.
    fn at_delimiter(&self, delimiter: &str) -> bool {
        let line_start = self.pos == 0 || self.bytes.get(self.pos - 1) == Some(&b'\n');
        if !line_start {
            return false;
        }
        let Some(rest) = self.text.get(self.pos..) else {
            return false;
        };
        let rest = rest.trim_start_matches([' ', '\t']);
        // As hcl-edit: the delimiter ends the heredoc when no identifier character follows.
        rest.strip_prefix(delimiter).is_some_and(|after| {
            !after
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b >= 0x80)
        })
    }

    /// Template elements up to `close` (a quoted string), a heredoc `delimiter` line, or a
    /// directive keyword (left to the caller).
    fn template_elems(&mut self, close: Option<u8>, delimiter: Option<&str>) -> P<Vec<Elem>> {
        let (elems, end) = self.template_until(close, delimiter)?;
        match end {
            None => Some(elems),
            Some(_) => None,
        }
    }

    /// Reads elements until the end of the template or a closing directive (`else`, `endif`,
    /// `endfor`), which is returned with its strip markers.
    fn template_until(
        &mut self,
        close: Option<u8>,
        delimiter: Option<&str>,
    ) -> P<(Vec<Elem>, Option<Closing>)> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let mut elems = Vec::new();
        let mut literal = String::new();
        loop {
            if let Some(delimiter) = delimiter
                && self.at_delimiter(delimiter)
            {
                break;
            }
            let Some(b) = self.peek() else {
                // A heredoc must end with its delimiter; a string with its quote.
                return None;
            };
            if Some(b) == close {
                break;
            }
            match b {
                b'\\' if close.is_some() => self.escape(&mut literal)?,
                b'\n' if close.is_some() => return None,
                b'$' if self.starts_with("$${") => {
                    self.pos += 3;
                    literal.push_str("${");
                }
                b'%' if self.starts_with("%%{") => {
                    self.pos += 3;
                    literal.push_str("%{");
                }
                b'$' if self.starts_with("${") => {
                    self.pos += 2;
                    let strip_start = self.eat(b'~');
                    self.skip(true)?;
                    let expr = self.expression(true)?;
                    self.skip(true)?;
                    let strip_end = self.eat(b'~');
                    self.expect(b'}')?;
                    if !literal.is_empty() {
                        elems.push(Elem::Literal(std::mem::take(&mut literal)));
                    }
                    elems.push(Elem::Interpolation(
                        expr,
                        Strip::from((strip_start, strip_end)),
                    ));
                }
                b'%' if self.starts_with("%{") => {
                    self.pos += 2;
                    let strip_start = self.eat(b'~');
                    self.skip(true)?;
                    let directive = self.directive()?;
                    self.skip(true)?;
                    let strip_end = self.eat(b'~');
                    self.expect(b'}')?;
                    let strip = Strip::from((strip_start, strip_end));
                    if !literal.is_empty() {
                        elems.push(Elem::Literal(std::mem::take(&mut literal)));
                    }
                    match directive {
                        Directive::If(cond) => {
                            let (then, end) = self.template_until(close, delimiter)?;
                            let (otherwise, endif_strip) = match end? {
                                (Directive::EndIf, strip) => (None, strip),
                                (Directive::Else, else_strip) => {
                                    let (otherwise, end) = self.template_until(close, delimiter)?;
                                    match end? {
                                        (Directive::EndIf, strip) => {
                                            (Some((else_strip, otherwise)), strip)
                                        }
                                        _ => return None,
                                    }
                                }
                                _ => return None,
                            };
                            elems.push(Elem::If {
                                cond,
                                if_strip: strip,
                                then,
                                otherwise,
                                endif_strip,
                            });
                        }
                        Directive::For(key_var, value_var, collection) => {
                            let (body, end) = self.template_until(close, delimiter)?;
                            let endfor_strip = match end? {
                                (Directive::EndFor, strip) => strip,
                                _ => return None,
                            };
                            elems.push(Elem::For {
                                key_var,
                                value_var,
                                collection,
                                for_strip: strip,
                                body,
                                endfor_strip,
                            });
                        }
                        other => {
                            self.depth -= 1;
                            return Some((elems, Some((other, strip))));
                        }
                    }
                }
                _ => self.literal_char(&mut literal)?,
            }
        }
        if !literal.is_empty() {
            elems.push(Elem::Literal(literal));
        }
        self.depth -= 1;
        Some((elems, None))
    }

    fn directive(&mut self) -> P<Directive> {
        if self.keyword("if") {
            self.skip(true)?;
            return Some(Directive::If(self.expression(true)?));
        }
        if self.keyword("for") {
            let (key_var, value_var, collection) = self.for_head()?;
            return Some(Directive::For(key_var, value_var, collection));
        }
        match self.ident()?.as_str() {
            "else" => Some(Directive::Else),
            "endif" => Some(Directive::EndIf),
            "endfor" => Some(Directive::EndFor),
            _ => None,
        }
    }
}

/// Applies strip markers the way hcl-edit's tree is lowered (see `syntax::Lower::template`).
fn build(elems: Vec<Elem>) -> Vec<Part> {
    let mut parts = Parts::default();
    build_into(elems, &mut parts);
    parts.into_parts()
}

fn build_into(elems: Vec<Elem>, parts: &mut Parts) {
    for elem in elems {
        match elem {
            Elem::Literal(text) => parts.literal(&text),
            Elem::Interpolation(expr, strip) => {
                parts.open(strip);
                parts.push(Part::Interpolation(expr));
                parts.close(strip);
            }
            Elem::If {
                cond,
                if_strip,
                then,
                otherwise,
                endif_strip,
            } => {
                parts.open(if_strip);
                let mut then_parts = Parts::trimming(if_strip.strip_end());
                build_into(then, &mut then_parts);
                let mut else_parts = Parts::default();
                if let Some((else_strip, otherwise)) = otherwise {
                    then_parts.trim_last(else_strip.strip_start());
                    else_parts = Parts::trimming(else_strip.strip_end());
                    build_into(otherwise, &mut else_parts);
                    else_parts.trim_last(endif_strip.strip_start());
                } else {
                    then_parts.trim_last(endif_strip.strip_start());
                }
                parts.push(Part::If {
                    cond,
                    then: then_parts.into_parts(),
                    otherwise: else_parts.into_parts(),
                });
                parts.close(endif_strip);
            }
            Elem::For {
                key_var,
                value_var,
                collection,
                for_strip,
                body,
                endfor_strip,
            } => {
                parts.open(for_strip);
                let mut body_parts = Parts::trimming(for_strip.strip_end());
                build_into(body, &mut body_parts);
                body_parts.trim_last(endfor_strip.strip_start());
                parts.push(Part::For {
                    key_var,
                    value_var,
                    collection,
                    body: body_parts.into_parts(),
                });
                parts.close(endfor_strip);
            }
        }
    }
}

/// `<<-` heredocs: strips the smallest indentation of the top-level literal lines, as
/// hcl-edit's `Template::dedent` does.
fn dedent(elems: &mut [Elem]) {
    let mut indent: Option<usize> = None;
    let mut skip_first = false;
    for elem in elems.iter() {
        if let Elem::Literal(text) = elem {
            if let Some(ws) = min_leading_whitespace(text, skip_first) {
                indent = Some(indent.map_or(ws, |i| i.min(ws)));
            }
            skip_first = !text.ends_with('\n');
        } else if !skip_first {
            return;
        }
    }
    let Some(indent) = indent else {
        return;
    };
    skip_first = false;
    for elem in elems.iter_mut() {
        if let Elem::Literal(text) = elem {
            *text = dedent_by(text, indent, skip_first);
            skip_first = !text.ends_with('\n');
        } else if !skip_first {
            skip_first = true;
        }
    }
}

fn dedent_by(s: &str, n: usize, skip_first: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.lines().enumerate() {
        if i == 0 && skip_first {
            out.push_str(line);
        } else if !line.is_empty() {
            out.extend(line.chars().skip(n));
        }
        out.push('\n');
    }
    if out.ends_with('\n') && !s.ends_with('\n') {
        out.pop();
    }
    out
}

fn min_leading_whitespace(s: &str, skip_first: bool) -> Option<usize> {
    if s.is_empty() {
        return None;
    }
    let mut leading: Option<usize> = None;
    for (i, line) in s.lines().enumerate() {
        if (i == 0 && skip_first) || line.is_empty() {
            continue;
        }
        let ws = line.chars().take_while(|c| c.is_whitespace()).count();
        if ws == 0 {
            return Some(0);
        }
        leading = Some(leading.map_or(ws, |l| l.min(ws)));
    }
    leading
}
