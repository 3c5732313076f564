//! Palisade's resource model and the normalizers that turn infrastructure files into it.
//!
//! Every format's parser yields [`Resource`]s: a stable id, a `<format>/<type>` kind, the
//! attributes as JSON, and a [`SpanTable`] that maps every JSON pointer into the attributes back
//! to a line of the source file. Bad input becomes a [`Diagnostic`], never a panic.
//!
//! This crate is shared by the host (`palisade`) and the plugin SDK's native test harness, so a
//! rule's fixture test sees exactly the resources the host would hand the plugin.

pub mod cloudformation;
pub mod dockerfile;
pub mod expect;
pub mod image;
pub mod kubernetes;
mod resource;
pub mod terraform;
pub mod yaml;

pub use resource::{
    DetailTable, Diagnostic, Limits, Normalized, PointerTable, Resource, Span, SpanTable,
};

use std::path::Path;

/// Normalizes one file, choosing the format by its name and content.
///
/// `display` is the path shown in resources and diagnostics (relative to the scan root, as the
/// user gave it); `path` is only used for its name. Files of no known format give an empty,
/// unrecognized result.
pub fn normalize_file(display: &str, path: &Path, text: &str, limits: &Limits) -> Normalized {
    if dockerfile::is_candidate(path) {
        return dockerfile::normalize(display, text, limits);
    }
    // Before the JSON branch: `.tf.json` ends in `.json`.
    if terraform::hcl::is_candidate(path) {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        if name.ends_with(".tfvars") || name.ends_with(".tfvars.json") {
            // Variable values: read with their root module, no resources of their own.
            return Normalized {
                recognized: true,
                ..Normalized::default()
            };
        }
        return terraform::hcl::normalize_file(display, text, name.ends_with(".json"), limits);
    }
    // YAML and JSON hold several formats: tell them apart by content.
    if kubernetes::is_candidate(path) {
        if terraform::plan::looks_like_plan(text) {
            return terraform::plan::normalize(display, text, limits);
        }
        if cloudformation::looks_like_template(text) {
            return cloudformation::normalize(display, text, limits);
        }
        if image::looks_like_config(text) || image::looks_like_manifest(text) {
            return image::normalize_json(display, text, limits);
        }
        return kubernetes::normalize(display, text, limits);
    }
    Normalized::default()
}

/// Reads `reader` to its end, but never more than `max` bytes: `None` when there is more (the
/// caller names the input in its own error).
pub fn read_capped(reader: impl std::io::Read, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut reader.take(max.saturating_add(1)), &mut bytes)?;
    Ok((bytes.len() as u64 <= max).then_some(bytes))
}

/// True when some normalizer reads files with this name; other files are not even opened.
pub fn is_candidate(path: &Path) -> bool {
    dockerfile::is_candidate(path)
        || kubernetes::is_candidate(path)
        || terraform::hcl::is_candidate(path)
}
