//! How far a scan has got, and how long each stage took.
//!
//! The library reports progress through the [`Progress`] trait, so an embedder draws it however
//! it likes (the CLI draws a bar on a terminal) and the library depends on no terminal crate.
//! [`Timings`] is what the scan measured; it is kept out of the JSON report, which must be the
//! same bytes for the same inputs.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A stage of a scan whose items can be counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Compiling (or loading from the cache) and describing plugins; items are plugins.
    Loading,
    /// Reading and parsing input files and images; items are files and images.
    Normalizing,
    /// Running plugins over the resources; items are plugins.
    Evaluating,
}

impl Stage {
    /// A short lowercase label, e.g. for a progress bar.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Loading => "loading plugins",
            Stage::Normalizing => "reading files",
            Stage::Evaluating => "evaluating",
        }
    }
}

/// Receives a scan's progress. Called from the scan's worker threads, in any order within a
/// stage; every method has a default that does nothing.
///
/// ```no_run
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use palisade::{Progress, Scan, Stage};
///
/// /// Counts the files read.
/// #[derive(Default)]
/// struct FilesRead(AtomicU64);
///
/// impl Progress for FilesRead {
///     fn advance(&self, stage: Stage, done: u64) {
///         if stage == Stage::Normalizing {
///             self.0.fetch_add(done, Ordering::Relaxed);
///         }
///     }
/// }
///
/// let files = Arc::new(FilesRead::default());
/// let report = Scan::new(["deploy/"]).progress(files.clone()).run()?;
/// eprintln!("{} files read; {}", files.0.load(Ordering::Relaxed), report.timings);
/// # Ok::<(), palisade::ConfigError>(())
/// ```
pub trait Progress: Send + Sync {
    /// A stage starts with `total` items to do.
    fn start(&self, stage: Stage, total: u64) {
        let _ = (stage, total);
    }

    /// `done` more items of the stage are finished.
    fn advance(&self, stage: Stage, done: u64) {
        let _ = (stage, done);
    }

    /// The stage is over.
    fn finish(&self, stage: Stage) {
        let _ = stage;
    }
}

/// The progress receiver of a scan: none, or one shared by the scan's threads.
#[derive(Clone, Default)]
pub(crate) struct ProgressSink(Option<Arc<dyn Progress>>);

impl ProgressSink {
    pub(crate) fn new(progress: Arc<dyn Progress>) -> ProgressSink {
        ProgressSink(Some(progress))
    }

    pub(crate) fn start(&self, stage: Stage, total: u64) {
        if let Some(p) = &self.0 {
            p.start(stage, total);
        }
    }

    pub(crate) fn advance(&self, stage: Stage, done: u64) {
        if let Some(p) = &self.0 {
            p.advance(stage, done);
        }
    }

    pub(crate) fn finish(&self, stage: Stage) {
        if let Some(p) = &self.0 {
            p.finish(stage);
        }
    }
}

impl fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "ProgressSink(set)"
        } else {
            "ProgressSink(none)"
        })
    }
}

/// How long each stage of a scan took (wall-clock time).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timings {
    /// Reading `palisade.toml` and the lock, verifying registry packs.
    pub config: Duration,
    /// Compiling (or loading from the compile cache) and describing the plugins.
    pub plugins: Duration,
    /// Plugins loaded from the compile cache, and plugins compiled afresh.
    pub compile_cache: CacheCounts,
    /// Walking the scan roots.
    pub discovery: Duration,
    /// Reading and parsing files and images into resources.
    pub normalization: Duration,
    /// All plugins, run in parallel.
    pub evaluation: Duration,
    /// Each plugin's own run, by its label, in the order the plugins were loaded.
    pub per_plugin: Vec<(String, Duration)>,
    /// Sorting the findings and counting them.
    pub findings: Duration,
    /// Rendering and writing the report; the library does not report, so its caller sets it.
    pub reporting: Option<Duration>,
    /// From the start of loading to the end of the scan (and of reporting, once set).
    pub total: Duration,
}

/// How many plugins the compile cache served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheCounts {
    pub hits: usize,
    pub misses: usize,
}

impl Timings {
    /// Records the reporting time, which also counts in the total.
    pub fn add_reporting(&mut self, took: Duration) {
        self.reporting = Some(self.reporting.unwrap_or_default() + took);
        self.total += took;
    }
}

/// The timing summary `--verbose` prints: one stage a line, durations aligned.
impl fmt::Display for Timings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cache = &self.compile_cache;
        let cache = if cache.hits + cache.misses == 0 {
            String::new()
        } else {
            format!(
                " ({} from the compile cache, {} compiled)",
                cache.hits, cache.misses
            )
        };
        writeln!(f, "timings:")?;
        writeln!(f, "  {:>9}  config", millis(self.config))?;
        writeln!(f, "  {:>9}  plugin loading{cache}", millis(self.plugins))?;
        writeln!(f, "  {:>9}  discovery", millis(self.discovery))?;
        writeln!(f, "  {:>9}  normalization", millis(self.normalization))?;
        let plugins = match self.per_plugin.len() {
            1 => "1 plugin".to_string(),
            n => format!("{n} plugins in parallel"),
        };
        writeln!(
            f,
            "  {:>9}  evaluation ({plugins})",
            millis(self.evaluation)
        )?;
        for (plugin, took) in &self.per_plugin {
            writeln!(f, "  {:>9}    {plugin}", millis(*took))?;
        }
        writeln!(f, "  {:>9}  findings", millis(self.findings))?;
        if let Some(reporting) = self.reporting {
            writeln!(f, "  {:>9}  reporting", millis(reporting))?;
        }
        writeln!(f, "  {:>9}  total", millis(self.total))
    }
}

/// A duration as milliseconds with one decimal, e.g. `12.3 ms`.
fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_every_stage_and_each_plugin() {
        let mut timings = Timings {
            plugins: Duration::from_millis(40),
            compile_cache: CacheCounts { hits: 3, misses: 1 },
            per_plugin: vec![("kubernetes".into(), Duration::from_micros(2500))],
            total: Duration::from_millis(100),
            ..Timings::default()
        };
        timings.add_reporting(Duration::from_millis(5));
        let text = timings.to_string();
        for expected in [
            "config",
            "40.0 ms  plugin loading (3 from the compile cache, 1 compiled)",
            "discovery",
            "normalization",
            "evaluation (1 plugin)",
            "2.5 ms    kubernetes",
            "5.0 ms  reporting",
            "105.0 ms  total",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }
}
