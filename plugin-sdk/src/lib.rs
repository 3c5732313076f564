//! Write Palisade policy plugins in Rust.
//!
//! A policy pack is a list of [`Rule`]s, each a plain function over one normalized
//! [`Resource`]. Declare the pack with [`Policy`], export it with [`export_policy!`], build it for
//! `wasm32-wasip2`, and the Palisade host runs it in its sandbox:
//!
//! ```
//! use palisade_sdk::{Policy, Report, Resource, Rule, Severity, kubernetes};
//!
//! /// Containers must not run privileged.
//! fn privileged(resource: &Resource, report: &mut Report) {
//!     for container in kubernetes::containers(resource) {
//!         if container.security_context("privileged").as_bool() == Some(true) {
//!             report.finding(
//!                 container.pointer_to(&["securityContext", "privileged"]),
//!                 format!("container `{}` runs privileged", container.name),
//!             );
//!         }
//!     }
//! }
//!
//! pub struct Pack;
//! impl Policy for Pack {
//!     const NAME: &'static str = "example";
//!     const VERSION: &'static str = "0.1.0";
//!     const RULES: &'static [Rule] = &[Rule {
//!         id: "example/privileged",
//!         title: "Privileged container",
//!         severity: Severity::High,
//!         kinds: kubernetes::WORKLOAD_KINDS,
//!         description: "A privileged container can do anything the host kernel can.",
//!         remediation: "Remove `securityContext.privileged: true`.",
//!         help_uri: None,
//!         tags: &[],
//!         check: privileged,
//!     }];
//! }
//! palisade_sdk::export_policy!(Pack);
//! ```
//!
//! With the `testing` feature, [`testing`] runs a pack's rules on fixture files natively, so
//! `cargo test` in the plugin crate checks every rule without building a component.

pub mod aws;
pub mod dockerfile;
pub mod image;
pub mod kubernetes;
pub mod log;
pub mod pointer;
pub mod secrets;
pub mod shell;
#[cfg(feature = "testing")]
pub mod testing;

use std::any::{Any, TypeId};
use std::cell::{OnceCell, RefCell};
use std::rc::Rc;
use std::sync::Mutex;

pub use serde_json;
pub use serde_json_borrow::{ObjectAsVec as Object, OwnedValue, Value};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// The lowercase name used in configs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// A rule's check: reports findings about one resource.
pub type Check = fn(&Resource<'_>, &mut Report<'_, '_>);

/// One rule of a pack: its metadata and its check.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable slug, e.g. `k8s/privileged-container`.
    pub id: &'static str,
    /// One line shown next to each finding.
    pub title: &'static str,
    /// Default severity of the rule's findings.
    pub severity: Severity,
    /// Resource kinds the rule judges: exact (`kubernetes/Pod`) or prefix (`kubernetes/*`).
    pub kinds: &'static [&'static str],
    /// What the rule checks and why it matters (Markdown).
    pub description: &'static str,
    /// How to fix a finding (Markdown).
    pub remediation: &'static str,
    /// Where to read more.
    pub help_uri: Option<&'static str>,
    /// Labels such as benchmark references.
    pub tags: &'static [&'static str],
    /// The check itself.
    pub check: Check,
}

impl Rule {
    /// True when the rule judges resources of `kind`.
    pub fn applies_to(&self, kind: &str) -> bool {
        self.kinds.iter().any(|pattern| kind_matches(pattern, kind))
    }
}

/// True when a kind pattern (`kubernetes/Pod`, `kubernetes/*` or `*`) matches `kind`.
pub fn kind_matches(pattern: &str, kind: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => kind.starts_with(prefix),
        None => pattern == kind,
    }
}

/// A policy pack: its name, version and rules.
pub trait Policy: 'static {
    /// Pack name, e.g. `kubernetes`.
    const NAME: &'static str;
    /// Pack version (semver).
    const VERSION: &'static str;
    /// Every rule of the pack.
    const RULES: &'static [Rule];

    /// Checks the pack's settings from `palisade.toml` (a JSON object) before any evaluation.
    /// Rules read the settings through [`Report::config`].
    fn configure(config: &Value<'_>) -> Result<(), String> {
        let _ = config;
        Ok(())
    }

    /// When true, a rule sees the whole batch through [`Report::batch`], so it can join related
    /// resources (a bucket and the separate resource that blocks its public access). The host
    /// keeps the resources of one Terraform module, one template or one file in one batch. The
    /// batch is then parsed at once rather than one resource at a time, so packs that judge each
    /// resource alone leave this `false`.
    const SEES_BATCH: bool = false;
}

/// A normalized infrastructure object, as the host hands it over.
///
/// Its attributes are parsed in place from the host's JSON: strings borrow from it and objects
/// are small vectors, so parsing allocates little and dropping is cheap. Views derived from the
/// attributes (such as [`kubernetes::pod_spec`]) are computed once per resource, however many
/// rules ask for them.
#[derive(Debug)]
pub struct Resource<'a> {
    /// Stable address, e.g. `Deployment/prod/web`.
    pub id: &'a str,
    /// `<format>/<type>`, e.g. `kubernetes/Deployment`.
    pub kind: &'a str,
    /// Source file, relative to the scan root.
    pub file: &'a str,
    /// The resource's data.
    pub attributes: &'a Value<'a>,
    type_name: &'a str,
    pod_spec: OnceCell<Option<kubernetes::PodSpec<'a>>>,
}

/// What a missing attribute reads as.
pub(crate) static NULL: Value<'static> = Value::Null;

impl<'a> Resource<'a> {
    /// A resource over parsed attributes.
    pub fn new(id: &'a str, kind: &'a str, file: &'a str, attributes: &'a Value<'a>) -> Self {
        Resource {
            id,
            kind,
            file,
            attributes,
            type_name: kind.split_once('/').map_or(kind, |(_, t)| t),
            pod_spec: OnceCell::new(),
        }
    }

    /// The attribute at an RFC 6901 JSON pointer, or `Value::Null` when there is none (like
    /// [`Value::get`], so lookups chain without unwrapping).
    pub fn get(&self, pointer: &str) -> &'a Value<'a> {
        pointer::get(self.attributes, pointer).unwrap_or(&NULL)
    }

    /// The part of the kind after `<format>/`, e.g. `Deployment`.
    pub fn type_name(&self) -> &'a str {
        self.type_name
    }
}

/// One violation of a rule by a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule_id: String,
    pub resource_id: String,
    pub message: String,
    /// JSON pointer into the resource's attributes at the offending value.
    pub pointer: String,
    /// Overrides the rule's default severity.
    pub severity: Option<Severity>,
}

/// Where a rule's check reports its findings about one resource.
pub struct Report<'a, 'r> {
    rule: &'static Rule,
    resource_id: &'a str,
    batch: &'a [Resource<'r>],
    indexes: &'a BatchIndexes,
    config: &'a Value<'a>,
    findings: &'a mut Vec<Finding>,
}

impl<'a, 'r> Report<'a, 'r> {
    /// Reports a finding at `pointer`: the offending value, or where it should be when it is
    /// missing (the host then reports the line of the nearest part that exists).
    pub fn finding(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.push(pointer.into(), message.into(), None);
    }

    /// Reports a finding with a severity other than the rule's default.
    pub fn finding_with_severity(
        &mut self,
        pointer: impl Into<String>,
        message: impl Into<String>,
        severity: Severity,
    ) {
        self.push(pointer.into(), message.into(), Some(severity));
    }

    /// The pack's settings from `palisade.toml` (an empty object when none).
    pub fn config(&self) -> &Value<'_> {
        self.config
    }

    /// The rule being checked.
    pub fn rule(&self) -> &Rule {
        self.rule
    }

    /// The resources evaluated together with this one (this one included), for packs whose
    /// [`Policy::SEES_BATCH`] is true; otherwise just this resource.
    pub fn batch(&self) -> &'a [Resource<'r>] {
        self.batch
    }

    /// A value derived from the whole batch (typically an index from names to positions in
    /// [`Report::batch`]), built by `build` the first time any rule asks for a `T` during this
    /// batch and shared by every later rule and resource, so joining related resources costs
    /// one pass over the batch instead of one per resource.
    pub fn batch_index<T: Any>(&self, build: impl FnOnce(&[Resource<'r>]) -> T) -> Rc<T> {
        let key = TypeId::of::<T>();
        if let Some(found) = self.indexes.get(key) {
            return found;
        }
        let built = Rc::new(build(self.batch));
        self.indexes
            .entries
            .borrow_mut()
            .push((key, Rc::clone(&built) as Rc<dyn Any>));
        built
    }

    fn push(&mut self, pointer: String, message: String, severity: Option<Severity>) {
        self.findings.push(Finding {
            rule_id: self.rule.id.to_string(),
            resource_id: self.resource_id.to_string(),
            message,
            pointer,
            severity,
        });
    }
}

/// The values [`Report::batch_index`] built for the current batch, by type.
#[derive(Default)]
struct BatchIndexes {
    entries: RefCell<Vec<(TypeId, Rc<dyn Any>)>>,
}

impl BatchIndexes {
    fn get<T: Any>(&self, key: TypeId) -> Option<Rc<T>> {
        let entries = self.entries.borrow();
        let (_, value) = entries.iter().find(|(k, _)| *k == key)?;
        Rc::clone(value).downcast::<T>().ok()
    }
}

/// Runs every rule of `P` that applies to each resource, in rule order.
pub fn evaluate<P: Policy>(resources: &[Resource<'_>], config: &Value<'_>) -> Vec<Finding> {
    let mut evaluator = Evaluator::<P>::new();
    let mut findings = Vec::new();
    let indexes = BatchIndexes::default();
    for (index, resource) in resources.iter().enumerate() {
        if P::SEES_BATCH {
            evaluator.evaluate(resource, resources, &indexes, config, &mut findings);
        } else {
            // Each resource is its own batch: nothing derived from one carries to the next.
            let alone = BatchIndexes::default();
            let batch = &resources[index..=index];
            evaluator.evaluate(resource, batch, &alone, config, &mut findings);
        }
    }
    findings
}

/// Runs a pack's rules resource by resource, remembering which rules apply to each kind (a
/// batch holds few kinds, and matching every rule's patterns per resource adds up).
struct Evaluator<P: Policy> {
    rules_by_kind: std::collections::HashMap<String, Vec<&'static Rule>>,
    pack: std::marker::PhantomData<P>,
}

impl<P: Policy> Evaluator<P> {
    fn new() -> Self {
        Evaluator {
            rules_by_kind: std::collections::HashMap::new(),
            pack: std::marker::PhantomData,
        }
    }

    fn evaluate<'r>(
        &mut self,
        resource: &Resource<'r>,
        batch: &[Resource<'r>],
        indexes: &BatchIndexes,
        config: &Value<'_>,
        findings: &mut Vec<Finding>,
    ) {
        let rules = match self.rules_by_kind.get(resource.kind) {
            Some(rules) => rules,
            None => self
                .rules_by_kind
                .entry(resource.kind.to_string())
                .or_insert_with(|| {
                    P::RULES
                        .iter()
                        .filter(|r| r.applies_to(resource.kind))
                        .collect()
                }),
        };
        for rule in rules {
            let mut report = Report {
                rule,
                resource_id: resource.id,
                batch,
                indexes,
                config,
                findings,
            };
            (rule.check)(resource, &mut report);
        }
    }
}

/// The settings given to `configure`, kept for the evaluations of this instance.
static CONFIG: Mutex<Option<OwnedValue>> = Mutex::new(None);

#[doc(hidden)]
pub mod __private {
    //! Glue between the generated bindings and [`Policy`](crate::Policy); used by
    //! [`export_policy!`](crate::export_policy). Not a stable API.

    pub mod bindings {
        wit_bindgen::generate!({
            path: "../wit",
            world: "plugin",
            pub_export_macro: true,
            export_macro_name: "__export_plugin",
            default_bindings_module: "palisade_sdk::__private::bindings",
        });
    }

    pub use bindings::exports::palisade::policy::policy::Guest;
    use bindings::palisade::policy::types as wit;
    pub use wit::{Finding as WitFinding, PluginInfo, Resource as WitResource};

    use super::{CONFIG, OwnedValue, Policy, Severity, Value};

    fn severity(s: Severity) -> wit::Severity {
        match s {
            Severity::Info => wit::Severity::Info,
            Severity::Low => wit::Severity::Low,
            Severity::Medium => wit::Severity::Medium,
            Severity::High => wit::Severity::High,
            Severity::Critical => wit::Severity::Critical,
        }
    }

    pub fn describe<P: Policy>() -> PluginInfo {
        PluginInfo {
            name: P::NAME.to_string(),
            version: P::VERSION.to_string(),
            rules: P::RULES
                .iter()
                .map(|r| wit::Rule {
                    id: r.id.to_string(),
                    title: r.title.to_string(),
                    severity: severity(r.severity),
                    kinds: r.kinds.iter().map(|k| k.to_string()).collect(),
                    description: r.description.to_string(),
                    remediation: r.remediation.to_string(),
                    help_uri: r.help_uri.map(str::to_string),
                    tags: r.tags.iter().map(|t| t.to_string()).collect(),
                })
                .collect(),
        }
    }

    pub fn configure<P: Policy>(config: String) -> Result<(), String> {
        let value = OwnedValue::from_string(config)
            .map_err(|e| format!("settings are not valid JSON: {e}"))?;
        P::configure(&value)?;
        *CONFIG
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(value);
        Ok(())
    }

    fn parse(r: &WitResource) -> Result<Value<'_>, String> {
        serde_json::from_str(&r.attributes)
            .map_err(|e| format!("attributes of `{}` are not valid JSON: {e}", r.id))
    }

    pub fn evaluate<P: Policy>(batch: Vec<WitResource>) -> Result<Vec<WitFinding>, String> {
        let configured = CONFIG
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let no_settings;
        let config: &Value = match configured.as_ref() {
            Some(config) => config,
            None => {
                no_settings = Value::Object(Default::default());
                &no_settings
            }
        };
        let findings = if P::SEES_BATCH {
            let attributes = batch.iter().map(parse).collect::<Result<Vec<_>, _>>()?;
            let resources: Vec<super::Resource<'_>> = batch
                .iter()
                .zip(&attributes)
                .map(|(r, a)| super::Resource::new(&r.id, &r.kind, &r.file, a))
                .collect();
            super::evaluate::<P>(&resources, config)
        } else {
            let mut evaluator = super::Evaluator::<P>::new();
            let mut findings = Vec::new();
            // One resource at a time: its parsed attributes are dropped before the next is
            // parsed, so memory stays small and hot however large the batch.
            for r in &batch {
                let attributes = parse(r)?;
                let resource = super::Resource::new(&r.id, &r.kind, &r.file, &attributes);
                let indexes = super::BatchIndexes::default();
                let batch = std::slice::from_ref(&resource);
                evaluator.evaluate(&resource, batch, &indexes, config, &mut findings);
            }
            findings
        };
        Ok(findings
            .into_iter()
            .map(|f| WitFinding {
                rule_id: f.rule_id,
                resource_id: f.resource_id,
                message: f.message,
                pointer: f.pointer,
                severity: f.severity.map(severity),
            })
            .collect())
    }
}

/// Exports a [`Policy`] as the plugin's implementation of the `palisade:policy` interface.
///
/// Use it once, in the pack's `lib.rs`.
#[macro_export]
macro_rules! export_policy {
    ($policy:ty) => {
        #[doc(hidden)]
        pub struct __PalisadeExport;

        impl $crate::__private::Guest for __PalisadeExport {
            fn describe() -> $crate::__private::PluginInfo {
                $crate::__private::describe::<$policy>()
            }
            fn configure(config: ::std::string::String) -> ::std::result::Result<(), ::std::string::String> {
                $crate::__private::configure::<$policy>(config)
            }
            fn evaluate(
                resources: ::std::vec::Vec<$crate::__private::WitResource>,
            ) -> ::std::result::Result<
                ::std::vec::Vec<$crate::__private::WitFinding>,
                ::std::string::String,
            > {
                $crate::__private::evaluate::<$policy>(resources)
            }
        }

        // The component exports only exist for wasm; native builds (the pack's own `cargo test`)
        // keep the trait impl but not the symbols, whose names native linkers reject.
        #[cfg(target_family = "wasm")]
        $crate::__private::bindings::__export_plugin!(__PalisadeExport with_types_in $crate::__private::bindings);
    };
}
