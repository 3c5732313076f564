//! Palisade: a policy engine for infrastructure code whose rules are sandboxed WebAssembly
//! plugins.
//!
//! The library is the whole engine; the `palisade` binary is a thin CLI over [`Scan`]. A scan
//! flows through one module per stage: [`config`] → plugins ([`engine`], [`packs`]) →
//! [`discover`] → normalize ([`palisade_normalize`]) → evaluate ([`engine`]) → [`findings`] →
//! [`report`]. Plugins from outside are checked first by [`registry`] (signed artifacts).

pub mod config;
pub mod discover;
pub mod engine;
pub mod findings;
pub mod fixtures;
mod http;
pub mod image;
pub mod init;
pub mod inspect;
pub mod new;
pub mod packs;
pub mod progress;
pub mod registry;
pub mod report;
pub mod scan;

pub use config::{Config, ConfigError};
pub use findings::{Finding, Severity};
pub use palisade_normalize as normalize;
pub use progress::{Progress, Stage, Timings};
pub use scan::{
    Inputs, LoadedRule, PluginLogLine, Scan, ScanError, ScanReport, ScanWarning, Session, Summary,
};
