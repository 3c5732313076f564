//! Typed views of container images, so rules read users, ports, files and packages rather than
//! JSON.
//!
//! The host turns one image into four resources, all with the id `image/<manifest digest>`:
//! `image/config` (what the container runs: [`config`]), `image/manifest` (how the image is
//! stored: [`manifest`]), `image/filesystem` (the merged tree after whiteouts: [`filesystem`])
//! and `image/packages` (what the package managers installed: [`packages`]). Each view is
//! `None` for a resource of another kind, reads straight from the attributes without copying,
//! and each item knows the JSON pointer a finding should use, built only when a rule reports.
//!
//! ```
//! use palisade_sdk::{Report, Resource, image};
//!
//! /// Setuid programs give whoever runs them their owner's rights.
//! fn setuid(resource: &Resource, report: &mut Report) {
//!     let Some(filesystem) = image::filesystem(resource) else {
//!         return;
//!     };
//!     for file in filesystem.files().filter(|f| f.is_regular() && f.setuid) {
//!         report.finding(file.pointer(), format!("`{}` is setuid", file.path));
//!     }
//! }
//! ```

use crate::{Resource, Value, pointer};

/// The kind of an image's runtime configuration.
pub const CONFIG_KIND: &str = "image/config";
/// The kind of an image's manifest.
pub const MANIFEST_KIND: &str = "image/manifest";
/// The kind of an image's merged file tree.
pub const FILESYSTEM_KIND: &str = "image/filesystem";
/// The kind of the packages installed in an image.
pub const PACKAGES_KIND: &str = "image/packages";
/// Image configurations, as kind patterns for [`Rule::kinds`](crate::Rule::kinds).
pub const CONFIG_KINDS: &[&str] = &[CONFIG_KIND];
/// Image manifests, as kind patterns.
pub const MANIFEST_KINDS: &[&str] = &[MANIFEST_KIND];
/// Image file trees, as kind patterns.
pub const FILESYSTEM_KINDS: &[&str] = &[FILESYSTEM_KIND];
/// Image package lists, as kind patterns.
pub const PACKAGES_KINDS: &[&str] = &[PACKAGES_KIND];

/// Pointer to the configured user; reported at the image config's `User`.
pub const USER_POINTER: &str = "/user";
/// Pointer to the health check; reported at the image config's `Healthcheck`.
pub const HEALTHCHECK_POINTER: &str = "/healthcheck";
/// Pointer to the labels; reported at the image config's `Labels`.
pub const LABELS_POINTER: &str = "/labels";
/// Pointer to the manifest's compressed size (config plus layers).
pub const TOTAL_SIZE_POINTER: &str = "/total_size";

/// The image as the user named it, e.g. `oci:examples/image/layout:latest`.
pub fn reference<'a>(resource: &Resource<'a>) -> &'a str {
    resource.get("/reference").as_str().unwrap_or("")
}

/// The image's manifest digest (the config digest for a bare config).
pub fn digest<'a>(resource: &Resource<'a>) -> &'a str {
    resource.get("/digest").as_str().unwrap_or("")
}

/// True for a user that is the superuser: empty (the runtime's default, root), `root`, `0`,
/// `root:<group>`, `0:<group>`, or Windows' `ContainerAdministrator`.
pub fn is_root_user(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or("").trim();
    name.is_empty()
        || name == "root"
        || name == "0"
        || name.eq_ignore_ascii_case("ContainerAdministrator")
}

fn text<'a>(value: &'a Value<'a>, key: &str) -> Option<&'a str> {
    pointer::field(value, key).and_then(Value::as_str)
}

fn number(value: &Value<'_>, key: &str) -> Option<u64> {
    pointer::field(value, key).and_then(Value::as_u64)
}

fn list<'a>(value: &'a Value<'a>, key: &str) -> &'a [Value<'a>] {
    pointer::field(value, key)
        .and_then(Value::as_array)
        .unwrap_or_default()
}

fn strings<'a>(value: &'a Value<'a>, key: &str) -> impl Iterator<Item = &'a str> + use<'a> {
    list(value, key).iter().filter_map(Value::as_str)
}

fn index(value: &Value<'_>, key: &str) -> Option<usize> {
    number(value, key).and_then(|n| usize::try_from(n).ok())
}

// ---------------------------------------------------------------------------------------------
// image/config

/// The runtime configuration of an image: what its containers run, as whom, with what.
#[derive(Debug, Clone, Copy)]
pub struct Config<'a> {
    /// The whole `image/config` attributes.
    pub value: &'a Value<'a>,
}

/// The configuration view of an `image/config` resource.
pub fn config<'a>(resource: &Resource<'a>) -> Option<Config<'a>> {
    (resource.kind == CONFIG_KIND).then_some(Config {
        value: resource.attributes,
    })
}

impl<'a> Config<'a> {
    /// The user containers run as (`""` when the image sets none).
    pub fn user(&self) -> &'a str {
        text(self.value, "user").unwrap_or("")
    }

    /// True when containers run as root (see [`is_root_user`]).
    pub fn runs_as_root(&self) -> bool {
        is_root_user(self.user())
    }

    /// The digest of the configuration blob.
    pub fn config_digest(&self) -> &'a str {
        text(self.value, "config_digest").unwrap_or("")
    }

    /// The operating system, e.g. `linux`.
    pub fn os(&self) -> &'a str {
        text(self.value, "os").unwrap_or("")
    }

    /// The CPU architecture, e.g. `amd64`.
    pub fn architecture(&self) -> &'a str {
        text(self.value, "architecture").unwrap_or("")
    }

    /// When the image was built (RFC 3339), if recorded.
    pub fn created(&self) -> Option<&'a str> {
        text(self.value, "created")
    }

    /// The working directory (`""` when unset).
    pub fn working_dir(&self) -> &'a str {
        text(self.value, "working_dir").unwrap_or("")
    }

    /// The entrypoint, if set.
    pub fn entrypoint(&self) -> Option<impl Iterator<Item = &'a str> + use<'a>> {
        pointer::field(self.value, "entrypoint")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str))
    }

    /// The default command, if set.
    pub fn cmd(&self) -> Option<impl Iterator<Item = &'a str> + use<'a>> {
        pointer::field(self.value, "cmd")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str))
    }

    /// The declared volumes.
    pub fn volumes(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        strings(self.value, "volumes")
    }

    /// The environment, in image order.
    pub fn env(&self) -> impl Iterator<Item = EnvVar<'a>> + use<'a> {
        list(self.value, "env")
            .iter()
            .enumerate()
            .map(|(index, value)| EnvVar {
                index,
                name: text(value, "name").unwrap_or(""),
                value: text(value, "value").unwrap_or(""),
            })
    }

    /// The exposed ports, in image order; entries without a valid port are skipped.
    pub fn exposed_ports(&self) -> impl Iterator<Item = ExposedPort<'a>> + use<'a> {
        list(self.value, "exposed_ports")
            .iter()
            .enumerate()
            .filter_map(|(index, value)| {
                Some(ExposedPort {
                    index,
                    port: number(value, "port").and_then(|p| u16::try_from(p).ok())?,
                    protocol: text(value, "protocol").unwrap_or("tcp"),
                })
            })
    }

    /// The health check, if the image has one (an explicitly disabled one included).
    pub fn healthcheck(&self) -> Option<Healthcheck<'a>> {
        pointer::field(self.value, "healthcheck")
            .filter(|v| v.is_object())
            .map(|value| Healthcheck { value })
    }

    /// The labels, as (key, value).
    pub fn labels(&self) -> impl Iterator<Item = (&'a str, &'a str)> + use<'a> {
        pointer::field(self.value, "labels")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|object| object.iter())
            .filter_map(|(key, value)| Some((key, value.as_str()?)))
    }

    /// The value of one label.
    pub fn label(&self, key: &str) -> Option<&'a str> {
        pointer::field(self.value, "labels").and_then(|labels| text(labels, key))
    }

    /// The pointer to one label, e.g. `/labels/org.opencontainers.image.source`.
    pub fn label_pointer(&self, key: &str) -> String {
        pointer::join(LABELS_POINTER, &[key])
    }

    /// The build history, oldest first.
    pub fn history(&self) -> impl Iterator<Item = HistoryEntry<'a>> + use<'a> {
        list(self.value, "history")
            .iter()
            .enumerate()
            .map(|(index, value)| HistoryEntry {
                index,
                created_by: text(value, "created_by").unwrap_or(""),
                created: text(value, "created"),
                comment: text(value, "comment"),
                empty_layer: pointer::field(value, "empty_layer").and_then(Value::as_bool)
                    == Some(true),
                layer: text(value, "layer"),
            })
    }
}

/// One environment variable of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar<'a> {
    /// Position in the config's `env`.
    pub index: usize,
    pub name: &'a str,
    pub value: &'a str,
}

impl EnvVar<'_> {
    /// The pointer to the variable, e.g. `/env/2`: reported at its entry of `Env`.
    pub fn pointer(&self) -> String {
        format!("/env/{}", self.index)
    }
}

/// One exposed port of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExposedPort<'a> {
    /// Position in the config's `exposed_ports`.
    pub index: usize,
    pub port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: &'a str,
}

impl ExposedPort<'_> {
    /// True for TCP.
    pub fn is_tcp(&self) -> bool {
        self.protocol.eq_ignore_ascii_case("tcp")
    }

    /// The pointer to the port, e.g. `/exposed_ports/0`.
    pub fn pointer(&self) -> String {
        format!("/exposed_ports/{}", self.index)
    }
}

/// An image's health check.
#[derive(Debug, Clone, Copy)]
pub struct Healthcheck<'a> {
    /// The health check object.
    pub value: &'a Value<'a>,
}

impl<'a> Healthcheck<'a> {
    /// The test: `["CMD", …]`, `["CMD-SHELL", "…"]`, or `["NONE"]`.
    pub fn test(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        strings(self.value, "test")
    }

    /// True for `["NONE"]`, an explicitly disabled check, and for an empty test, which
    /// checks nothing.
    pub fn is_disabled(&self) -> bool {
        let mut test = self.test();
        match test.next() {
            None => true,
            Some(first) => first.eq_ignore_ascii_case("NONE") && test.next().is_none(),
        }
    }

    /// Time between checks in nanoseconds (0: the runtime's default).
    pub fn interval_ns(&self) -> u64 {
        number(self.value, "interval_ns").unwrap_or(0)
    }

    /// Time a check may take in nanoseconds (0: the runtime's default).
    pub fn timeout_ns(&self) -> u64 {
        number(self.value, "timeout_ns").unwrap_or(0)
    }

    /// Failures before the container is unhealthy (0: the runtime's default).
    pub fn retries(&self) -> u64 {
        number(self.value, "retries").unwrap_or(0)
    }
}

/// One step of an image's build history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryEntry<'a> {
    /// Position in the config's `history`.
    pub index: usize,
    /// What the builder recorded: `/bin/sh -c apt-get update`, `RUN /bin/sh -c … # buildkit`,
    /// `/bin/sh -c #(nop)  ENV A=b`, `COPY app /app # buildkit`…
    pub created_by: &'a str,
    pub created: Option<&'a str>,
    pub comment: Option<&'a str>,
    /// True when the step created no layer (`ENV`, `CMD`, …).
    pub empty_layer: bool,
    /// The digest of the layer the step created.
    pub layer: Option<&'a str>,
}

impl<'a> HistoryEntry<'a> {
    /// The shell script the step ran, or `None` for a step that ran nothing (`ENV`, `COPY`,
    /// `#(nop)` metadata).
    ///
    /// The builders' prefixes are removed: BuildKit's `RUN ` and ` # buildkit`, the build
    /// arguments in scope (`|2 A=1 B=2 `), and the shell with its options up to `-c`
    /// (`/bin/sh -c `, `/bin/bash -o pipefail -c `). A `RUN` in exec form yields its command
    /// line.
    pub fn script(&self) -> Option<&'a str> {
        let mut text = self.created_by.trim();
        text = text.strip_suffix("# buildkit").unwrap_or(text).trim_end();
        let run = text.strip_prefix("RUN ");
        if run.is_none() && starts_with_instruction(text) {
            return None;
        }
        text = run.unwrap_or(text).trim_start();
        text = skip_build_arguments(text);
        let script = strip_shell(text);
        if script.trim_start().starts_with("#(nop)") {
            return None;
        }
        let script = script.trim();
        (!script.is_empty()).then_some(script)
    }

    /// The pointer to one field of the entry, e.g. `/history/3/created_by`.
    pub fn pointer_to(&self, field: &str) -> String {
        format!("/history/{}/{field}", self.index)
    }
}

/// True when a history line starts with a Dockerfile keyword other than `RUN`, as BuildKit and
/// Kaniko record metadata steps (`ENV A=b`, `COPY . /app # buildkit`).
fn starts_with_instruction(text: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    ];
    let word = text.split_whitespace().next().unwrap_or("");
    KEYWORDS.contains(&word)
}

/// The text after the build arguments Docker records in front of a `RUN` (`|2 A=1 B=2 cmd` →
/// `cmd`). Docker does not quote them, so a value is taken to end at the first blank.
fn skip_build_arguments(text: &str) -> &str {
    let Some(rest) = text.strip_prefix('|') else {
        return text;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let Ok(count) = rest[..digits].parse::<usize>() else {
        return text;
    };
    let mut rest = &rest[digits..];
    for _ in 0..count {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    rest.trim_start()
}

/// The next blank-separated word of `rest`, which moves past it.
fn next_word<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let trimmed = rest.trim_start();
    let end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
    let (word, after) = trimmed.split_at(end);
    *rest = after;
    (!word.is_empty()).then_some(word)
}

/// The script after a shell and its options up to `-c` (`/bin/sh -c x` → `x`); the text itself
/// when it does not start with a shell.
fn strip_shell(text: &str) -> &str {
    const SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"];
    let mut rest = text;
    let Some(program) = next_word(&mut rest) else {
        return text;
    };
    if !SHELLS.contains(&crate::shell::program_name(program)) {
        return text;
    }
    while let Some(option) = next_word(&mut rest) {
        if option == "-c" {
            // One blank separates `-c` from the script.
            return rest.strip_prefix(' ').unwrap_or(rest);
        }
        if !option.starts_with(['-', '+']) {
            break;
        }
        // `-o pipefail`: the option's value is the next word.
        if option == "-o" || option == "+o" {
            next_word(&mut rest);
        }
    }
    text
}

// ---------------------------------------------------------------------------------------------
// image/manifest

/// How an image is stored: its layers and their sizes.
#[derive(Debug, Clone, Copy)]
pub struct Manifest<'a> {
    /// The whole `image/manifest` attributes.
    pub value: &'a Value<'a>,
}

/// The manifest view of an `image/manifest` resource.
pub fn manifest<'a>(resource: &Resource<'a>) -> Option<Manifest<'a>> {
    (resource.kind == MANIFEST_KIND).then_some(Manifest {
        value: resource.attributes,
    })
}

impl<'a> Manifest<'a> {
    /// The manifest's media type.
    pub fn media_type(&self) -> &'a str {
        text(self.value, "media_type").unwrap_or("")
    }

    /// The digest of the index the manifest was chosen from, if any.
    pub fn index_digest(&self) -> Option<&'a str> {
        text(self.value, "index_digest")
    }

    /// The layers, base first.
    pub fn layers(&self) -> impl Iterator<Item = Layer<'a>> + use<'a> {
        list(self.value, "layers")
            .iter()
            .enumerate()
            .map(|(index, value)| Layer {
                index,
                digest: text(value, "digest").unwrap_or(""),
                size: number(value, "size").unwrap_or(0),
                media_type: text(value, "media_type").unwrap_or(""),
                compression: text(value, "compression").unwrap_or(""),
            })
    }

    /// The compressed size of the config and every layer, in bytes.
    pub fn total_size(&self) -> u64 {
        number(self.value, "total_size").unwrap_or(0)
    }

    /// One annotation of the manifest.
    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        pointer::field(self.value, "annotations").and_then(|a| text(a, key))
    }

    /// The base image's name, from the manifest's annotations.
    pub fn base_image_name(&self) -> Option<&'a str> {
        pointer::field(self.value, "base_image").and_then(|b| text(b, "name"))
    }

    /// The base image's digest, from the manifest's annotations.
    pub fn base_image_digest(&self) -> Option<&'a str> {
        pointer::field(self.value, "base_image").and_then(|b| text(b, "digest"))
    }
}

/// One layer of a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layer<'a> {
    /// Position in the manifest's `layers`, base first.
    pub index: usize,
    pub digest: &'a str,
    /// Compressed size in bytes.
    pub size: u64,
    pub media_type: &'a str,
    /// `gzip`, `zstd` or `none`.
    pub compression: &'a str,
}

impl Layer<'_> {
    /// The pointer to the layer, e.g. `/layers/1`.
    pub fn pointer(&self) -> String {
        format!("/layers/{}", self.index)
    }
}

// ---------------------------------------------------------------------------------------------
// image/filesystem

/// An image's file tree as a container sees it: every layer applied, whiteouts honoured.
#[derive(Debug, Clone, Copy)]
pub struct Filesystem<'a> {
    /// The whole `image/filesystem` attributes.
    pub value: &'a Value<'a>,
}

/// The file tree view of an `image/filesystem` resource.
pub fn filesystem<'a>(resource: &Resource<'a>) -> Option<Filesystem<'a>> {
    (resource.kind == FILESYSTEM_KIND).then_some(Filesystem {
        value: resource.attributes,
    })
}

impl<'a> Filesystem<'a> {
    /// The files of the merged tree, sorted by path.
    pub fn files(&self) -> impl Iterator<Item = File<'a>> + use<'a> {
        list(self.value, "files")
            .iter()
            .enumerate()
            .map(|(index, value)| File::new(index, value))
    }

    /// Files that a later layer deleted: they are not in the tree, but still in the image.
    pub fn removed(&self) -> impl Iterator<Item = RemovedFile<'a>> + use<'a> {
        list(self.value, "removed")
            .iter()
            .enumerate()
            .map(|(index, value)| RemovedFile {
                index,
                path: text(value, "path").unwrap_or(""),
                layer: index_or_zero(value, "layer"),
                removed_in: index_or_zero(value, "removed_in"),
            })
    }

    /// The layers as the tree was built from them, base first.
    pub fn layers(&self) -> impl Iterator<Item = FilesystemLayer<'a>> + use<'a> {
        list(self.value, "layers")
            .iter()
            .enumerate()
            .map(|(index, value)| FilesystemLayer {
                index,
                digest: text(value, "digest").unwrap_or(""),
                entries: number(value, "entries").unwrap_or(0),
                size: number(value, "size").unwrap_or(0),
            })
    }

    /// The digest of the layer at `index` (as in [`File::layer`]), `""` when unknown.
    pub fn layer_digest(&self, index: usize) -> &'a str {
        list(self.value, "layers")
            .get(index)
            .and_then(|layer| text(layer, "digest"))
            .unwrap_or("")
    }

    /// The uncompressed size of the merged tree's files, in bytes.
    pub fn total_size(&self) -> u64 {
        number(self.value, "total_size").unwrap_or(0)
    }
}

fn index_or_zero(value: &Value<'_>, key: &str) -> usize {
    index(value, key).unwrap_or(0)
}

/// What an entry of the tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    File,
    Dir,
    Symlink,
    Hardlink,
    Char,
    Block,
    Fifo,
    /// A type this SDK does not know.
    Other,
}

impl FileType {
    /// The type named in the attributes (`file`, `dir`, …).
    pub fn parse(name: &str) -> FileType {
        match name {
            "file" => FileType::File,
            "dir" => FileType::Dir,
            "symlink" => FileType::Symlink,
            "hardlink" => FileType::Hardlink,
            "char" => FileType::Char,
            "block" => FileType::Block,
            "fifo" => FileType::Fifo,
            _ => FileType::Other,
        }
    }
}

/// One entry of an image's merged tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct File<'a> {
    /// Position in the tree's `files`.
    pub index: usize,
    /// Absolute, normalized path, e.g. `/usr/bin/passwd`.
    pub path: &'a str,
    pub file_type: FileType,
    /// Permission bits (`& 0o7777`).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Size in bytes (0 for everything but regular files).
    pub size: u64,
    pub setuid: bool,
    pub setgid: bool,
    pub world_writable: bool,
    pub sticky: bool,
    /// The target of a symlink or hardlink.
    pub link: Option<&'a str>,
    /// The layer the entry comes from, an index into [`Filesystem::layers`].
    pub layer: usize,
    /// What the file's first bytes say it is (`private-key`), when they say something.
    pub content: Option<&'a str>,
}

impl<'a> File<'a> {
    fn new(index: usize, value: &'a Value<'a>) -> Self {
        let mode = number(value, "mode")
            .and_then(|m| u32::try_from(m & 0o7777).ok())
            .unwrap_or(0);
        let file_type = FileType::parse(text(value, "type").unwrap_or(""));
        // The flags are the mode's bits, as the host writes them (only when set); a link's own
        // mode means nothing, so a link has none.
        let is_link = matches!(file_type, FileType::Symlink | FileType::Hardlink);
        let flag = |key: &str, bit: u32| {
            !is_link
                && pointer::field(value, key)
                    .and_then(Value::as_bool)
                    .unwrap_or(mode & bit != 0)
        };
        File {
            index,
            path: text(value, "path").unwrap_or(""),
            file_type,
            mode,
            uid: number(value, "uid").unwrap_or(0),
            gid: number(value, "gid").unwrap_or(0),
            size: number(value, "size").unwrap_or(0),
            setuid: flag("setuid", 0o4000),
            setgid: flag("setgid", 0o2000),
            world_writable: flag("world_writable", 0o0002),
            sticky: flag("sticky", 0o1000),
            link: text(value, "link"),
            layer: index_or_zero(value, "layer"),
            content: text(value, "content"),
        }
    }

    /// True for a regular file.
    pub fn is_regular(&self) -> bool {
        self.file_type == FileType::File
    }

    /// True for a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type == FileType::Dir
    }

    /// The last component of the path, e.g. `passwd`.
    pub fn name(&self) -> &'a str {
        self.path.rsplit('/').next().unwrap_or(self.path)
    }

    /// True when the path is `dir` or below it (`/var/cache/apk` holds `/var/cache/apk/x`,
    /// not `/var/cache/apkx`).
    pub fn is_under(&self, dir: &str) -> bool {
        let dir = dir.strip_suffix('/').unwrap_or(dir);
        self.path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// The pointer to the entry, e.g. `/files/123`: shown with its layer and path.
    pub fn pointer(&self) -> String {
        format!("/files/{}", self.index)
    }
}

/// A file some layer added and a later layer deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemovedFile<'a> {
    /// Position in the tree's `removed`.
    pub index: usize,
    pub path: &'a str,
    /// The layer that added it.
    pub layer: usize,
    /// The layer that deleted it.
    pub removed_in: usize,
}

impl RemovedFile<'_> {
    /// The pointer to the entry, e.g. `/removed/0`.
    pub fn pointer(&self) -> String {
        format!("/removed/{}", self.index)
    }
}

/// One layer of the tree: how many entries it had and how large they were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilesystemLayer<'a> {
    /// Position in the tree's `layers`, base first.
    pub index: usize,
    pub digest: &'a str,
    /// Entries in the layer's archive.
    pub entries: u64,
    /// Uncompressed size of the layer's files, in bytes.
    pub size: u64,
}

// ---------------------------------------------------------------------------------------------
// image/packages

/// The view of an `image/packages` resource: what the package databases list.
pub fn packages<'a>(
    resource: &Resource<'a>,
) -> Option<impl Iterator<Item = Package<'a>> + use<'a>> {
    (resource.kind == PACKAGES_KIND).then(|| {
        list(resource.attributes, "packages")
            .iter()
            .enumerate()
            .map(|(index, value)| Package {
                index,
                name: text(value, "name").unwrap_or(""),
                version: text(value, "version").unwrap_or(""),
                source: text(value, "source"),
                arch: text(value, "arch"),
                manager: text(value, "manager").unwrap_or(""),
                database: text(value, "database").unwrap_or(""),
                layer: index_or_zero(value, "layer"),
            })
    })
}

/// One installed package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Package<'a> {
    /// Position in the resource's `packages`.
    pub index: usize,
    pub name: &'a str,
    pub version: &'a str,
    /// The source package it was built from, when it differs or is recorded.
    pub source: Option<&'a str>,
    pub arch: Option<&'a str>,
    /// `dpkg`, `apk` or `rpm`.
    pub manager: &'a str,
    /// The database file that lists it, e.g. `/var/lib/dpkg/status`.
    pub database: &'a str,
    /// The layer that last changed the database entry.
    pub layer: usize,
}

impl Package<'_> {
    /// The pointer to the package, e.g. `/packages/7`.
    pub fn pointer(&self) -> String {
        format!("/packages/{}", self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OwnedValue;
    use serde_json::json;

    fn parse(attributes: serde_json::Value) -> OwnedValue {
        OwnedValue::from_string(attributes.to_string()).expect("valid JSON")
    }

    #[test]
    fn config_fields_read_through() {
        let attributes = parse(json!({
            "reference": "app:1", "digest": "sha256:m", "config_digest": "sha256:c",
            "os": "linux", "architecture": "amd64", "user": "app:app",
            "env": [{"name": "PATH", "value": "/usr/bin"}, {"name": "TOKEN", "value": "x"}],
            "exposed_ports": [{"port": 22, "protocol": "tcp"}, {"port": 99999, "protocol": "tcp"},
                              {"port": 53, "protocol": "udp"}],
            "entrypoint": ["/bin/sh", "-c"], "cmd": null, "working_dir": "/app",
            "labels": {"org.opencontainers.image.source": "https://x", "n": 1},
            "volumes": ["/data"],
            "healthcheck": {"test": ["CMD", "true"], "interval_ns": 5, "timeout_ns": 0, "retries": 3},
            "history": [{"created_by": "/bin/sh -c make", "empty_layer": false, "layer": "sha256:l"}]
        }));
        let r = Resource::new("image/sha256:m", CONFIG_KIND, "app:1", &attributes);
        assert_eq!((reference(&r), digest(&r)), ("app:1", "sha256:m"));
        let config = config(&r).expect("a config");
        assert_eq!(config.user(), "app:app");
        assert!(!config.runs_as_root());
        assert_eq!(
            (config.os(), config.architecture(), config.config_digest()),
            ("linux", "amd64", "sha256:c")
        );
        assert_eq!(config.working_dir(), "/app");
        assert_eq!(
            config.entrypoint().map(|e| e.collect::<Vec<_>>()),
            Some(vec!["/bin/sh", "-c"])
        );
        assert!(config.cmd().is_none());
        assert_eq!(config.volumes().collect::<Vec<_>>(), ["/data"]);
        let env: Vec<_> = config.env().collect();
        assert_eq!((env[1].name, env[1].value), ("TOKEN", "x"));
        assert_eq!(env[1].pointer(), "/env/1");
        let ports: Vec<_> = config.exposed_ports().collect();
        assert_eq!(ports.len(), 2, "the out-of-range port is skipped");
        assert!(ports[0].is_tcp() && !ports[1].is_tcp());
        assert_eq!(ports[1].pointer(), "/exposed_ports/2");
        let healthcheck = config.healthcheck().expect("a health check");
        assert!(!healthcheck.is_disabled());
        assert_eq!((healthcheck.interval_ns(), healthcheck.retries()), (5, 3));
        assert_eq!(
            config.label("org.opencontainers.image.source"),
            Some("https://x")
        );
        assert_eq!(config.labels().count(), 1, "non-string labels are skipped");
        assert_eq!(
            config.label_pointer("a/b"),
            "/labels/a~1b",
            "label keys are escaped"
        );
        let history: Vec<_> = config.history().collect();
        assert_eq!(history[0].script(), Some("make"));
        assert_eq!(history[0].pointer_to("created_by"), "/history/0/created_by");
        assert_eq!(history[0].layer, Some("sha256:l"));
    }

    #[test]
    fn views_only_apply_to_their_kind() {
        let attributes = parse(json!({}));
        let r = Resource::new("x", MANIFEST_KIND, "x", &attributes);
        assert!(config(&r).is_none() && filesystem(&r).is_none() && packages(&r).is_none());
        assert!(manifest(&r).is_some());
    }

    #[test]
    fn missing_attributes_read_as_empty() {
        let attributes = parse(json!({}));
        let r = Resource::new("x", CONFIG_KIND, "x", &attributes);
        let config = config(&r).expect("a config");
        assert_eq!(config.user(), "");
        assert!(config.runs_as_root());
        assert!(config.healthcheck().is_none());
        assert_eq!(config.env().count() + config.history().count(), 0);
    }

    #[test]
    fn root_users_are_recognized() {
        for user in [
            "",
            " ",
            ":0",
            "root",
            "0",
            "root:root",
            "0:0",
            "0:1000",
            "ContainerAdministrator",
        ] {
            assert!(is_root_user(user), "{user:?}");
        }
        for user in ["app", "1000", "1000:0", "nobody", "rootless", "10"] {
            assert!(!is_root_user(user), "{user:?}");
        }
    }

    #[test]
    fn disabled_health_checks_are_recognized() {
        for (test, disabled) in [
            (json!(["NONE"]), true),
            (json!([]), true),
            (json!(["CMD", "curl", "-f", "http://localhost/"]), false),
            (json!(["CMD-SHELL", "curl -f http://localhost/"]), false),
        ] {
            let value = parse(json!({"test": test}));
            assert_eq!(
                Healthcheck { value: &value }.is_disabled(),
                disabled,
                "{test}"
            );
        }
    }

    #[test]
    fn history_scripts_lose_the_builders_prefixes() {
        fn script(created_by: &str) -> Option<&str> {
            HistoryEntry {
                index: 0,
                created_by,
                created: None,
                comment: None,
                empty_layer: false,
                layer: None,
            }
            .script()
        }
        let url = "curl -fsSL https://x | sh";
        assert_eq!(script(&format!("/bin/sh -c {url}")), Some(url));
        assert_eq!(
            script(&format!("RUN /bin/sh -c {url} # buildkit")),
            Some(url)
        );
        assert_eq!(script(&format!("|1 ARG=x /bin/sh -c {url}")), Some(url));
        assert_eq!(
            script(&format!("RUN |2 A=1 B=2 /bin/sh -c {url} # buildkit")),
            Some(url)
        );
        assert_eq!(
            script(&format!("/bin/bash -o pipefail -c {url}")),
            Some(url)
        );
        assert_eq!(script(&format!("RUN {url}")), Some(url), "Kaniko");
        assert_eq!(
            script("RUN /app/install --yes # buildkit"),
            Some("/app/install --yes")
        );
        assert_eq!(script("/bin/sh -c #(nop)  ENV A=b"), None);
        assert_eq!(script("/bin/sh -c #(nop) ADD file:abc in / "), None);
        assert_eq!(script("ENV A=b"), None);
        assert_eq!(script("COPY . /app # buildkit"), None);
        assert_eq!(script(""), None);
        assert_eq!(script("|x /bin/sh -c a"), Some("|x /bin/sh -c a"));
    }

    #[test]
    fn files_read_flags_and_fall_back_to_the_mode() {
        let attributes = parse(json!({
            "layers": [{"digest": "sha256:a", "entries": 2, "size": 10},
                       {"digest": "sha256:b", "entries": 1, "size": 5}],
            "files": [
                {"path": "/tmp", "type": "dir", "mode": 0o1777, "uid": 0, "gid": 0, "size": 0,
                 "setuid": false, "setgid": false, "world_writable": true, "sticky": true,
                 "layer": 0},
                {"path": "/usr/bin/passwd", "type": "file", "mode": 0o104755, "layer": 1},
                {"path": "/usr/bin/vi", "type": "symlink", "mode": 0o777, "link": "vim",
                 "layer": 1, "content": null}
            ],
            "removed": [{"path": "/root/.ssh/id_rsa", "layer": 0, "removed_in": 1}],
            "total_size": 15
        }));
        let r = Resource::new("x", FILESYSTEM_KIND, "x", &attributes);
        let fs = filesystem(&r).expect("a filesystem");
        let files: Vec<_> = fs.files().collect();
        assert!(files[0].is_dir() && files[0].sticky && files[0].world_writable);
        assert_eq!(files[1].mode, 0o4755, "the mode keeps permission bits only");
        assert!(files[1].setuid && !files[1].setgid && files[1].is_regular());
        assert_eq!(
            (files[1].name(), files[1].pointer()),
            ("passwd", "/files/1".into())
        );
        assert_eq!(fs.layer_digest(files[1].layer), "sha256:b");
        assert_eq!(fs.layer_digest(9), "");
        assert_eq!(
            (files[2].file_type, files[2].link),
            (FileType::Symlink, Some("vim"))
        );
        assert!(files[1].is_under("/usr/bin") && files[1].is_under("/usr/bin/"));
        assert!(!files[1].is_under("/usr/b") && files[1].is_under("/usr/bin/passwd"));
        let removed: Vec<_> = fs.removed().collect();
        assert_eq!(
            (removed[0].path, removed[0].removed_in),
            ("/root/.ssh/id_rsa", 1)
        );
        assert_eq!(removed[0].pointer(), "/removed/0");
        assert_eq!(fs.layers().map(|l| l.entries).sum::<u64>(), 3);
        assert_eq!(fs.total_size(), 15);
    }

    #[test]
    fn manifests_and_packages_read_through() {
        let attributes = parse(json!({
            "media_type": "application/vnd.oci.image.manifest.v1+json",
            "layers": [{"digest": "sha256:a", "size": 100, "media_type": "x", "compression": "gzip"}],
            "annotations": {"org.opencontainers.image.base.name": "debian:12"},
            "base_image": {"name": "debian:12", "digest": null},
            "total_size": 1234
        }));
        let r = Resource::new("x", MANIFEST_KIND, "x", &attributes);
        let m = manifest(&r).expect("a manifest");
        assert_eq!(m.total_size(), 1234);
        assert_eq!(
            m.layers()
                .map(|l| (l.size, l.compression))
                .collect::<Vec<_>>(),
            [(100, "gzip")]
        );
        assert_eq!(m.base_image_name(), Some("debian:12"));
        assert_eq!(m.base_image_digest(), None);
        assert_eq!(
            m.annotation("org.opencontainers.image.base.name"),
            Some("debian:12")
        );
        assert_eq!(m.index_digest(), None);

        let attributes = parse(json!({"packages": [
            {"name": "openssl", "version": "3.0.11-1~deb12u2", "source": "openssl",
             "arch": "amd64", "manager": "dpkg", "database": "/var/lib/dpkg/status", "layer": 3}
        ]}));
        let r = Resource::new("x", PACKAGES_KIND, "x", &attributes);
        let all: Vec<_> = packages(&r).expect("packages").collect();
        assert_eq!(
            (all[0].name, all[0].manager, all[0].layer),
            ("openssl", "dpkg", 3)
        );
        assert_eq!(all[0].pointer(), "/packages/0");
    }
}
