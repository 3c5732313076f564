//! The resource model shared by every format.

use std::collections::HashMap;

use serde_json::Value;

/// A position in a source file: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    pub line: u32,
    pub column: u32,
}

/// Maps JSON pointers (RFC 6901) into a resource's attributes to what is known about where each
/// value came from: its source position ([`SpanTable`]) or a location detail ([`DetailTable`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointerTable<T> {
    entries: HashMap<String, T>,
}

impl<T> Default for PointerTable<T> {
    fn default() -> Self {
        PointerTable {
            entries: HashMap::new(),
        }
    }
}

/// Pointer → source position. For an object member the position is the member's key
/// (`privileged:`), for an array element the element's first token (`- name: web`).
pub type SpanTable = PointerTable<Span>;

/// Pointer → where the value lives when the input has no lines. The root pointer names the
/// input (`oci:build/layout:1.0`), deeper pointers the place inside it
/// (`layer sha256:1a2b3c4d5e6f /usr/bin/passwd`, `config User`); see [`Resource::detail`].
pub type DetailTable = PointerTable<String>;

impl<T> PointerTable<T> {
    /// Records what is known about the value at `pointer`.
    pub fn insert(&mut self, pointer: String, value: T) {
        self.entries.insert(pointer, value);
    }

    /// What is recorded for exactly `pointer`.
    pub fn get(&self, pointer: &str) -> Option<&T> {
        self.entries.get(pointer)
    }

    /// What is recorded for `pointer`, or for its nearest recorded parent when the value itself
    /// does not exist (a finding about a missing field points at the object it is missing from).
    pub fn locate(&self, pointer: &str) -> Option<&T> {
        let mut current = pointer;
        loop {
            if let Some(value) = self.entries.get(current) {
                return Some(value);
            }
            if current.is_empty() {
                return None;
            }
            current = match current.rfind('/') {
                Some(cut) => &current[..cut],
                None => "",
            };
        }
    }

    /// Number of recorded pointers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All recorded pointers with what is recorded, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// A normalized infrastructure object: what a policy plugin judges.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// Stable address, e.g. `Deployment/prod/web`.
    pub id: String,
    /// `<format>/<type>`, e.g. `kubernetes/Deployment`.
    pub kind: String,
    /// The source file as shown to the user (relative to the scan root as given).
    pub file: String,
    /// First line of the resource in `file` (1-based).
    pub line: u32,
    /// Last line of the resource in `file` (1-based, inclusive).
    pub end_line: u32,
    /// The resource's data.
    pub attributes: Value,
    /// Pointer → position for every value in `attributes` that comes from the source.
    pub spans: SpanTable,
    /// Pointer → location detail, for inputs without lines (container images).
    pub details: DetailTable,
}

impl Resource {
    /// The position a finding at `pointer` is reported at: the value itself, else its nearest
    /// existing parent, else the resource's first line.
    pub fn locate(&self, pointer: &str) -> Span {
        self.spans.locate(pointer).copied().unwrap_or(Span {
            line: self.line,
            column: 1,
        })
    }
}

impl Resource {
    /// Where the value at `pointer` lives in an input without lines: the input's name and the
    /// nearest recorded place inside it (`oci:build/layout:1.0 › layer sha256:1a2b3c4d5e6f
    /// /usr/bin/passwd`); `None` when the resource records no details.
    pub fn detail(&self, pointer: &str) -> Option<String> {
        let place = self.details.locate(pointer)?;
        match self.details.get("") {
            Some(input) if !std::ptr::eq(input, place) => Some(format!("{input} › {place}")),
            _ => Some(place.clone()),
        }
    }
}

/// A problem with an input file: reported with the file and line, and the scan goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based line, when the problem has one.
    pub line: Option<u32>,
    pub message: String,
}

/// What a normalizer made of one file.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    /// True when the file is of a format the normalizer handles (even if it had errors).
    pub recognized: bool,
    pub resources: Vec<Resource>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Bounds that keep hostile input from exhausting the scanner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file read, in bytes.
    pub max_file_bytes: u64,
    /// Deepest nesting of collections in one document.
    pub max_depth: usize,
    /// Most nodes one file may expand to, counting every alias expansion.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 16 * 1024 * 1024,
            max_depth: 128,
            max_nodes: 2_000_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_falls_back_to_the_nearest_parent() {
        let mut table = SpanTable::default();
        table.insert(String::new(), Span { line: 1, column: 1 });
        table.insert("/spec".into(), Span { line: 5, column: 1 });
        table.insert("/spec/containers/0".into(), Span { line: 9, column: 7 });
        assert_eq!(
            table.locate("/spec/containers/0/securityContext/privileged"),
            Some(&Span { line: 9, column: 7 })
        );
        assert_eq!(table.locate("/spec"), Some(&Span { line: 5, column: 1 }));
        assert_eq!(
            table.locate("/metadata/name"),
            Some(&Span { line: 1, column: 1 })
        );
    }

    #[test]
    fn locate_without_any_span_is_none() {
        assert_eq!(SpanTable::default().locate("/a/b"), None);
    }
}
