//! Container image layers: streams each layer's tar (plain, gzip or zstd) into the file tree the
//! image would have once unpacked, applying the OCI changeset rules (whiteouts, opaque
//! directories, replacements), without ever writing to disk or following a link.
//!
//! Entries that would be unsafe to unpack (path traversal, escaping links) are skipped and
//! reported as [`Problem`]s; damaged or oversized layers stop with a [`LayerError`]. The files
//! that [`packages::is_database`] names are kept in memory so the package lists can be read.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufReader, Read};

use super::packages;

/// Read buffer between the raw blob and the decompressor.
const BLOB_BUFFER: usize = 256 * 1024;
/// Read buffer between the decompressor and the tar reader: tar headers are 512-byte reads, and
/// a decompressor called for each of them spends more time in call overhead than in inflating.
const STREAM_BUFFER: usize = 128 * 1024;
/// How many leading bytes of a regular file are inspected for content sniffing.
const SNIFF_LEN: usize = 64;

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

/// Caps on what the layers of one image may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerLimits {
    /// Decompressed tar bytes across all layers.
    pub max_bytes: u64,
    /// Tar entries across all layers.
    pub max_entries: u64,
    /// Size of one captured file (a package database).
    pub max_captured_bytes: u64,
}

impl Default for LayerLimits {
    fn default() -> LayerLimits {
        LayerLimits {
            max_bytes: 8 * GIB,
            max_entries: 2_000_000,
            max_captured_bytes: 64 * MIB,
        }
    }
}

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// From an OCI/Docker layer media type; `None` when it is not a layer type we know.
    pub fn from_media_type(media_type: &str) -> Option<Compression> {
        let media_type = media_type.trim();
        if let Some(rest) = media_type.strip_prefix("application/vnd.oci.image.layer.") {
            // Non-distributable ("foreign") layers are deprecated but still found in old images.
            let rest = rest
                .strip_prefix("v1.")
                .or_else(|| rest.strip_prefix("nondistributable.v1."))?;
            return match rest {
                "tar" => Some(Compression::None),
                "tar+gzip" => Some(Compression::Gzip),
                "tar+zstd" => Some(Compression::Zstd),
                _ => None,
            };
        }
        let rest = media_type.strip_prefix("application/vnd.docker.image.rootfs.")?;
        let rest = rest
            .strip_prefix("diff.tar")
            .or_else(|| rest.strip_prefix("foreign.diff.tar"))?;
        match rest {
            "" => Some(Compression::None),
            ".gzip" => Some(Compression::Gzip),
            ".zstd" => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// The name used in the normalized model: `none`, `gzip` or `zstd`.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// What the first bytes of a blob say it is: the magic numbers of gzip and zstd, else tar.
    fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// The type of a file in the merged tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    File,
    Dir,
    Symlink,
    Hardlink,
    Char,
    Block,
    Fifo,
}

impl FileType {
    /// The name used in the normalized model: `file`, `dir`, `symlink`, …
    pub fn as_str(self) -> &'static str {
        match self {
            FileType::File => "file",
            FileType::Dir => "dir",
            FileType::Symlink => "symlink",
            FileType::Hardlink => "hardlink",
            FileType::Char => "char",
            FileType::Block => "block",
            FileType::Fifo => "fifo",
        }
    }

    /// Whether removing such an entry can hide data worth reporting (contents or a link).
    fn has_data(self) -> bool {
        matches!(
            self,
            FileType::File | FileType::Hardlink | FileType::Symlink
        )
    }
}

/// What a regular file's first bytes say it contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Content {
    PrivateKey,
}

impl Content {
    /// The name used in the normalized model: `private-key`.
    pub fn as_str(self) -> &'static str {
        match self {
            Content::PrivateKey => "private-key",
        }
    }

    /// Recognizes a PEM private key (`-----BEGIN … PRIVATE KEY-----`: RSA, EC, DSA, OPENSSH,
    /// ENCRYPTED, PKCS#8) at the start of a file, after optional leading whitespace.
    fn sniff(head: &[u8]) -> Option<Content> {
        let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
        let rest = head[start..].strip_prefix(b"-----BEGIN ")?;
        let end = rest.windows(5).position(|w| w == b"-----")?;
        let label = &rest[..end];
        (label.ends_with(b"PRIVATE KEY") && !label.contains(&b'\n')).then_some(Content::PrivateKey)
    }
}

/// One file of the merged tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Absolute, normalized path (`/usr/bin/passwd`).
    pub path: String,
    pub kind: FileType,
    /// Permission bits including setuid, setgid and sticky (`mode & 0o7777`).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    /// Symlink target as stored, or the hardlink's normalized target path.
    pub link: Option<String>,
    /// Index of the layer the file comes from.
    pub layer: usize,
    pub content: Option<Content>,
}

/// A file, symlink or hardlink of a lower layer that a higher layer removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub path: String,
    /// The layer the file came from.
    pub layer: usize,
    /// The layer whose whiteout or replacement removed it.
    pub removed_in: usize,
}

/// What reading one layer cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LayerStats {
    /// Tar entries, whiteouts included.
    pub entries: u64,
    /// Decompressed tar bytes.
    pub bytes: u64,
}

/// An entry that was not applied to the merged tree, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub layer: usize,
    /// The entry's path as written in the tar.
    pub path: String,
    pub message: String,
}

/// The bytes of a captured file (a package database) and the layer they come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    pub layer: usize,
    pub bytes: Vec<u8>,
}

/// The merged file tree of all layers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Merged {
    /// Sorted by path.
    pub files: Vec<FileEntry>,
    /// Sorted by path, then by the layer the file came from.
    pub removed: Vec<Removed>,
    /// One per layer added, in order.
    pub layers: Vec<LayerStats>,
    pub problems: Vec<Problem>,
    /// Package databases present in the merged tree, by path.
    pub captured: BTreeMap<String, Captured>,
}

/// A layer that could not be read to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerError {
    pub layer: usize,
    pub message: String,
}

impl fmt::Display for LayerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "layer {}: {}", self.layer, self.message)
    }
}

impl std::error::Error for LayerError {}

/// A file of the tree while layers are being merged.
#[derive(Debug)]
struct Node {
    kind: FileType,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
    link: Option<String>,
    layer: usize,
    content: Option<Content>,
    captured: Option<Vec<u8>>,
}

/// What one layer changes, kept apart until the layer is read: whiteouts apply only to lower
/// layers, wherever they stand in the tar, so they cannot be applied while streaming.
#[derive(Default)]
struct Changeset {
    entries: BTreeMap<String, Node>,
    /// Whiteout targets; `true` for an opaque directory (everything below it goes).
    whiteouts: Vec<(String, bool)>,
}

/// Merges layers, bottom first, into the image's file tree.
#[derive(Debug)]
pub struct Merger {
    limits: LayerLimits,
    tree: BTreeMap<String, Node>,
    removed: Vec<Removed>,
    layers: Vec<LayerStats>,
    problems: Vec<Problem>,
    total_bytes: u64,
    total_entries: u64,
}

impl Merger {
    /// A merger with no layers yet.
    pub fn new(limits: LayerLimits) -> Merger {
        Merger {
            limits,
            tree: BTreeMap::new(),
            removed: Vec::new(),
            layers: Vec::new(),
            problems: Vec::new(),
            total_bytes: 0,
            total_entries: 0,
        }
    }

    /// Reads layer number `index` (0 = bottom, added in order) from `blob`, the layer blob's raw
    /// bytes (possibly compressed); `compression` is what the descriptor says, but the blob's
    /// magic bytes win when they disagree. The blob is read to its end, so a reader that
    /// verifies a digest at EOF gets to report a mismatch, which becomes the error.
    ///
    /// On error, the entries read before it still count: a damaged image shows what could be
    /// read, next to the error.
    pub fn add_layer(
        &mut self,
        index: usize,
        compression: Compression,
        blob: impl Read,
    ) -> Result<(), LayerError> {
        if index != self.layers.len() {
            return Err(LayerError {
                layer: index,
                message: format!(
                    "layers must be added bottom first; expected layer {}",
                    self.layers.len()
                ),
            });
        }
        let meter = Meter {
            max_bytes: self.limits.max_bytes,
            limit: self.limits.max_bytes.saturating_sub(self.total_bytes),
            bytes: Cell::new(0),
            over: Cell::new(false),
            blob_error: Cell::new(None),
            stream_error: Cell::new(None),
        };
        let mut changes = Changeset::default();
        let mut entries = 0;
        let result = self.read_layer(index, compression, blob, &meter, &mut changes, &mut entries);
        let stats = LayerStats {
            entries,
            bytes: meter.bytes.get(),
        };
        self.total_bytes += stats.bytes;
        self.total_entries += stats.entries;
        self.layers.push(stats);
        self.apply(index, changes);
        result
    }

    /// The merged tree of the layers added so far.
    pub fn finish(self) -> Merged {
        let mut files = Vec::with_capacity(self.tree.len());
        let mut captured = BTreeMap::new();
        for (path, node) in self.tree {
            if let Some(bytes) = node.captured {
                let layer = node.layer;
                captured.insert(path.clone(), Captured { layer, bytes });
            }
            files.push(FileEntry {
                path,
                kind: node.kind,
                mode: node.mode,
                uid: node.uid,
                gid: node.gid,
                size: node.size,
                link: node.link,
                layer: node.layer,
                content: node.content,
            });
        }
        let mut removed = self.removed;
        removed.sort_by(|a, b| (&a.path, a.layer).cmp(&(&b.path, b.layer)));
        Merged {
            files,
            removed,
            layers: self.layers,
            problems: self.problems,
            captured,
        }
    }

    fn read_layer(
        &mut self,
        index: usize,
        declared: Compression,
        blob: impl Read,
        meter: &Meter,
        changes: &mut Changeset,
        entries: &mut u64,
    ) -> Result<(), LayerError> {
        let mut blob = MeteredBlob { inner: blob, meter };
        // Sniff the magic bytes without losing them: read a few, then chain them back in front.
        let mut head = [0u8; 4];
        let mut head_len = 0;
        while head_len < head.len() {
            match blob.read(&mut head[head_len..]) {
                Ok(0) => break,
                Ok(n) => head_len += n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(meter.error(index, declared, &error)),
            }
        }
        // The descriptor may be wrong (tools have shipped gzip layers labelled as plain tar);
        // the bytes are what a runtime would decompress, so they win over `declared`.
        let actual = Compression::sniff(&head[..head_len]);
        let mut source = BufReader::with_capacity(BLOB_BUFFER, (&head[..head_len]).chain(blob));
        let fail = |error: &io::Error| meter.error(index, actual, error);
        {
            let decoder: Box<dyn Read + '_> = match actual {
                Compression::None => Box::new(&mut source),
                // Multi-member gzip is valid and what Docker and containerd accept.
                Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(&mut source)),
                Compression::Zstd => Box::new(
                    zstd::stream::read::Decoder::with_buffer(&mut source)
                        .map_err(|error| fail(&error))?,
                ),
            };
            let stream = BufReader::with_capacity(
                STREAM_BUFFER,
                MeteredStream {
                    inner: decoder,
                    meter,
                },
            );
            let mut archive = tar::Archive::new(stream);
            for entry in archive.entries().map_err(|error| fail(&error))? {
                let mut entry = entry.map_err(|error| fail(&error))?;
                *entries += 1;
                if self.total_entries + *entries > self.limits.max_entries {
                    return Err(LayerError {
                        layer: index,
                        message: format!("more than {} entries; stopped", self.limits.max_entries),
                    });
                }
                self.read_entry(index, &mut entry, changes)
                    .map_err(|error| fail(&error))?;
            }
            // Past the end-of-archive marker: drain the stream, so a bomb hidden after it is
            // still counted and a gzip trailer (CRC, length) is still checked.
            let mut stream = archive.into_inner();
            io::copy(&mut stream, &mut io::sink()).map_err(|error| fail(&error))?;
        }
        // The decompressor may stop at the end of its stream; the blob must reach EOF so the
        // caller's digest check runs.
        io::copy(&mut source, &mut io::sink()).map_err(|error| fail(&error))?;
        Ok(())
    }

    /// Reads one tar entry into `changes`; an unsafe or unreadable entry becomes a problem.
    /// Errors are I/O errors of the stream (the layer cannot go on).
    fn read_entry<R: Read>(
        &mut self,
        index: usize,
        entry: &mut tar::Entry<'_, R>,
        changes: &mut Changeset,
    ) -> io::Result<()> {
        let entry_type = entry.header().entry_type();
        if entry_type.is_pax_global_extensions() {
            // Archive-wide metadata (e.g. a comment); not a file.
            return Ok(());
        }
        let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let mut problem = |message: String| {
            self.problems.push(Problem {
                layer: index,
                path: raw_path.clone(),
                message,
            });
            Ok(())
        };
        let Some(path) = clean_path(&raw_path) else {
            return problem("path has a `..` segment; skipped".to_string());
        };
        if path.is_empty() {
            // The root directory itself: nothing to record.
            return Ok(());
        }
        let (parent, name) = path
            .rsplit_once('/')
            .expect("a cleaned non-root path starts with '/'");
        if let Some(target) = name.strip_prefix(".wh.") {
            if target == ".wh..opq" {
                changes.whiteouts.push((parent.to_string(), true));
                return Ok(());
            }
            if target.starts_with(".wh.") {
                // Other `.wh..wh.*` names are AUFS bookkeeping (hardlink dirs), not whiteouts.
                return Ok(());
            }
            if target.is_empty() || target == "." || target == ".." {
                return problem(format!("whiteout names no file (`{name}`); skipped"));
            }
            changes
                .whiteouts
                .push((format!("{parent}/{target}"), false));
            return Ok(());
        }
        let kind = match entry_type {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                FileType::File
            }
            tar::EntryType::Directory => FileType::Dir,
            tar::EntryType::Symlink => FileType::Symlink,
            tar::EntryType::Link => FileType::Hardlink,
            tar::EntryType::Char => FileType::Char,
            tar::EntryType::Block => FileType::Block,
            tar::EntryType::Fifo => FileType::Fifo,
            other => {
                return problem(format!(
                    "unsupported tar entry type `{}`; skipped",
                    other.as_byte().escape_ascii()
                ));
            }
        };
        let header = entry.header();
        let raw = header.as_old();
        let fields = (
            blank_is_zero(header.mode(), &raw.mode),
            blank_is_zero(header.uid(), &raw.uid),
            blank_is_zero(header.gid(), &raw.gid),
        );
        let (mode, uid, gid) = match fields {
            (Ok(mode), Ok(uid), Ok(gid)) => (mode & 0o7777, uid, gid),
            (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => {
                return problem(format!("unreadable header field: {error}; skipped"));
            }
        };
        let mut node = Node {
            kind,
            mode,
            uid,
            gid,
            size: 0,
            link: None,
            layer: index,
            content: None,
            captured: None,
        };
        match kind {
            FileType::Symlink | FileType::Hardlink => {
                let target = entry
                    .link_name_bytes()
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                    .unwrap_or_default();
                if target.is_empty() {
                    return problem(format!("{} has no target; skipped", kind.as_str()));
                }
                if kind == FileType::Symlink {
                    if !target.starts_with('/') && symlink_escapes(parent, &target) {
                        return problem(format!(
                            "symlink target `{target}` climbs above /; skipped"
                        ));
                    }
                    node.link = Some(target);
                } else {
                    let Some(target) = resolve_path(&target) else {
                        return problem(format!(
                            "hardlink target `{target}` climbs above /; skipped"
                        ));
                    };
                    if let Some(linked) = changes
                        .entries
                        .get(&target)
                        .or_else(|| self.tree.get(&target))
                    {
                        node.size = linked.size;
                        node.mode = linked.mode;
                        node.content = linked.content;
                        if packages::is_database(&path) {
                            node.captured.clone_from(&linked.captured);
                        }
                    }
                    node.link = Some(target);
                }
            }
            FileType::File => {
                node.size = entry.size();
                if packages::is_database(&path) {
                    if node.size > self.limits.max_captured_bytes {
                        self.problems.push(Problem {
                            layer: index,
                            path: raw_path.clone(),
                            message: format!(
                                "package database larger than {}; not read",
                                size_text(self.limits.max_captured_bytes)
                            ),
                        });
                    } else {
                        let capacity = usize::try_from(node.size)
                            .expect("capture size is bounded by max_captured_bytes");
                        let mut bytes = Vec::with_capacity(capacity);
                        entry.read_to_end(&mut bytes)?;
                        node.content = Content::sniff(&bytes[..bytes.len().min(SNIFF_LEN)]);
                        node.captured = Some(bytes);
                    }
                }
                if node.captured.is_none() && node.size > 0 {
                    let mut head = [0u8; SNIFF_LEN];
                    let mut len = 0;
                    while len < head.len() {
                        match entry.read(&mut head[len..])? {
                            0 => break,
                            n => len += n,
                        }
                    }
                    node.content = Content::sniff(&head[..len]);
                }
            }
            FileType::Dir | FileType::Char | FileType::Block | FileType::Fifo => {}
        }
        if kind != FileType::Dir {
            // A later entry of the same tar replaces an earlier one, children of a dir included.
            remove_below(&mut changes.entries, &path, |_, _| {});
        }
        changes.entries.insert(path, node);
        Ok(())
    }

    /// Applies layer `index`'s changes: its whiteouts hide lower layers, then its entries
    /// replace what they cover.
    fn apply(&mut self, index: usize, changes: Changeset) {
        let removed = &mut self.removed;
        let mut record = |path: &str, node: &Node| {
            if node.kind.has_data() {
                removed.push(Removed {
                    path: path.to_string(),
                    layer: node.layer,
                    removed_in: index,
                });
            }
        };
        for (target, opaque) in changes.whiteouts {
            if !opaque && let Some(node) = self.tree.remove(&target) {
                record(&target, &node);
            }
            remove_below(&mut self.tree, &target, &mut record);
        }
        for (path, node) in changes.entries {
            // A directory over a directory keeps the children; anything else replaces the
            // whole subtree.
            if node.kind != FileType::Dir {
                remove_below(&mut self.tree, &path, &mut record);
            }
            self.tree.insert(path, node);
        }
    }
}

/// Removes every entry strictly below directory `dir` ("" is the root), calling `record` on each.
fn remove_below(tree: &mut BTreeMap<String, Node>, dir: &str, mut record: impl FnMut(&str, &Node)) {
    // Paths below `dir` are exactly the keys in ["dir/", "dir0"): '0' is the byte after '/'.
    let range = format!("{dir}/")..format!("{dir}0");
    for (path, node) in tree.extract_if(range, |_, _| true) {
        record(&path, &node);
    }
}

/// An entry path in absolute form (`./usr/bin/` → `/usr/bin`; the root is ""), or `None` when a
/// `..` segment makes it unsafe to place.
fn clean_path(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len() + 1);
    for segment in raw.split('/') {
        match segment {
            "" | "." => {}
            ".." => return None,
            segment => {
                out.push('/');
                out.push_str(segment);
            }
        }
    }
    Some(out)
}

/// A hardlink target in absolute form with `..` resolved, or `None` when it climbs above `/`.
fn resolve_path(raw: &str) -> Option<String> {
    let mut segments: Vec<&str> = Vec::new();
    for segment in raw.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop()?;
            }
            segment => segments.push(segment),
        }
    }
    let mut out = String::with_capacity(raw.len() + 1);
    for segment in segments {
        out.push('/');
        out.push_str(segment);
    }
    Some(out)
}

/// Whether relative symlink `target`, resolved from directory `dir`, climbs above `/`.
fn symlink_escapes(dir: &str, target: &str) -> bool {
    let mut depth = dir.split('/').filter(|s| !s.is_empty()).count();
    for segment in target.split('/') {
        match segment {
            "" | "." => {}
            ".." => match depth.checked_sub(1) {
                Some(up) => depth = up,
                None => return true,
            },
            _ => depth += 1,
        }
    }
    false
}

/// A numeric header field, where an empty one (all NUL or space) reads as 0: Go's archive/tar,
/// which unpacks layers for Docker and containerd, reads it so, and skipping such an entry would
/// hide a file the runtime creates.
fn blank_is_zero<T: Default>(parsed: io::Result<T>, raw: &[u8]) -> io::Result<T> {
    match parsed {
        Err(_) if raw.iter().all(|&b| b == 0 || b == b' ') => Ok(T::default()),
        other => other,
    }
}

/// `8 GiB`, `1 MiB`, or plain bytes when not a whole number of those.
fn size_text(bytes: u64) -> String {
    for (unit, name) in [(GIB, "GiB"), (MIB, "MiB"), (1 << 10, "KiB")] {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{} {name}", bytes / unit);
        }
    }
    format!("{bytes} bytes")
}

/// Counters and the first failure of each reader of one layer, to tell the caller which one
/// went wrong: the tar reader only passes an `io::Error` on.
struct Meter {
    /// The configured cap across all layers, for the message.
    max_bytes: u64,
    /// Decompressed bytes this layer may still use.
    limit: u64,
    bytes: Cell<u64>,
    over: Cell<bool>,
    blob_error: Cell<Option<String>>,
    stream_error: Cell<Option<String>>,
}

impl Meter {
    fn error(&self, layer: usize, compression: Compression, error: &io::Error) -> LayerError {
        let message = if self.over.get() {
            format!(
                "more than {} decompressed; stopped",
                size_text(self.max_bytes)
            )
        } else if let Some(cause) = self.blob_error.take() {
            format!("reading the layer blob failed: {cause}")
        } else if let Some(cause) = self.stream_error.take() {
            format!("corrupt {} data: {cause}", compression.as_str())
        } else {
            format!("corrupt tar: {error}")
        };
        LayerError { layer, message }
    }
}

/// The raw blob, noting its first error (an I/O failure or the caller's digest mismatch).
struct MeteredBlob<'m, R> {
    inner: R,
    meter: &'m Meter,
}

impl<R: Read> Read for MeteredBlob<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner
            .read(buf)
            .inspect_err(|error| note_first(&self.meter.blob_error, error))
    }
}

/// The decompressed stream, counting bytes against the limit and noting decoder errors.
struct MeteredStream<'m, R> {
    inner: R,
    meter: &'m Meter,
}

impl<R: Read> Read for MeteredStream<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                let bytes = self.meter.bytes.get() + n as u64;
                self.meter.bytes.set(bytes);
                if bytes > self.meter.limit {
                    self.meter.over.set(true);
                    return Err(io::Error::other("decompressed size limit reached"));
                }
                Ok(n)
            }
            Err(error) => {
                note_first(&self.meter.stream_error, &error);
                Err(error)
            }
        }
    }
}

/// Keeps the first real error's text; `Interrupted` is retried by readers, not a failure.
fn note_first(slot: &Cell<Option<String>>, error: &io::Error) {
    if error.kind() == io::ErrorKind::Interrupted {
        return;
    }
    let first = slot.take();
    slot.set(first.or_else(|| Some(error.to_string())));
}
