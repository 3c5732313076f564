//! One scan, end to end: configuration → plugins → discovery → normalization → evaluation →
//! findings. This is the embedding API; the CLI only parses flags and calls it.
//!
//! ```no_run
//! use palisade::{Scan, Severity};
//!
//! let report = Scan::new(["deploy/"]).fail_on(Severity::High).run()?;
//! for finding in &report.findings {
//!     println!("{}:{} {} {}", finding.file, finding.line, finding.rule, finding.message);
//! }
//! std::process::exit(report.exit_code());
//! # Ok::<(), palisade::ConfigError>(())
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use palisade_normalize::image::{ImageOptions, PlatformChoice};
use palisade_normalize::{Diagnostic, Resource};
use rayon::prelude::*;
use serde::Serialize;
use time::Date;

use crate::config::{Config, ConfigError, DataDirGrant};
use crate::discover::{SourceFile, discover};
use crate::engine::{CompileCache, DataDir, Engine, Input, Plugin, RuleInfo};
use crate::findings::baseline::Baseline;
use crate::findings::diff::DiffBase;
use crate::findings::exceptions::{self, Exceptions};
use crate::findings::{Enforcement, Finding, Override, Severity};
use crate::image::RegistryOptions;
use crate::packs;
use crate::progress::{CacheCounts, Progress, ProgressSink, Stage, Timings};
use crate::registry::{self, Lockfile, Manifest, RegistryClient, RegistryError};

/// A problem that made the scan incomplete: a bad input file, a failing plugin, a config issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, PartialOrd, Ord)]
pub struct ScanError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    pub message: String,
}

impl ScanError {
    fn plugin(plugin: &str, message: impl Into<String>) -> ScanError {
        ScanError {
            file: None,
            line: None,
            plugin: Some(plugin.to_string()),
            message: message.into(),
        }
    }

    /// Where the problem is, as a message prefix: `file:line: `, `file: `, `plugin `x`: `, or
    /// nothing.
    pub fn place(&self) -> String {
        match (&self.file, self.line, &self.plugin) {
            (Some(file), Some(line), _) => format!("{file}:{line}: "),
            (Some(file), None, _) => format!("{file}: "),
            (None, _, Some(plugin)) => format!("plugin `{plugin}`: "),
            (None, _, None) => String::new(),
        }
    }

    /// A registry refusal; its message already names the registry and the pack.
    fn registry(error: RegistryError) -> ScanError {
        ScanError {
            file: None,
            line: None,
            plugin: None,
            message: error.to_string(),
        }
    }
}

impl From<Diagnostic> for ScanError {
    fn from(d: Diagnostic) -> ScanError {
        ScanError {
            file: Some(d.file),
            line: d.line,
            plugin: None,
            message: d.message,
        }
    }
}

/// Something the scan's user should know that does not fail it: an unused suppression, an
/// expired waiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, PartialOrd, Ord)]
pub struct ScanWarning {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub message: String,
}

/// Counts for the report footer and the JSON `summary`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Container images read.
    pub images: usize,
    /// Files skipped on purpose (e.g. Helm templates).
    pub skipped_files: usize,
    pub resources: usize,
    pub plugins: usize,
    pub rules: usize,
    /// Findings that count (not suppressed, waived or in the baseline).
    pub findings: usize,
    /// Findings reported but kept from counting by a suppression, waiver or the baseline.
    pub suppressed: usize,
    /// With `--diff-base`: findings on lines not changed since the base, left out of the
    /// report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outside_diff: Option<usize>,
    /// Findings that count, per severity (every severity present, zeros included).
    pub by_severity: BTreeMap<Severity, usize>,
    pub errors: usize,
    /// The lowest severity that fails the scan.
    pub fail_on: Severity,
}

/// A rule as loaded, with the pack that provides it.
#[derive(Debug, Clone, Serialize)]
pub struct LoadedRule {
    pub plugin: String,
    #[serde(flatten)]
    pub rule: RuleInfo,
    /// The severity after `palisade.toml` overrides.
    pub effective_severity: Severity,
    /// How the pipeline enforces it.
    pub enforcement: Enforcement,
    pub enabled: bool,
}

/// Everything a scan produced.
#[derive(Debug, Clone)]
pub struct ScanReport {
    /// Sorted by file, line, column, rule.
    pub findings: Vec<Finding>,
    pub errors: Vec<ScanError>,
    /// What deserves attention but never changes the exit code, sorted.
    pub warnings: Vec<ScanWarning>,
    pub summary: Summary,
    /// Every loaded rule, by id.
    pub rules: BTreeMap<String, LoadedRule>,
    /// What plugins logged (and wrote to stdout/stderr), per plugin, in run order.
    pub logs: Vec<PluginLogLine>,
    /// Soft-mandatory rules overridden for this run.
    pub overrides: Vec<Override>,
    /// How long each stage took; not part of any report format, which must be deterministic.
    pub timings: Timings,
}

/// One line a plugin logged during the scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginLogLine {
    pub plugin: String,
    /// `trace` … `error`, or `stdout` / `stderr`.
    pub level: &'static str,
    pub message: String,
}

impl ScanReport {
    /// 2 when anything went wrong, else 1 when a finding is at or above the threshold, else 0.
    pub fn exit_code(&self) -> i32 {
        if !self.errors.is_empty() {
            2
        } else if self.findings.iter().any(|f| self.fails(f)) {
            1
        } else {
            0
        }
    }

    /// Whether a finding fails the scan: it counts, reaches the threshold, and its rule is
    /// enforced (not advisory, and not a soft-mandatory rule overridden for this run).
    pub fn fails(&self, finding: &Finding) -> bool {
        finding.is_active()
            && finding.severity >= self.summary.fail_on
            && match finding.enforcement {
                Enforcement::Advisory => false,
                Enforcement::SoftMandatory => {
                    !self.overrides.iter().any(|o| o.rule == finding.rule)
                }
                Enforcement::HardMandatory => true,
            }
    }
}

/// What a scan reads: files and directories, and container images.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub paths: Vec<PathBuf>,
    /// Image references as `--image` takes them.
    pub images: Vec<String>,
    pub image_options: ImageOptions,
    /// How images in registries are pulled.
    pub registry: RegistryOptions,
    /// Report only findings on what changed since this git revision.
    pub diff_base: Option<DiffBase>,
}

/// A configured scan. Build it, then [`run`](Scan::run) it.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    paths: Vec<PathBuf>,
    images: Vec<String>,
    image_options: ImageOptions,
    registry: RegistryOptions,
    plugins: Vec<PathBuf>,
    default_packs: Option<bool>,
    config: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
    no_cache: bool,
    offline: bool,
    fail_on: Option<Severity>,
    overrides: Vec<Override>,
    baseline: Option<Arc<Baseline>>,
    today: Option<Date>,
    progress: ProgressSink,
    diff_base: Option<String>,
}

impl Scan {
    /// A scan of files and directories.
    pub fn new<P: Into<PathBuf>>(paths: impl IntoIterator<Item = P>) -> Scan {
        Scan {
            paths: paths.into_iter().map(Into::into).collect(),
            ..Scan::default()
        }
    }

    /// Adds a container image: `oci:DIR[:TAG]`, `docker-archive:FILE`, an image config or
    /// manifest JSON file, or an image in a registry (`[HOST[:PORT]/]REPO[:TAG][@sha256:…]`).
    pub fn image(mut self, reference: impl Into<String>) -> Scan {
        self.images.push(reference.into());
        self
    }

    /// Which platforms of multi-platform images are scanned (default linux/amd64).
    pub fn platform(mut self, platform: PlatformChoice) -> Scan {
        self.image_options.platform = platform;
        self
    }

    /// How images in registries are pulled (plain HTTP to loopback registries, credentials,
    /// timeout). Without it: anonymously, over HTTPS only; the CLI passes the credentials
    /// [`RegistryCredentials::from_env`](crate::image::RegistryCredentials::from_env) finds.
    pub fn registry(mut self, options: RegistryOptions) -> Scan {
        self.registry = options;
        self
    }

    /// Adds a plugin component file.
    pub fn plugin(mut self, path: impl Into<PathBuf>) -> Scan {
        self.plugins.push(path.into());
        self
    }

    /// Runs (or not) the packs built into palisade; overrides `palisade.toml`.
    pub fn default_packs(mut self, enabled: bool) -> Scan {
        self.default_packs = Some(enabled);
        self
    }

    /// Uses this config file instead of looking for `palisade.toml` above the scan root.
    pub fn config(mut self, path: impl Into<PathBuf>) -> Scan {
        self.config = Some(path.into());
        self
    }

    /// Keeps compiled plugins here instead of the user cache directory.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Scan {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Compiles every plugin afresh and keeps nothing on disk.
    pub fn no_cache(mut self) -> Scan {
        self.no_cache = true;
        self
    }

    /// Overrides a soft-mandatory rule for this run: its findings are reported but do not fail
    /// the scan, and every report records the override and its reason.
    pub fn override_rule(mut self, rule: impl Into<String>, reason: impl Into<String>) -> Scan {
        self.overrides.push(Override {
            rule: rule.into(),
            reason: reason.into(),
        });
        self
    }

    /// Reports the scan's progress (plugins loaded, files read, plugins run) to `progress`.
    pub fn progress(mut self, progress: Arc<dyn Progress>) -> Scan {
        self.progress = ProgressSink::new(progress);
        self
    }

    /// Reports only findings on files and lines changed since this git revision (a commit,
    /// branch or tag of the repository holding the first path); see [`DiffBase`].
    pub fn diff_base(mut self, rev: impl Into<String>) -> Scan {
        self.diff_base = Some(rev.into());
        self
    }

    /// Reads registry packs only from the cache: nothing is downloaded. The cached index must
    /// still verify and must not have expired.
    pub fn offline(mut self, offline: bool) -> Scan {
        self.offline = offline;
        self
    }

    /// The config given, or the `palisade.toml` found above the first path, or the defaults.
    fn read_config(&self) -> Result<Config, ConfigError> {
        match &self.config {
            Some(path) => Config::load(path),
            None => {
                let start = self.paths.first().map_or(Path::new("."), PathBuf::as_path);
                match Config::discover(start) {
                    Some(path) => Config::load(&path),
                    None => Ok(Config::default()),
                }
            }
        }
    }

    /// Resolves the config's registry packs to the highest versions their requirements accept,
    /// verifies each along the whole chain (filling the cache), and writes `palisade.lock`
    /// beside the config. Returns the lock's path and contents, or every reason it could not.
    pub fn lock(&self) -> Result<(PathBuf, Lockfile), Vec<String>> {
        let config = self.read_config().map_err(|e| vec![e.to_string()])?;
        let Some(registry) = &config.registry else {
            let place = config
                .path
                .as_ref()
                .map_or("no palisade.toml was found, so".to_string(), |p| {
                    format!("{}:", p.display())
                });
            return Err(vec![format!(
                "{place} there is no [registry] section, so there is nothing to lock"
            )]);
        };
        let cache = self.registry_cache().ok_or_else(|| {
            vec!["no cache directory for registry downloads: set PALISADE_CACHE_DIR".to_string()]
        })?;
        let client = RegistryClient::open(registry, config.base_dir(), &cache, self.offline)
            .map_err(|e| vec![e.to_string()])?;
        let (lock, _) = client
            .lock(&registry.plugins)
            .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>())?;
        let path = config.lock_path();
        std::fs::write(&path, lock.to_toml())
            .map_err(|e| vec![format!("cannot write {}: {e}", path.display())])?;
        Ok((path, lock))
    }

    /// Where registry downloads and this machine's memory of registries are kept.
    fn registry_cache(&self) -> Option<PathBuf> {
        self.cache_dir
            .clone()
            .or_else(CompileCache::default_dir)
            .map(|dir| registry::client::cache_dir(&dir))
    }

    /// The verified packs `palisade.lock` pins, ready to load, or why each could not be used.
    fn registry_sources(&self, config: &Config) -> Vec<Result<(String, Source), ScanError>> {
        let Some(registry) = &config.registry else {
            return Vec::new();
        };
        let config_error = |file: &Path, message: String| {
            vec![Err(ScanError {
                file: Some(file.display().to_string()),
                line: None,
                plugin: None,
                message,
            })]
        };
        let lock_path = config.lock_path();
        let text = match std::fs::read_to_string(&lock_path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return config_error(
                    &lock_path,
                    "missing: the config names registry packs; run `palisade lock` to pin them"
                        .to_string(),
                );
            }
            Err(e) => return config_error(&lock_path, format!("cannot read: {e}")),
        };
        let lock = match Lockfile::parse(&text) {
            Ok(lock) => lock,
            Err(e) => return config_error(&lock_path, e),
        };
        let Some(cache) = self.registry_cache() else {
            return config_error(
                &lock_path,
                "no cache directory for registry downloads: set PALISADE_CACHE_DIR".to_string(),
            );
        };
        let client = match RegistryClient::open(registry, config.base_dir(), &cache, self.offline) {
            Ok(client) => client,
            Err(e) => return vec![Err(ScanError::registry(e))],
        };
        if let Err(reason) = lock.check_matches(client.configured(), &registry.plugins) {
            return config_error(
                &lock_path,
                format!("out of date: {reason}; run `palisade lock`"),
            );
        }
        let index = match client.index() {
            Ok(index) => index,
            Err(e) => return vec![Err(ScanError::registry(e))],
        };
        lock.plugins
            .par_iter()
            .map(|locked| {
                let verified = client
                    .fetch_locked(&index, locked)
                    .map_err(ScanError::registry)?;
                let grant = registry
                    .plugins
                    .get(&locked.name)
                    .and_then(|p| p.data_dir());
                let data_dir = data_dir_grant(&verified.manifest, grant, config.base_dir())
                    .map_err(|reason| ScanError::plugin(&locked.id(), reason))?;
                Ok((
                    locked.id(),
                    Source::Registry {
                        wasm: verified.wasm,
                        data_dir,
                    },
                ))
            })
            .collect()
    }

    /// Findings in this baseline are reported as suppressed (kind baseline): only new ones
    /// count.
    pub fn baseline(mut self, baseline: Baseline) -> Scan {
        self.baseline = Some(Arc::new(baseline));
        self
    }

    /// The day (UTC) waivers are judged on, so a pipeline or test can pin it; without it, the
    /// system clock's.
    pub fn today(mut self, today: Date) -> Scan {
        self.today = Some(today);
        self
    }

    /// The lowest severity that fails the scan; overrides `palisade.toml`.
    pub fn fail_on(mut self, severity: Severity) -> Scan {
        self.fail_on = Some(severity);
        self
    }

    /// Loads the config and plugins without scanning anything.
    pub fn load(&self) -> Result<Session, ConfigError> {
        let started = Instant::now();
        let config = self.read_config()?;
        let cache = if self.no_cache {
            None
        } else {
            self.cache_dir
                .clone()
                .or_else(CompileCache::default_dir)
                .map(CompileCache::new)
        };
        let engine = Engine::new(cache).map_err(|e| ConfigError::Engine(format!("{e:#}")))?;

        let limits = config.limits();
        let mut sources: Vec<(String, Source)> = Vec::new();
        if self.default_packs.or(config.default_packs).unwrap_or(true) {
            sources.extend(
                packs::BUILTIN
                    .iter()
                    .map(|p| (p.name.to_string(), Source::Embedded(p.wasm))),
            );
        }
        for path in config
            .plugin_paths()
            .into_iter()
            .chain(self.plugins.clone())
        {
            sources.push((path.display().to_string(), Source::File(path)));
        }
        let mut refused = Vec::new();
        for source in self.registry_sources(&config) {
            match source {
                Ok(source) => sources.push(source),
                Err(e) => refused.push(e),
            }
        }
        let configured = started.elapsed();
        let progress = &self.progress;
        progress.start(Stage::Loading, sources.len() as u64);

        let loaded: Vec<Result<Plugin, ScanError>> = sources
            .into_par_iter()
            .map(|(label, source)| {
                let (bytes, data_dir) = match source {
                    Source::Embedded(bytes) => (std::borrow::Cow::Borrowed(bytes), None),
                    Source::File(path) => (
                        std::fs::read(&path)
                            .map(std::borrow::Cow::Owned)
                            .map_err(|e| {
                                ScanError::plugin(&label, format!("cannot read plugin: {e}"))
                            })?,
                        None,
                    ),
                    Source::Registry { wasm, data_dir } => {
                        (std::borrow::Cow::Owned(wasm), data_dir)
                    }
                };
                let mut plugin = engine
                    .load(&label, &bytes, limits)
                    .map_err(|e| ScanError::plugin(&e.plugin, e.failure.to_string()))?;
                if let Some(dir) = data_dir {
                    plugin
                        .grant_data_dir(dir)
                        .map_err(|reason| ScanError::plugin(&label, reason))?;
                }
                Ok(plugin)
            })
            .inspect(|_| progress.advance(Stage::Loading, 1))
            .chain(refused.into_par_iter().map(Err))
            .collect();
        progress.finish(Stage::Loading);
        let (hits, misses) = engine.cache_counts();
        let timings = Timings {
            config: configured,
            plugins: started.elapsed() - configured,
            compile_cache: CacheCounts { hits, misses },
            ..Timings::default()
        };

        let mut session = Session {
            engine,
            config,
            plugins: Vec::new(),
            errors: Vec::new(),
            fail_on: self.fail_on,
            overrides: Vec::new(),
            baseline: self.baseline.clone(),
            today: self
                .today
                .unwrap_or_else(|| time::OffsetDateTime::now_utc().date()),
            progress: self.progress.clone(),
            timings,
        };
        let mut declared = Declared::default();
        for result in loaded {
            match result {
                Ok(mut plugin) => {
                    declared.note(&plugin);
                    let name = plugin.info().name.clone();
                    if !session.config.pack_enabled(&name) {
                        continue;
                    }
                    plugin.set_limits(session.config.pack_limits(&name));
                    session.plugins.push(Arc::new(plugin));
                }
                Err(e) => session.errors.push(e),
            }
        }
        session.check_rule_ids();
        session.check_config_names(&declared);
        session.apply_overrides(&self.overrides);
        session.timings.plugins = started.elapsed() - configured;
        Ok(session)
    }

    /// Loads everything and scans the paths and images (the current directory when given
    /// neither).
    pub fn run(&self) -> Result<ScanReport, ConfigError> {
        // A base that cannot be read fails before any plugin is loaded.
        let base = match &self.diff_base {
            Some(rev) => {
                let root = self.paths.first().map_or(Path::new("."), PathBuf::as_path);
                Some(DiffBase::open(rev, root)?)
            }
            None => None,
        };
        let session = self.load()?;
        let paths = if self.paths.is_empty() && self.images.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            self.paths.clone()
        };
        Ok(session.scan_inputs(&Inputs {
            paths,
            images: self.images.clone(),
            image_options: self.image_options.clone(),
            registry: self.registry.clone(),
            diff_base: base,
        }))
    }
}

enum Source {
    Embedded(&'static [u8]),
    File(PathBuf),
    /// A registry pack whose chain verified, with the data directory granted to it.
    Registry {
        wasm: Vec<u8>,
        data_dir: Option<DataDir>,
    },
}

/// The data directory a registry pack gets: only what its signed manifest asks for AND the
/// config grants, by the same name. Either side alone is an error, so a pack never silently
/// runs without the data it needs, nor with access it did not ask for.
fn data_dir_grant(
    manifest: &Manifest,
    granted: Option<&DataDirGrant>,
    base: &Path,
) -> Result<Option<DataDir>, String> {
    match (&manifest.capabilities.data_dir, granted) {
        (None, None) => Ok(None),
        (Some(requested), None) => Err(format!(
            "its signed manifest requests read-only data directory `{requested}`, which \
             palisade.toml does not grant: add `data-dir = {{ name = \"{requested}\", path = \
             \"…\" }}` to its entry in [registry.plugins]"
        )),
        (None, Some(grant)) => Err(format!(
            "palisade.toml grants it data directory `{}`, but its signed manifest requests none; \
             a plugin gets no more than it asks for: remove the grant",
            grant.name
        )),
        (Some(requested), Some(grant)) if *requested != grant.name => Err(format!(
            "its signed manifest requests data directory `{requested}`, but palisade.toml \
             grants `{}`",
            grant.name
        )),
        (Some(requested), Some(grant)) => Ok(Some(DataDir {
            name: requested.clone(),
            host_path: base.join(&grant.path),
        })),
    }
}

/// The packs and rules every loaded plugin declares, those `palisade.toml` disables included.
#[derive(Default)]
struct Declared {
    packs: std::collections::BTreeSet<String>,
    rules: HashSet<String>,
}

impl Declared {
    fn note(&mut self, plugin: &Plugin) {
        self.packs.insert(plugin.info().name.clone());
        self.rules
            .extend(plugin.info().rules.iter().map(|r| r.id.clone()));
    }
}

/// Loaded config and plugins, ready to scan.
pub struct Session {
    engine: Engine,
    config: Config,
    plugins: Vec<Arc<Plugin>>,
    /// Problems met while loading (they are part of every report).
    errors: Vec<ScanError>,
    fail_on: Option<Severity>,
    overrides: Vec<Override>,
    baseline: Option<Arc<Baseline>>,
    today: Date,
    progress: ProgressSink,
    /// What loading took; each scan's report starts from these.
    timings: Timings,
}

impl Session {
    /// The loaded plugins.
    pub fn plugins(&self) -> impl Iterator<Item = &Plugin> {
        self.plugins.iter().map(|p| p.as_ref())
    }

    /// The engine plugins run in.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Problems met while loading config and plugins.
    pub fn errors(&self) -> &[ScanError] {
        &self.errors
    }

    /// Every loaded rule by id, with config overrides applied.
    pub fn rules(&self) -> BTreeMap<String, LoadedRule> {
        let mut rules = BTreeMap::new();
        for plugin in &self.plugins {
            for rule in &plugin.info().rules {
                rules.entry(rule.id.clone()).or_insert_with(|| LoadedRule {
                    plugin: plugin.info().name.clone(),
                    effective_severity: self
                        .config
                        .rule_severity(&rule.id)
                        .unwrap_or(rule.severity),
                    enforcement: self.config.enforcement(&rule.id, &plugin.info().name),
                    enabled: self.config.rule_enabled(&rule.id),
                    rule: rule.clone(),
                });
            }
        }
        rules
    }

    /// The lowest severity that fails the scan.
    pub fn fail_on(&self) -> Severity {
        self.fail_on
            .or(self.config.fail_on)
            .unwrap_or(Severity::Low)
    }

    /// Keeps the overrides a pipeline may make: of a loaded, soft-mandatory rule, with a
    /// reason. Any other is an error (a hard-mandatory rule cannot be overridden).
    fn apply_overrides(&mut self, overrides: &[Override]) {
        let rules = self.rules();
        for o in overrides {
            let refusal = match rules.get(&o.rule) {
                _ if o.reason.trim().is_empty() => Some("it has no reason: give one with --reason"),
                None => Some("no loaded rule has this id"),
                Some(rule) => match rule.enforcement {
                    Enforcement::HardMandatory => {
                        Some("the rule is hard-mandatory, which cannot be overridden")
                    }
                    Enforcement::Advisory | Enforcement::SoftMandatory => None,
                },
            };
            match refusal {
                Some(reason) => self.errors.push(ScanError {
                    file: None,
                    line: None,
                    plugin: None,
                    message: format!("--override {}: {reason}", o.rule),
                }),
                None => self.overrides.push(o.clone()),
            }
        }
        self.overrides.sort();
        self.overrides.dedup();
    }

    /// A `[packs.X]` or `[rules."Y"]` naming nothing loaded would silently leave a gate or a
    /// severity unenforced (a typo, a renamed rule): each is an error naming the section.
    fn check_config_names(&mut self, declared: &Declared) {
        // A plugin that failed to load declares nothing; its error already stops the scan.
        if !self.errors.is_empty() {
            return;
        }
        let file = self.config.path.as_ref().map(|p| p.display().to_string());
        let unknown_packs = self
            .config
            .packs
            .keys()
            .filter(|p| !declared.packs.contains(*p));
        let unknown_rules = self
            .config
            .rules
            .keys()
            .filter(|r| !declared.rules.contains(*r));
        let mut errors: Vec<ScanError> = unknown_packs
            .map(|pack| {
                format!(
                    "[packs.{pack}]: no loaded pack is called `{pack}` (loaded: {})",
                    declared
                        .packs
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .chain(unknown_rules.map(|rule| {
                format!("[rules.\"{rule}\"]: no loaded rule has this id (see `palisade rules`)")
            }))
            .map(|message| ScanError {
                file: file.clone(),
                line: None,
                plugin: None,
                message,
            })
            .collect();
        self.errors.append(&mut errors);
    }

    fn check_rule_ids(&mut self) {
        let mut owner: HashMap<&str, &str> = HashMap::new();
        let mut clashes = Vec::new();
        for plugin in &self.plugins {
            for rule in &plugin.info().rules {
                if let Some(first) = owner.insert(&rule.id, plugin.label()) {
                    clashes.push(ScanError::plugin(
                        plugin.label(),
                        format!("declares rule `{}`, which `{first}` declares too", rule.id),
                    ));
                }
            }
        }
        self.errors.extend(clashes);
    }

    /// Scans files and directories with the loaded plugins.
    pub fn scan(&self, paths: &[PathBuf]) -> ScanReport {
        self.scan_inputs(&Inputs {
            paths: paths.to_vec(),
            ..Inputs::default()
        })
    }

    /// Scans files, directories and container images with the loaded plugins.
    pub fn scan_inputs(&self, inputs: &Inputs) -> ScanReport {
        let started = Instant::now();
        let mut timings = self.timings.clone();
        let discovered = discover(&inputs.paths);
        timings.discovery = started.elapsed();
        let mut errors = self.errors.clone();
        errors.extend(discovered.diagnostics.into_iter().map(ScanError::from));

        let limits = palisade_normalize::Limits {
            max_file_bytes: self.config.max_file_bytes(),
            ..palisade_normalize::Limits::default()
        };
        let mut jobs = jobs(&discovered.files);
        let image_options = ImageOptions {
            layer_limits: self.config.layer_limits(),
            ..inputs.image_options.clone()
        };
        jobs.extend(inputs.images.iter().map(|reference| Job::Image {
            reference,
            options: &image_options,
            registry: &inputs.registry,
        }));
        let progress = &self.progress;
        let normalizing = Instant::now();
        progress.start(
            Stage::Normalizing,
            jobs.iter().map(Job::inputs).sum::<usize>() as u64,
        );
        let outputs: Vec<Normalization> = jobs
            .par_iter()
            .map(|job| {
                let output = job.run(&limits);
                progress.advance(Stage::Normalizing, job.inputs() as u64);
                output
            })
            .collect();
        progress.finish(Stage::Normalizing);
        // A directory some root module in this scan follows as a local module is read through
        // that root (its resources get the `module.<name>.` prefix), not as a root of its own.
        let followed: HashSet<PathBuf> = outputs
            .iter()
            .flat_map(|o| o.local_modules.iter().cloned())
            .collect();
        let mut resources = Vec::new();
        let mut units = Vec::new();
        let mut files = 0;
        let mut images = 0;
        for (unit, output) in outputs.into_iter().enumerate() {
            files += output.files;
            images += output.images;
            if output
                .root
                .as_ref()
                .is_some_and(|root| followed.contains(root))
            {
                continue;
            }
            units.extend(
                output
                    .resources
                    .iter()
                    .map(|r| joinable(&r.kind).then_some(unit)),
            );
            resources.extend(output.resources);
            errors.extend(output.diagnostics.into_iter().map(ScanError::from));
        }

        // Plugins get the attributes as JSON text; from here on the host only needs each
        // resource's spans and details, so the parsed values go (an image's file tree is tens
        // of megabytes of them).
        let attributes: Vec<String> = resources
            .par_iter_mut()
            .map(|r| {
                let text =
                    serde_json::to_string(&r.attributes).expect("JSON values always serialize");
                r.attributes = serde_json::Value::Null;
                text
            })
            .collect();

        timings.normalization = normalizing.elapsed();

        let rules = self.rules();
        let evaluating = Instant::now();
        progress.start(Stage::Evaluating, self.plugins.len() as u64);
        let outcomes: Vec<(Outcome, Duration)> = self
            .plugins
            .par_iter()
            .map(|plugin| {
                let run = Instant::now();
                let outcome = self.evaluate(plugin, &resources, &units, &attributes);
                progress.advance(Stage::Evaluating, 1);
                (outcome, run.elapsed())
            })
            .collect();
        progress.finish(Stage::Evaluating);
        timings.evaluation = evaluating.elapsed();
        let collecting = Instant::now();
        let mut findings = Vec::new();
        let mut logs = Vec::new();
        for (plugin, ((f, e, l), took)) in self.plugins.iter().zip(outcomes) {
            timings.per_plugin.push((plugin.label().to_string(), took));
            findings.extend(f);
            errors.extend(e);
            logs.extend(l);
        }
        findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        findings.dedup();
        let (refused, mut warnings) = exceptions::apply(
            &mut findings,
            &Exceptions {
                waivers: &self.config.waivers,
                config: self.config.path.as_deref(),
                baseline: self.baseline.as_deref(),
                today: self.today,
            },
            |rule| rules.contains_key(rule),
        );
        errors.extend(refused);
        warnings.sort();
        warnings.dedup();
        let outside_diff = inputs
            .diff_base
            .as_ref()
            .map(|base| restrict_to_diff(base, &mut findings, &resources, &mut errors));
        errors.sort();
        errors.dedup();

        let mut by_severity: BTreeMap<Severity, usize> =
            Severity::ALL.into_iter().map(|s| (s, 0)).collect();
        for f in findings.iter().filter(|f| f.is_active()) {
            *by_severity.entry(f.severity).or_default() += 1;
        }
        let active = findings.iter().filter(|f| f.is_active()).count();
        let summary = Summary {
            files,
            images,
            skipped_files: discovered.skipped.len(),
            resources: resources.len(),
            plugins: self.plugins.len(),
            rules: rules.values().filter(|r| r.enabled).count(),
            findings: active,
            suppressed: findings.len() - active,
            outside_diff,
            by_severity,
            errors: errors.len(),
            fail_on: self.fail_on(),
        };
        timings.findings = collecting.elapsed();
        timings.total = timings.config + timings.plugins + started.elapsed();
        ScanReport {
            findings,
            errors,
            warnings,
            summary,
            rules,
            logs,
            overrides: self.overrides.clone(),
            timings,
        }
    }

    fn evaluate(
        &self,
        plugin: &Plugin,
        resources: &[Resource],
        units: &[Option<usize>],
        attributes: &[String],
    ) -> Outcome {
        let enabled: HashMap<&str, &RuleInfo> = plugin
            .info()
            .rules
            .iter()
            .filter(|r| self.config.rule_enabled(&r.id))
            .map(|r| (r.id.as_str(), r))
            .collect();
        let wanted: Vec<usize> = (0..resources.len())
            .filter(|&i| {
                enabled
                    .values()
                    .flat_map(|r| &r.kinds)
                    .any(|k| crate::engine::kind_matches(k, &resources[i].kind))
            })
            .collect();
        if wanted.is_empty() {
            return (Vec::new(), Vec::new(), Vec::new());
        }
        let inputs: Vec<Input<'_>> = wanted
            .iter()
            .map(|&i| Input {
                id: &resources[i].id,
                kind: &resources[i].kind,
                file: &resources[i].file,
                attributes: &attributes[i],
                unit: units[i],
            })
            .collect();
        let settings = self.config.pack_settings(&plugin.info().name);
        let run = self.engine.run(plugin, &settings, &inputs);
        let mut logs: Vec<PluginLogLine> = run
            .log
            .lines
            .into_iter()
            .map(|(level, message)| PluginLogLine {
                plugin: plugin.label().to_string(),
                level,
                message,
            })
            .collect();
        if run.log.dropped_bytes > 0 {
            logs.push(PluginLogLine {
                plugin: plugin.label().to_string(),
                level: "warn",
                message: format!(
                    "{} more bytes of log dropped (cap reached)",
                    run.log.dropped_bytes
                ),
            });
        }
        let raw = match run.result {
            Ok(raw) => raw,
            Err(e) => {
                return (
                    Vec::new(),
                    vec![ScanError::plugin(&e.plugin, e.failure.to_string())],
                    logs,
                );
            }
        };

        let mut findings = Vec::with_capacity(raw.len());
        let mut errors = Vec::new();
        for f in raw {
            let Some(rule) = plugin.info().rules.iter().find(|r| r.id == f.rule_id) else {
                errors.push(ScanError::plugin(
                    plugin.label(),
                    format!("reported a finding for undeclared rule `{}`", f.rule_id),
                ));
                continue;
            };
            if !enabled.contains_key(rule.id.as_str()) {
                continue;
            }
            let Some(index) = f.resource.map(|i| wanted[i]) else {
                errors.push(ScanError::plugin(
                    plugin.label(),
                    format!(
                        "reported a finding for `{}`, a resource it was not given",
                        f.resource_id
                    ),
                ));
                continue;
            };
            let resource = &resources[index];
            let span = resource.locate(&f.pointer);
            let severity = self
                .config
                .rule_severity(&rule.id)
                .or(f.severity)
                .unwrap_or(rule.severity);
            let pack = &plugin.info().name;
            findings.push(Finding {
                fingerprint: Finding::fingerprint_of(
                    &f.rule_id,
                    &resource.file,
                    &resource.id,
                    &f.pointer,
                ),
                enforcement: self.config.enforcement(&rule.id, pack),
                rule: f.rule_id,
                severity,
                resource: resource.id.clone(),
                kind: resource.kind.clone(),
                file: resource.file.clone(),
                line: span.line,
                column: if span.line == 0 { 0 } else { span.column },
                detail: resource.detail(&f.pointer),
                message: f.message,
                pointer: f.pointer,
                plugin: pack.clone(),
                suppression: None,
                resource_line: resource.line,
            });
        }
        (findings, errors, logs)
    }
}

/// What one plugin's run gave: findings, errors, log lines.
type Outcome = (Vec<Finding>, Vec<ScanError>, Vec<PluginLogLine>);
/// Drops the findings outside the change since `base` (see [`DiffBase`]); returns how many.
/// A file whose change cannot be worked out keeps its findings and is reported as an error.
fn restrict_to_diff(
    base: &DiffBase,
    findings: &mut Vec<Finding>,
    resources: &[Resource],
    errors: &mut Vec<ScanError>,
) -> usize {
    let extents: HashMap<(&str, &str), (u32, u32)> = resources
        .iter()
        .map(|r| ((r.file.as_str(), r.id.as_str()), (r.line, r.end_line)))
        .collect();
    let restriction = base.retain_changed(findings, |f| {
        let (start, end) = extents
            .get(&(f.file.as_str(), f.resource.as_str()))
            .copied()
            .unwrap_or((f.resource_line, f.resource_line));
        start..=end.max(start)
    });
    errors.extend(
        restriction
            .problems
            .into_iter()
            .map(|(file, reason)| ScanError {
                file: Some(file),
                line: None,
                plugin: None,
                message: format!("--diff-base {}: {reason}", base.rev()),
            }),
    );
    restriction.outside
}

/// One unit of normalization.
enum Job<'a> {
    /// A file normalized on its own.
    File(&'a SourceFile),
    /// The Terraform files found in one directory: a root module (unless another root in the
    /// scan calls it as a module).
    Terraform {
        dir: PathBuf,
        display: String,
        files: usize,
    },
    /// A container image named on the command line.
    Image {
        reference: &'a str,
        options: &'a ImageOptions,
        registry: &'a RegistryOptions,
    },
}

/// What one job produced.
struct Normalization {
    resources: Vec<Resource>,
    diagnostics: Vec<Diagnostic>,
    /// Files read.
    files: usize,
    /// Images read.
    images: usize,
    /// Canonical directories followed as local Terraform modules.
    local_modules: Vec<PathBuf>,
    /// The canonical directory of a Terraform root module.
    root: Option<PathBuf>,
}

/// The jobs for the discovered files, in file order: Terraform files found by walking are
/// grouped by directory, as Terraform reads a module; every other file, and a Terraform file
/// named on the command line, is a job of its own.
fn jobs(files: &[SourceFile]) -> Vec<Job<'_>> {
    let mut jobs = Vec::new();
    let mut terraform_dirs: HashMap<&Path, usize> = HashMap::new();
    for file in files {
        if file.explicit || !palisade_normalize::terraform::hcl::is_candidate(&file.path) {
            jobs.push(Job::File(file));
            continue;
        }
        let dir = file.path.parent().unwrap_or(Path::new("."));
        match terraform_dirs.get(dir) {
            Some(&at) => {
                if let Job::Terraform { files, .. } = &mut jobs[at] {
                    *files += 1;
                }
            }
            None => {
                terraform_dirs.insert(dir, jobs.len());
                let display = Path::new(&file.display)
                    .parent()
                    .map(|d| d.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default();
                jobs.push(Job::Terraform {
                    dir: dir.to_path_buf(),
                    display: if display.is_empty() {
                        ".".into()
                    } else {
                        display
                    },
                    files: 1,
                });
            }
        }
    }
    jobs
}

impl Job<'_> {
    /// How many input files or images the job reads, for progress.
    fn inputs(&self) -> usize {
        match self {
            Job::File(_) | Job::Image { .. } => 1,
            Job::Terraform { files, .. } => *files,
        }
    }

    fn run(&self, limits: &palisade_normalize::Limits) -> Normalization {
        match self {
            Job::File(file) => {
                let (resources, diagnostics, read) = normalize(file, limits);
                Normalization {
                    resources,
                    diagnostics,
                    files: usize::from(read),
                    images: 0,
                    local_modules: Vec::new(),
                    root: None,
                }
            }
            Job::Terraform {
                dir,
                display,
                files,
            } => {
                let output =
                    palisade_normalize::terraform::hcl::normalize_directory(dir, display, limits);
                Normalization {
                    resources: output.normalized.resources,
                    diagnostics: output.normalized.diagnostics,
                    files: *files,
                    images: 0,
                    local_modules: output.local_modules,
                    root: Some(output.root),
                }
            }
            Job::Image {
                reference,
                options,
                registry,
            } => {
                let output =
                    crate::image::normalize_with_registry(reference, options, registry, limits);
                Normalization {
                    resources: output.resources,
                    diagnostics: output.diagnostics,
                    files: 0,
                    images: 1,
                    local_modules: Vec::new(),
                    root: None,
                }
            }
        }
    }
}

/// True for resources that refer to others of the same normalization unit (a Terraform module
/// tree, a CloudFormation template), which plugins must then see in one batch.
fn joinable(kind: &str) -> bool {
    kind.starts_with("terraform/") || kind.starts_with("cloudformation/")
}

/// Reads and normalizes one file: its resources, its diagnostics, and whether it was read.
fn normalize(
    file: &SourceFile,
    limits: &palisade_normalize::Limits,
) -> (Vec<Resource>, Vec<Diagnostic>, bool) {
    if !palisade_normalize::is_candidate(&file.path) {
        return (Vec::new(), Vec::new(), false);
    }
    let diagnostic = |message: String| Diagnostic {
        file: file.display.clone(),
        line: None,
        message,
    };
    match std::fs::metadata(&file.path) {
        Ok(meta) if meta.len() > limits.max_file_bytes => {
            return (
                Vec::new(),
                vec![diagnostic(format!(
                    "file is {:.1} MiB, over the {} MiB limit (raise `limits.max-file-mib` in palisade.toml)",
                    meta.len() as f64 / (1u64 << 20) as f64,
                    limits.max_file_bytes >> 20
                ))],
                true,
            );
        }
        Ok(_) => {}
        Err(e) => {
            return (
                Vec::new(),
                vec![diagnostic(format!("cannot read: {e}"))],
                true,
            );
        }
    }
    let bytes = match std::fs::read(&file.path) {
        Ok(b) => b,
        Err(e) => {
            return (
                Vec::new(),
                vec![diagnostic(format!("cannot read: {e}"))],
                true,
            );
        }
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return (
            Vec::new(),
            vec![diagnostic("not UTF-8 text".to_string())],
            true,
        );
    };
    let normalized = palisade_normalize::normalize_file(&file.display, &file.path, &text, limits);
    (normalized.resources, normalized.diagnostics, true)
}
