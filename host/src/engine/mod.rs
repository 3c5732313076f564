//! Runs policy plugins in a wasmtime sandbox. The only module that touches wasmtime.
//!
//! One [`Engine`] per process holds the wasmtime engine, two linkers (the `palisade:policy/host`
//! import alone, and the same with an empty WASI) and an epoch ticker thread. A plugin is linked
//! with WASI only when it imports WASI: a pure plugin gets no WASI at all. [`Engine::load`]
//! compiles a component once (or takes it from the on-disk [`CompileCache`]), pre-instantiates it
//! and asks it to `describe` itself. [`Engine::run`] gives each run a fresh store with its own
//! memory cap, deadline and log, so no state leaks between runs and one failing plugin fails alone.
//! Runs see no files, except a plugin granted a [`DataDir`]: its `evaluate` runs see that one
//! directory, read-only.

mod cache;
mod sandbox;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use wasmtime::component::{Component, HasSelf, Linker, types::ComponentItem};
use wasmtime::{Config, Store, Trap};

pub use cache::{CompileCache, sha256_hex};
pub use sandbox::PluginLog;

use crate::findings::Severity;
use sandbox::Sandbox;

#[allow(clippy::too_many_arguments)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "plugin",
        ownership: Borrowing {
            duplicate_if_necessary: false
        },
    });
}

use bindings::palisade::policy::types as wit;

/// The WIT interface version this host implements.
pub const WIT_VERSION: &str = "0.1.0";
const POLICY_EXPORT: &str = "palisade:policy/policy@0.1.0";
const POLICY_EXPORT_PREFIX: &str = "palisade:policy/policy@";
/// Imports the host itself offers (the `host` interface and the `types` it uses).
const HOST_IMPORT_PREFIX: &str = "palisade:policy/";
/// Imports the WASI linker offers (an empty, deny-all WASI 0.2).
const WASI_IMPORT_PREFIX: &str = "wasi:";

/// How often the epoch ticker advances; the deadline resolution.
const TICK: Duration = Duration::from_millis(10);

/// Caps applied to every call into a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory a run may grow to; growing past it traps.
    pub memory_bytes: usize,
    /// Wall time per call (`describe`, `configure`, each `evaluate` batch).
    pub timeout: Duration,
    /// Findings one run may return.
    pub max_findings: usize,
    /// Bytes of finding text (messages, pointers, ids) one run may return.
    pub max_output_bytes: usize,
    /// Bytes of log and stdout/stderr kept per run; the rest is dropped.
    pub max_log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 256 << 20,
            timeout: Duration::from_secs(10),
            max_findings: 100_000,
            max_output_bytes: 32 << 20,
            max_log_bytes: 64 << 10,
        }
    }
}

/// A rule as a plugin describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleInfo {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub kinds: Vec<String>,
    pub description: String,
    pub remediation: String,
    pub help_uri: Option<String>,
    pub tags: Vec<String>,
}

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub rules: Vec<RuleInfo>,
}

/// A resource as handed to a plugin: borrowed, so one serialized copy serves every plugin.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub file: &'a str,
    /// The attributes as a JSON document.
    pub attributes: &'a str,
    /// Resources that may refer to each other (one Terraform root module with its modules, one
    /// CloudFormation template) share a unit and are always evaluated in the same batch, so a
    /// plugin can join them; `None` for a resource that stands alone.
    pub unit: Option<usize>,
}

/// A finding exactly as the plugin returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFinding {
    pub rule_id: String,
    pub resource_id: String,
    /// Index into the run's resources of the resource `resource_id` names in its batch;
    /// `None` when the plugin named a resource it was not given.
    pub resource: Option<usize>,
    pub message: String,
    pub pointer: String,
    pub severity: Option<Severity>,
}

/// Why a plugin failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Not a loadable Palisade plugin (bad wasm, wrong interface, imports we do not offer).
    Invalid(String),
    /// A call ran past its deadline.
    Timeout(Duration),
    /// Linear memory would have grown past the cap.
    MemoryLimit { limit_bytes: usize },
    /// The plugin trapped (a Rust panic shows up here, with its stderr).
    Trap(String),
    /// The plugin returned an error from `configure` or `evaluate`.
    Rejected(String),
    /// The plugin returned more than the output caps allow.
    OutputLimit(String),
    /// The data directory granted to the plugin could not be opened for a run.
    DataDir(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Invalid(m) => write!(f, "cannot be loaded: {m}"),
            Failure::Timeout(d) => write!(f, "timed out after {:.1} s", d.as_secs_f64()),
            Failure::MemoryLimit { limit_bytes } => {
                write!(f, "exceeded the memory limit of {} MiB", limit_bytes >> 20)
            }
            Failure::Trap(m) => write!(f, "crashed: {m}"),
            Failure::Rejected(m) => write!(f, "returned an error: {m}"),
            Failure::OutputLimit(m) => write!(f, "exceeded the output limit: {m}"),
            Failure::DataDir(m) => write!(f, "cannot open its data directory: {m}"),
        }
    }
}

/// A failure of a named plugin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plugin `{plugin}` {failure}")]
pub struct PluginError {
    /// The plugin's label (its pack name, or the file it came from).
    pub plugin: String,
    pub failure: Failure,
}

/// A compiled, pre-instantiated plugin, ready for runs.
pub struct Plugin {
    label: String,
    digest: String,
    info: PluginInfo,
    pre: bindings::PluginPre<Sandbox>,
    limits: Limits,
    data_dir: Option<DataDir>,
    imports: Vec<String>,
    exports: Vec<String>,
}

/// A host directory a plugin may read, mounted read-only at `/data/<name>` in its sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    /// The name the plugin's manifest requests (`capabilities.data-dir`).
    pub name: String,
    /// The directory on the host, as the pipeline's config grants it.
    pub host_path: PathBuf,
}

impl DataDir {
    /// Where the plugin sees it: `/data/<name>`.
    pub fn guest_path(&self) -> String {
        format!("/data/{}", self.name)
    }
}

impl Plugin {
    /// The label used in messages: the pack name, or the file it came from.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The plugin's own description of itself.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// Hex sha256 of the component.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The component's imports (interface names, e.g. `wasi:cli/stderr@0.2.6`), sorted.
    pub fn imports(&self) -> &[String] {
        &self.imports
    }

    /// The interfaces and functions the component exports (e.g.
    /// `palisade:policy/policy@0.1.0`), sorted.
    pub fn exports(&self) -> &[String] {
        &self.exports
    }

    /// True when the component imports WASI and so is linked with the (empty) WASI sandbox;
    /// false for a pure plugin, which is linked with the `palisade:policy` host alone.
    pub fn uses_wasi(&self) -> bool {
        self.imports
            .iter()
            .any(|i| i.starts_with(WASI_IMPORT_PREFIX))
    }

    /// The caps its runs get.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Changes the caps for later runs (e.g. raised per pack in `palisade.toml`).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Grants the directory to every later `evaluate` run (replacing an earlier grant); it must
    /// exist and be a directory. `describe` never sees it.
    pub fn grant_data_dir(&mut self, dir: DataDir) -> Result<(), String> {
        let refused = |reason: &str| {
            format!(
                "plugin `{}`: cannot grant data directory `{}` ({}): {reason}",
                self.label,
                dir.name,
                dir.host_path.display()
            )
        };
        // One plain path segment: the name becomes the last component of `/data/<name>`.
        let plain = !dir.name.is_empty()
            && !dir.name.starts_with('.')
            && dir
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !plain {
            return Err(refused(
                "the name must be letters, digits, `.`, `_` and `-`, not starting with `.`",
            ));
        }
        match std::fs::metadata(&dir.host_path) {
            Ok(metadata) if metadata.is_dir() => {}
            Ok(_) => return Err(refused("not a directory")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(refused("no such directory"));
            }
            Err(e) => return Err(refused(&e.to_string())),
        }
        self.data_dir = Some(dir);
        Ok(())
    }

    /// The directory granted to it, if any.
    pub fn data_dir(&self) -> Option<&DataDir> {
        self.data_dir.as_ref()
    }

    /// True when at least one of its rules judges `kind`.
    pub fn wants(&self, kind: &str) -> bool {
        self.info
            .rules
            .iter()
            .flat_map(|r| &r.kinds)
            .any(|pattern| kind_matches(pattern, kind))
    }
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("label", &self.label)
            .field("digest", &self.digest)
            .field("info", &self.info)
            .field("data_dir", &self.data_dir)
            .field("imports", &self.imports)
            .finish_non_exhaustive()
    }
}

/// True when a kind pattern (`kubernetes/Pod`, `kubernetes/*` or `*`) matches `kind`.
pub fn kind_matches(pattern: &str, kind: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => kind.starts_with(prefix),
        None => pattern == kind,
    }
}

/// The outcome of one run: findings or a failure, and the log either way.
#[derive(Debug)]
pub struct Run {
    pub result: Result<Vec<RawFinding>, PluginError>,
    pub log: PluginLog,
}

/// The process-wide wasmtime engine with Palisade's sandbox.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    engine: wasmtime::Engine,
    /// Links plugins that import WASI: the host interface plus an empty WASI.
    wasi_linker: Linker<Sandbox>,
    /// Links pure plugins: the host interface only.
    pure_linker: Linker<Sandbox>,
    cache: Option<CompileCache>,
    engine_key: String,
    /// Components loaded from the compile cache, and compiled with a cache in use.
    cache_hits: AtomicUsize,
    cache_misses: AtomicUsize,
}

impl Drop for EngineInner {
    fn drop(&mut self) {
        // Wakes the ticker so it notices the engine is gone.
        self.engine.increment_epoch();
    }
}

impl Engine {
    /// Creates the engine; `cache` keeps compiled plugins across processes.
    pub fn new(cache: Option<CompileCache>) -> anyhow::Result<Engine> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .parallel_compilation(true)
            .cranelift_opt_level(wasmtime::OptLevel::Speed);
        let engine = wasmtime::Engine::new(&config)?;

        let mut pure_linker = Linker::<Sandbox>::new(&engine);
        bindings::Plugin::add_to_linker::<_, HasSelf<_>>(&mut pure_linker, |state| state)?;
        let mut wasi_linker = Linker::<Sandbox>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut wasi_linker)?;
        bindings::Plugin::add_to_linker::<_, HasSelf<_>>(&mut wasi_linker, |state| state)?;

        let weak = engine.weak();
        std::thread::Builder::new()
            .name("palisade-epoch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })?;

        let engine_key = cache::engine_key(&engine);
        Ok(Engine {
            inner: Arc::new(EngineInner {
                engine,
                wasi_linker,
                pure_linker,
                cache,
                engine_key,
                cache_hits: AtomicUsize::new(0),
                cache_misses: AtomicUsize::new(0),
            }),
        })
    }

    /// The compile cache in use, if any.
    pub fn cache(&self) -> Option<&CompileCache> {
        self.inner.cache.as_ref()
    }

    /// How many components so far came from the compile cache (hits) and were compiled while
    /// a cache was in use (misses).
    pub fn cache_counts(&self) -> (usize, usize) {
        (
            self.inner.cache_hits.load(Ordering::Relaxed),
            self.inner.cache_misses.load(Ordering::Relaxed),
        )
    }

    /// Compiles (or loads from the cache) a component, checks it is a Palisade plugin the
    /// sandbox can host, and asks it to describe itself.
    pub fn load(&self, label: &str, wasm: &[u8], limits: Limits) -> Result<Plugin, PluginError> {
        let fail = |failure| PluginError {
            plugin: label.to_string(),
            failure,
        };
        let digest = sha256_hex(wasm);
        let component = self
            .component(&digest, wasm)
            .map_err(|e| fail(Failure::Invalid(e)))?;
        check_exports(&self.inner.engine, &component).map_err(|e| fail(Failure::Invalid(e)))?;
        let (imports, exports) = interface_names(&self.inner.engine, &component);
        let linker = self
            .linker_for(&imports)
            .map_err(|e| fail(Failure::Invalid(e)))?;
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(|e| fail(Failure::Invalid(format!("{e:#}"))))?;
        let pre = bindings::PluginPre::new(instance_pre)
            .map_err(|e| fail(Failure::Invalid(format!("{e:#}"))))?;

        // `describe` runs without any grant: what a plugin says about itself cannot depend on
        // the data it may later read.
        let mut store = self
            .store(limits, None)
            .expect("a sandbox without a data directory always builds");
        let info = pre
            .instantiate(&mut store)
            .and_then(|instance| {
                store.set_epoch_deadline(deadline_ticks(limits.timeout));
                instance.palisade_policy_policy().call_describe(&mut store)
            })
            .map_err(|e| fail(classify(&store, e, limits)))?;
        let info = convert_info(info).map_err(|e| fail(Failure::Invalid(e)))?;
        let label = if label.is_empty() {
            info.name.clone()
        } else {
            label.to_string()
        };
        Ok(Plugin {
            label,
            digest,
            info,
            pre,
            limits,
            data_dir: None,
            imports,
            exports,
        })
    }

    /// The linker for a component with these imports: WASI only when it imports WASI; an
    /// import neither the host nor WASI offers is refused by name.
    fn linker_for(&self, imports: &[String]) -> Result<&Linker<Sandbox>, String> {
        let foreign: Vec<&str> = imports
            .iter()
            .map(String::as_str)
            .filter(|i| !i.starts_with(HOST_IMPORT_PREFIX) && !i.starts_with(WASI_IMPORT_PREFIX))
            .collect();
        if !foreign.is_empty() {
            return Err(format!(
                "it imports {}, which palisade does not offer (a plugin may import only \
                 `palisade:policy/*` and `wasi:*`)",
                foreign
                    .iter()
                    .map(|i| format!("`{i}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if imports.iter().any(|i| i.starts_with(WASI_IMPORT_PREFIX)) {
            Ok(&self.inner.wasi_linker)
        } else {
            Ok(&self.inner.pure_linker)
        }
    }

    /// Runs a plugin on `resources` in a fresh sandbox: `configure(config)`, then `evaluate` in
    /// bounded batches whose resource ids are unique.
    pub fn run(&self, plugin: &Plugin, config: &str, resources: &[Input<'_>]) -> Run {
        let limits = plugin.limits;
        let mut store = match self.store(limits, plugin.data_dir.as_ref()) {
            Ok(store) => store,
            Err(reason) => {
                let dir = plugin
                    .data_dir
                    .as_ref()
                    .expect("only a data directory can fail a sandbox");
                return Run {
                    result: Err(PluginError {
                        plugin: plugin.label.clone(),
                        failure: Failure::DataDir(format!(
                            "`{}` ({}): {reason}",
                            dir.name,
                            dir.host_path.display()
                        )),
                    }),
                    log: PluginLog::default(),
                };
            }
        };
        let result = self.run_in(&mut store, plugin, config, resources);
        let log = {
            let mut log = store
                .data()
                .log
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            log.finish();
            std::mem::take(&mut *log)
        };
        let result = result.map_err(|failure| {
            let failure = match failure {
                Failure::Trap(message) => Failure::Trap(with_stderr(message, &log)),
                other => other,
            };
            PluginError {
                plugin: plugin.label.clone(),
                failure,
            }
        });
        Run { result, log }
    }

    fn run_in(
        &self,
        store: &mut Store<Sandbox>,
        plugin: &Plugin,
        config: &str,
        resources: &[Input<'_>],
    ) -> Result<Vec<RawFinding>, Failure> {
        let limits = plugin.limits;
        let instance = plugin
            .pre
            .instantiate(&mut *store)
            .map_err(|e| classify(store, e, limits))?;
        let policy = instance.palisade_policy_policy();

        store.set_epoch_deadline(deadline_ticks(limits.timeout));
        policy
            .call_configure(&mut *store, config)
            .map_err(|e| classify(store, e, limits))?
            .map_err(|m| Failure::Rejected(format!("configure: {m}")))?;

        let mut findings = Vec::new();
        let mut output_bytes = 0usize;
        for indices in batches(resources) {
            let batch: Vec<wit::Resource<'_>> = indices
                .iter()
                .map(|&i| {
                    let r = &resources[i];
                    wit::Resource {
                        id: r.id,
                        kind: r.kind,
                        file: r.file,
                        attributes: r.attributes,
                    }
                })
                .collect();
            let by_id: HashMap<&str, usize> =
                indices.iter().map(|&i| (resources[i].id, i)).collect();
            store.set_epoch_deadline(deadline_ticks(limits.timeout));
            let returned = policy
                .call_evaluate(&mut *store, &batch)
                .map_err(|e| classify(store, e, limits))?
                .map_err(Failure::Rejected)?;
            for f in returned {
                output_bytes +=
                    f.rule_id.len() + f.resource_id.len() + f.message.len() + f.pointer.len();
                findings.push(RawFinding {
                    resource: by_id.get(f.resource_id.as_str()).copied(),
                    rule_id: f.rule_id,
                    resource_id: f.resource_id,
                    message: f.message,
                    pointer: f.pointer,
                    severity: f.severity.map(severity),
                });
            }
            if findings.len() > limits.max_findings {
                return Err(Failure::OutputLimit(format!(
                    "more than {} findings",
                    limits.max_findings
                )));
            }
            if output_bytes > limits.max_output_bytes {
                return Err(Failure::OutputLimit(format!(
                    "more than {} MiB of findings",
                    limits.max_output_bytes >> 20
                )));
            }
        }
        Ok(findings)
    }

    /// A fresh store for one run; fails only when `data_dir` cannot be opened.
    fn store(&self, limits: Limits, data_dir: Option<&DataDir>) -> Result<Store<Sandbox>, String> {
        let sandbox = Sandbox::new(limits.memory_bytes, limits.max_log_bytes, data_dir)?;
        let mut store = Store::new(&self.inner.engine, sandbox);
        store.limiter(|s| &mut s.limiter);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(deadline_ticks(limits.timeout));
        Ok(store)
    }

    fn component(&self, digest: &str, wasm: &[u8]) -> Result<Component, String> {
        let engine = &self.inner.engine;
        let cached = self.inner.cache.as_ref().map(|cache| {
            let path = cache.entry_path(digest, &self.inner.engine_key);
            (cache, path)
        });
        if let Some((cache, path)) = &cached
            && let Some(payload) = cache.load(path)
        {
            // SAFETY: the payload is exactly what `Component::serialize` wrote for this digest
            // and engine: its sha256 checksum was verified above, and wasmtime itself rejects
            // code compiled by another version or with other settings.
            if let Ok(component) = unsafe { Component::deserialize(engine, &payload) } {
                self.inner.cache_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(component);
            }
        }
        if cached.is_some() {
            self.inner.cache_misses.fetch_add(1, Ordering::Relaxed);
        }
        let component = Component::new(engine, wasm)
            .map_err(|e| format!("not a valid WebAssembly component: {}", root_cause(&e)))?;
        if let Some((cache, path)) = &cached
            && let Ok(payload) = component.serialize()
        {
            // A cache that cannot be written only costs time on the next run.
            let _ = cache.store(path, &payload);
        }
        Ok(component)
    }
}

/// Checks the component implements the policy interface this host speaks.
fn check_exports(engine: &wasmtime::Engine, component: &Component) -> Result<(), String> {
    let ty = component.component_type();
    let mut other_versions = Vec::new();
    for (name, item) in ty.exports(engine) {
        if name == POLICY_EXPORT && matches!(item.ty, ComponentItem::ComponentInstance(_)) {
            return Ok(());
        }
        if let Some(version) = name.strip_prefix(POLICY_EXPORT_PREFIX) {
            other_versions.push(version.to_string());
        }
    }
    if other_versions.is_empty() {
        Err(format!(
            "it does not export `{POLICY_EXPORT}`; is it a Palisade policy plugin?"
        ))
    } else {
        Err(format!(
            "it implements palisade:policy@{}, but this palisade supports {WIT_VERSION}",
            other_versions.join(", ")
        ))
    }
}

/// The names of a component's imports and of the interfaces and functions it exports (not
/// the named types a hand-written component exports beside them), each sorted.
fn interface_names(engine: &wasmtime::Engine, component: &Component) -> (Vec<String>, Vec<String>) {
    let ty = component.component_type();
    let mut imports: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let mut exports: Vec<String> = ty
        .exports(engine)
        .filter(|(_, item)| {
            matches!(
                item.ty,
                ComponentItem::ComponentInstance(_) | ComponentItem::ComponentFunc(_)
            )
        })
        .map(|(name, _)| name.to_string())
        .collect();
    imports.sort();
    exports.sort();
    (imports, exports)
}

/// Most resources one `evaluate` call carries.
const BATCH_RESOURCES: usize = 512;
/// Most attribute bytes one `evaluate` call carries (a single larger resource goes alone).
const BATCH_BYTES: usize = 2 << 20;

/// Splits resources (by index) into batches in which no id repeats, keeping order, so a
/// finding's resource id always names one resource.
///
/// Batches are also bounded in count and bytes: the plugin then holds one bounded batch in its
/// memory at a time, however large the scan, and works on data that stays in the CPU's caches.
/// The resources of one unit are never split across batches (a unit larger than the bounds goes
/// alone), so references between them stay resolvable; within a unit only a repeated id splits.
fn batches(resources: &[Input<'_>]) -> Vec<Vec<usize>> {
    // Whole units, in order of first appearance; a resource without a unit is a unit of its own.
    let mut units: Vec<Vec<usize>> = Vec::new();
    let mut unit_of: HashMap<usize, usize> = HashMap::new();
    for (index, r) in resources.iter().enumerate() {
        match r.unit {
            Some(unit) => match unit_of.get(&unit) {
                Some(&at) => units[at].push(index),
                None => {
                    unit_of.insert(unit, units.len());
                    units.push(vec![index]);
                }
            },
            None => units.push(vec![index]),
        }
    }
    // Parts with unique ids: a unit is one part unless an id repeats within it.
    let parts = units.into_iter().flat_map(|unit| {
        let mut parts: Vec<(HashSet<&str>, Vec<usize>)> = Vec::new();
        for index in unit {
            let id = resources[index].id;
            match parts.iter_mut().find(|(ids, _)| !ids.contains(id)) {
                Some((ids, part)) => {
                    ids.insert(id);
                    part.push(index);
                }
                None => parts.push((HashSet::from([id]), vec![index])),
            }
        }
        parts
    });
    // Parts packed first-fit into bounded batches of unique ids: a repeated id (the same
    // object in two overlays) opens a second batch rather than ending the current one.
    struct Open<'r> {
        ids: HashSet<&'r str>,
        indices: Vec<usize>,
        bytes: usize,
    }
    let mut open: Vec<Open<'_>> = Vec::new();
    for (ids, part) in parts {
        let bytes: usize = part.iter().map(|&i| resources[i].attributes.len()).sum();
        let fits = |batch: &Open<'_>| {
            batch.indices.len() + part.len() <= BATCH_RESOURCES
                && batch.bytes + bytes <= BATCH_BYTES
                && ids.is_disjoint(&batch.ids)
        };
        match open.iter_mut().find(|batch| fits(batch)) {
            Some(batch) => {
                batch.ids.extend(ids);
                batch.indices.extend(part);
                batch.bytes += bytes;
            }
            // A part over the bounds goes alone.
            None => open.push(Open {
                ids,
                indices: part,
                bytes,
            }),
        }
    }
    open.into_iter().map(|batch| batch.indices).collect()
}

fn deadline_ticks(timeout: Duration) -> u64 {
    (timeout.as_millis() / TICK.as_millis()).max(1) as u64 + 1
}

fn classify(store: &Store<Sandbox>, error: wasmtime::Error, limits: Limits) -> Failure {
    if store.data().limiter.exceeded.is_some() {
        return Failure::MemoryLimit {
            limit_bytes: limits.memory_bytes,
        };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Failure::Timeout(limits.timeout),
        Some(trap) => Failure::Trap(trap.to_string()),
        None => Failure::Trap(root_cause(&error)),
    }
}

fn root_cause(error: &wasmtime::Error) -> String {
    error.root_cause().to_string()
}

/// Adds the plugin's last stderr lines to a trap message: that is where a Rust panic says why.
fn with_stderr(message: String, log: &PluginLog) -> String {
    let stderr: Vec<&str> = log
        .lines
        .iter()
        .filter(|(stream, _)| *stream == "stderr")
        .map(|(_, line)| line.as_str())
        .collect();
    let tail = &stderr[stderr.len().saturating_sub(3)..];
    if tail.is_empty() {
        message
    } else {
        format!("{message} (stderr: {})", tail.join(" | "))
    }
}

fn severity(s: wit::Severity) -> Severity {
    match s {
        wit::Severity::Info => Severity::Info,
        wit::Severity::Low => Severity::Low,
        wit::Severity::Medium => Severity::Medium,
        wit::Severity::High => Severity::High,
        wit::Severity::Critical => Severity::Critical,
    }
}

fn convert_info(info: wit::PluginInfo) -> Result<PluginInfo, String> {
    if info.name.trim().is_empty() {
        return Err("it describes itself without a name".into());
    }
    let mut seen = HashSet::new();
    let mut rules = Vec::with_capacity(info.rules.len());
    for r in info.rules {
        if r.id.trim().is_empty() {
            return Err("it declares a rule without an id".into());
        }
        if !seen.insert(r.id.clone()) {
            return Err(format!("it declares rule `{}` twice", r.id));
        }
        rules.push(RuleInfo {
            id: r.id,
            title: r.title,
            severity: severity(r.severity),
            kinds: r.kinds,
            description: r.description,
            remediation: r.remediation,
            help_uri: r.help_uri,
            tags: r.tags,
        });
    }
    Ok(PluginInfo {
        name: info.name,
        version: info.version,
        rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(id: &str) -> Input<'_> {
        Input {
            id,
            kind: "k",
            file: "f",
            attributes: "{}",
            unit: None,
        }
    }

    #[test]
    fn a_unit_stays_in_one_batch() {
        let ids: Vec<String> = (0..BATCH_RESOURCES + 10).map(|i| i.to_string()).collect();
        let mut resources: Vec<Input<'_>> = ids.iter().map(|id| input(id)).collect();
        // Resources 500..520 form a unit, interleaved with standalone ones in the input.
        for r in &mut resources[500..520] {
            r.unit = Some(7);
        }
        let batches = batches(&resources);
        let holding: Vec<usize> = batches
            .iter()
            .enumerate()
            .filter(|(_, b)| b.iter().any(|&i| (500..520).contains(&i)))
            .map(|(n, _)| n)
            .collect();
        assert_eq!(holding.len(), 1, "the unit was split: {holding:?}");
        assert!(batches.iter().all(|b| b.len() <= BATCH_RESOURCES));
        assert_eq!(
            batches.iter().map(Vec::len).sum::<usize>(),
            resources.len(),
            "every resource is sent once"
        );
    }

    #[test]
    fn units_with_the_same_ids_go_to_different_batches() {
        // Two Terraform roots each with `aws_s3_bucket.logs` and its access block.
        let mut resources = vec![
            input("aws_s3_bucket.logs"),
            input("aws_s3_bucket_public_access_block.logs"),
            input("aws_s3_bucket.logs"),
            input("aws_s3_bucket_public_access_block.logs"),
        ];
        for (r, unit) in resources.iter_mut().zip([1, 1, 2, 2]) {
            r.unit = Some(unit);
        }
        assert_eq!(batches(&resources), [vec![0, 1], vec![2, 3]]);
    }

    #[test]
    fn an_oversized_unit_goes_alone_and_whole() {
        let ids: Vec<String> = (0..BATCH_RESOURCES * 2).map(|i| i.to_string()).collect();
        let mut resources: Vec<Input<'_>> = ids.iter().map(|id| input(id)).collect();
        for r in &mut resources[1..] {
            r.unit = Some(1);
        }
        let sizes: Vec<usize> = batches(&resources).iter().map(Vec::len).collect();
        assert_eq!(sizes, [1, BATCH_RESOURCES * 2 - 1]);
    }

    #[test]
    fn batches_never_repeat_an_id() {
        let resources = [input("a"), input("b"), input("a"), input("a"), input("c")];
        let batches = batches(&resources);
        let ids: Vec<Vec<&str>> = batches
            .iter()
            .map(|b| b.iter().map(|&i| resources[i].id).collect())
            .collect();
        assert_eq!(ids, vec![vec!["a", "b", "c"], vec!["a"], vec!["a"]]);
    }

    #[test]
    fn batches_are_bounded_in_count_and_bytes() {
        let ids: Vec<String> = (0..BATCH_RESOURCES * 2 + 1)
            .map(|i| i.to_string())
            .collect();
        let resources: Vec<Input<'_>> = ids.iter().map(|id| input(id)).collect();
        let sizes: Vec<usize> = batches(&resources).iter().map(Vec::len).collect();
        assert_eq!(sizes, [BATCH_RESOURCES, BATCH_RESOURCES, 1]);

        let big = "x".repeat(BATCH_BYTES / 2 + 1);
        let resources: Vec<Input<'_>> = ["a", "b", "c"]
            .into_iter()
            .map(|id| Input {
                attributes: &big,
                ..input(id)
            })
            .collect();
        assert_eq!(
            batches(&resources),
            [vec![0], vec![1], vec![2]],
            "two would overflow the byte bound"
        );

        let huge = "x".repeat(BATCH_BYTES * 2);
        let resources = [Input {
            attributes: &huge,
            ..input("a")
        }];
        assert_eq!(
            batches(&resources),
            [vec![0]],
            "an oversized resource still goes, alone"
        );
    }

    #[test]
    fn kind_patterns() {
        assert!(kind_matches("kubernetes/*", "kubernetes/Pod"));
        assert!(kind_matches("*", "terraform/aws_s3_bucket"));
        assert!(kind_matches("kubernetes/Pod", "kubernetes/Pod"));
        assert!(!kind_matches("kubernetes/Pod", "kubernetes/PodTemplate"));
        assert!(!kind_matches("kubernetes/*", "terraform/x"));
    }

    #[test]
    fn garbage_is_not_a_plugin() {
        let engine = Engine::new(None).expect("engine");
        let error = engine
            .load("junk.wasm", b"not wasm at all", Limits::default())
            .expect_err("garbage must not load");
        assert_eq!(error.plugin, "junk.wasm");
        assert!(
            matches!(&error.failure, Failure::Invalid(m) if m.contains("not a valid WebAssembly component")),
            "{error}"
        );
    }
}
