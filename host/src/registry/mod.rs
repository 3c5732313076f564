//! Signed plugin artifacts, the first link of the registry's chain of trust: a team signs a
//! plugin's manifest with an SSH key ([`sshsig`]); the manifest ([`manifest`]) pins the
//! component by digest; [`artifact`] writes, signs and verifies the three files on disk.

pub mod artifact;
pub mod cache;
pub mod fetch;
pub mod manifest;
pub mod sshsig;

pub use artifact::{
    ArtifactError, VerifiedArtifact, sign_manifest, signature_path, verify_artifact, write_manifest,
};
pub use manifest::{MANIFEST_FILE, Manifest, ManifestError, ManifestRequest};
pub use sshsig::{
    KeyError, PLUGIN_NAMESPACE, REGISTRY_NAMESPACE, SignatureError, SigningKey, TrustedKey,
};
