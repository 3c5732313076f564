//! Container images named with `--image`: opened from disk (OCI layouts, `docker save`
//! archives, bare config or manifest JSON) and normalized into `image/*` resources.

use std::io::Read;
use std::path::Path;

use palisade_normalize::image::{self, ImageOptions};
use palisade_normalize::{Diagnostic, Limits, Normalized};

/// Normalizes the image `reference` names. Problems are diagnostics on the reference.
pub fn normalize(reference: &str, options: &ImageOptions, limits: &Limits) -> Normalized {
    if let Some(store) = image::open_local(reference) {
        return match store {
            Ok(mut store) => image::normalize_image(store.as_mut(), options),
            Err(error) => failed(reference, error.to_string()),
        };
    }
    let path = Path::new(reference);
    if path.is_file() {
        return match read_bounded(path, limits.max_file_bytes) {
            Ok(text) => image::normalize_json(reference, &text, limits),
            Err(message) => failed(reference, message),
        };
    }
    failed(
        reference,
        "no such OCI layout (`oci:DIR[:TAG]`), docker archive (`docker-archive:FILE`) or image \
         config/manifest JSON file; pulling from a registry is not supported yet"
            .to_owned(),
    )
}

fn failed(reference: &str, message: String) -> Normalized {
    Normalized {
        recognized: true,
        resources: Vec::new(),
        diagnostics: vec![Diagnostic {
            file: reference.to_owned(),
            line: None,
            message,
        }],
    }
}

fn read_bounded(path: &Path, max: u64) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read file: {e}"))?;
    let mut text = String::new();
    file.take(max.saturating_add(1))
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read file: {e}"))?;
    if text.len() as u64 > max {
        return Err(format!("file is larger than {max} bytes; not read"));
    }
    Ok(text)
}
