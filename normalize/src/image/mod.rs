//! Container images: OCI layouts, `docker save` archives, bare image configs and manifests, and
//! (through the host) images in a registry, normalized into four resources per image.
//!
//! - `image/config`: user, environment, ports, entrypoint and command, labels, healthcheck,
//!   platform and build history;
//! - `image/manifest`: digests, media types, layer sizes, annotations and base image;
//! - `image/filesystem`: the merged file tree after whiteouts, streamed from the layers;
//! - `image/packages`: OS packages from the dpkg, apk and rpm databases in the tree.
//!
//! An image has no lines, so each resource's `file` is the layout directory or archive it was
//! read from (the reference itself for a registry image), its `reference` attribute the image
//! as the user named it (`oci:build/layout:1.0`), and its [`DetailTable`](crate::DetailTable)
//! says where a value lives (`layer sha256:1a2b3c4d5e6f /usr/bin/passwd`, `config User`). A bare config or manifest JSON
//! file is a file like any other: its values keep their lines.
//!
//! Every blob is checked against the digest and size its descriptor gives before anything read
//! from it counts; a mismatch is an error for that image and the rest of the scan goes on.

mod filesystem;
pub mod layers;
mod model;
pub mod packages;
mod resources;
mod store;

use std::io::Read;

pub use filesystem::{FILESYSTEM_KIND, PACKAGES_KIND};
pub use model::{Platform, PlatformChoice};
pub use resources::{
    CONFIG_KIND, MANIFEST_KIND, looks_like_config, looks_like_manifest, normalize_json,
};
pub use store::{DockerArchive, OciLayout, Verified, open_local};

use crate::{Diagnostic, Normalized};
use layers::LayerLimits;

/// Largest manifest, index or config read, in bytes (the distribution spec's own cap is 4 MiB).
pub const MAX_MANIFEST_BYTES: u64 = 8 * 1024 * 1024;

/// An image source problem: named by the store's display and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageError {
    pub message: String,
}

impl ImageError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> ImageError {
        ImageError {
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ImageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ImageError {}

/// A manifest or index as a store returned it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    /// The media type the store gave (a registry's `Content-Type`, a layout's descriptor).
    pub media_type: Option<String>,
    /// The digest it must have, when the store knows it; `None` for a manifest the store made
    /// up itself (a `docker save` archive has none).
    pub digest: Option<String>,
}

/// Where an image's manifests and blobs come from: an OCI layout, a `docker save` archive, a
/// registry. Stores only fetch; checking digests and sizes is the caller's job.
pub trait ImageStore {
    /// How the image is named in errors and in its resources' `reference`, e.g.
    /// `oci:build/layout:1.0`.
    fn display(&self) -> &str;
    /// The file its findings point at: the layout directory or archive on disk, or the
    /// reference itself for an image that is not on disk.
    fn file(&self) -> &str {
        self.display()
    }
    /// The manifests or indexes the reference names (a `docker save` archive may hold several).
    fn roots(&mut self) -> Result<Vec<Fetched>, ImageError>;
    /// A manifest or index by digest, as an index lists it.
    fn manifest(&mut self, digest: &str, size: u64) -> Result<Fetched, ImageError>;
    /// A blob's bytes, streamed.
    fn blob<'s>(&'s mut self, digest: &str, size: u64) -> Result<Box<dyn Read + 's>, ImageError>;
}

/// How images are read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageOptions {
    /// Which platforms of a multi-platform index are scanned.
    pub platform: PlatformChoice,
    /// Caps on what an image's layers may expand to.
    pub layer_limits: LayerLimits,
}

/// Normalizes every image `store` names (each platform chosen by `options`) into resources.
/// Problems become diagnostics on the store's display; an image whose blobs do not verify
/// loses the resources read from them, the others are kept.
pub fn normalize_image(store: &mut dyn ImageStore, options: &ImageOptions) -> Normalized {
    let mut out = Normalized {
        recognized: true,
        ..Normalized::default()
    };
    let display = store.display().to_owned();
    let roots = match store.roots() {
        Ok(roots) => roots,
        Err(error) => {
            out.diagnostics.push(diagnostic(&display, error.message));
            return out;
        }
    };
    for root in roots {
        resources::read_root(store, root, options, &mut out);
    }
    out
}

fn diagnostic(display: &str, message: String) -> Diagnostic {
    Diagnostic {
        file: display.to_owned(),
        line: None,
        message,
    }
}
