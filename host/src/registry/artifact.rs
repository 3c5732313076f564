//! A plugin artifact on disk: the component, its manifest and the manifest's signature
//! (`MANIFEST.sig`, beside it, as `ssh-keygen -Y sign` names it). Writing, signing and
//! verifying one.
//!
//! Verification checks, in order: the signature against the trusted key over the manifest's raw
//! bytes (before the manifest is even parsed), its namespace, the manifest itself, then the
//! component's size (before reading it) and its sha256.

use std::io::Read;
use std::path::{Path, PathBuf};

use semver::Version;
use sha2::{Digest, Sha256};

use super::manifest::{MANIFEST_FILE, Manifest, ManifestError, ManifestRequest};
use super::sshsig::{KeyError, PLUGIN_NAMESPACE, SignatureError, SigningKey, TrustedKey};
use crate::engine::{Engine, Limits, WIT_VERSION};

/// Largest manifest accepted; real ones are a few KiB.
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;
/// Largest signature file accepted; real ones are under 2 KiB.
const MAX_SIGNATURE_BYTES: u64 = 64 << 10;

/// Why an artifact could not be written, signed or verified. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// A file could not be read or written.
    #[error("{}: {reason}", path.display())]
    Io { path: PathBuf, reason: String },
    /// A key could not be used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The component is not a palisade plugin.
    #[error("{}: not a palisade plugin: {reason}", path.display())]
    Plugin { path: PathBuf, reason: String },
    /// The manifest is invalid.
    #[error("manifest {}: {error}", path.display())]
    Manifest { path: PathBuf, error: ManifestError },
    /// The manifest has no signature beside it.
    #[error("manifest {}: no signature: {} is missing", manifest.display(), signature.display())]
    Unsigned {
        manifest: PathBuf,
        signature: PathBuf,
    },
    /// The signature was refused.
    #[error("manifest {}: refused: {error} (signature {})", manifest.display(), signature.display())]
    Signature {
        manifest: PathBuf,
        signature: PathBuf,
        error: SignatureError,
    },
    /// The plugin needs a newer palisade or speaks an interface version this one does not.
    #[error("manifest {}: refused: {reason}", path.display())]
    Incompatible { path: PathBuf, reason: String },
    /// The component's size is not the one the manifest pins.
    #[error("plugin {}: refused: size mismatch: {found} bytes, the manifest {} says {expected}", path.display(), manifest.display())]
    WasmSize {
        path: PathBuf,
        manifest: PathBuf,
        expected: u64,
        found: u64,
    },
    /// The component's digest is not the one the manifest pins.
    #[error("plugin {}: refused: tampered: sha256 {found}, the manifest {} says {expected}", path.display(), manifest.display())]
    WasmDigest {
        path: PathBuf,
        manifest: PathBuf,
        expected: String,
        found: String,
    },
}

impl ArtifactError {
    fn io(path: &Path, error: impl std::fmt::Display) -> ArtifactError {
        ArtifactError::Io {
            path: path.to_path_buf(),
            reason: error.to_string(),
        }
    }
}

/// A verified artifact: the manifest whose signature and component checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedArtifact {
    /// The manifest, parsed and validated.
    pub manifest: Manifest,
    /// The component that matched it.
    pub wasm: PathBuf,
    /// The signer's `SHA256:…` fingerprint.
    pub signer: String,
}

/// Where the signature of `manifest` lives: `MANIFEST.sig`, as `ssh-keygen -Y sign` writes it.
pub fn signature_path(manifest: &Path) -> PathBuf {
    let mut name = manifest.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// Describes the component at `wasm_path` with `engine` and writes its manifest to `output`
/// (default: `palisade-plugin.toml` beside the component). Returns the manifest and its path.
pub fn write_manifest(
    engine: &Engine,
    wasm_path: &Path,
    request: &ManifestRequest,
    output: Option<&Path>,
) -> Result<(Manifest, PathBuf), ArtifactError> {
    let wasm = std::fs::read(wasm_path).map_err(|e| ArtifactError::io(wasm_path, e))?;
    let file_name = wasm_path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| ArtifactError::io(wasm_path, "the path has no UTF-8 file name"))?;
    let plugin = engine
        .load("", &wasm, Limits::default())
        .map_err(|e| ArtifactError::Plugin {
            path: wasm_path.to_path_buf(),
            reason: e.failure.to_string(),
        })?;
    let output = output
        .map(Path::to_path_buf)
        .unwrap_or_else(|| wasm_path.with_file_name(MANIFEST_FILE));
    let manifest =
        Manifest::describe(request, file_name, &wasm, plugin.info()).map_err(|error| {
            ArtifactError::Manifest {
                path: output.clone(),
                error,
            }
        })?;
    std::fs::write(&output, manifest.to_toml()).map_err(|e| ArtifactError::io(&output, e))?;
    Ok((manifest, output))
}

/// Signs the manifest at `manifest_path` (after checking it is a valid manifest) and writes the
/// armored signature to `MANIFEST.sig`. Returns the signature's path.
pub fn sign_manifest(manifest_path: &Path, key: &SigningKey) -> Result<PathBuf, ArtifactError> {
    let bytes = read_capped(manifest_path, MAX_MANIFEST_BYTES)?;
    parse_manifest(manifest_path, &bytes)?;
    let signature = key.sign(PLUGIN_NAMESPACE, &bytes)?;
    let path = signature_path(manifest_path);
    std::fs::write(&path, signature).map_err(|e| ArtifactError::io(&path, e))?;
    Ok(path)
}

/// Verifies an artifact: the manifest's signature by `key` in the `palisade-plugin` namespace,
/// the manifest, and the component (`wasm`, default: the manifest's `wasm.file` beside it).
pub fn verify_artifact(
    manifest_path: &Path,
    key: &TrustedKey,
    wasm: Option<&Path>,
) -> Result<VerifiedArtifact, ArtifactError> {
    let bytes = read_capped(manifest_path, MAX_MANIFEST_BYTES)?;
    let signature_path = signature_path(manifest_path);
    if !signature_path.exists() {
        return Err(ArtifactError::Unsigned {
            manifest: manifest_path.to_path_buf(),
            signature: signature_path,
        });
    }
    let signature = read_capped(&signature_path, MAX_SIGNATURE_BYTES)?;
    let refused = |error| ArtifactError::Signature {
        manifest: manifest_path.to_path_buf(),
        signature: signature_path.clone(),
        error,
    };
    let signature = String::from_utf8(signature).map_err(|_| {
        refused(SignatureError::Malformed(
            "it is not UTF-8 text".to_string(),
        ))
    })?;
    key.verify(PLUGIN_NAMESPACE, &bytes, &signature)
        .map_err(refused)?;
    let manifest = parse_manifest(manifest_path, &bytes)?;
    check_compatible(manifest_path, &manifest)?;
    let wasm = match wasm {
        Some(path) => path.to_path_buf(),
        None => manifest_path.with_file_name(&manifest.wasm.file),
    };
    check_wasm(&wasm, manifest_path, &manifest)?;
    Ok(VerifiedArtifact {
        manifest,
        wasm,
        signer: key.fingerprint(),
    })
}

/// A plugin runs here only if this palisade is at least its `min-palisade` and speaks its WIT
/// version: the same major version (for 0.x, the same minor), no newer than the host's.
fn check_compatible(path: &Path, manifest: &Manifest) -> Result<(), ArtifactError> {
    let incompatible = |reason: String| ArtifactError::Incompatible {
        path: path.to_path_buf(),
        reason,
    };
    let palisade = Version::parse(env!("CARGO_PKG_VERSION")).expect("the crate version is semver");
    if manifest.min_palisade > palisade {
        return Err(incompatible(format!(
            "the plugin needs palisade {} or newer; this is {palisade}",
            manifest.min_palisade
        )));
    }
    let host = Version::parse(WIT_VERSION).expect("the WIT version is semver");
    let wit = &manifest.wit;
    let same_line = wit.major == host.major && (host.major > 0 || wit.minor == host.minor);
    if !same_line || *wit > host {
        return Err(incompatible(format!(
            "the plugin implements palisade:policy@{wit}, but this palisade supports {host}"
        )));
    }
    Ok(())
}

fn parse_manifest(path: &Path, bytes: &[u8]) -> Result<Manifest, ArtifactError> {
    let manifest_error = |error| ArtifactError::Manifest {
        path: path.to_path_buf(),
        error,
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|_| manifest_error(ManifestError::Syntax("it is not UTF-8 text".to_string())))?;
    Manifest::parse(text).map_err(manifest_error)
}

/// Checks the component's size first (no need to read a file of the wrong size), then streams
/// it through sha256.
fn check_wasm(path: &Path, manifest_path: &Path, manifest: &Manifest) -> Result<(), ArtifactError> {
    let file = std::fs::File::open(path).map_err(|e| ArtifactError::io(path, e))?;
    let size = file
        .metadata()
        .map_err(|e| ArtifactError::io(path, e))?
        .len();
    if size != manifest.wasm.size {
        return Err(ArtifactError::WasmSize {
            path: path.to_path_buf(),
            manifest: manifest_path.to_path_buf(),
            expected: manifest.wasm.size,
            found: size,
        });
    }
    let mut hasher = Sha256::new();
    // One more byte than expected is enough to notice a file that grew while being read.
    let copied = std::io::copy(&mut file.take(size + 1), &mut hasher)
        .map_err(|e| ArtifactError::io(path, e))?;
    if copied != size {
        return Err(ArtifactError::WasmSize {
            path: path.to_path_buf(),
            manifest: manifest_path.to_path_buf(),
            expected: manifest.wasm.size,
            found: copied,
        });
    }
    let found = format!("{:x}", hasher.finalize());
    if found != manifest.wasm.sha256 {
        return Err(ArtifactError::WasmDigest {
            path: path.to_path_buf(),
            manifest: manifest_path.to_path_buf(),
            expected: manifest.wasm.sha256.clone(),
            found,
        });
    }
    Ok(())
}

/// Reads a whole file that must not be larger than `max` bytes.
fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>, ArtifactError> {
    let file = std::fs::File::open(path).map_err(|e| ArtifactError::io(path, e))?;
    palisade_normalize::read_capped(file, max)
        .map_err(|e| ArtifactError::io(path, e))?
        .ok_or_else(|| {
            ArtifactError::io(
                path,
                format_args!("larger than {max} bytes, too large to be what it should be"),
            )
        })
}
