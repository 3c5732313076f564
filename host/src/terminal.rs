//! What the CLI shows on the terminal besides the report: colours, the progress bar, the
//! quiet and verbose modes.
//!
//! Colours follow <https://no-color.org>: with `--color auto` (the default) a stream is
//! coloured when it is a terminal and `NO_COLOR` is unset or empty; `--color always` and
//! `--color never` are the user's explicit choice and beat `NO_COLOR`, as the convention allows
//! command-line flags to.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use palisade::progress::{Progress, Stage};
use palisade::report::Style;

/// When to colour output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When the stream is a terminal and `NO_COLOR` is unset or empty.
    #[default]
    Auto,
    /// Always, even when piped or when `NO_COLOR` is set.
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// The style for a stream, given whether it is a terminal.
    pub fn style(self, is_terminal: bool) -> Style {
        let colour = match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        if colour { Style::Color } else { Style::Plain }
    }
}

/// The style of messages on stderr, set once from `--color` when the CLI starts.
static STDERR_STYLE: OnceLock<Style> = OnceLock::new();

/// Sets how stderr messages are coloured.
pub fn set_color(choice: ColorChoice) {
    let _ = STDERR_STYLE.set(choice.style(std::io::stderr().is_terminal()));
}

/// A message label (`error:`, `warning:`) coloured as stderr allows.
pub fn label(code: &str, label: &str) -> String {
    match STDERR_STYLE.get().copied().unwrap_or(Style::Plain) {
        Style::Plain => label.to_string(),
        Style::Color => format!("\x1b[{code}m{label}\x1b[0m"),
    }
}

/// Whether a progress bar may be drawn: stderr is a terminal and this is not a CI job (where
/// logs are files and a bar would only add noise).
pub fn progress_wanted(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none_or(|v| v.is_empty())
}

/// A scan's progress drawn as a bar on stderr, from the moment a scan has run long enough to
/// need one; quick scans never show it.
pub struct ProgressLine {
    bar: ProgressBar,
    started: Instant,
}

/// How long a scan runs before its bar appears.
const SHOW_AFTER: Duration = Duration::from_millis(300);

impl ProgressLine {
    /// A hidden bar; it draws on stderr once the scan has run for [`SHOW_AFTER`].
    pub fn new() -> ProgressLine {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{msg:>15} [{bar:30}] {pos}/{len}  {elapsed}")
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        ProgressLine {
            bar,
            started: Instant::now(),
        }
    }

    /// Removes the bar from the terminal, before anything else is printed.
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }

    fn reveal(&self) {
        if self.bar.is_hidden() && self.started.elapsed() >= SHOW_AFTER {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }
}

impl Progress for ProgressLine {
    fn start(&self, stage: Stage, total: u64) {
        // Position first, so no frame shows the last stage's count over this one's total.
        self.bar.set_position(0);
        self.bar.set_length(total);
        self.bar.set_message(stage.label());
        self.reveal();
    }

    fn advance(&self, _stage: Stage, done: u64) {
        self.bar.inc(done);
        self.reveal();
    }
}
