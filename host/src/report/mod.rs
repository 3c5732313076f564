//! Renders a [`ScanReport`](crate::ScanReport) for people and for machines.

mod json;
mod text;

use std::str::FromStr;

pub use json::{JSON_SCHEMA_VERSION, json};
pub use text::{Style, text};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people: grouped by file, with the source line and the fix.
    Text,
    /// For machines: the stable JSON document described in the README.
    Json,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            other => Err(format!("unknown format `{other}` (expected text or json)")),
        }
    }
}
