//! Signed plugin artifacts, the first link of the registry's chain of trust: a team signs a
//! plugin's manifest with an SSH key ([`sshsig`]); the manifest ([`manifest`]) pins the
//! component by digest; [`artifact`] writes, signs and verifies the three files on disk.
//!
//! A registry publishes such artifacts under a signed index ([`index`]): the root keys sign
//! the index, which lists each team's keys and each plugin version's digests, so the whole
//! chain root → index → team key → manifest → component is checked. [`directory`] is a
//! registry directory as its owners maintain it (the `palisade registry` commands).

pub mod artifact;
pub mod cache;
pub mod client;
pub mod directory;
pub mod fetch;
pub mod index;
pub mod lock;
pub mod manifest;
pub mod sshsig;

pub use artifact::{
    ArtifactError, VerifiedArtifact, sign_manifest, signature_path, verify_artifact, write_manifest,
};
pub use client::{RegistryClient, RegistryError, VerifiedPlugin};
pub use directory::{
    Expiry, Published, RegistryDir, RegistryDirError, Signed, Trust, read_key_line, read_root_keys,
    read_trusted_root,
};
pub use index::{
    INDEX_FILE, INDEX_SIGNATURES_FILE, Index, IndexError, PluginEntry, PluginRefusal,
    RegistryVerification, Revocation, RootKeys, SignedIndex, Team, TrustedRoot, verify_index,
    verify_manifest, verify_plugin, verify_registry, verify_wasm,
};
pub use lock::{LOCK_FILE, LockedPlugin, Lockfile};
pub use manifest::{MANIFEST_FILE, Manifest, ManifestError, ManifestRequest};
pub use sshsig::{
    KeyError, PLUGIN_NAMESPACE, REGISTRY_NAMESPACE, SignatureError, SigningKey, TrustedKey,
};
