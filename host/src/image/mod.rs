//! Container images named with `--image`: opened from disk (OCI layouts, `docker save`
//! archives, bare config or manifest JSON) or pulled from a registry, and normalized into
//! `image/*` resources.

pub mod auth;
pub mod reference;
pub mod registry;

use std::path::Path;

use palisade_normalize::image::{self, ImageOptions};
use palisade_normalize::{Diagnostic, Limits, Normalized};

pub use auth::{AUTH_ENV, Credential, RegistryCredentials};
pub use reference::{Reference, ReferenceError};
pub use registry::{RegistryOptions, RegistryStore};

/// Normalizes the image `reference` names: a local form first (`oci:`, `docker-archive:`, a
/// layout directory, a `.tar`, a JSON file), else an image in a registry, pulled anonymously
/// over HTTPS (see [`normalize_with_registry`] for credentials and plain-HTTP loopback
/// registries). Problems are diagnostics on the reference.
pub fn normalize(reference: &str, options: &ImageOptions, limits: &Limits) -> Normalized {
    normalize_with_registry(reference, options, &RegistryOptions::default(), limits)
}

/// [`normalize`], reaching registries as `registry` says.
pub fn normalize_with_registry(
    reference: &str,
    options: &ImageOptions,
    registry: &RegistryOptions,
    limits: &Limits,
) -> Normalized {
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
    // A directory that is there but holds no layout is a local mistake: asking Docker Hub
    // for `library/<dir>` instead would only confuse.
    if path.exists() {
        return failed(
            reference,
            "exists but is neither an OCI image layout (no `oci-layout` file), a docker archive \
             (`.tar`) nor an image config/manifest JSON file"
                .to_owned(),
        );
    }
    match Reference::parse(reference) {
        Ok(parsed) => {
            let mut store = RegistryStore::new(reference, parsed, registry);
            image::normalize_image(&mut store, options)
        }
        Err(error) => failed(
            reference,
            format!(
                "not a local image (`oci:DIR[:TAG]`, `docker-archive:FILE`, an image \
                 config/manifest JSON file) nor a registry reference \
                 (`[HOST[:PORT]/]REPOSITORY[:TAG][@sha256:DIGEST]`): {error}"
            ),
        ),
    }
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
    let bytes = palisade_normalize::read_capped(file, max)
        .map_err(|e| format!("cannot read file: {e}"))?
        .ok_or_else(|| format!("file is larger than {max} bytes; not read"))?;
    String::from_utf8(bytes).map_err(|_| "cannot read file: it is not UTF-8 text".to_owned())
}
