//! Dockerfiles → one `dockerfile/file` resource and one `dockerfile/stage` resource per stage.
//!
//! The parser follows BuildKit's reading of the format:
//! - parser directives (`# syntax=…`, `# escape=…`, `# check=…`) only at the very top, until the
//!   first line that is not one;
//! - comments are whole lines whose first non-blank character is `#` (a `#` later in a line is
//!   text); empty and comment lines inside a continuation are skipped;
//! - a line ending in the escape character (`\`, or `` ` `` after `# escape=`) continues on the
//!   next line; the pieces are joined with one space where either side had blanks, directly
//!   otherwise (`echo a\` + `b` is `echo ab`, as Docker reads it);
//! - heredocs (`<<EOF`, `<<-EOF`, `<<"EOF"`, several per line) for `RUN`, `COPY` and `ADD`;
//! - leading `--flag[=value]` words of `FROM`, `RUN`, `COPY`, `ADD` and `HEALTHCHECK`.
//!
//! Variables (`$V`, `${V}`, `${V:-default}`, `${V:+alt}`) are substituted once, never
//! recursively, with the values known from the file: global `ARG`s (before the first `FROM`) in
//! `FROM` lines; inside a stage, its `ARG`s (a bare `ARG V` takes the global default) and `ENV`s
//! (which win over `ARG`s of the same name, and carry over to a stage built `FROM` this one).
//! Variables without a known value stay as written, and so does anything in single quotes or
//! after the escape character. `CMD`, `ENTRYPOINT` and `HEALTHCHECK` only see `ENV` values (build
//! arguments are gone at run time); exec-form `RUN`, `CMD`, `ENTRYPOINT` and `SHELL` are not
//! substituted at all (no shell expands them); `ONBUILD` is kept as written.
//!
//! Stage attributes:
//!
//! ```json
//! {"index": 0, "name": "builder", "final": false,
//!  "from": {"image": "golang:1.23", "raw": "golang:${GO}", "registry": null,
//!           "repository": "golang", "tag": "1.23", "digest": null, "platform": null,
//!           "stage": null, "scratch": false},
//!  "user": "app",
//!  "instructions": [{"keyword": "RUN", "arguments": "…", "raw": "RUN --mount=… …",
//!                    "form": "shell", "exec": null, "flags": {"mount": "type=cache,…"},
//!                    "heredocs": [{"delimiter": "EOF", "body": "…\n"}],
//!                    "commands": [{"text": "curl -fsSL https://x", "line": 7, "pipe_to": "sh"}]}]}
//! ```
//!
//! `instructions` are those after the `FROM` line. `raw` is the whole instruction as written,
//! keyword and flags included. A flag given several times (`--mount` twice) holds an array of its
//! values. `commands` (for `RUN`) split the shell text at `&&`, `||`, `;`, `|`, `&` and newlines
//! outside quotes and `$(…)`, without comments and leading `if`/`then`/`do`/`(`/`{` words;
//! heredoc bodies count when they are the script (`RUN <<EOF`, `RUN bash <<EOF`), and so does the
//! script of an exec-form `["sh", "-c", "…"]`. `ENV`, `ARG` and `LABEL` get `values` (`ARG V`
//! without default is `null`), `EXPOSE` gets `ports` (`"80/tcp"`), `HEALTHCHECK` gets `none`.
//! `user` is the last `USER` of the stage, else the one of the stage it is built `FROM`.
//!
//! The file resource holds `{"stages": […], "directives": {"syntax": …, "escape": …},
//! "args": [{"name": …, "default": …}]}` (`stages` are names, else indices; `args` the global
//! `ARG`s; a `# check=…` directive adds `"check"`).
//!
//! Problems (an unknown instruction, an instruction other than `ARG` before the first `FROM`, no
//! `FROM`, an unterminated heredoc, an exec form that is not a JSON array, a duplicate stage
//! name) are diagnostics with their line; the rest of the file is still read.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::resource::{Diagnostic, Limits, Normalized, Resource, Span, SpanTable};

/// True for `Dockerfile`, `Containerfile`, `*.Dockerfile`, `Dockerfile.*` (any case).
///
/// `*.Containerfile` and `Containerfile.*` too; never `*.dockerignore`, nor `Dockerfile.<ext>`
/// with the extension of source code, documentation, data or a template (`dockerfile.rs`,
/// `Dockerfile.md`, `Dockerfile.j2`): those are named after Dockerfiles, not written in them.
pub fn is_candidate(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return false;
    };
    if ends_with_ignore_case(name, ".dockerignore") {
        return false;
    }
    ["dockerfile", "containerfile"].iter().any(|word| {
        let n = word.len();
        let bytes = name.as_bytes();
        let exact = name.eq_ignore_ascii_case(word);
        // `Dockerfile.prod`
        let prefixed = name.len() > n + 1
            && bytes[..n].eq_ignore_ascii_case(word.as_bytes())
            && bytes[n] == b'.'
            && !NOT_DOCKERFILE_EXTENSIONS.iter().any(|extension| {
                let last = name.rsplit('.').next().unwrap_or("");
                last.eq_ignore_ascii_case(extension)
            });
        // `api.Dockerfile`
        let suffixed = name.len() > n + 1
            && ends_with_ignore_case(name, word)
            && bytes[name.len() - n - 1] == b'.';
        exact || prefixed || suffixed
    })
}

/// Extensions that make `Dockerfile.<extension>` something other than a Dockerfile.
const NOT_DOCKERFILE_EXTENSIONS: &[&str] = &[
    // Source code (a `dockerfile.rs` module, a `dockerfile.vim` syntax file…).
    "rs", "go", "py", "pyi", "js", "mjs", "cjs", "ts", "tsx", "jsx", "java", "kt", "kts", "scala",
    "rb", "php", "pl", "pm", "lua", "c", "h", "cc", "cpp", "hpp", "cs", "swift", "el", "vim", "sh",
    "bash", "zsh", "fish", "ps1", "bat", "cmd", // Documentation and data.
    "md", "markdown", "rst", "txt", "adoc", "html", "htm", "xml", "json", "yaml", "yml", "toml",
    "ini", "cfg", "conf", "lock", "snap", "orig", "rej", "bak", "swp", "diff", "patch",
    // Templates, which only become Dockerfiles once rendered.
    "j2", "jinja", "jinja2", "tmpl", "tpl", "template", "erb", "mustache", "hbs", "gotmpl", "in",
];

/// Normalizes one Dockerfile; `display` names the file in the results.
///
/// A file named only loosely like a Dockerfile (`Dockerfile.prod`, `api.Dockerfile`) without
/// any `FROM` line is a fragment or something else, and stays quiet (unrecognized); a file
/// named exactly `Dockerfile` or `Containerfile` is always read, and its problems reported.
pub fn normalize(display: &str, text: &str, limits: &Limits) -> Normalized {
    let exact = Path::new(display)
        .file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| {
            name.eq_ignore_ascii_case("dockerfile") || name.eq_ignore_ascii_case("containerfile")
        });
    if !exact && !has_from_line(text) {
        return Normalized::default();
    }
    let mut parser = Parser::new(display, text, limits);
    parser.run();
    parser.finish()
}

/// True when some line starts with a `FROM` instruction.
fn has_from_line(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start().as_bytes();
        line.len() > 4 && line[..4].eq_ignore_ascii_case(b"FROM") && line[4].is_ascii_whitespace()
    })
}

/// Every instruction Docker knows.
const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Instructions whose leading `--name=value` words are flags.
const FLAGGED: &[&str] = &["FROM", "RUN", "COPY", "ADD", "HEALTHCHECK"];

/// Instructions that may carry heredocs.
const HEREDOC_KEYWORDS: &[&str] = &["RUN", "COPY", "ADD"];

/// Instructions with an exec (JSON array) form.
const EXEC_KEYWORDS: &[&str] = &["RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"];

/// Programs that read a shell script.
const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"];

/// Parser directives BuildKit knows.
const DIRECTIVES: &[&str] = &["syntax", "escape", "check"];

// ---------------------------------------------------------------------------------------------
// Text with positions

/// Where a piece of assembled text starts in the file.
#[derive(Debug, Clone, Copy)]
struct Piece {
    /// Byte offset of the piece in the assembled text.
    at: usize,
    line: u32,
    /// 1-based column of the piece's first character on its line.
    column: u32,
}

/// Text assembled from one or more physical lines, with the origin of every piece.
#[derive(Debug, Default)]
struct Mapped {
    text: String,
    pieces: Vec<Piece>,
}

impl Mapped {
    fn push_piece(&mut self, text: &str, line: u32, column: u32) {
        self.pieces.push(Piece {
            at: self.text.len(),
            line,
            column,
        });
        self.text.push_str(text);
    }

    /// The source position of byte `offset` of the text.
    fn span(&self, offset: usize) -> Span {
        let index = self
            .pieces
            .partition_point(|piece| piece.at <= offset)
            .saturating_sub(1);
        let Some(piece) = self.pieces.get(index) else {
            return Span { line: 1, column: 1 };
        };
        let offset = offset.clamp(piece.at, self.text.len());
        let slice = self.text.get(piece.at..offset).unwrap_or("");
        // Counting characters keeps columns right on non-ASCII lines; on absurdly long ones
        // (hostile input) bytes keep the cost linear.
        let width = if slice.len() > 4096 || slice.is_ascii() {
            slice.len()
        } else {
            slice.chars().count()
        };
        Span {
            line: piece.line,
            column: piece.column.saturating_add(width as u32),
        }
    }
}

/// Text after variable substitution, mapping its offsets back to the text it came from.
#[derive(Debug)]
struct Expanded {
    text: String,
    /// (offset in `text`, offset in the source, literal copy?), ascending.
    marks: Vec<(usize, usize, bool)>,
}

impl Expanded {
    /// The source offset of byte `offset` of the expanded text: inside a substituted value, the
    /// `$` of its reference.
    fn source(&self, offset: usize) -> usize {
        let index = self
            .marks
            .partition_point(|mark| mark.0 <= offset)
            .saturating_sub(1);
        match self.marks.get(index) {
            Some(&(out, src, true)) => src + (offset - out),
            Some(&(_, src, false)) => src,
            None => offset,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Variables

/// The variables in scope: name → (value, set by `ENV`).
#[derive(Debug, Clone, Default)]
struct Scope {
    vars: HashMap<String, (String, bool)>,
}

/// Which variables a substitution sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visible {
    /// `ARG` and `ENV` values (build time).
    All,
    /// `ENV` values only (run time).
    Env,
}

impl Scope {
    fn get(&self, name: &str, visible: Visible) -> Option<&str> {
        match self.vars.get(name) {
            Some((value, env)) if *env || visible == Visible::All => Some(value),
            _ => None,
        }
    }

    fn set_arg(&mut self, name: &str, value: String) {
        // `ENV` always wins over an `ARG` of the same name.
        if !matches!(self.vars.get(name), Some((_, true))) {
            self.vars.insert(name.to_owned(), (value, false));
        }
    }

    fn set_env(&mut self, name: &str, value: String) {
        self.vars.insert(name.to_owned(), (value, true));
    }

    /// The `ENV` values only: what a stage built `FROM` this one inherits.
    fn env_only(&self) -> Scope {
        Scope {
            vars: self
                .vars
                .iter()
                .filter(|(_, (_, env))| *env)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

/// Finds the next `}` at or after an offset, each byte of the text searched at most once
/// (so a text full of unclosed `${` costs linear time).
struct CloseBrace<'s> {
    bytes: &'s [u8],
    found: Option<usize>,
    /// Everything from here on has been searched without success.
    exhausted_from: Option<usize>,
}

impl<'s> CloseBrace<'s> {
    fn new(text: &'s str) -> Self {
        CloseBrace {
            bytes: text.as_bytes(),
            found: None,
            exhausted_from: None,
        }
    }

    fn at_or_after(&mut self, from: usize) -> Option<usize> {
        if let Some(found) = self.found.filter(|&f| f >= from) {
            return Some(found);
        }
        if self.exhausted_from.is_some_and(|e| e <= from) {
            return None;
        }
        let hit = self
            .bytes
            .get(from..)?
            .iter()
            .position(|&b| b == b'}')
            .map(|p| from + p);
        match hit {
            Some(p) => self.found = Some(p),
            None => self.exhausted_from = Some(from),
        }
        hit
    }
}

fn ident_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    if !bytes
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
    {
        return 0;
    }
    bytes
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .unwrap_or(bytes.len())
}

/// A variable reference at `at` (a `$`): its end and its replacement, `None` to keep it as
/// written. Returns `None` when `$` starts no reference.
fn reference<'s>(
    text: &'s str,
    at: usize,
    scope: &'s Scope,
    visible: Visible,
    close: &mut CloseBrace,
) -> Option<(usize, Option<&'s str>)> {
    let rest = &text[at + 1..];
    if let Some(braced) = rest.strip_prefix('{') {
        let n = ident_len(braced);
        if n == 0 {
            return None;
        }
        let name = &braced[..n];
        let after = at + 2 + n;
        let end = if text.as_bytes().get(after) == Some(&b'}') {
            after
        } else {
            close.at_or_after(after)?
        };
        let modifier = &text[after..end];
        if modifier.contains("${") {
            // A nested reference: leave the outer one as written, the inner is seen next.
            return None;
        }
        let value = scope.get(name, visible);
        let replacement = if modifier.is_empty() {
            value
        } else if let Some(default) = modifier.strip_prefix(":-") {
            match value {
                Some(v) if !v.is_empty() => Some(v),
                Some(_) => Some(default),
                None => None,
            }
        } else if let Some(alternative) = modifier.strip_prefix(":+") {
            value.map(|v| if v.is_empty() { "" } else { alternative })
        } else {
            None
        };
        Some((end + 1, replacement))
    } else {
        let n = ident_len(rest);
        (n > 0).then(|| (at + 1 + n, scope.get(&rest[..n], visible)))
    }
}

/// Substitutes variables in `text`, keeping quotes and escapes as written.
fn expand(text: &str, scope: &Scope, visible: Visible, escape: u8) -> Expanded {
    let bytes = text.as_bytes();
    let mut out = Expanded {
        text: String::with_capacity(text.len()),
        marks: vec![(0, 0, true)],
    };
    if !text.contains('$') {
        out.text.push_str(text);
        return out;
    }
    let mut close = CloseBrace::new(text);
    let (mut single, mut double) = (false, false);
    let mut literal_from = 0;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == escape && !single {
            i += 2;
            continue;
        }
        match c {
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'$' if !single => {
                if let Some((end, replacement)) = reference(text, i, scope, visible, &mut close) {
                    if let Some(value) = replacement {
                        out.text.push_str(&text[literal_from..i]);
                        out.marks.push((out.text.len(), i, false));
                        out.text.push_str(value);
                        out.marks.push((out.text.len(), end, true));
                        literal_from = end;
                    }
                    i = end;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out.text.push_str(&text[literal_from.min(text.len())..]);
    out
}

/// One shell word, quotes removed, escapes resolved and variables substituted.
#[derive(Debug)]
struct Word {
    text: String,
    /// Offset of the word's first byte in the source text.
    at: usize,
}

/// Splits `text` into words as Docker reads `ENV`, `ARG`, `LABEL` and `EXPOSE`; with
/// `split == false` the whole text is one word (blanks kept).
fn words(text: &str, scope: &Scope, escape: u8, split: bool) -> Vec<Word> {
    let bytes = text.as_bytes();
    let mut close = CloseBrace::new(text);
    let mut out: Vec<Word> = Vec::new();
    let mut current: Option<Word> = None;
    let (mut single, mut double) = (false, false);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if split && !single && !double && c.is_ascii_whitespace() {
            out.extend(current.take());
            i += 1;
            continue;
        }
        let word = current.get_or_insert_with(|| Word {
            text: String::new(),
            at: i,
        });
        if single {
            if c == b'\'' {
                single = false;
                i += 1;
            } else {
                let ch = next_char(text, i);
                word.text.push(ch);
                i += ch.len_utf8();
            }
            continue;
        }
        match c {
            b'\'' if !double => {
                single = true;
                i += 1;
            }
            b'"' => {
                double = !double;
                i += 1;
            }
            _ if c == escape => {
                if i + 1 < bytes.len() {
                    let ch = next_char(text, i + 1);
                    // In double quotes only quotes, `$` and the escape itself are escaped.
                    if double && !matches!(ch, '"' | '$') && ch as u32 != u32::from(escape) {
                        word.text.push(escape as char);
                    }
                    word.text.push(ch);
                    i += 1 + ch.len_utf8();
                } else {
                    word.text.push(escape as char);
                    i += 1;
                }
            }
            b'$' => match reference(text, i, scope, Visible::All, &mut close) {
                Some((end, replacement)) => {
                    word.text.push_str(replacement.unwrap_or(&text[i..end]));
                    i = end;
                }
                None => {
                    word.text.push('$');
                    i += 1;
                }
            },
            _ => {
                let ch = next_char(text, i);
                word.text.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out.extend(current);
    out
}

fn next_char(text: &str, at: usize) -> char {
    text.get(at..)
        .and_then(|rest| rest.chars().next())
        .unwrap_or('\u{fffd}')
}

// ---------------------------------------------------------------------------------------------
// Reading instructions

/// A heredoc marker on an instruction line.
#[derive(Debug)]
struct Marker {
    delimiter: String,
    strip_tabs: bool,
    quoted: bool,
}

/// A heredoc's body as read from the file.
#[derive(Debug)]
struct Heredoc {
    marker: Marker,
    body: Mapped,
}

/// One instruction, continuations joined, with its heredocs.
#[derive(Debug)]
struct Logical {
    first_line: u32,
    last_line: u32,
    text: Mapped,
    heredocs: Vec<Heredoc>,
}

/// Heredoc markers in an instruction's text (after the keyword), outside quotes.
fn heredoc_markers(text: &str) -> Vec<Marker> {
    let bytes = text.as_bytes();
    let mut markers = Vec::new();
    let (mut single, mut double) = (false, false);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'<' if !single
                && !double
                && bytes.get(i + 1) == Some(&b'<')
                && bytes.get(i + 2) != Some(&b'<')
                && (i == 0 || {
                    // At a word start, optionally after a file descriptor number.
                    let before = bytes[..i]
                        .iter()
                        .rposition(|b| !b.is_ascii_digit())
                        .map_or(0, |p| p + 1);
                    before == 0 || bytes[before - 1].is_ascii_whitespace()
                }) =>
            {
                let mut j = i + 2;
                let strip_tabs = bytes.get(j) == Some(&b'-');
                if strip_tabs {
                    j += 1;
                }
                let (delimiter, quoted, end) = match bytes.get(j) {
                    Some(&q @ (b'"' | b'\'')) => {
                        match bytes[j + 1..].iter().position(|&b| b == q) {
                            Some(len) => (&text[j + 1..j + 1 + len], true, j + len + 2),
                            None => ("", true, bytes.len()),
                        }
                    }
                    _ => {
                        let len = bytes[j..]
                            .iter()
                            .position(|b| b.is_ascii_whitespace() || b"<>|;&()\"'".contains(b))
                            .unwrap_or(bytes.len() - j);
                        (&text[j..j + len], false, j + len)
                    }
                };
                if !delimiter.is_empty() {
                    markers.push(Marker {
                        delimiter: delimiter.to_owned(),
                        strip_tabs,
                        quoted,
                    });
                }
                i = end.max(i + 2);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    markers
}

/// Leading blanks of a line: (byte length, 1-based column after them).
fn indent(line: &str) -> (usize, u32) {
    let len = line.len() - line.trim_start().len();
    (len, 1 + line[..len].chars().count() as u32)
}

fn is_blank_or_comment(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.is_empty() || trimmed.starts_with('#')
}

/// Reads the instructions of a file, one at a time.
struct Reader<'t> {
    lines: Vec<&'t str>,
    next: usize,
    escape: u8,
}

impl<'t> Reader<'t> {
    /// The next instruction, and the heredoc left unterminated by it (its delimiter), if any.
    fn next_instruction(&mut self) -> Option<(Logical, Option<String>)> {
        while self.next < self.lines.len() && is_blank_or_comment(self.lines[self.next]) {
            self.next += 1;
        }
        if self.next >= self.lines.len() {
            return None;
        }
        let first_line = self.next as u32 + 1;
        let mut text = Mapped::default();
        let mut pending_blank = false;
        loop {
            let line = self.lines[self.next];
            let number = self.next as u32 + 1;
            self.next += 1;
            let (skip, column) = indent(line);
            let content = line[skip..].trim_end();
            let (content, continues) = match content.strip_suffix(self.escape as char) {
                Some(rest) => (rest, true),
                None => (content, false),
            };
            let piece = content.trim_end();
            if !text.text.is_empty() && (pending_blank || skip > 0) && !piece.is_empty() {
                text.text.push(' ');
            }
            if !piece.is_empty() {
                text.push_piece(piece, number, column);
            }
            pending_blank = piece.len() < content.len() || (piece.is_empty() && continues);
            if !continues {
                break;
            }
            while self.next < self.lines.len() && is_blank_or_comment(self.lines[self.next]) {
                self.next += 1;
            }
            if self.next >= self.lines.len() {
                break;
            }
        }
        let mut logical = Logical {
            first_line,
            last_line: self.next as u32,
            text,
            heredocs: Vec::new(),
        };
        let keyword_end = logical
            .text
            .text
            .find(|c: char| c.is_whitespace())
            .unwrap_or(logical.text.text.len());
        let keyword = &logical.text.text[..keyword_end];
        if !HEREDOC_KEYWORDS
            .iter()
            .any(|k| k.eq_ignore_ascii_case(keyword))
        {
            return Some((logical, None));
        }
        for marker in heredoc_markers(&logical.text.text[keyword_end..]) {
            let mut body = Mapped::default();
            let mut terminated = false;
            while self.next < self.lines.len() {
                let mut line = self.lines[self.next];
                let number = self.next as u32 + 1;
                self.next += 1;
                let mut column = 1;
                if marker.strip_tabs {
                    let stripped = line.trim_start_matches('\t');
                    column += (line.len() - stripped.len()) as u32;
                    line = stripped;
                }
                if line.trim_end() == marker.delimiter {
                    terminated = true;
                    break;
                }
                body.push_piece(line, number, column);
                body.text.push('\n');
            }
            logical.last_line = self.next as u32;
            if !terminated {
                let delimiter = marker.delimiter.clone();
                logical.heredocs.push(Heredoc { marker, body });
                return Some((logical, Some(delimiter)));
            }
            logical.heredocs.push(Heredoc { marker, body });
        }
        Some((logical, None))
    }
}

// ---------------------------------------------------------------------------------------------
// Commands of a shell script

/// One command of a shell script: its byte range in the script and whether a pipe follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CommandRange {
    start: usize,
    end: usize,
    piped: bool,
}

/// Splits a shell script into commands at `&&`, `||`, `|`, `;`, `&` and newlines outside quotes,
/// backticks and `$(…)`, dropping comments.
fn split_commands(script: &str) -> Vec<CommandRange> {
    let bytes = script.as_bytes();
    let mut out = Vec::new();
    let (mut single, mut double, mut backtick) = (false, false, false);
    let mut depth = 0usize;
    let mut start = 0;
    let mut comment_at: Option<usize> = None;
    let mut word_start = true;
    let mut i = 0;
    fn cut(out: &mut Vec<CommandRange>, start: &mut usize, at: usize, width: usize, piped: bool) {
        out.push(CommandRange {
            start: *start,
            end: at,
            piped,
        });
        *start = at + width;
    }
    while i < bytes.len() {
        let c = bytes[i];
        if comment_at.is_some() {
            if c == b'\n' {
                cut(
                    &mut out,
                    &mut start,
                    comment_at.take().unwrap_or(i),
                    0,
                    false,
                );
                start = i + 1;
                word_start = true;
            }
            i += 1;
            continue;
        }
        if single {
            single = c != b'\'';
            i += 1;
            continue;
        }
        if c == b'\\' {
            i += 2;
            word_start = false;
            continue;
        }
        let next = bytes.get(i + 1).copied();
        let quiet = double || backtick || depth > 0;
        let mut width = 1;
        match c {
            b'\'' if !double => single = true,
            b'"' => double = !double,
            b'`' if !double => backtick = !backtick,
            b'$' if next == Some(b'(') => {
                depth += 1;
                width = 2;
            }
            b'(' if depth > 0 => depth += 1,
            b')' if depth > 0 => depth -= 1,
            _ if quiet => {}
            b'#' if word_start => comment_at = Some(i),
            b'&' if next == Some(b'&') => {
                cut(&mut out, &mut start, i, 2, false);
                width = 2;
            }
            b'|' if next == Some(b'|') => {
                cut(&mut out, &mut start, i, 2, false);
                width = 2;
            }
            b'|' => {
                width = if next == Some(b'&') { 2 } else { 1 };
                cut(&mut out, &mut start, i, width, true);
            }
            b';' | b'\n' => cut(&mut out, &mut start, i, 1, false),
            b'&' if next != Some(b'>') && i > 0 && !matches!(bytes[i - 1], b'>' | b'<') => {
                cut(&mut out, &mut start, i, 1, false)
            }
            _ => {}
        }
        word_start = c.is_ascii_whitespace() || matches!(c, b';' | b'|' | b'&' | b'(');
        i += width;
    }
    let end = comment_at.unwrap_or(bytes.len());
    out.push(CommandRange {
        start: start.min(end),
        end,
        piped: false,
    });
    out
}

/// Shell words that open a compound command or a negation, stripped from a command's start.
const LEADING_WORDS: &[&str] = &[
    "if", "then", "else", "elif", "do", "while", "until", "!", "{", "(",
];
/// Shell words that close a compound command, stripped from a command's end.
const TRAILING_WORDS: &[&str] = &["fi", "done", "esac", "}", ")"];

/// Narrows a command's range to the command itself: no blanks, line continuations, or
/// compound-command keywords around it. Empty when nothing is left.
fn trim_command(script: &str, mut start: usize, mut end: usize) -> (usize, usize) {
    let is_blank = |text: &str| text.starts_with(char::is_whitespace) || text.starts_with("\\\n");
    loop {
        let rest = &script[start..end];
        if rest.starts_with("\\\n") {
            start += 2;
        } else if let Some(c) = rest.chars().next().filter(|c| c.is_whitespace()) {
            start += c.len_utf8();
        } else if rest.starts_with('(') || rest.starts_with('{') && rest[1..].starts_with(' ') {
            start += 1;
        } else if let Some(word) = LEADING_WORDS.iter().find(|w| {
            rest.starts_with(**w) && (rest.len() == w.len() || is_blank(&rest[w.len()..]))
        }) {
            start += word.len();
        } else {
            break;
        }
    }
    loop {
        let rest = &script[start..end];
        if rest.ends_with('\\') {
            end -= 1;
        } else if let Some(c) = rest.chars().next_back().filter(|c| c.is_whitespace()) {
            end -= c.len_utf8();
        } else if rest.ends_with(')') && !rest.contains('(') {
            end -= 1;
        } else if let Some(word) = TRAILING_WORDS.iter().find(|w| {
            rest.ends_with(**w)
                && (rest.len() == w.len()
                    || rest[..rest.len() - w.len()].ends_with(char::is_whitespace))
        }) {
            end -= word.len();
        } else {
            break;
        }
    }
    (start, end.max(start))
}

/// The command's text with line continuations and runs of blanks around them made one space.
fn command_text(text: &str) -> String {
    if !text.contains("\\\n") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    for (index, part) in text.split("\\\n").enumerate() {
        if index > 0 {
            let trimmed = out.trim_end().len();
            out.truncate(trimmed);
            out.push(' ');
            out.push_str(part.trim_start());
        } else {
            out.push_str(part);
        }
    }
    out
}

/// The first word of a command that is neither a variable assignment nor a redirection
/// (`A=b cmd` and `<<EOF cmd` → `cmd`).
fn program(command: &str) -> Option<&str> {
    command.split_whitespace().find(|word| {
        let n = ident_len(word);
        let assignment = n > 0 && word.as_bytes().get(n) == Some(&b'=');
        let redirection = word
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .starts_with(['<', '>']);
        !(assignment || redirection)
    })
}

/// The last path component of a program name (`/bin/sh` → `sh`).
fn base_name(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

/// A command found in a script.
#[derive(Debug)]
struct Command {
    text: String,
    span: Span,
    pipe_to: Option<String>,
    /// Heredoc delimiters this command reads; `marker_only` when it is nothing but markers.
    markers: Vec<String>,
    marker_only: bool,
}

/// The commands of `script`, placed by `span` (a byte offset of `script` → its position).
fn commands_of(script: &str, span: impl Fn(usize) -> Span, budget: &mut usize) -> Vec<Command> {
    let mut out: Vec<Command> = Vec::new();
    let mut piped_before = false;
    for range in split_commands(script) {
        let (start, end) = trim_command(script, range.start, range.end);
        if start == end {
            // `curl … |` at a line end continues the pipeline on the next line.
            piped_before |= range.piped;
            continue;
        }
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        let text = command_text(&script[start..end]);
        if piped_before && let Some(previous) = out.last_mut() {
            previous.pipe_to = program(&text).map(str::to_owned);
        }
        piped_before = range.piped;
        let mut markers = Vec::new();
        let mut marker_only = true;
        for word in text.split_whitespace() {
            let word = word.trim_start_matches(|c: char| c.is_ascii_digit());
            match word.strip_prefix("<<").filter(|w| !w.starts_with('<')) {
                Some(marker) => markers.push(
                    marker
                        .trim_start_matches('-')
                        .trim_matches(['"', '\''])
                        .to_owned(),
                ),
                None => marker_only = false,
            }
        }
        out.push(Command {
            text,
            span: span(start),
            pipe_to: None,
            markers,
            marker_only,
        });
    }
    out
}

/// True when a heredoc body read by the shell is a shell script, judged by its `#!` line.
fn body_is_shell(body: &str) -> bool {
    let Some(shebang) = body.strip_prefix("#!") else {
        return true;
    };
    let mut words = shebang.lines().next().unwrap_or("").split_whitespace();
    let mut interpreter = words.next().map(base_name);
    if interpreter == Some("env") {
        interpreter = words.find(|w| !w.starts_with('-'));
    }
    interpreter.is_some_and(|i| SHELLS.contains(&base_name(i)))
}

// ---------------------------------------------------------------------------------------------
// Image references

/// The parts of an image reference `[registry/]repository[:tag][@digest]`.
fn image_parts(image: &str) -> (Option<&str>, &str, Option<&str>, Option<&str>) {
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest).filter(|d| !d.is_empty())),
        None => (image, None),
    };
    let (registry, path) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (Some(first), rest)
        }
        _ => (None, name),
    };
    let last = path.rfind('/').map_or(0, |p| p + 1);
    let (repository, tag) = match path[last..].rfind(':') {
        Some(p) => (
            &path[..last + p],
            Some(&path[last + p + 1..]).filter(|t| !t.is_empty()),
        ),
        None => (path, None),
    };
    (registry, repository, tag, digest)
}

// ---------------------------------------------------------------------------------------------
// The parser

/// A stage being read.
struct Stage {
    index: usize,
    name: Option<String>,
    from: Value,
    from_span: Span,
    end_line: u32,
    user: Option<(String, Span)>,
    instructions: Vec<Value>,
    spans: SpanTable,
    scope: Scope,
}

/// A global `ARG` (before the first `FROM`).
struct GlobalArg {
    name: String,
    default: Option<String>,
    span: Span,
}

struct Parser<'t> {
    display: &'t str,
    reader: Reader<'t>,
    diagnostics: Vec<Diagnostic>,
    directives: Vec<(&'static str, String, Span)>,
    globals: Vec<GlobalArg>,
    global_scope: Scope,
    stages: Vec<Stage>,
    /// Lowercased stage name → index.
    stage_names: HashMap<String, usize>,
    /// Instructions, commands and values still allowed (hostile input).
    budget: usize,
    first_instruction_line: Option<u32>,
}

impl<'t> Parser<'t> {
    fn new(display: &'t str, text: &'t str, limits: &Limits) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Parser {
            display,
            reader: Reader {
                lines: text.lines().collect(),
                next: 0,
                escape: b'\\',
            },
            diagnostics: Vec::new(),
            directives: Vec::new(),
            globals: Vec::new(),
            global_scope: Scope::default(),
            stages: Vec::new(),
            stage_names: HashMap::new(),
            budget: limits.max_nodes,
            first_instruction_line: None,
        }
    }

    fn diagnose(&mut self, line: u32, message: String) {
        self.diagnostics.push(Diagnostic {
            file: self.display.to_owned(),
            line: Some(line),
            message,
        });
    }

    fn run(&mut self) {
        self.read_directives();
        while let Some((logical, unterminated)) = self.reader.next_instruction() {
            if let Some(delimiter) = unterminated {
                self.diagnose(
                    logical.first_line,
                    format!("heredoc `{delimiter}` is never terminated"),
                );
            }
            self.first_instruction_line
                .get_or_insert(logical.first_line);
            if self.budget == 0 {
                self.diagnose(
                    logical.first_line,
                    "stopped reading Dockerfile: too many instructions and commands".to_owned(),
                );
                return;
            }
            self.budget -= 1;
            self.instruction(&logical);
        }
    }

    /// Reads the parser directives at the top of the file.
    fn read_directives(&mut self) {
        while let Some(&line) = self.reader.lines.get(self.reader.next) {
            let Some((key, value)) = directive(line) else {
                break;
            };
            let Some(&known) = DIRECTIVES.iter().find(|k| k.eq_ignore_ascii_case(key)) else {
                // Unknown directives are comments, and end the directives.
                break;
            };
            let number = self.reader.next as u32 + 1;
            self.reader.next += 1;
            if self.directives.iter().any(|(k, _, _)| *k == known) {
                self.diagnose(number, format!("parser directive `{known}` is given twice"));
                continue;
            }
            if known == "escape" {
                match value {
                    "\\" => self.reader.escape = b'\\',
                    "`" => self.reader.escape = b'`',
                    other => {
                        self.diagnose(
                            number,
                            format!("invalid escape character `{other}`: must be `\\` or `` ` ``"),
                        );
                        continue;
                    }
                }
            }
            self.directives.push((
                known,
                value.to_owned(),
                Span {
                    line: number,
                    column: 1,
                },
            ));
        }
    }

    fn instruction(&mut self, logical: &Logical) {
        let text = logical.text.text.as_str();
        let keyword_end = text.find(|c: char| c.is_whitespace()).unwrap_or(text.len());
        let written = &text[..keyword_end];
        let Some(&keyword) = KEYWORDS.iter().find(|k| k.eq_ignore_ascii_case(written)) else {
            self.diagnose(
                logical.first_line,
                format!("unknown instruction `{written}`"),
            );
            return;
        };
        let mut rest = skip_blanks(text, keyword_end);
        let mut flags: Vec<(&str, &str)> = Vec::new();
        if FLAGGED.contains(&keyword) {
            while text[rest..].starts_with("--") {
                let end = text[rest..]
                    .find(char::is_whitespace)
                    .map_or(text.len(), |p| rest + p);
                let flag = &text[rest + 2..end];
                let (name, value) = flag.split_once('=').unwrap_or((flag, "true"));
                flags.push((name, value));
                rest = skip_blanks(text, end);
            }
        }
        let position = logical.text.span(0);
        if keyword == "FROM" {
            self.from(logical, &flags, rest, position);
            return;
        }
        if self.stages.is_empty() {
            if keyword == "ARG" {
                self.global_arg(logical, rest);
            } else {
                self.diagnose(
                    logical.first_line,
                    format!("`{keyword}` before the first FROM: only ARG may come before FROM"),
                );
            }
            return;
        }
        self.stage_instruction(logical, keyword, &flags, rest, position);
    }

    fn global_arg(&mut self, logical: &Logical, rest: usize) {
        let text = &logical.text.text;
        for word in words(&text[rest..], &self.global_scope, self.reader.escape, true) {
            let (name, default) = match word.text.split_once('=') {
                Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
                None => (word.text, None),
            };
            if let Some(default) = &default {
                self.global_scope.set_arg(&name, default.clone());
            }
            self.globals.push(GlobalArg {
                name,
                default,
                span: logical.text.span(rest + word.at),
            });
        }
    }

    fn from(&mut self, logical: &Logical, flags: &[(&str, &str)], rest: usize, at: Span) {
        let text = &logical.text.text;
        let escape = self.reader.escape;
        let parts: Vec<&str> = text[rest..].split_whitespace().collect();
        let (raw, name) = match parts.as_slice() {
            [image] => (*image, None),
            [image, as_, name] if as_.eq_ignore_ascii_case("as") => (*image, Some(*name)),
            [] => {
                self.diagnose(logical.first_line, "FROM needs an image".to_owned());
                ("", None)
            }
            [image, ..] => {
                self.diagnose(
                    logical.first_line,
                    "FROM takes one image and an optional `AS <name>`".to_owned(),
                );
                (*image, None)
            }
        };
        let image = expand(raw, &self.global_scope, Visible::All, escape).text;
        let platform = flags
            .iter()
            .find(|(n, _)| *n == "platform")
            .map(|(_, v)| expand(v, &self.global_scope, Visible::All, escape).text);
        let index = self.stages.len();
        let parent = self.stage_names.get(&image.to_ascii_lowercase()).copied();
        let scratch = parent.is_none() && image.eq_ignore_ascii_case("scratch");
        let (registry, repository, tag, digest) = if parent.is_some() || scratch {
            (None, image.as_str(), None, None)
        } else {
            image_parts(&image)
        };
        let from = json!({
            "image": image,
            "raw": raw,
            "registry": registry,
            "repository": repository,
            "tag": tag,
            "digest": digest,
            "platform": platform,
            "stage": parent.and_then(|p| self.stages[p].name.clone()),
            "scratch": scratch,
        });
        let (scope, user) = match parent {
            Some(p) => (self.stages[p].scope.env_only(), self.stages[p].user.clone()),
            None => (Scope::default(), None),
        };
        if let Some(name) = name {
            let key = name.to_ascii_lowercase();
            match self.stage_names.entry(key) {
                std::collections::hash_map::Entry::Occupied(_) => self.diagnose(
                    logical.first_line,
                    format!("stage name `{name}` is used twice"),
                ),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(index);
                }
            }
        }
        let mut spans = SpanTable::default();
        for pointer in ["", "/index", "/name", "/final", "/from"] {
            spans.insert(pointer.to_owned(), at);
        }
        if let Some(fields) = from.as_object() {
            for key in fields.keys() {
                spans.insert(format!("/from/{key}"), at);
            }
        }
        self.stages.push(Stage {
            index,
            name: name.map(str::to_owned),
            from,
            from_span: at,
            end_line: logical.last_line,
            user,
            instructions: Vec::new(),
            spans,
            scope,
        });
    }

    fn stage_instruction(
        &mut self,
        logical: &Logical,
        keyword: &'static str,
        flags: &[(&str, &str)],
        rest: usize,
        at: Span,
    ) {
        let escape = self.reader.escape;
        let text = &logical.text.text;
        let arguments_raw = &text[rest..];
        let mut diagnostics = Vec::new();
        let Some(stage) = self.stages.last_mut() else {
            return;
        };
        let i = stage.instructions.len();
        let base = format!("/instructions/{i}");
        let field = |key: &str| format!("{base}/{key}");

        // Form: a JSON array of strings is the exec form.
        let trimmed = arguments_raw.trim();
        let healthcheck_cmd = (keyword == "HEALTHCHECK")
            .then(|| {
                trimmed
                    .get(..3)
                    .filter(|w| w.eq_ignore_ascii_case("CMD"))
                    .map(|_| trimmed[3..].trim_start())
            })
            .flatten();
        let exec_text = if EXEC_KEYWORDS.contains(&keyword) {
            Some(trimmed)
        } else {
            healthcheck_cmd
        };
        let mut exec: Option<Vec<String>> = None;
        if let Some(candidate) = exec_text.filter(|t| t.starts_with('[')) {
            match serde_json::from_str::<Vec<String>>(candidate) {
                Ok(list) => exec = Some(list),
                Err(error) if candidate.ends_with(']') => diagnostics.push((
                    logical.first_line,
                    format!(
                        "{keyword}: the exec form is not a JSON array of strings ({error}); \
                         read as shell form"
                    ),
                )),
                Err(_) => {}
            }
        }

        // Substitution: what Docker or the shell would see.
        let visible = match keyword {
            "ONBUILD" => None,
            "RUN" | "SHELL" | "CMD" | "ENTRYPOINT" | "HEALTHCHECK" if exec.is_some() => None,
            "CMD" | "ENTRYPOINT" | "HEALTHCHECK" => Some(Visible::Env),
            _ => Some(Visible::All),
        };
        let arguments = match visible {
            Some(visible) => expand(arguments_raw, &stage.scope, visible, escape),
            None => Expanded {
                text: arguments_raw.to_owned(),
                marks: vec![(0, 0, true)],
            },
        };
        if let (Some(list), true) = (&mut exec, matches!(keyword, "COPY" | "ADD" | "VOLUME")) {
            for item in list.iter_mut() {
                *item = expand(item, &stage.scope, Visible::All, escape).text;
            }
        }

        let mut object = Map::new();
        object.insert("keyword".into(), keyword.into());
        object.insert("arguments".into(), arguments.text.clone().into());
        object.insert("raw".into(), text.clone().into());
        object.insert(
            "form".into(),
            if exec.is_some() { "exec" } else { "shell" }.into(),
        );
        object.insert("exec".into(), json!(exec));
        let mut flag_map = Map::new();
        for (name, value) in flags {
            let value: Value = expand(value, &stage.scope, Visible::All, escape)
                .text
                .into();
            match flag_map.get_mut(*name) {
                Some(Value::Array(list)) => list.push(value),
                Some(single) => *single = Value::Array(vec![single.take(), value]),
                None => {
                    flag_map.insert((*name).to_owned(), value);
                }
            }
        }
        for (name, value) in &flag_map {
            let pointer = field(&format!("flags/{}", escape_token(name)));
            if let Value::Array(list) = value {
                for j in 0..list.len() {
                    stage.spans.insert(format!("{pointer}/{j}"), at);
                }
            }
            stage.spans.insert(pointer, at);
        }
        object.insert("flags".into(), Value::Object(flag_map));
        let mut heredocs = Vec::new();
        let mut bodies = Vec::new();
        for (j, heredoc) in logical.heredocs.iter().enumerate() {
            let body = if heredoc.marker.quoted {
                Expanded {
                    text: heredoc.body.text.clone(),
                    marks: vec![(0, 0, true)],
                }
            } else {
                expand(&heredoc.body.text, &stage.scope, Visible::All, escape)
            };
            heredocs.push(json!({"delimiter": heredoc.marker.delimiter, "body": body.text}));
            let body_span = heredoc.body.span(0);
            let body_span = if heredoc.body.pieces.is_empty() {
                at
            } else {
                body_span
            };
            stage.spans.insert(field(&format!("heredocs/{j}")), at);
            stage
                .spans
                .insert(field(&format!("heredocs/{j}/delimiter")), at);
            stage
                .spans
                .insert(field(&format!("heredocs/{j}/body")), body_span);
            bodies.push(body);
        }
        object.insert("heredocs".into(), Value::Array(heredocs));

        match keyword {
            "RUN" => {
                let commands = run_commands(
                    logical,
                    rest,
                    &arguments,
                    exec.as_deref(),
                    &bodies,
                    at,
                    &mut self.budget,
                );
                let mut list = Vec::with_capacity(commands.len());
                for (k, command) in commands.into_iter().enumerate() {
                    let pointer = field(&format!("commands/{k}"));
                    let mut entry = json!({"text": command.text, "line": command.span.line});
                    for key in ["text", "line"] {
                        stage.spans.insert(format!("{pointer}/{key}"), command.span);
                    }
                    if let Some(next) = command.pipe_to {
                        entry["pipe_to"] = next.into();
                        stage
                            .spans
                            .insert(format!("{pointer}/pipe_to"), command.span);
                    }
                    stage.spans.insert(pointer, command.span);
                    list.push(entry);
                }
                stage.spans.insert(field("commands"), at);
                object.insert("commands".into(), Value::Array(list));
            }
            "ENV" | "LABEL" | "ARG" => {
                let mut values = Map::new();
                let pairs = key_values(keyword, arguments_raw, &stage.scope, escape, |problem| {
                    diagnostics.push((logical.first_line, problem))
                });
                for (name, value, word_at) in pairs {
                    stage.spans.insert(
                        field(&format!("values/{}", escape_token(&name))),
                        logical.text.span(rest + word_at),
                    );
                    match keyword {
                        "ENV" => {
                            if let Some(value) = &value {
                                stage.scope.set_env(&name, value.clone());
                            }
                        }
                        "ARG" => {
                            let effective = value.clone().or_else(|| {
                                self.global_scope
                                    .get(&name, Visible::All)
                                    .map(str::to_owned)
                            });
                            if let Some(effective) = effective {
                                stage.scope.set_arg(&name, effective);
                            }
                        }
                        _ => {}
                    }
                    values.insert(name, json!(value));
                }
                stage.spans.insert(field("values"), at);
                object.insert("values".into(), Value::Object(values));
            }
            "EXPOSE" => {
                let mut ports = Vec::new();
                for (j, word) in words(arguments_raw, &stage.scope, escape, true)
                    .into_iter()
                    .enumerate()
                {
                    let port = match word.text.split_once('/') {
                        Some((port, protocol)) => format!("{port}/{}", protocol.to_lowercase()),
                        None => format!("{}/tcp", word.text),
                    };
                    stage.spans.insert(
                        field(&format!("ports/{j}")),
                        logical.text.span(rest + word.at),
                    );
                    ports.push(Value::String(port));
                }
                stage.spans.insert(field("ports"), at);
                object.insert("ports".into(), Value::Array(ports));
            }
            "HEALTHCHECK" => {
                object.insert("none".into(), trimmed.eq_ignore_ascii_case("NONE").into());
                stage.spans.insert(field("none"), at);
            }
            "USER" => {
                stage.user = Some((arguments.text.trim().to_owned(), at));
            }
            _ => {}
        }
        if let Some(list) = object.get("exec").and_then(Value::as_array) {
            for j in 0..list.len() {
                stage.spans.insert(field(&format!("exec/{j}")), at);
            }
        }
        for key in [
            "keyword",
            "arguments",
            "raw",
            "form",
            "exec",
            "flags",
            "heredocs",
        ] {
            stage.spans.insert(field(key), at);
        }
        stage.spans.insert(base, at);
        stage.instructions.push(Value::Object(object));
        stage.end_line = logical.last_line;
        for (line, message) in diagnostics {
            self.diagnose(line, message);
        }
    }

    fn finish(mut self) -> Normalized {
        let display = self.display;
        if self.stages.is_empty() {
            self.diagnostics.push(Diagnostic {
                file: display.to_owned(),
                line: self.first_instruction_line,
                message: "no FROM instruction: a Dockerfile needs at least one stage".to_owned(),
            });
        }
        let mut resources = Vec::with_capacity(self.stages.len() + 1);
        let last_line = (self.reader.lines.len() as u32).max(1);

        let mut file_spans = SpanTable::default();
        file_spans.insert(String::new(), Span { line: 1, column: 1 });
        let mut stage_labels = Vec::with_capacity(self.stages.len());
        for (i, stage) in self.stages.iter().enumerate() {
            file_spans.insert(format!("/stages/{i}"), stage.from_span);
            stage_labels.push(Value::String(label(stage)));
        }
        let mut directives = json!({"syntax": null, "escape": null});
        for (key, value, span) in &self.directives {
            directives[*key] = Value::String(value.clone());
            file_spans.insert(format!("/directives/{key}"), *span);
        }
        if let Some((_, _, span)) = self.directives.first() {
            file_spans.insert("/directives".to_owned(), *span);
        }
        let mut args = Vec::with_capacity(self.globals.len());
        for (i, arg) in self.globals.iter().enumerate() {
            for pointer in ["", "/name", "/default"] {
                file_spans.insert(format!("/args/{i}{pointer}"), arg.span);
            }
            args.push(json!({"name": arg.name, "default": arg.default}));
        }
        resources.push(Resource {
            id: "Dockerfile".to_owned(),
            kind: "dockerfile/file".to_owned(),
            file: display.to_owned(),
            line: 1,
            end_line: last_line,
            attributes: json!({"stages": stage_labels, "directives": directives, "args": args}),
            spans: file_spans,
            details: Default::default(),
        });

        let count = self.stages.len();
        for stage in self.stages {
            let mut spans = stage.spans;
            let user = match stage.user {
                Some((user, span)) => {
                    spans.insert("/user".to_owned(), span);
                    Value::String(user)
                }
                None => Value::Null,
            };
            let id = format!("Dockerfile/stage/{}", label_of(stage.index, &stage.name));
            resources.push(Resource {
                id,
                kind: "dockerfile/stage".to_owned(),
                file: display.to_owned(),
                line: stage.from_span.line,
                end_line: stage.end_line.max(stage.from_span.line),
                attributes: json!({
                    "index": stage.index,
                    "name": stage.name,
                    "final": stage.index + 1 == count,
                    "from": stage.from,
                    "user": user,
                    "instructions": stage.instructions,
                }),
                spans,
                details: Default::default(),
            });
        }
        Normalized {
            recognized: true,
            resources,
            diagnostics: self.diagnostics,
        }
    }
}

/// The commands of a `RUN`: those of its shell text (or of the script of an exec-form
/// `["sh", "-c", "…"]`), then those of the heredocs the shell runs as scripts.
fn run_commands(
    logical: &Logical,
    rest: usize,
    arguments: &Expanded,
    exec: Option<&[String]>,
    bodies: &[Expanded],
    at: Span,
    budget: &mut usize,
) -> Vec<Command> {
    let mut commands = Vec::new();
    let mut scripts = Vec::new();
    match exec {
        None => {
            let main = commands_of(
                &arguments.text,
                |offset| logical.text.span(rest + arguments.source(offset)),
                budget,
            );
            for command in &main {
                // `RUN <<EOF` runs the body with the shell; so does `RUN bash <<EOF`.
                let read_as_shell = command.marker_only
                    || program(&command.text).is_some_and(|p| SHELLS.contains(&base_name(p)));
                if read_as_shell {
                    scripts.extend(command.markers.iter().cloned());
                }
            }
            commands.extend(main.into_iter().filter(|c| !c.marker_only));
        }
        Some(list) => {
            if let [shell, flag, script, ..] = list
                && SHELLS.contains(&base_name(shell))
                && flag == "-c"
            {
                commands.extend(commands_of(script, |_| at, budget));
            }
        }
    }
    for (heredoc, body) in logical.heredocs.iter().zip(bodies) {
        if scripts.contains(&heredoc.marker.delimiter) && body_is_shell(&body.text) {
            commands.extend(commands_of(
                &body.text,
                |offset| heredoc.body.span(body.source(offset)),
                budget,
            ));
        }
    }
    commands
}

/// The `KEY=value` pairs of an `ENV`, `ARG` or `LABEL` (`None` for a bare `ARG NAME`), each
/// with the offset of its word in `arguments`; also the legacy `ENV KEY value with blanks`.
fn key_values(
    keyword: &str,
    arguments: &str,
    scope: &Scope,
    escape: u8,
    mut problem: impl FnMut(String),
) -> Vec<(String, Option<String>, usize)> {
    let mut pairs = Vec::new();
    let first = words(arguments, scope, escape, true);
    let legacy =
        keyword != "ARG" && first.len() > 1 && first.first().is_some_and(|w| !w.text.contains('='));
    if legacy {
        let name = &first[0];
        let name_end = arguments[name.at..]
            .find(char::is_whitespace)
            .map_or(arguments.len(), |p| name.at + p);
        let value_at = skip_blanks(arguments, name_end);
        let value = words(&arguments[value_at..], scope, escape, false)
            .into_iter()
            .next()
            .map_or(String::new(), |w| w.text);
        pairs.push((name.text.clone(), Some(value), name.at));
        return pairs;
    }
    for word in first {
        match word.text.split_once('=') {
            Some((name, value)) => pairs.push((name.to_owned(), Some(value.to_owned()), word.at)),
            None if keyword == "ARG" => pairs.push((word.text, None, word.at)),
            None => problem(format!("{keyword}: `{}` is not `<key>=<value>`", word.text)),
        }
    }
    pairs
}

/// A stage's name, else its index.
fn label(stage: &Stage) -> String {
    label_of(stage.index, &stage.name)
}

fn label_of(index: usize, name: &Option<String>) -> String {
    name.clone().unwrap_or_else(|| index.to_string())
}

/// A parser directive line: `# key=value`.
fn directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start();
    let n = rest
        .bytes()
        .position(|b| !b.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    if n == 0 || !rest.as_bytes()[0].is_ascii_alphabetic() {
        return None;
    }
    let value = rest[n..].trim_start().strip_prefix('=')?.trim();
    (!value.is_empty()).then_some((&rest[..n], value))
}

fn skip_blanks(text: &str, from: usize) -> usize {
    from + (text[from..].len() - text[from..].trim_start().len())
}

fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn ends_with_ignore_case(text: &str, suffix: &str) -> bool {
    text.len() >= suffix.len()
        && text.as_bytes()[text.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Normalized {
        normalize("Dockerfile", text, &Limits::default())
    }

    /// The stage resources of a file that must parse cleanly.
    fn stages(text: &str) -> Vec<Resource> {
        let normalized = run(text);
        assert!(normalized.recognized);
        assert_eq!(normalized.diagnostics, [], "{text}");
        normalized
            .resources
            .into_iter()
            .filter(|r| r.kind == "dockerfile/stage")
            .collect()
    }

    fn only_stage(text: &str) -> Resource {
        let mut all = stages(text);
        assert_eq!(all.len(), 1);
        all.remove(0)
    }

    fn instruction(stage: &Resource, i: usize) -> &Value {
        &stage.attributes["instructions"][i]
    }

    fn commands(stage: &Resource, i: usize) -> Vec<(String, u64)> {
        instruction(stage, i)["commands"]
            .as_array()
            .expect("commands")
            .iter()
            .map(|c| {
                (
                    c["text"].as_str().unwrap_or("").to_owned(),
                    c["line"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    }

    fn line(resource: &Resource, pointer: &str) -> Option<u32> {
        resource.spans.get(pointer).map(|span| span.line)
    }

    fn diagnostics(text: &str) -> Vec<(Option<u32>, String)> {
        run(text)
            .diagnostics
            .into_iter()
            .map(|d| {
                assert_eq!(d.file, "Dockerfile");
                (d.line, d.message)
            })
            .collect()
    }

    #[test]
    fn candidates_are_dockerfiles_and_containerfiles_by_name() {
        for name in [
            "Dockerfile",
            "dockerfile",
            "DOCKERFILE",
            "Containerfile",
            "api.Dockerfile",
            "web.dockerfile",
            "Dockerfile.prod",
            "dockerfile.dev",
            "build/Containerfile.ci",
            "fixtures/fail.Dockerfile",
        ] {
            assert!(is_candidate(Path::new(name)), "{name}");
        }
        for name in [
            "Dockerfile.dockerignore",
            "api.Dockerfile.dockerignore",
            ".dockerignore",
            "Dockerfiles",
            "MyDockerfile",
            "Dockerfile.",
            ".Dockerfile",
            "docker-compose.yml",
            "Dockerfile/readme.md",
            "normalize/src/dockerfile.rs",
            "ftplugin/dockerfile.vim",
            "Dockerfile.md",
            "Dockerfile.j2",
            "docs/Containerfile.TXT",
            "Dockerfile.prod.tmpl",
        ] {
            assert!(!is_candidate(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn loosely_named_files_without_from_are_not_ours() {
        // A template fragment named like a Dockerfile is quietly skipped…
        let fragment = normalize("Dockerfile.install_app", "ADD . /app\n", &Limits::default());
        assert!(!fragment.recognized);
        assert_eq!(
            (fragment.resources.len(), fragment.diagnostics.len()),
            (0, 0)
        );
        // …but a file named exactly `Dockerfile` must be one.
        let broken = normalize("app/Dockerfile", "ADD . /app\n", &Limits::default());
        assert!(broken.recognized);
        assert_eq!(broken.diagnostics.len(), 2);
        let prod = normalize("Dockerfile.prod", "  from alpine:3\n", &Limits::default());
        assert!(prod.recognized);
        assert_eq!(prod.diagnostics, []);
    }

    #[test]
    fn continuations_join_lines_and_skip_comments_inside() {
        let stage = only_stage(
            "FROM debian:12\n\
             RUN apt-get update && \\\n\
             \x20   # a comment inside the continuation\n\
             \n\
             \x20   apt-get install -y \\\n\
             \x20       curl \\\n\
             \x20       git\n\
             RUN echo a\\\n\
             b\n",
        );
        let run = instruction(&stage, 0);
        assert_eq!(
            run["arguments"],
            "apt-get update && apt-get install -y curl git"
        );
        assert_eq!(
            run["raw"],
            "RUN apt-get update && apt-get install -y curl git"
        );
        assert_eq!(
            commands(&stage, 0),
            [
                ("apt-get update".to_owned(), 2),
                ("apt-get install -y curl git".to_owned(), 5)
            ]
        );
        // Without blanks around the break, Docker glues the pieces together.
        assert_eq!(instruction(&stage, 1)["arguments"], "echo ab");
        assert_eq!(line(&stage, "/instructions/1"), Some(8));
        assert_eq!((stage.line, stage.end_line), (1, 9));
    }

    #[test]
    fn a_hash_inside_a_line_is_not_a_comment() {
        let stage = only_stage("FROM alpine\nLABEL channel=#ops\nRUN echo '#1' # note\n");
        assert_eq!(instruction(&stage, 0)["values"], json!({"channel": "#ops"}));
        assert_eq!(commands(&stage, 1), [("echo '#1'".to_owned(), 3)]);
    }

    #[test]
    fn the_escape_directive_switches_to_backticks() {
        let text = "# escape=`\n\
                    \n\
                    FROM mcr.microsoft.com/windows/servercore:ltsc2022\n\
                    COPY testfile.txt c:\\\n\
                    RUN dir c:\\ `\n\
                    \x20   && echo done\n";
        let normalized = run(text);
        assert_eq!(normalized.diagnostics, []);
        let file = &normalized.resources[0];
        assert_eq!(file.attributes["directives"]["escape"], "`");
        assert_eq!(line(file, "/directives/escape"), Some(1));
        let stage = &normalized.resources[1];
        assert_eq!(instruction(stage, 0)["arguments"], "testfile.txt c:\\");
        assert_eq!(instruction(stage, 1)["arguments"], "dir c:\\ && echo done");
        assert_eq!(stage.attributes["from"]["registry"], "mcr.microsoft.com");
        assert_eq!(stage.attributes["from"]["repository"], "windows/servercore");
    }

    #[test]
    fn directives_stop_at_the_first_other_line() {
        let normalized = run("# syntax=docker/dockerfile:1.7\n\
             # a comment\n\
             # escape=`\n\
             FROM alpine\n\
             RUN echo \\\n\
             \x20 hi\n");
        assert_eq!(normalized.diagnostics, []);
        let file = &normalized.resources[0];
        assert_eq!(
            file.attributes["directives"],
            json!({"syntax": "docker/dockerfile:1.7", "escape": null})
        );
        // The escape line came after a comment: `\` still continues lines.
        assert_eq!(
            normalized.resources[1].attributes["instructions"][0]["arguments"],
            "echo hi"
        );
    }

    #[test]
    fn heredocs_are_read_as_bodies_and_scripts() {
        let stage = only_stage(
            "FROM debian:12\n\
             ARG V=1.0\n\
             RUN <<EOF\n\
             set -e\n\
             apt-get update\n\
             apt-get install -y curl=$V && rm -rf /var/lib/apt/lists/*\n\
             EOF\n\
             RUN <<-\"SCRIPT\" bash\n\
             \tcurl -fsSL https://get.example.com | sh\n\
             \techo '$V'\n\
             \tSCRIPT\n\
             COPY <<one.txt <<'two.txt' /etc/app/\n\
             first $V\n\
             one.txt\n\
             second $V\n\
             two.txt\n\
             RUN python3 <<EOF\n\
             import os; print(os.getcwd())\n\
             EOF\n\
             USER app\n",
        );
        assert_eq!(
            commands(&stage, 1),
            [
                ("set -e".to_owned(), 4),
                ("apt-get update".to_owned(), 5),
                ("apt-get install -y curl=1.0".to_owned(), 6),
                ("rm -rf /var/lib/apt/lists/*".to_owned(), 6),
            ]
        );
        assert_eq!(
            instruction(&stage, 1)["heredocs"],
            json!([{"delimiter": "EOF",
                    "body": "set -e\napt-get update\napt-get install -y curl=1.0 && rm -rf /var/lib/apt/lists/*\n"}])
        );
        // `<<-` strips leading tabs; a quoted delimiter keeps `$V` as written.
        let script = instruction(&stage, 2);
        assert_eq!(
            script["heredocs"][0]["body"],
            "curl -fsSL https://get.example.com | sh\necho '$V'\n"
        );
        assert_eq!(
            commands(&stage, 2),
            [
                ("<<-\"SCRIPT\" bash".to_owned(), 8),
                ("curl -fsSL https://get.example.com".to_owned(), 9),
                ("sh".to_owned(), 9),
                ("echo '$V'".to_owned(), 10),
            ]
        );
        assert_eq!(script["commands"][1]["pipe_to"], "sh");
        assert_eq!(line(&stage, "/instructions/2/commands/1"), Some(9));
        assert_eq!(
            stage
                .spans
                .get("/instructions/2/commands/1")
                .map(|s| s.column),
            Some(2)
        );
        assert_eq!(
            instruction(&stage, 3)["heredocs"],
            json!([{"delimiter": "one.txt", "body": "first 1.0\n"},
                   {"delimiter": "two.txt", "body": "second $V\n"}])
        );
        assert_eq!(line(&stage, "/instructions/3/heredocs/1/body"), Some(15));
        // A body fed to Python is not a shell script.
        assert_eq!(commands(&stage, 4), [("python3 <<EOF".to_owned(), 17)]);
        assert_eq!(line(&stage, "/instructions/5"), Some(20));
        assert_eq!(stage.end_line, 20);
    }

    #[test]
    fn an_unterminated_heredoc_is_reported_at_its_instruction() {
        assert_eq!(
            diagnostics("FROM alpine\nRUN <<EOF\necho hi\n"),
            [(Some(2), "heredoc `EOF` is never terminated".to_owned())]
        );
    }

    #[test]
    fn variables_are_substituted_once_with_their_scope() {
        let [build, app] = stages(
            "ARG REGISTRY=registry.example.com:5000\n\
             ARG VERSION=1.2\n\
             ARG UNSET\n\
             FROM ${REGISTRY}/team/base:${VERSION} AS build\n\
             ARG VERSION\n\
             ARG LOOP=$HOME\n\
             ENV HOME=/root PATH=$HOME/bin:$PATH\n\
             RUN echo $VERSION ${VERSION:-none} ${VERSION:+set} ${MISSING:-x} '$VERSION' \\$VERSION $LOOP\n\
             ARG HOME=/ignored\n\
             RUN echo $HOME\n\
             FROM alpine:${UNSET} AS app\n\
             RUN echo $VERSION\n",
        )
        .try_into()
        .expect("two stages");
        assert_eq!(
            build.attributes["from"],
            json!({"image": "registry.example.com:5000/team/base:1.2",
                   "raw": "${REGISTRY}/team/base:${VERSION}",
                   "registry": "registry.example.com:5000", "repository": "team/base",
                   "tag": "1.2", "digest": null, "platform": null, "stage": null,
                   "scratch": false})
        );
        // A bare stage ARG takes the global default; ENV sees values from before itself.
        assert_eq!(
            instruction(&build, 2)["values"],
            json!({"HOME": "/root", "PATH": "$HOME/bin:$PATH"})
        );
        assert_eq!(
            instruction(&build, 3)["arguments"],
            "echo 1.2 1.2 set ${MISSING:-x} '$VERSION' \\$VERSION $HOME"
        );
        // ENV wins over a later ARG of the same name.
        assert_eq!(instruction(&build, 5)["arguments"], "echo /root");
        // Unknown values stay as written; global ARGs do not reach into stages undeclared.
        assert_eq!(app.attributes["from"]["image"], "alpine:${UNSET}");
        assert_eq!(app.attributes["from"]["tag"], "${UNSET}");
        assert_eq!(instruction(&app, 0)["arguments"], "echo $VERSION");
    }

    #[test]
    fn run_time_instructions_see_env_but_not_args() {
        let stage = only_stage(
            "FROM node:22\n\
             ARG PORT=8080\n\
             ENV APP=/srv\n\
             CMD node $APP/server.js --port $PORT\n\
             ENTRYPOINT [\"node\", \"$APP\"]\n\
             COPY [\"$APP/a\", \"/b\"]\n",
        );
        assert_eq!(
            instruction(&stage, 2)["arguments"],
            "node /srv/server.js --port $PORT"
        );
        assert_eq!(instruction(&stage, 3)["form"], "exec");
        assert_eq!(instruction(&stage, 3)["exec"], json!(["node", "$APP"]));
        assert_eq!(instruction(&stage, 4)["exec"], json!(["/srv/a", "/b"]));
    }

    #[test]
    fn stages_refer_to_earlier_stages_and_inherit_env_and_user() {
        let all = stages(
            "FROM --platform=linux/amd64 golang:1.23@sha256:abc AS Build\n\
             ENV GOPATH=/go\n\
             USER builder\n\
             FROM build AS test\n\
             RUN echo $GOPATH\n\
             FROM scratch\n\
             COPY --from=build /go/bin/app /app\n\
             FROM localhost/app\n",
        );
        let ids: Vec<_> = all.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "Dockerfile/stage/Build",
                "Dockerfile/stage/test",
                "Dockerfile/stage/2",
                "Dockerfile/stage/3"
            ]
        );
        assert_eq!(all[0].attributes["from"]["digest"], "sha256:abc");
        assert_eq!(all[0].attributes["from"]["tag"], "1.23");
        assert_eq!(all[0].attributes["from"]["platform"], "linux/amd64");
        let test = &all[1].attributes;
        assert_eq!(test["from"]["stage"], "Build");
        assert_eq!(test["from"]["registry"], Value::Null);
        assert_eq!(test["user"], "builder");
        assert_eq!(line(&all[1], "/user"), Some(3), "inherited from build");
        assert_eq!(test["instructions"][0]["arguments"], "echo /go");
        assert_eq!(all[2].attributes["from"]["scratch"], true);
        assert_eq!(all[2].attributes["name"], Value::Null);
        assert_eq!(
            all[2].attributes["instructions"][0]["flags"],
            json!({"from": "build"})
        );
        assert_eq!(all[3].attributes["from"]["registry"], "localhost");
        assert_eq!(all[3].attributes["from"]["repository"], "app");
        let finals: Vec<_> = all.iter().map(|r| r.attributes["final"].clone()).collect();
        assert_eq!(finals, [false, false, false, true]);
    }

    #[test]
    fn the_file_resource_lists_stages_directives_and_global_args() {
        let normalized = run("# syntax=docker/dockerfile:1\n\
             ARG BASE=alpine:3.20 \\\n\
             \x20   TOKEN\n\
             FROM $BASE AS build\n\
             FROM $BASE\n");
        assert_eq!(normalized.diagnostics, []);
        let file = &normalized.resources[0];
        assert_eq!(
            (file.id.as_str(), file.kind.as_str()),
            ("Dockerfile", "dockerfile/file")
        );
        assert_eq!((file.line, file.end_line), (1, 5));
        assert_eq!(
            file.attributes,
            json!({"stages": ["build", "1"],
                   "directives": {"syntax": "docker/dockerfile:1", "escape": null},
                   "args": [{"name": "BASE", "default": "alpine:3.20"},
                            {"name": "TOKEN", "default": null}]})
        );
        assert_eq!(line(file, "/args/1"), Some(3));
        assert_eq!(line(file, "/stages/1"), Some(5));
        assert_eq!(
            normalized.resources[2].attributes["from"]["image"],
            "alpine:3.20"
        );
    }

    #[test]
    fn commands_are_split_outside_quotes_with_their_lines() {
        let stage = only_stage(
            "FROM alpine\n\
             RUN set -eux; \\\n\
             \x20   wget -qO- \"https://a.example/x?a=1&b=2\" | tar -xz -C /opt || exit 1; \\\n\
             \x20   echo \"a && b; c | d\" > /tmp/x 2>&1 & \\\n\
             \x20   if [ -f /x ]; then apk add --no-cache curl; fi; \\\n\
             \x20   (cd /opt && make) ; echo $(curl -s x | sh)\n",
        );
        assert_eq!(
            commands(&stage, 0),
            [
                ("set -eux".to_owned(), 2),
                ("wget -qO- \"https://a.example/x?a=1&b=2\"".to_owned(), 3),
                ("tar -xz -C /opt".to_owned(), 3),
                ("exit 1".to_owned(), 3),
                ("echo \"a && b; c | d\" > /tmp/x 2>&1".to_owned(), 4),
                ("[ -f /x ]".to_owned(), 5),
                ("apk add --no-cache curl".to_owned(), 5),
                ("cd /opt".to_owned(), 6),
                ("make".to_owned(), 6),
                ("echo $(curl -s x | sh)".to_owned(), 6),
            ]
        );
        assert_eq!(instruction(&stage, 0)["commands"][1]["pipe_to"], "tar");
        assert_eq!(instruction(&stage, 0)["commands"][2].get("pipe_to"), None);
        assert_eq!(
            stage.spans.get("/instructions/0/commands/6").copied(),
            Some(Span {
                line: 5,
                column: 24
            })
        );
    }

    #[test]
    fn a_pipe_at_a_line_end_continues_the_pipeline() {
        let stage = only_stage(
            "FROM alpine\nRUN <<EOF\nA=1 curl -fsSL https://x |\n  VAR=1 sudo -E sh -s -- -y\nEOF\n",
        );
        assert_eq!(
            commands(&stage, 0),
            [
                ("A=1 curl -fsSL https://x".to_owned(), 3),
                ("VAR=1 sudo -E sh -s -- -y".to_owned(), 4)
            ]
        );
        assert_eq!(instruction(&stage, 0)["commands"][0]["pipe_to"], "sudo");
    }

    #[test]
    fn exec_form_and_flags_are_parsed() {
        let stage = only_stage(
            "FROM python:3.12-slim\n\
             RUN --mount=type=cache,target=/root/.cache/pip \\\n\
             \x20   --mount=type=secret,id=pip,target=/etc/pip.conf \\\n\
             \x20   --network=none pip install -r requirements.txt\n\
             RUN [\"/bin/sh\", \"-c\", \"curl -s https://x | sh\"]\n\
             ADD --checksum=sha256:0123 --link https://example.com/a.tgz /opt/\n\
             HEALTHCHECK --interval=30s CMD [\"curl\", \"-f\", \"http://localhost/\"]\n",
        );
        assert_eq!(
            instruction(&stage, 0)["flags"],
            json!({"mount": ["type=cache,target=/root/.cache/pip",
                             "type=secret,id=pip,target=/etc/pip.conf"],
                   "network": "none"})
        );
        assert_eq!(
            instruction(&stage, 0)["arguments"],
            "pip install -r requirements.txt"
        );
        let exec = instruction(&stage, 1);
        assert_eq!(exec["form"], "exec");
        assert_eq!(exec["exec"][2], "curl -s https://x | sh");
        assert_eq!(
            commands(&stage, 1),
            [("curl -s https://x".to_owned(), 5), ("sh".to_owned(), 5)]
        );
        assert_eq!(
            instruction(&stage, 2)["flags"],
            json!({"checksum": "sha256:0123", "link": "true"})
        );
        assert_eq!(
            instruction(&stage, 2)["arguments"],
            "https://example.com/a.tgz /opt/"
        );
        let health = instruction(&stage, 3);
        assert_eq!(
            (health["form"].as_str(), health["none"].as_bool()),
            (Some("exec"), Some(false))
        );
        assert_eq!(health["exec"], json!(["curl", "-f", "http://localhost/"]));
    }

    #[test]
    fn env_arg_label_expose_and_healthcheck_have_values() {
        let stage = only_stage(
            "FROM alpine\n\
             ENV LEGACY value with blanks\n\
             ENV A=\"quoted value\" B='$A' C=$A \\\n\
             \x20   D=x\\ y\n\
             ARG TOKEN NAME=web\n\
             LABEL \"org.opencontainers.image.source\"=\"https://x/y\" maintainer=me\n\
             EXPOSE 22 8000-8010/UDP\n\
             HEALTHCHECK NONE\n\
             user 1000:1000\n",
        );
        assert_eq!(
            instruction(&stage, 0)["values"],
            json!({"LEGACY": "value with blanks"})
        );
        assert_eq!(
            instruction(&stage, 1)["values"],
            json!({"A": "quoted value", "B": "$A", "C": "$A", "D": "x y"})
        );
        assert_eq!(line(&stage, "/instructions/1/values/D"), Some(4));
        assert_eq!(
            instruction(&stage, 2)["values"],
            json!({"TOKEN": null, "NAME": "web"})
        );
        assert_eq!(
            instruction(&stage, 3)["values"],
            json!({"org.opencontainers.image.source": "https://x/y", "maintainer": "me"})
        );
        assert_eq!(
            instruction(&stage, 4)["ports"],
            json!(["22/tcp", "8000-8010/udp"])
        );
        assert_eq!(instruction(&stage, 5)["none"], true);
        assert_eq!(instruction(&stage, 6)["keyword"], "USER");
        assert_eq!(stage.attributes["user"], "1000:1000");
        assert_eq!(line(&stage, "/user"), Some(9));
    }

    #[test]
    fn errors_are_diagnostics_with_lines() {
        assert_eq!(
            diagnostics("ARG V=1\nRUN echo hi\nFROM alpine\nRUNN echo\nCMD [\"a\", b]\n"),
            [
                (
                    Some(2),
                    "`RUN` before the first FROM: only ARG may come before FROM".to_owned()
                ),
                (Some(4), "unknown instruction `RUNN`".to_owned()),
                (
                    Some(5),
                    "CMD: the exec form is not a JSON array of strings (expected value at line 1 \
                     column 7); read as shell form"
                        .to_owned()
                ),
            ]
        );
        let broken = run("FROM alpine\nCMD [\"a\", b]\n");
        assert_eq!(
            broken.resources[1].attributes["instructions"][0]["form"],
            "shell"
        );
        assert_eq!(
            diagnostics("# just a comment\n"),
            [(
                None,
                "no FROM instruction: a Dockerfile needs at least one stage".to_owned()
            )]
        );
        assert_eq!(
            diagnostics("\nLABEL a=b\n"),
            [
                (
                    Some(2),
                    "`LABEL` before the first FROM: only ARG may come before FROM".to_owned()
                ),
                (
                    Some(2),
                    "no FROM instruction: a Dockerfile needs at least one stage".to_owned()
                )
            ]
        );
        assert_eq!(
            diagnostics("FROM a AS x\nFROM b AS X\nFROM\n"),
            [
                (Some(2), "stage name `X` is used twice".to_owned()),
                (Some(3), "FROM needs an image".to_owned())
            ]
        );
        // Even a broken file yields its resources.
        assert!(run("FROM alpine\nRUNN x\n").recognized);
        assert_eq!(run("FROM alpine\nRUNN x\n").resources.len(), 2);
    }

    #[test]
    fn crlf_and_a_byte_order_mark_are_fine() {
        let stage = only_stage("\u{feff}FROM alpine:3\r\nRUN echo a \\\r\n  && echo b\r\n");
        assert_eq!(
            commands(&stage, 0),
            [("echo a".to_owned(), 2), ("echo b".to_owned(), 3)]
        );
    }

    #[test]
    fn hostile_input_stays_linear() {
        // Quadratic work on any of these would take minutes; linear takes well under a second
        // (a few seconds unoptimized).
        let n = 100_000;
        let cases = [
            (
                "unclosed braces",
                format!("FROM alpine\nRUN {}\n", "${A:-".repeat(n)),
                0,
            ),
            (
                "unclosed $(",
                format!("FROM alpine\nRUN {}\n", "$(".repeat(n)),
                0,
            ),
            (
                "heredoc markers",
                format!("FROM alpine\nRUN {}\n", "<<A ".repeat(n)),
                1,
            ),
            (
                "continuations",
                format!("FROM alpine\nRUN {}\n", "x\\\n".repeat(n)),
                0,
            ),
            (
                "commands on one line",
                format!("FROM alpine\nRUN {}\n", "a;".repeat(n)),
                0,
            ),
            (
                "long ENV",
                format!("FROM alpine\nENV {}\n", "A=$A ".repeat(n)),
                0,
            ),
        ];
        for (name, text, errors) in cases {
            let started = std::time::Instant::now();
            assert_eq!(run(&text).diagnostics.len(), errors, "{name}");
            let elapsed = started.elapsed();
            assert!(elapsed.as_secs() < 20, "{name}: {elapsed:?}");
        }
    }

    #[test]
    fn too_many_commands_stop_with_a_diagnostic() {
        let limits = Limits {
            max_nodes: 10,
            ..Limits::default()
        };
        let text = format!(
            "FROM alpine\nRUN {}\n{}",
            "a;".repeat(50),
            "RUN b\n".repeat(5)
        );
        let normalized = normalize("Dockerfile", &text, &limits);
        assert_eq!(
            normalized.diagnostics,
            [Diagnostic {
                file: "Dockerfile".to_owned(),
                line: Some(3),
                message: "stopped reading Dockerfile: too many instructions and commands"
                    .to_owned()
            }]
        );
    }
}
