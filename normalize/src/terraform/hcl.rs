//! Terraform configurations (`.tf`, `.tf.json`) → one resource per `resource`, `data`, `module`
//! and `provider` block, evaluated statically per root module.
//!
//! A root module is a directory: its `*.tf` and `*.tf.json` files (in name order), the
//! variable values of `terraform.tfvars`, `terraform.tfvars.json` and then the
//! `*.auto.tfvars(.json)` files in name order (later files win over earlier ones and over
//! defaults), and the modules it calls. Environment variables (`TF_VAR_*`) and `-var` flags are
//! not read, so a scan gives the same result wherever it runs; a root variable without a value
//! is unknown. Override files (`override.tf`, `*_override.tf`) are not merged.
//!
//! Evaluation covers variables, locals (lazily, in any order), module outputs, string templates
//! with `%{if}`/`%{for}` directives and heredocs, operators, conditionals, `for` expressions,
//! splats, `count`/`for_each` (resources, data sources, modules) and `dynamic` blocks, and most
//! built-in functions (see `functions.rs`; `file` and `templatefile` read files inside the
//! scanned tree). What cannot be known before apply becomes `{"$unknown": "<expression>"}`, and
//! an operation on an unknown is unknown: an unknown never turns into a value that could make a
//! rule fire. A reference to another object stays a reference, `{"$ref":
//! "module.net.aws_s3_bucket.logs.arn"}`, addressed as in a plan, so rules can join objects.
//!
//! Modules with a local source (`./…`, `../…`) are followed, as are registry and git modules
//! that `terraform init` recorded in `.terraform/modules/modules.json`; their resources get the
//! `module.<name>.` prefix. Every module call is also a `terraform/module` resource whose
//! attributes are its evaluated arguments, so calls to well-known registry modules can be
//! judged without their source.
//!
//! Spans: a resource at its block's first line, every attribute at its name, every nested
//! block at its first line, list and object elements written in the resource at their lines.
//! A value that comes from a variable or local points where the resource uses it.

mod eval;
mod functions;
mod parser;
mod syntax;
mod value;

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde_json::{Map, Value as Json};

use crate::resource::{Diagnostic, Limits, Normalized, Resource, SpanTable};
use crate::yaml::{self, ParseErrorKind};

use self::syntax::{Attr, Block, Body, Expr, LineIndex, Lower, LowerJson};
use self::value::{Val, instance_key};

/// The deepest chain of module calls followed.
const MAX_MODULE_DEPTH: usize = 16;

/// Arguments of a resource block that are not attributes of the object.
const RESOURCE_META: [&str; 4] = ["count", "for_each", "depends_on", "provider"];
/// Nested blocks of a resource block that are not part of the object.
const RESOURCE_META_BLOCKS: [&str; 3] = ["lifecycle", "provisioner", "connection"];
/// Arguments of a module call that are not inputs.
const MODULE_META: [&str; 4] = ["count", "for_each", "depends_on", "providers"];

/// True for *.tf, *.tf.json, *.tfvars, *.tfvars.json.
pub fn is_candidate(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| {
            [".tf", ".tf.json", ".tfvars", ".tfvars.json"]
                .iter()
                .any(|suffix| name.len() > suffix.len() && name.ends_with(suffix))
        })
}

/// What normalizing a root module gave.
#[derive(Debug, Clone, Default)]
pub struct ModuleOutput {
    pub normalized: Normalized,
    /// Canonicalized directories of the local modules this root followed (the host does not
    /// scan those again as roots).
    pub local_modules: Vec<PathBuf>,
    /// The root module's own directory, canonicalized (as `local_modules` are).
    pub root: PathBuf,
}

/// Normalizes the Terraform root module in `dir` (reads its *.tf, *.tf.json,
/// terraform.tfvars(.json), *.auto.tfvars(.json) from disk, follows modules). `display_dir`
/// is how `dir` is shown (relative to the scan root, e.g. "examples/terraform"); each resource's
/// `file` and each diagnostic's `file` is display_dir joined with the file's path relative to dir
/// (module files: e.g. "examples/terraform/modules/net/main.tf"; use '/' separators and
/// normalize "./" and "../" segments lexically).
pub fn normalize_directory(dir: &Path, display_dir: &str, limits: &Limits) -> ModuleOutput {
    let display_dir = clean_display(display_dir);
    let root_dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let scan_root = scan_root(&root_dir, &display_dir);
    let mut tree = Tree::new(limits, Some(scan_root), display_dir.clone());
    tree.registry = read_module_manifest(&root_dir, &mut tree.diagnostics, &display_dir);
    let def = tree.load_dir(&root_dir, &display_dir);
    let root = tree.add_root(def.clone());
    tree.apply_tfvars(root, &root_dir, &display_dir);
    tree.emit_instance(root);
    let mut local_modules: Vec<PathBuf> = tree
        .followed
        .iter()
        .filter(|path| **path != root_dir)
        .cloned()
        .collect();
    local_modules.sort();
    local_modules.dedup();
    ModuleOutput {
        normalized: Normalized {
            recognized: true,
            resources: tree.resources,
            diagnostics: tree.diagnostics,
        },
        local_modules,
        root: root_dir,
    }
}

/// One .tf or .tf.json text as a whole module (no disk access; module calls then are only
/// `terraform/module` resources, variables use their defaults).
pub fn normalize_file(display: &str, text: &str, json: bool, limits: &Limits) -> Normalized {
    let display = display.replace('\\', "/");
    let module_display = match display.rfind('/') {
        Some(cut) => display[..cut].to_owned(),
        None => String::new(),
    };
    let mut tree = Tree::new(limits, None, module_display.clone());
    let mut def = ModuleDef::new(PathBuf::new(), module_display);
    tree.add_file(&mut def, display, text.to_owned(), json);
    let root = tree.add_root(Rc::new(def));
    tree.emit_instance(root);
    Normalized {
        recognized: true,
        resources: tree.resources,
        diagnostics: tree.diagnostics,
    }
}

/// A display path with '/' separators and `.`/`..` segments resolved lexically; "" for the
/// scan root itself. A leading `/` or `./` stays, so paths read as the user gave them (and as
/// every other file of the scan is shown).
fn clean_display(path: &str) -> String {
    let prefix = if path.starts_with(['/', '\\']) {
        "/"
    } else if path == "." || path.starts_with("./") || path.starts_with(".\\") {
        "./"
    } else {
        ""
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                if matches!(parts.last(), Some(last) if *last != "..") {
                    parts.pop();
                } else if prefix != "/" {
                    parts.push("..");
                }
            }
            part => parts.push(part),
        }
    }
    let body = parts.join("/");
    if body.is_empty() && prefix == "./" {
        // The scan root given as `.`: its files show as `./main.tf`.
        return ".".to_owned();
    }
    format!("{prefix}{body}")
}

fn join_display(dir: &str, rest: &str) -> String {
    if dir.is_empty() || dir == "." {
        let clean = clean_display(rest);
        if dir == "." {
            return match clean.strip_prefix("./") {
                Some(_) => clean,
                None if clean.starts_with('/') || clean.starts_with("..") => clean,
                None => format!("./{clean}"),
            };
        }
        match clean.strip_prefix("./") {
            Some(relative) => relative.to_owned(),
            None => clean,
        }
    } else {
        clean_display(&format!("{dir}/{rest}"))
    }
}

/// The directory the scan started at: `dir` without as many trailing components as
/// `display_dir` has.
fn scan_root(dir: &Path, display_dir: &str) -> PathBuf {
    let mut root = dir.to_path_buf();
    for part in display_dir
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
    {
        if part == ".." || !root.pop() {
            return dir.to_path_buf();
        }
    }
    root
}

/// `.terraform/modules/modules.json`: module key ("net", "net.sub") → directory.
fn read_module_manifest(
    root: &Path,
    diagnostics: &mut Vec<Diagnostic>,
    display_dir: &str,
) -> HashMap<String, PathBuf> {
    let path = root.join(".terraform").join("modules").join("modules.json");
    let mut registry = HashMap::new();
    let Ok(text) = std::fs::read_to_string(&path) else {
        return registry;
    };
    let json: Json = match serde_json::from_str(&text) {
        Ok(json) => json,
        Err(error) => {
            diagnostics.push(Diagnostic {
                file: join_display(display_dir, ".terraform/modules/modules.json"),
                line: Some(u32::try_from(error.line()).unwrap_or(1).max(1)),
                message: format!("invalid JSON in Terraform's module manifest: {error}"),
            });
            return registry;
        }
    };
    for module in json
        .get("Modules")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(key), Some(dir)) = (
            module.get("Key").and_then(Json::as_str),
            module.get("Dir").and_then(Json::as_str),
        ) && !key.is_empty()
        {
            registry.insert(key.to_owned(), PathBuf::from(dir));
        }
    }
    registry
}

/// One source file of a module.
pub(crate) struct SourceFile {
    pub display: String,
    /// The file's text (for JSON syntax, the text of its template strings), which unknown
    /// values quote.
    pub source: String,
}

/// A module directory, parsed: its blocks sorted by what they declare.
pub(crate) struct ModuleDef {
    pub dir: PathBuf,
    pub display: String,
    pub files: Vec<SourceFile>,
    pub variables: HashMap<String, (usize, Block)>,
    pub locals: HashMap<String, (usize, Attr)>,
    pub outputs: HashMap<String, (usize, Block)>,
    /// `resource` and `data` blocks in file order.
    pub resources: Vec<(usize, Block)>,
    /// `aws_s3_bucket.logs` / `data.aws_iam_policy_document.x` → index in `resources`.
    pub resource_index: HashMap<String, usize>,
    pub modules: Vec<(usize, Block)>,
    pub module_index: HashMap<String, usize>,
    pub providers: Vec<(usize, Block)>,
}

impl ModuleDef {
    fn new(dir: PathBuf, display: String) -> Self {
        ModuleDef {
            dir,
            display,
            files: Vec::new(),
            variables: HashMap::new(),
            locals: HashMap::new(),
            outputs: HashMap::new(),
            resources: Vec::new(),
            resource_index: HashMap::new(),
            modules: Vec::new(),
            module_index: HashMap::new(),
            providers: Vec::new(),
        }
    }

    pub fn text(&self, file: usize, expr: &Expr) -> &str {
        self.files
            .get(file)
            .and_then(|f| {
                f.source
                    .get(expr.text.start as usize..expr.text.end as usize)
            })
            .unwrap_or("")
    }
}

/// How a `count` or `for_each` expands a block.
#[derive(Debug, Clone)]
pub(crate) enum Expansion {
    /// Neither argument: one instance without a key.
    Single,
    /// Instance keys and, for `for_each`, values.
    Keys(Vec<(Val, Option<Val>)>),
    /// Not known statically: one instance without a key, whose `count.index`/`each.*` are
    /// unknown; `bool` says it was `for_each`.
    Unknown(bool),
}

/// A module instance: a module's blocks with one set of inputs.
pub(crate) struct Instance {
    pub def: Rc<ModuleDef>,
    /// `module.net.` (nested: `module.a.module.b["x"].`); empty for the root.
    pub prefix: String,
    /// The call that made it: parent instance, call index, call key bindings.
    pub parent: Option<(usize, usize, Bindings)>,
    /// `net.sub`: the call names from the root, as `modules.json` keys modules.
    pub key_path: String,
    /// Canonical directories of this module and every caller, for recursion detection.
    pub chain: Vec<PathBuf>,
    /// Root variable values from tfvars files.
    pub tfvars: HashMap<String, Val>,
    pub cache: [HashMap<String, Slot>; 3],
    pub calls: HashMap<usize, Rc<CallState>>,
    pub resource_expansions: HashMap<usize, Rc<Expansion>>,
}

/// A module call's expansion and its child instances (`None` where not followed).
pub(crate) type CallState = (Expansion, Vec<Option<usize>>);

/// A lazily evaluated named value.
#[derive(Debug, Clone)]
pub(crate) enum Slot {
    InProgress,
    Done(Result<Val, eval::Fail>, usize),
}

/// Values bound while evaluating one block instance or expression.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bindings {
    pub count_index: Option<Val>,
    pub each: Option<(Val, Val)>,
}

/// The evaluation of one root module and the modules it calls.
pub(crate) struct Tree<'l> {
    pub limits: &'l Limits,
    /// Where files may be read from (`file()`, modules); none for a single in-memory file.
    pub scan_root: Option<PathBuf>,
    pub root_display: String,
    pub registry: HashMap<String, PathBuf>,
    pub defs: HashMap<PathBuf, Rc<ModuleDef>>,
    pub instances: Vec<Instance>,
    pub stack: Vec<(usize, u8, String, bool)>,
    pub budget: usize,
    pub exhausted: bool,
    pub depth: usize,
    pub deep_reported: bool,
    pub diagnostics: Vec<Diagnostic>,
    pub resources: Vec<Resource>,
    pub seen: HashSet<String>,
    pub followed: Vec<PathBuf>,
    /// The names of the files in the root directory, for its variable files.
    pub root_files: Vec<String>,
    /// The names in `root_files` that are symbolic links.
    pub root_links: HashSet<String>,
}

impl<'l> Tree<'l> {
    fn new(limits: &'l Limits, scan_root: Option<PathBuf>, root_display: String) -> Self {
        Tree {
            limits,
            scan_root,
            root_display,
            registry: HashMap::new(),
            defs: HashMap::new(),
            instances: Vec::new(),
            stack: Vec::new(),
            budget: limits.max_nodes,
            exhausted: false,
            depth: 0,
            deep_reported: false,
            diagnostics: Vec::new(),
            resources: Vec::new(),
            seen: HashSet::new(),
            followed: Vec::new(),
            root_files: Vec::new(),
            root_links: HashSet::new(),
        }
    }

    pub fn report(&mut self, file: &str, line: Option<u32>, message: String) {
        self.diagnostics.push(Diagnostic {
            file: file.to_owned(),
            line,
            message,
        });
    }

    fn add_root(&mut self, def: Rc<ModuleDef>) -> usize {
        self.instances.push(Instance {
            chain: vec![def.dir.clone()],
            def,
            prefix: String::new(),
            parent: None,
            key_path: String::new(),
            tfvars: HashMap::new(),
            cache: Default::default(),
            calls: HashMap::new(),
            resource_expansions: HashMap::new(),
        });
        self.instances.len() - 1
    }

    /// Reads and parses a module directory (once per directory).
    fn load_dir(&mut self, dir: &Path, display: &str) -> Rc<ModuleDef> {
        if let Some(def) = self.defs.get(dir) {
            return def.clone();
        }
        let mut def = ModuleDef::new(dir.to_path_buf(), display.to_owned());
        // The listing's file types say which names are links, so a regular file needs no
        // further `lstat` before it is read.
        let mut links = HashSet::new();
        let files: Vec<String> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .filter_map(|entry| {
                    let kind = entry.file_type().ok()?;
                    if !kind.is_file() && !kind.is_symlink() {
                        return None;
                    }
                    let name = entry.file_name().into_string().ok()?;
                    if kind.is_symlink() {
                        links.insert(name.clone());
                    }
                    Some(name)
                })
                .collect(),
            Err(error) => {
                self.report(
                    display,
                    None,
                    format!("cannot read module directory: {error}"),
                );
                Vec::new()
            }
        };
        let mut names: Vec<(String, bool)> = files
            .iter()
            .cloned()
            .filter_map(|name| {
                if name.ends_with(".tf.json") {
                    Some((name, true))
                } else if name.ends_with(".tf") {
                    Some((name, false))
                } else {
                    None
                }
            })
            .filter(|(name, _)| !is_override(name))
            .collect();
        names.sort();
        for (name, json) in names {
            let file_display = join_display(display, &name);
            let regular = !links.contains(&name);
            if let Some(text) = self.read_text(&dir.join(&name), &file_display, regular) {
                self.add_file(&mut def, file_display, text, json);
            }
        }
        if self.defs.is_empty() {
            // The root's listing also names its variable files.
            self.root_files = files;
            self.root_links = links;
        }
        let def = Rc::new(def);
        self.defs.insert(dir.to_path_buf(), def.clone());
        def
    }

    /// Reads a file within the size limit, reporting failures. `regular` says a directory
    /// listing already showed the file is not a link.
    pub fn read_text(&mut self, path: &Path, display: &str, regular: bool) -> Option<String> {
        // A link may lead out of the scanned tree, which a scan must not read.
        if let Some(scan_root) = &self.scan_root
            && !regular
            && std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink())
            && !path
                .canonicalize()
                .is_ok_and(|target| target.starts_with(scan_root))
        {
            self.report(
                display,
                None,
                "links outside the scanned tree; not read".to_owned(),
            );
            return None;
        }
        // One open: the size check and the read use the same file handle.
        let mut file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(error) => {
                self.report(display, None, format!("cannot read file: {error}"));
                return None;
            }
        };
        let size = match file.metadata() {
            Ok(meta) => meta.len(),
            Err(error) => {
                self.report(display, None, format!("cannot read file: {error}"));
                return None;
            }
        };
        if size > self.limits.max_file_bytes {
            let max = self.limits.max_file_bytes;
            self.report(
                display,
                None,
                format!("file is larger than {max} bytes; not read"),
            );
            return None;
        }
        let mut text = String::with_capacity(usize::try_from(size).unwrap_or(0));
        // Bounded even if the file grows while it is read.
        match std::io::Read::read_to_string(
            &mut std::io::Read::take(&mut file, self.limits.max_file_bytes.saturating_add(1)),
            &mut text,
        ) {
            Ok(_) => Some(text),
            Err(error) => {
                self.report(display, None, format!("cannot read file: {error}"));
                None
            }
        }
    }

    /// Parses one file into `def`.
    fn add_file(&mut self, def: &mut ModuleDef, display: String, mut text: String, json: bool) {
        if u64::try_from(text.len()).unwrap_or(u64::MAX) > self.limits.max_file_bytes {
            let max = self.limits.max_file_bytes;
            self.report(
                &display,
                None,
                format!("file is larger than {max} bytes; not read"),
            );
            return;
        }
        if text.starts_with('\u{feff}') {
            text.drain(..'\u{feff}'.len_utf8());
        }
        let Some((body, json_source)) = self.parse(&display, &text, json) else {
            return;
        };
        let file = def.files.len();
        def.files.push(SourceFile {
            display: display.clone(),
            source: json_source.unwrap_or(text),
        });
        for block in body.blocks {
            self.declare(def, file, &display, block);
        }
    }

    /// Parses a file; for JSON syntax also the text of its templates, which unknown values
    /// quote (for native syntax, the file's own text).
    fn parse(&mut self, display: &str, text: &str, json: bool) -> Option<(Body, Option<String>)> {
        if json {
            let (documents, error) = yaml::parse_json(text, self.limits);
            if let Some(error) = error {
                let what = match error.kind {
                    ParseErrorKind::Syntax => "invalid JSON in Terraform file",
                    ParseErrorKind::Limit => "stopped reading Terraform file",
                };
                self.report(
                    display,
                    Some(error.line),
                    format!("{what}: {}", error.message),
                );
                return None;
            }
            let document = documents.first()?;
            let mut source = String::new();
            let mut lower = LowerJson {
                source: &mut source,
                errors: Vec::new(),
            };
            let body = lower.file(document);
            for (line, message) in std::mem::take(&mut lower.errors) {
                self.report(display, Some(line), message);
            }
            Some((body, Some(source)))
        } else {
            let lines = LineIndex::new(text);
            if let Some(body) = parser::parse(text, &lines) {
                return Some((body, None));
            }
            match hcl_edit::parser::parse_body(text) {
                Ok(body) => {
                    let body = Lower::new(text, &lines).body(&body);
                    Some((body, None))
                }
                Err(error) => {
                    let line = u32::try_from(error.location().line()).unwrap_or(1).max(1);
                    self.report(
                        display,
                        Some(line),
                        format!(
                            "invalid HCL at line {line}, column {}: {}",
                            error.location().column(),
                            error.message()
                        ),
                    );
                    None
                }
            }
        }
    }

    /// Files a top-level block under what it declares, reporting duplicates.
    fn declare(&mut self, def: &mut ModuleDef, file: usize, display: &str, block: Block) {
        let label = |i: usize| block.labels.get(i).cloned().unwrap_or_default();
        let line = block.at.line;
        let duplicate = |what: String| format!("{what} is declared twice; the first is kept");
        match block.kind.as_str() {
            "resource" | "data" if block.labels.len() == 2 => {
                let address = match block.kind.as_str() {
                    "data" => format!("data.{}.{}", label(0), label(1)),
                    _ => format!("{}.{}", label(0), label(1)),
                };
                def.resource_index
                    .entry(address)
                    .or_insert(def.resources.len());
                def.resources.push((file, block));
            }
            "module" if block.labels.len() == 1 => {
                let name = label(0);
                if def.module_index.contains_key(&name) {
                    self.report(display, Some(line), duplicate(format!("module.{name}")));
                } else {
                    def.module_index.insert(name, def.modules.len());
                    def.modules.push((file, block));
                }
            }
            "provider" if block.labels.len() == 1 => def.providers.push((file, block)),
            "variable" | "output" if block.labels.len() == 1 => {
                let (named, prefix) = if block.kind == "variable" {
                    (&mut def.variables, "var")
                } else {
                    (&mut def.outputs, "output")
                };
                match named.entry(label(0)) {
                    Entry::Occupied(entry) => {
                        let name = entry.key().clone();
                        self.report(display, Some(line), duplicate(format!("{prefix}.{name}")));
                    }
                    Entry::Vacant(entry) => {
                        entry.insert((file, block));
                    }
                }
            }
            "locals" => {
                for attr in block.body.attrs {
                    if def.locals.contains_key(&attr.name) {
                        let name = attr.name.clone();
                        self.report(
                            display,
                            Some(attr.at.line),
                            duplicate(format!("local.{name}")),
                        );
                    } else {
                        def.locals.insert(attr.name.clone(), (file, attr));
                    }
                }
            }
            "resource" | "data" | "module" | "provider" | "variable" | "output" => {
                let kind = &block.kind;
                self.report(
                    display,
                    Some(line),
                    format!("`{kind}` block with the wrong number of labels; skipped"),
                );
            }
            _ => {}
        }
    }

    /// Sets the root variables from the tfvars files of `dir`.
    fn apply_tfvars(&mut self, root: usize, dir: &Path, display: &str) {
        let listing = std::mem::take(&mut self.root_files);
        let mut names: Vec<&String> = listing
            .iter()
            .filter(|name| name.ends_with(".auto.tfvars") || name.ends_with(".auto.tfvars.json"))
            .collect();
        names.sort();
        let mut files: Vec<&str> = ["terraform.tfvars", "terraform.tfvars.json"]
            .into_iter()
            .filter(|name| listing.iter().any(|file| file == name))
            .collect();
        files.extend(names.into_iter().map(String::as_str));
        let mut values = HashMap::new();
        for name in files {
            let path = dir.join(name);
            let file_display = join_display(display, name);
            let regular = !self.root_links.contains(name);
            let Some(text) = self.read_text(&path, &file_display, regular) else {
                continue;
            };
            self.read_tfvars(&file_display, &text, name.ends_with(".json"), &mut values);
        }
        if let Some(instance) = self.instances.get_mut(root) {
            instance.tfvars = values;
        }
    }

    fn read_tfvars(
        &mut self,
        display: &str,
        text: &str,
        json: bool,
        out: &mut HashMap<String, Val>,
    ) {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if json {
            match serde_json::from_str::<Json>(text) {
                Ok(Json::Object(map)) => {
                    for (name, value) in map {
                        out.insert(name, Val::from_json(&value));
                    }
                }
                Ok(_) => self.report(
                    display,
                    Some(1),
                    "a .tfvars.json file should hold an object".to_owned(),
                ),
                Err(error) => self.report(
                    display,
                    Some(u32::try_from(error.line()).unwrap_or(1).max(1)),
                    format!("invalid JSON in variable values: {error}"),
                ),
            }
            return;
        }
        let Some((body, _)) = self.parse(display, text, false) else {
            return;
        };
        let mut def = ModuleDef::new(PathBuf::new(), String::new());
        def.files.push(SourceFile {
            display: display.to_owned(),
            source: text.to_owned(),
        });
        let def = Rc::new(def);
        for attr in &body.attrs {
            let mut scope = eval::Scope::constant(&def);
            let value = self.eval_top(&mut scope, &attr.expr);
            out.insert(attr.name.clone(), value);
        }
    }

    /// Emits the resources of an instance and of the modules it calls.
    fn emit_instance(&mut self, inst: usize) {
        let Some(def) = self.instances.get(inst).map(|i| i.def.clone()) else {
            return;
        };
        for (index, (file, block)) in def.resources.iter().enumerate() {
            self.emit_resource(inst, index, &def, *file, block);
        }
        for (file, block) in &def.providers {
            self.emit_provider(inst, &def, *file, block);
        }
        for (index, (file, block)) in def.modules.iter().enumerate() {
            let state = self.module_call(inst, index);
            let (expansion, children) = (&state.0, &state.1);
            let name = block.labels.first().cloned().unwrap_or_default();
            let prefix = self
                .instances
                .get(inst)
                .map(|i| i.prefix.clone())
                .unwrap_or_default();
            let base = format!("{prefix}module.{name}");
            for (key, bindings) in instances_of(expansion) {
                if key.is_some() && self.charge(1).is_err() {
                    break;
                }
                let id = match &key {
                    Some(key) => format!("{base}{}", instance_key(key)),
                    None => base.clone(),
                };
                let mut scope = eval::Scope::new(inst, &def, *file, bindings);
                self.emit_object(
                    &mut scope,
                    id,
                    "terraform/module".to_owned(),
                    block,
                    &MODULE_META,
                    &[],
                );
            }
            for child in children.iter().flatten() {
                self.emit_instance(*child);
            }
        }
    }

    fn emit_resource(
        &mut self,
        inst: usize,
        index: usize,
        def: &ModuleDef,
        file: usize,
        block: &Block,
    ) {
        let (Some(rtype), Some(name)) = (block.labels.first(), block.labels.get(1)) else {
            return;
        };
        let data = block.kind == "data";
        let prefix = self
            .instances
            .get(inst)
            .map(|i| i.prefix.clone())
            .unwrap_or_default();
        let base = if data {
            format!("{prefix}data.{rtype}.{name}")
        } else {
            format!("{prefix}{rtype}.{name}")
        };
        let kind = if data {
            format!("terraform/data.{rtype}")
        } else {
            format!("terraform/{rtype}")
        };
        let expansion = self.resource_expansion(inst, index);
        for (key, bindings) in instances_of(&expansion) {
            if key.is_some() && self.charge(1).is_err() {
                break;
            }
            let id = match &key {
                Some(key) => format!("{base}{}", instance_key(key)),
                None => base.clone(),
            };
            let mut scope = eval::Scope::new(inst, def, file, bindings);
            self.emit_object(
                &mut scope,
                id,
                kind.clone(),
                block,
                &RESOURCE_META,
                &RESOURCE_META_BLOCKS,
            );
        }
    }

    fn emit_provider(&mut self, inst: usize, def: &ModuleDef, file: usize, block: &Block) {
        let Some(name) = block.labels.first() else {
            return;
        };
        let mut scope = eval::Scope::new(inst, def, file, Bindings::default());
        let alias = block
            .body
            .attr("alias")
            .map(|attr| self.eval_top(&mut scope, &attr.expr));
        let prefix = self
            .instances
            .get(inst)
            .map(|i| i.prefix.clone())
            .unwrap_or_default();
        let id = match alias.as_ref().and_then(Val::to_text) {
            Some(alias) => format!("{prefix}provider.{name}.{alias}"),
            None => format!("{prefix}provider.{name}"),
        };
        self.emit_object(
            &mut scope,
            id,
            format!("terraform/provider.{name}"),
            block,
            &[],
            &[],
        );
    }

    /// Evaluates a block's body into a resource.
    fn emit_object(
        &mut self,
        scope: &mut eval::Scope<'_>,
        id: String,
        kind: String,
        block: &Block,
        meta: &[&str],
        meta_blocks: &[&str],
    ) {
        let display = scope.display().to_owned();
        if self.seen.contains(&id) {
            self.report(
                &display,
                Some(block.at.line),
                format!("{id} is declared twice; the first is kept"),
            );
            return;
        }
        let mut spans = SpanTable::default();
        spans.insert(String::new(), block.at);
        let mut pointer = String::new();
        let attributes = self.body_value(
            scope,
            &block.body,
            meta,
            meta_blocks,
            &mut pointer,
            &mut spans,
        );
        self.seen.insert(id.clone());
        self.resources.push(Resource {
            id,
            kind,
            file: display,
            line: block.at.line,
            end_line: block.end_line.max(block.at.line),
            attributes: Json::Object(attributes),
            spans,
            details: Default::default(),
        });
    }

    /// A body's attributes and nested blocks as an object, nested block types as arrays.
    fn body_value(
        &mut self,
        scope: &mut eval::Scope<'_>,
        body: &Body,
        meta: &[&str],
        meta_blocks: &[&str],
        pointer: &mut String,
        spans: &mut SpanTable,
    ) -> Map<String, Json> {
        let mut out = Map::new();
        let parent = pointer.len();
        for attr in &body.attrs {
            if meta.contains(&attr.name.as_str()) {
                continue;
            }
            let value = self.eval_top(scope, &attr.expr);
            pointer.push('/');
            yaml::push_pointer_token(pointer, &attr.name);
            spans.insert(pointer.clone(), attr.at);
            record_spans(&value, &attr.expr, pointer, spans);
            pointer.truncate(parent);
            // Past the budget, values are already unknown; the resource is still judged.
            let _ = self.charge(value.weight());
            out.insert(attr.name.clone(), into_json(value));
        }
        for block in &body.blocks {
            if meta_blocks.contains(&block.kind.as_str()) {
                continue;
            }
            if block.kind == "dynamic" {
                self.dynamic(scope, block, &mut out, pointer, spans);
                continue;
            }
            let index = block_count(&out, &block.kind);
            pointer.push('/');
            yaml::push_pointer_token(pointer, &block.kind);
            pointer.push('/');
            pointer.push_str(&index.to_string());
            spans.insert(pointer.clone(), block.at);
            let value = self.body_value(scope, &block.body, &[], &[], pointer, spans);
            pointer.truncate(parent);
            push_block(&mut out, &block.kind, Json::Object(value));
        }
        out
    }

    /// Expands `dynamic "label" { for_each … content { … } }` into `label` blocks.
    fn dynamic(
        &mut self,
        scope: &mut eval::Scope<'_>,
        block: &Block,
        out: &mut Map<String, Json>,
        pointer: &mut String,
        spans: &mut SpanTable,
    ) {
        let Some(label) = block.labels.first() else {
            return;
        };
        let parent = pointer.len();
        let iterator = block
            .body
            .attr("iterator")
            .and_then(|attr| match &attr.expr.kind {
                syntax::Kind::Variable(name) | syntax::Kind::String(name) => Some(name.clone()),
                _ => None,
            })
            .unwrap_or_else(|| label.clone());
        let content = block.body.blocks.iter().find(|b| b.kind == "content");
        let collection = match block.body.attr("for_each") {
            Some(attr) => self.eval_top(scope, &attr.expr),
            None => Val::List(Vec::new()),
        };
        let items: Vec<(Val, Val)> = match collection {
            Val::List(items) if items.iter().all(|i| !i.is_pending()) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Val::Number(i as f64), v))
                .collect(),
            Val::Map(map) => map.into_iter().map(|(k, v)| (Val::String(k), v)).collect(),
            Val::Null => Vec::new(),
            _ => {
                let text = block
                    .body
                    .attr("for_each")
                    .map(|attr| scope.def.text(scope.file, &attr.expr).to_owned())
                    .unwrap_or_default();
                let index = block_count(out, label);
                pointer.push('/');
                yaml::push_pointer_token(pointer, label);
                pointer.push_str(&format!("/{index}"));
                spans.insert(pointer.clone(), block.at);
                pointer.truncate(parent);
                push_block(
                    out,
                    label,
                    Val::unknown(&format!("dynamic \"{label}\" over {text}")).to_json(),
                );
                return;
            }
        };
        for (key, value) in items {
            if self.charge(1).is_err() {
                return;
            }
            let index = block_count(out, label);
            pointer.push('/');
            yaml::push_pointer_token(pointer, label);
            pointer.push_str(&format!("/{index}"));
            spans.insert(pointer.clone(), block.at);
            let mut binding = BTreeMap::new();
            binding.insert("key".to_owned(), key);
            binding.insert("value".to_owned(), value);
            scope.vars.push((iterator.clone(), Val::Map(binding)));
            let element = match content {
                Some(content) => self.body_value(scope, &content.body, &[], &[], pointer, spans),
                None => Map::new(),
            };
            scope.vars.pop();
            pointer.truncate(parent);
            push_block(out, label, Json::Object(element));
        }
    }

    /// How `count`/`for_each` of a body expand, reporting invalid values.
    fn expansion(&mut self, scope: &mut eval::Scope<'_>, body: &Body, address: &str) -> Expansion {
        if let Some(attr) = body.attr("count") {
            let value = match self.eval_top(scope, &attr.expr) {
                // Terraform converts a numeric string (often from a tfvars file).
                Val::String(text) => match text.trim().parse::<f64>() {
                    Ok(n) => Val::Number(n),
                    Err(_) => Val::String(text),
                },
                value => value,
            };
            return match value {
                Val::Number(n) if n >= 0.0 && n.fract() == 0.0 => {
                    if n > self.budget as f64 {
                        let line = attr.at.line;
                        let display = scope.display().to_owned();
                        self.report(
                            &display,
                            Some(line),
                            format!(
                                "{address}: count of {} exceeds the limit of {} values; \
                                 evaluated as one instance with an unknown count.index",
                                value::number_text(n),
                                self.limits.max_nodes
                            ),
                        );
                        return Expansion::Unknown(false);
                    }
                    Expansion::Keys(
                        (0..n as usize)
                            .map(|i| (Val::Number(i as f64), None))
                            .collect(),
                    )
                }
                v if v.is_pending() => Expansion::Unknown(false),
                other => {
                    let display = scope.display().to_owned();
                    self.report(
                        &display,
                        Some(attr.at.line),
                        format!(
                            "{address}: count should be a whole number, found {}",
                            other.type_name()
                        ),
                    );
                    Expansion::Unknown(false)
                }
            };
        }
        if let Some(attr) = body.attr("for_each") {
            let value = self.eval_top(scope, &attr.expr);
            return match value {
                Val::Map(map) => Expansion::Keys(
                    map.into_iter()
                        .map(|(k, v)| (Val::String(k), Some(v)))
                        .collect(),
                ),
                Val::List(items) if items.iter().all(|i| matches!(i, Val::String(_))) => {
                    let mut keys: Vec<String> =
                        items.into_iter().filter_map(|i| i.to_text()).collect();
                    keys.sort();
                    keys.dedup();
                    Expansion::Keys(
                        keys.into_iter()
                            .map(|k| (Val::String(k.clone()), Some(Val::String(k))))
                            .collect(),
                    )
                }
                v if !v.is_wholly_known() => Expansion::Unknown(true),
                other => {
                    let display = scope.display().to_owned();
                    self.report(
                        &display,
                        Some(attr.at.line),
                        format!(
                            "{address}: for_each should be a map or a set of strings, found {}",
                            other.type_name()
                        ),
                    );
                    Expansion::Unknown(true)
                }
            };
        }
        Expansion::Single
    }

    /// How `count`/`for_each` expand resource block `index` of `inst` (evaluated once).
    pub fn resource_expansion(&mut self, inst: usize, index: usize) -> Rc<Expansion> {
        if let Some(expansion) = self
            .instances
            .get(inst)
            .and_then(|i| i.resource_expansions.get(&index))
        {
            return expansion.clone();
        }
        let unknown = Rc::new(Expansion::Unknown(false));
        let Some(def) = self.instances.get(inst).map(|i| i.def.clone()) else {
            return unknown;
        };
        let Some((file, block)) = def.resources.get(index) else {
            return unknown;
        };
        // Marked first: a count that refers to its own resource must not loop.
        if let Some(instance) = self.instances.get_mut(inst) {
            instance.resource_expansions.insert(index, unknown);
        }
        let prefix = self
            .instances
            .get(inst)
            .map(|i| i.prefix.clone())
            .unwrap_or_default();
        let (rtype, name) = (
            block.labels.first().map_or("", String::as_str),
            block.labels.get(1).map_or("", String::as_str),
        );
        let data = if block.kind == "data" { "data." } else { "" };
        let address = format!("{prefix}{data}{rtype}.{name}");
        let mut scope = eval::Scope::new(inst, &def, *file, Bindings::default());
        let expansion = Rc::new(self.expansion(&mut scope, &block.body, &address));
        if let Some(instance) = self.instances.get_mut(inst) {
            instance
                .resource_expansions
                .insert(index, expansion.clone());
        }
        expansion
    }

    /// The expansion of module call `call` of `inst` and its child instances (created once;
    /// `None` where the module is not followed).
    pub fn module_call(&mut self, inst: usize, call: usize) -> Rc<CallState> {
        if let Some(state) = self.instances.get(inst).and_then(|i| i.calls.get(&call)) {
            return state.clone();
        }
        let unknown = Rc::new((Expansion::Unknown(false), Vec::new()));
        let Some(def) = self.instances.get(inst).map(|i| i.def.clone()) else {
            return unknown;
        };
        let Some((file, block)) = def.modules.get(call) else {
            return unknown;
        };
        // Mark the call first: a module whose count refers to its own outputs must not loop.
        if let Some(instance) = self.instances.get_mut(inst) {
            instance
                .calls
                .insert(call, Rc::new((Expansion::Unknown(false), Vec::new())));
        }
        let name = block.labels.first().cloned().unwrap_or_default();
        let prefix = self
            .instances
            .get(inst)
            .map(|i| i.prefix.clone())
            .unwrap_or_default();
        let base = format!("{prefix}module.{name}");
        let mut scope = eval::Scope::new(inst, &def, *file, Bindings::default());
        let expansion = self.expansion(&mut scope, &block.body, &base);
        let target = self.module_target(inst, &def, *file, block, &name);
        let mut children = Vec::new();
        for (key, bindings) in instances_of(&expansion) {
            if key.is_some() && self.charge(1).is_err() {
                break;
            }
            let child = target.as_ref().map(|(dir, display)| {
                let def = self.load_dir(dir, display);
                let (key_path, chain) = match self.instances.get(inst) {
                    Some(parent) => {
                        let mut chain = parent.chain.clone();
                        chain.push(dir.clone());
                        let key_path = if parent.key_path.is_empty() {
                            name.clone()
                        } else {
                            format!("{}.{name}", parent.key_path)
                        };
                        (key_path, chain)
                    }
                    None => (name.clone(), vec![dir.clone()]),
                };
                let key_text = key.as_ref().map(instance_key).unwrap_or_default();
                self.instances.push(Instance {
                    def,
                    prefix: format!("{base}{key_text}."),
                    parent: Some((inst, call, bindings)),
                    key_path,
                    chain,
                    tfvars: HashMap::new(),
                    cache: Default::default(),
                    calls: HashMap::new(),
                    resource_expansions: HashMap::new(),
                });
                self.instances.len() - 1
            });
            children.push(child);
        }
        let state = Rc::new((expansion, children));
        if let Some(instance) = self.instances.get_mut(inst) {
            instance.calls.insert(call, state.clone());
        }
        state
    }

    /// Where module call `name` of `inst` leads, if it is followed.
    fn module_target(
        &mut self,
        inst: usize,
        def: &ModuleDef,
        file: usize,
        block: &Block,
        name: &str,
    ) -> Option<(PathBuf, String)> {
        let display = def
            .files
            .get(file)
            .map(|f| f.display.clone())
            .unwrap_or_default();
        let line = Some(block.at.line);
        let scan_root = self.scan_root.clone()?;
        let source = match &block.body.attr("source")?.expr.kind {
            syntax::Kind::String(source) => source.clone(),
            _ => {
                self.report(
                    &display,
                    line,
                    format!("module.{name}: `source` should be a literal string"),
                );
                return None;
            }
        };
        let (instance_key_path, chain) = self
            .instances
            .get(inst)
            .map(|i| (i.key_path.clone(), i.chain.clone()))
            .unwrap_or_default();
        let (path, module_display) = if source.starts_with("./") || source.starts_with("../") {
            (def.dir.join(&source), join_display(&def.display, &source))
        } else {
            let key = if instance_key_path.is_empty() {
                name.to_owned()
            } else {
                format!("{instance_key_path}.{name}")
            };
            let dir = self.registry.get(&key)?.clone();
            let root = chain.first().cloned().unwrap_or_default();
            let shown = dir.to_string_lossy().replace('\\', "/");
            (root.join(&dir), join_display(&self.root_display, &shown))
        };
        let Ok(canonical) = path.canonicalize() else {
            self.report(
                &display,
                line,
                format!("module.{name}: module directory {module_display:?} does not exist; not followed"),
            );
            return None;
        };
        if !canonical.starts_with(&scan_root) || !canonical.is_dir() {
            self.report(
                &display,
                line,
                format!(
                    "module.{name}: {module_display:?} is outside the scanned tree; not followed"
                ),
            );
            return None;
        }
        if chain.contains(&canonical) {
            let names: Vec<String> = chain
                .iter()
                .chain(std::iter::once(&canonical))
                .map(|dir| {
                    self.defs
                        .get(dir)
                        .map(|d| {
                            if d.display.is_empty() {
                                ".".to_owned()
                            } else {
                                d.display.clone()
                            }
                        })
                        .unwrap_or_else(|| module_display.clone())
                })
                .collect();
            self.report(
                &display,
                line,
                format!(
                    "module.{name}: module recursion ({}); not followed",
                    names.join(" → ")
                ),
            );
            return None;
        }
        if chain.len() > MAX_MODULE_DEPTH {
            self.report(
                &display,
                line,
                format!("module.{name}: modules nested deeper than {MAX_MODULE_DEPTH} levels are not followed"),
            );
            return None;
        }
        if !self.followed.contains(&canonical) {
            self.followed.push(canonical.clone());
        }
        Some((canonical, module_display))
    }

    /// Charges `n` values against the node budget.
    pub fn charge(&mut self, n: usize) -> Result<(), eval::Fail> {
        if n <= self.budget && !self.exhausted {
            self.budget -= n;
            return Ok(());
        }
        if !self.exhausted {
            self.exhausted = true;
            let max = self.limits.max_nodes;
            let file = self.root_display.clone();
            self.report(
                &file,
                None,
                format!(
                    "the configuration expands to more than {max} values; the rest is left unknown"
                ),
            );
        }
        Err(eval::Fail::Limit)
    }
}

/// Override files are merged into other files by Terraform; they are not read.
fn is_override(name: &str) -> bool {
    let stem = name
        .strip_suffix(".tf.json")
        .or_else(|| name.strip_suffix(".tf"))
        .unwrap_or(name);
    stem == "override" || stem.ends_with("_override")
}

/// Each instance of an expansion: its key and what it binds.
fn instances_of(expansion: &Expansion) -> Vec<(Option<Val>, Bindings)> {
    match expansion {
        Expansion::Single => vec![(None, Bindings::default())],
        Expansion::Unknown(for_each) => {
            let bindings = if *for_each {
                Bindings {
                    count_index: None,
                    each: Some((Val::unknown("each.key"), Val::unknown("each.value"))),
                }
            } else {
                Bindings {
                    count_index: Some(Val::unknown("count.index")),
                    each: None,
                }
            };
            vec![(None, bindings)]
        }
        Expansion::Keys(keys) => keys
            .iter()
            .map(|(key, value)| {
                let bindings = match value {
                    Some(value) => Bindings {
                        count_index: None,
                        each: Some((key.clone(), value.clone())),
                    },
                    None => Bindings {
                        count_index: Some(key.clone()),
                        each: None,
                    },
                };
                (Some(key.clone()), bindings)
            })
            .collect(),
    }
}

fn push_block(out: &mut Map<String, Json>, kind: &str, value: Json) {
    match out.get_mut(kind) {
        Some(Json::Array(items)) => items.push(value),
        _ => {
            out.insert(kind.to_owned(), Json::Array(vec![value]));
        }
    }
}

/// How many blocks of type `kind` are already in `out`.
fn block_count(out: &Map<String, Json>, kind: &str) -> usize {
    match out.get(kind) {
        Some(Json::Array(items)) => items.len(),
        _ => 0,
    }
}

/// Records the positions of list and object elements written literally in `expr`.
fn record_spans(value: &Val, expr: &Expr, pointer: &mut String, spans: &mut SpanTable) {
    let parent = pointer.len();
    match (value, &expr.kind) {
        (Val::List(items), syntax::Kind::Array(exprs)) if items.len() == exprs.len() => {
            for (index, (item, expr)) in items.iter().zip(exprs).enumerate() {
                pointer.push('/');
                pointer.push_str(&index.to_string());
                spans.insert(pointer.clone(), expr.at);
                record_spans(item, expr, pointer, spans);
                pointer.truncate(parent);
            }
        }
        (Val::Map(map), syntax::Kind::Object(entries)) => {
            for (key, expr) in entries {
                let name = match key {
                    syntax::Key::Name(name, _) => name.as_str(),
                    syntax::Key::Expr(syntax::Expr {
                        kind: syntax::Kind::String(name),
                        ..
                    }) => name.as_str(),
                    syntax::Key::Expr(_) => continue,
                };
                let Some(member) = map.get(name) else {
                    continue;
                };
                pointer.push('/');
                yaml::push_pointer_token(pointer, name);
                spans.insert(pointer.clone(), key.at());
                record_spans(member, expr, pointer, spans);
                pointer.truncate(parent);
            }
        }
        _ => {}
    }
}

/// Converts attributes to JSON, moving strings.
fn into_json(value: Val) -> Json {
    match value {
        Val::String(s) => Json::String(s),
        Val::List(items) => Json::Array(items.into_iter().map(into_json).collect()),
        Val::Map(map) => Json::Object(
            map.into_iter()
                .map(|(k, v)| (k, into_json(v)))
                .collect::<Map<String, Json>>(),
        ),
        other => other.to_json(),
    }
}

#[cfg(test)]
mod tests;
