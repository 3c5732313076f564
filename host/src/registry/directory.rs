//! A registry directory as its owners maintain it: create it, add teams, publish signed
//! plugins, revoke versions, rotate the root keys, sign the index, and verify the whole.
//!
//! ```text
//! index.toml                                                 the index
//! index.toml.sig                                             root signatures, concatenated
//! plugins/<team>/<pack>/<version>/palisade-plugin.toml       the manifest, as published
//! plugins/<team>/<pack>/<version>/palisade-plugin.toml.sig   the team's signature
//! plugins/<team>/<pack>/<version>/<wasm file>                the component
//! ```
//!
//! Every change rewrites `index.toml` atomically (a temporary file renamed over it). The first
//! change after a signature starts a new index version: `version` goes up by one, `expires` is
//! cleared, the signatures (made over the old bytes) are deleted and a signed root rotation's
//! `previous-root` is dropped. Later changes before the next signature join that same version,
//! so the version rises once per signed release, however many changes it holds.
//!
//! Two owners changing one registry at the same moment are not coordinated: the last rename
//! wins. Registries are changed by a release process, one change at a time.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use time::{Duration, OffsetDateTime};

use super::artifact::{ArtifactError, MAX_MANIFEST_BYTES, signature_path, verify_artifact};
use super::index::{
    INDEX_FILE, INDEX_SIGNATURES_FILE, Index, IndexError, MAX_INDEX_BYTES,
    MAX_INDEX_SIGNATURES_BYTES, MAX_MANIFEST_SIGNATURE_BYTES, PluginEntry, PluginRefusal,
    RegistryVerification, Revocation, RootKeys, Team, TrustedRoot, format_expiry, signature_blocks,
    validate_reason, verify_plugin, verify_registry,
};
use super::manifest::MANIFEST_FILE;
use super::sshsig::{KeyError, REGISTRY_NAMESPACE, SigningKey, TrustedKey, signer};
use crate::engine::sha256_hex;

/// Why a registry directory could not be changed, signed or verified. Every message names the
/// registry file or the input file, and the reason.
#[derive(Debug, thiserror::Error)]
pub enum RegistryDirError {
    /// A file could not be read or written.
    #[error("{}: {reason}", path.display())]
    Io { path: PathBuf, reason: String },
    /// A key could not be used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The index (or its signatures) is invalid or refused.
    #[error("{}: {error}", path.display())]
    Index { path: PathBuf, error: IndexError },
    /// Root keys given to trust are not a usable root.
    #[error("the given root keys cannot be trusted: `{field}` {reason}")]
    TrustedRoot { field: String, reason: String },
    /// `init` found an index already there.
    #[error("{}: already holds a registry index; `registry init` only creates new registries", path.display())]
    AlreadyExists { path: PathBuf },
    /// The directory holds no index.
    #[error("{}: no registry index here (create one with `palisade registry init`)", path.display())]
    NoIndex { path: PathBuf },
    /// The plugin artifact to publish is not valid on its own.
    #[error("cannot publish: {0}")]
    Artifact(#[from] ArtifactError),
    /// The registry refuses the plugin.
    #[error("cannot publish {plugin} from {}: {error}", path.display())]
    Refused {
        plugin: String,
        path: PathBuf,
        error: PluginRefusal,
    },
    /// The version is already published, with other bytes.
    #[error(
        "cannot publish {plugin} from {}: {plugin} is already published with other bytes \
         (manifest sha256 {published}, this one {offered}); a published version never changes, \
         publish a new version",
        path.display()
    )]
    AlreadyPublished {
        plugin: String,
        path: PathBuf,
        published: String,
        offered: String,
    },
    /// `revoke` names a version that is not published.
    #[error("{}: {plugin} is not published", path.display())]
    NotPublished { path: PathBuf, plugin: String },
    /// `revoke` names a version that is already revoked.
    #[error("{}: {plugin} is already revoked: {reason}", path.display())]
    AlreadyRevoked {
        path: PathBuf,
        plugin: String,
        reason: String,
    },
    /// The revocation reason is not acceptable.
    #[error("cannot revoke {plugin}: the reason {reason}")]
    Reason { plugin: String, reason: String },
    /// `rotate-root` was given the current root.
    #[error("{}: the new root keys and threshold are the current ones; nothing to rotate", path.display())]
    RootUnchanged { path: PathBuf },
    /// Changing a team's keys would orphan published plugins.
    #[error(
        "{}: cannot drop key {fingerprint} from team `{team}`: it signed {plugins}, which would \
         no longer verify; revoke them first, or keep the key",
        path.display()
    )]
    KeyStillNeeded {
        path: PathBuf,
        team: String,
        fingerprint: String,
        plugins: String,
    },
    /// `sign` was given a key that is not a root key of the index.
    #[error(
        "cannot sign {}: key {} ({fingerprint}) is not a root (or previous-root) key of the index",
        path.display(),
        key.display()
    )]
    NotRootKey {
        path: PathBuf,
        key: PathBuf,
        fingerprint: String,
    },
    /// `sign` was given a key that already signed this version.
    #[error("cannot sign {}: {fingerprint} has already signed this version", path.display())]
    AlreadySigned { path: PathBuf, fingerprint: String },
    /// An existing signature does not verify: the index changed after it was signed.
    #[error(
        "cannot sign {}: an existing signature does not verify ({error}); the index changed \
         after it was signed, so delete {INDEX_SIGNATURES_FILE} and have every root key sign \
         again",
        path.display()
    )]
    ChangedAfterSigning { path: PathBuf, error: IndexError },
    /// A later signer asked for another expiry than the first signer set.
    #[error(
        "cannot sign {}: `expires` is already {current}, set by the first signature of this \
         version, and later signatures must not change it (omit --expires; {requested} was \
         asked)",
        path.display()
    )]
    ExpiryFixed {
        path: PathBuf,
        current: String,
        requested: String,
    },
    /// The requested expiry is not in the future.
    #[error("cannot sign {}: the expiry {expires} is not in the future", path.display())]
    ExpiryPast { path: PathBuf, expires: String },
    /// Signatures exist but the index has no expiry (signed by hand without setting it).
    #[error(
        "cannot sign {}: it is already signed but has no `expires`; delete {INDEX_SIGNATURES_FILE} \
         and sign with `palisade registry sign`, which sets it",
        path.display()
    )]
    SignedWithoutExpiry { path: PathBuf },
    /// The index expired before this signature was added.
    #[error(
        "cannot sign {}: this version expired at {expires} before it collected its signatures; \
         delete {INDEX_SIGNATURES_FILE} and sign again with a later --expires",
        path.display()
    )]
    ExpiredBeforeSigned { path: PathBuf, expires: String },
}

fn io_error(path: &Path, error: impl fmt::Display) -> RegistryDirError {
    RegistryDirError::Io {
        path: path.to_path_buf(),
        reason: error.to_string(),
    }
}

/// When a signed index expires: a time from now (`30d`, `12h`) or an RFC 3339 instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// This long after signing.
    After(Duration),
    /// At this instant.
    At(OffsetDateTime),
}

impl Expiry {
    /// The default: 30 days after the first signature.
    pub const DEFAULT: Expiry = Expiry::After(Duration::days(30));

    /// The instant, counted from `now`; `None` when it is beyond what a date can hold.
    pub fn at(self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        match self {
            Expiry::After(duration) => now.checked_add(duration),
            Expiry::At(at) => Some(at),
        }
    }
}

impl FromStr for Expiry {
    type Err = String;

    fn from_str(text: &str) -> Result<Expiry, String> {
        let relative = |digits: &str, unit: fn(i64) -> Duration| {
            digits
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .map(|n| Expiry::After(unit(i64::from(n))))
        };
        let parsed = if let Some(days) = text.strip_suffix('d') {
            relative(days, Duration::days)
        } else if let Some(hours) = text.strip_suffix('h') {
            relative(hours, Duration::hours)
        } else {
            OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .ok()
                .map(Expiry::At)
        };
        parsed.ok_or_else(|| {
            format!(
                "`{text}` is not an expiry: give days (`30d`), hours (`12h`) or an RFC 3339 \
                 date-time (`2027-01-01T00:00:00Z`)"
            )
        })
    }
}

impl fmt::Display for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expiry::After(duration) if duration.whole_hours() % 24 == 0 => {
                write!(f, "{}d", duration.whole_days())
            }
            Expiry::After(duration) => write!(f, "{}h", duration.whole_hours()),
            Expiry::At(at) => f.write_str(&format_expiry(*at)),
        }
    }
}

/// What `publish` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// The plugin was copied in and listed; the index is now at `version`.
    Added { entry: PluginEntry, version: u64 },
    /// The same bytes were already published: nothing changed.
    Unchanged(PluginEntry),
}

/// What `sign` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The index version signed.
    pub version: u64,
    /// Its expiry.
    pub expires: String,
    /// The new signature's key fingerprint.
    pub signer: String,
    /// Distinct root keys that have now signed, and how many must.
    pub root: (usize, usize),
    /// For a root rotation: distinct previous-root keys that have now signed, and how many must.
    pub previous_root: Option<(usize, usize)>,
}

/// Which root keys a verification trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Keys given by the caller.
    Pinned(TrustedRoot),
    /// The index's own `[root]`: proves the index is consistently signed, not who signed it.
    IndexRoot(TrustedRoot),
}

impl Trust {
    /// The given keys, or else the own `[root]` of the index whose raw bytes are `index`.
    pub fn for_index(trusted: Option<TrustedRoot>, index: &[u8]) -> Result<Trust, IndexError> {
        match trusted {
            Some(root) => Ok(Trust::Pinned(root)),
            None => Ok(Trust::IndexRoot(TrustedRoot::from_root_keys(
                &Index::parse_bytes(index)?.root,
            )?)),
        }
    }

    /// The trusted root.
    pub fn root(&self) -> &TrustedRoot {
        match self {
            Trust::Pinned(root) | Trust::IndexRoot(root) => root,
        }
    }
}

/// Reads an OpenSSH public key file as the key line the index stores: `ALGO BASE64 [COMMENT]`.
pub fn read_key_line(path: &Path) -> Result<String, KeyError> {
    let key = TrustedKey::read(path)?;
    // TrustedKey::read checked the size and found a key line; keep its comment for people.
    let comment = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| {
            let line = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))?
                .to_string();
            ssh_key::PublicKey::from_openssh(&line).ok()
        })
        .map(|public| public.comment().trim().to_string())
        .filter(|c| !c.is_empty() && !c.chars().any(char::is_control));
    Ok(match comment {
        Some(comment) => format!("{} {comment}", key.to_openssh()),
        None => key.to_openssh(),
    })
}

/// Reads root public key files into root keys with `threshold`.
pub fn read_root_keys(paths: &[PathBuf], threshold: usize) -> Result<RootKeys, KeyError> {
    let keys = paths
        .iter()
        .map(|p| read_key_line(p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RootKeys { threshold, keys })
}

/// Reads pinned root public key files into the root a verification trusts.
pub fn read_trusted_root(
    paths: &[PathBuf],
    threshold: usize,
) -> Result<TrustedRoot, RegistryDirError> {
    let root = read_root_keys(paths, threshold)?;
    TrustedRoot::from_root_keys(&root).map_err(|error| match error {
        IndexError::Invalid { field, reason } => RegistryDirError::TrustedRoot {
            field: field.trim_start_matches("root.").to_string(),
            reason,
        },
        other => RegistryDirError::TrustedRoot {
            field: "keys".to_string(),
            reason: other.to_string(),
        },
    })
}

/// A registry directory.
#[derive(Debug, Clone)]
pub struct RegistryDir {
    dir: PathBuf,
}

impl RegistryDir {
    /// The registry in `dir` (nothing is read yet).
    pub fn open(dir: impl Into<PathBuf>) -> RegistryDir {
        RegistryDir { dir: dir.into() }
    }

    /// Creates a registry in `dir` (made if missing; it must not hold an index): version 1,
    /// these root keys, no teams or plugins, no expiry, no signatures.
    pub fn init(dir: impl Into<PathBuf>, root: RootKeys) -> Result<RegistryDir, RegistryDirError> {
        let registry = RegistryDir::open(dir);
        for existing in [registry.index_path(), registry.signatures_path()] {
            if existing.exists() {
                return Err(RegistryDirError::AlreadyExists { path: existing });
            }
        }
        let index = Index::new(root).map_err(|error| RegistryDirError::Index {
            path: registry.index_path(),
            error,
        })?;
        std::fs::create_dir_all(&registry.dir).map_err(|e| io_error(&registry.dir, e))?;
        write_atomically(&registry.index_path(), index.to_toml().as_bytes())?;
        Ok(registry)
    }

    /// The registry's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the index is.
    pub fn index_path(&self) -> PathBuf {
        self.dir.join(INDEX_FILE)
    }

    /// Where the root signatures are.
    pub fn signatures_path(&self) -> PathBuf {
        self.dir.join(INDEX_SIGNATURES_FILE)
    }

    /// Reads and validates the index (its signatures are not checked: see [`RegistryDir::verify`]).
    pub fn index(&self) -> Result<Index, RegistryDirError> {
        let bytes = self.index_bytes()?;
        self.parse(&bytes)
    }

    /// Adds a team, or replaces the keys and prefixes of an existing one. Refuses to drop a key
    /// that signed a published, non-revoked plugin of the team. Returns the index version.
    pub fn add_team(
        &self,
        name: &str,
        keys: Vec<String>,
        prefixes: Vec<String>,
    ) -> Result<u64, RegistryDirError> {
        let team = Team { keys, prefixes };
        let new_keys: Vec<TrustedKey> = team
            .keys
            .iter()
            .filter_map(|line| TrustedKey::parse(line).ok())
            .collect();
        self.change(false, |index, _| {
            if index.teams.contains_key(name) {
                self.check_keys_still_cover(index, name, &new_keys)?;
            }
            index.teams.insert(name.to_string(), team);
            Ok(())
        })
    }

    /// Publishes a signed plugin artifact: `manifest` is a manifest file with its `.sig` and
    /// component beside it, or a directory holding `palisade-plugin.toml`.
    ///
    /// The artifact must verify on its own (signature by its embedded key, manifest,
    /// compatibility, component digest), the signer must be a key of the manifest's team, the
    /// name within the team's prefixes, and the version neither revoked nor published with other
    /// bytes (publishing the same bytes again changes nothing). The three files are copied to
    /// `plugins/<name>/<version>/` before the index lists them.
    pub fn publish(&self, manifest: &Path) -> Result<Published, RegistryDirError> {
        let manifest_path = if manifest.is_dir() {
            manifest.join(MANIFEST_FILE)
        } else {
            manifest.to_path_buf()
        };
        let sig_path = signature_path(&manifest_path);
        if !sig_path.exists() {
            return Err(ArtifactError::Unsigned {
                manifest: manifest_path,
                signature: sig_path,
            }
            .into());
        }
        let signature = read_text(&sig_path, MAX_MANIFEST_SIGNATURE_BYTES)?;
        let key = signer(&signature).map_err(|error| ArtifactError::Signature {
            manifest: manifest_path.clone(),
            signature: sig_path.clone(),
            error,
        })?;
        // Checks the artifact as `plugin verify` does, with the key that says it signed; whether
        // that key may sign for the team is the index's question, below.
        let artifact = verify_artifact(&manifest_path, &key, None)?;
        // The bytes copied are the bytes checked: read once, verified below, written as read.
        let manifest_bytes = read_capped(&manifest_path, MAX_MANIFEST_BYTES)?;
        let wasm = read_capped(&artifact.wasm, artifact.manifest.wasm.size)?;
        let entry = PluginEntry {
            name: artifact.manifest.name.clone(),
            version: artifact.manifest.version.clone(),
            team: artifact.manifest.team.clone(),
            manifest_sha256: sha256_hex(&manifest_bytes),
            manifest_size: manifest_bytes.len() as u64,
            wasm_sha256: sha256_hex(&wasm),
            wasm_size: wasm.len() as u64,
        };
        let refused = |error| RegistryDirError::Refused {
            plugin: entry.id(),
            path: manifest_path.clone(),
            error,
        };
        let index = self.index()?;
        if let Some(revocation) = index.revocation(&entry.name, &entry.version) {
            return Err(refused(PluginRefusal::Revoked {
                reason: revocation.reason.clone(),
            }));
        }
        if let Some(published) = index.entry(&entry.name, &entry.version) {
            if *published == entry {
                return Ok(Published::Unchanged(entry));
            }
            return Err(RegistryDirError::AlreadyPublished {
                plugin: entry.id(),
                path: manifest_path.clone(),
                published: published.manifest_sha256.clone(),
                offered: entry.manifest_sha256.clone(),
            });
        }
        verify_plugin(&index, &entry, &manifest_bytes, &signature, &wasm).map_err(refused)?;

        let dir = self.entry_dir(&entry);
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        write_atomically(&dir.join(MANIFEST_FILE), &manifest_bytes)?;
        write_atomically(
            &signature_path(&dir.join(MANIFEST_FILE)),
            signature.as_bytes(),
        )?;
        write_atomically(&dir.join(&artifact.manifest.wasm.file), &wasm)?;
        let version = self.change(false, |index, _| {
            match index.entry(&entry.name, &entry.version) {
                Some(published) if *published == entry => {}
                Some(published) => {
                    return Err(RegistryDirError::AlreadyPublished {
                        plugin: entry.id(),
                        path: manifest_path.clone(),
                        published: published.manifest_sha256.clone(),
                        offered: entry.manifest_sha256.clone(),
                    });
                }
                None => index.insert_plugin(entry.clone()),
            }
            Ok(())
        })?;
        Ok(Published::Added { entry, version })
    }

    /// Revokes a published version; `reason` is shown to everyone whose scans now refuse it.
    /// Returns the index version.
    pub fn revoke(
        &self,
        name: &str,
        version: &semver::Version,
        reason: &str,
    ) -> Result<u64, RegistryDirError> {
        let plugin = format!("{name}@{version}");
        let reason = reason.trim();
        validate_reason(reason).map_err(|reason| RegistryDirError::Reason {
            plugin: plugin.clone(),
            reason,
        })?;
        self.change(false, |index, _| {
            if index.entry(name, version).is_none() {
                return Err(RegistryDirError::NotPublished {
                    path: self.index_path(),
                    plugin: plugin.clone(),
                });
            }
            if let Some(revocation) = index.revocation(name, version) {
                return Err(RegistryDirError::AlreadyRevoked {
                    path: self.index_path(),
                    plugin: plugin.clone(),
                    reason: revocation.reason.clone(),
                });
            }
            index.insert_revocation(Revocation {
                name: name.to_string(),
                version: version.clone(),
                reason: reason.to_string(),
            });
            Ok(())
        })
    }

    /// Replaces the root keys: `previous-root` becomes the root that consumers trust now, so
    /// the next signed index must be signed by both (the old keys vouch for the new). Returns
    /// the index version.
    pub fn rotate_root(&self, root: RootKeys) -> Result<u64, RegistryDirError> {
        let new_root =
            TrustedRoot::from_root_keys(&root).map_err(|error| RegistryDirError::Index {
                path: self.index_path(),
                error,
            })?;
        self.change(true, |index, signed| {
            if new_root.same_keys(&index.root) {
                return Err(RegistryDirError::RootUnchanged {
                    path: self.index_path(),
                });
            }
            // Consumers trust the last signed root: a rotation not yet signed keeps the
            // `previous-root` it already has.
            if signed || index.previous_root.is_none() {
                index.previous_root = Some(index.root.clone());
            }
            if index
                .previous_root
                .as_ref()
                .is_some_and(|previous| new_root.same_keys(previous))
            {
                index.previous_root = None;
            }
            index.root = root;
            Ok(())
        })
    }

    /// Adds `key`'s signature to `index.toml.sig`. The first signature of a version sets
    /// `expires` (default 30 days from `now`) and must not set it in the past; later signers
    /// may not change it. Refuses a key that is not a root or previous-root key, a key that
    /// already signed, and an index changed since its first signature.
    pub fn sign(
        &self,
        key: &SigningKey,
        key_path: &Path,
        expires: Option<Expiry>,
        now: OffsetDateTime,
    ) -> Result<Signed, RegistryDirError> {
        let path = self.index_path();
        let index_error = |error| RegistryDirError::Index {
            path: path.clone(),
            error,
        };
        let bytes = self.index_bytes()?;
        let mut index = self.parse(&bytes)?;
        let existing = self.signatures()?;
        let blocks = signature_blocks(&existing).map_err(|error| RegistryDirError::Index {
            path: self.signatures_path(),
            error,
        })?;
        let public = key.public_key();
        let root = TrustedRoot::from_root_keys(&index.root).map_err(index_error)?;
        let previous = index
            .previous_root
            .as_ref()
            .map(TrustedRoot::from_root_keys)
            .transpose()
            .map_err(index_error)?;
        if !root.keys.contains(&public)
            && !previous.as_ref().is_some_and(|p| p.keys.contains(&public))
        {
            return Err(RegistryDirError::NotRootKey {
                path,
                key: key_path.to_path_buf(),
                fingerprint: public.fingerprint(),
            });
        }
        let mut signers = Vec::new();
        for (i, block) in blocks.iter().enumerate() {
            let changed = |error| RegistryDirError::ChangedAfterSigning {
                path: path.clone(),
                error,
            };
            let signed_by = signer(block).map_err(|e| {
                changed(IndexError::MalformedSignatures(format!(
                    "signature {}: {e}",
                    i + 1
                )))
            })?;
            signed_by
                .verify(REGISTRY_NAMESPACE, &bytes, block)
                .map_err(|error| {
                    changed(IndexError::BadSignature {
                        block: i + 1,
                        signer: signed_by.fingerprint(),
                        error,
                    })
                })?;
            if signed_by == public {
                return Err(RegistryDirError::AlreadySigned {
                    path,
                    fingerprint: public.fingerprint(),
                });
            }
            signers.push(signed_by);
        }

        let bytes = if blocks.is_empty() {
            let requested = expires.unwrap_or(Expiry::DEFAULT);
            let at = requested.at(now).filter(|at| *at > now).ok_or_else(|| {
                RegistryDirError::ExpiryPast {
                    path: path.clone(),
                    expires: requested.to_string(),
                }
            })?;
            index.expires = format_expiry(at);
            let text = index.to_toml();
            write_atomically(&path, text.as_bytes())?;
            text.into_bytes()
        } else {
            if index.expires.is_empty() {
                return Err(RegistryDirError::SignedWithoutExpiry { path });
            }
            let current = index.expires_at().map_err(index_error)?;
            if let Some(requested) = expires
                && requested.at(now).map(format_expiry).as_deref() != Some(index.expires.as_str())
            {
                return Err(RegistryDirError::ExpiryFixed {
                    path,
                    current: index.expires.clone(),
                    requested: requested.to_string(),
                });
            }
            if current <= now {
                return Err(RegistryDirError::ExpiredBeforeSigned {
                    path,
                    expires: index.expires.clone(),
                });
            }
            bytes
        };
        let signature = key.sign(REGISTRY_NAMESPACE, &bytes)?;
        let mut text = existing;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&signature);
        write_atomically(&self.signatures_path(), text.as_bytes())?;

        signers.push(public.clone());
        let count = |keys: &[TrustedKey]| signers.iter().filter(|s| keys.contains(s)).count();
        Ok(Signed {
            version: index.version,
            expires: index.expires.clone(),
            signer: public.fingerprint(),
            root: (count(&root.keys), root.threshold),
            previous_root: previous.map(|p| (count(&p.keys), p.threshold)),
        })
    }

    /// Verifies the registry: the index's signatures against `trusted` (default: the index's
    /// own root keys, which shows the index is consistently signed but not by whom), its
    /// expiry, then every published plugin.
    pub fn verify(
        &self,
        trusted: Option<TrustedRoot>,
        now: OffsetDateTime,
    ) -> Result<(Trust, RegistryVerification), RegistryDirError> {
        let path = self.index_path();
        let bytes = self.index_bytes()?;
        let signatures = self.signatures()?;
        let trust = Trust::for_index(trusted, &bytes).map_err(|error| RegistryDirError::Index {
            path: path.clone(),
            error,
        })?;
        let report = verify_registry(&bytes, &signatures, trust.root(), now, |file, max| {
            let path = self.file_path(file)?;
            read_capped(&path, max).map_err(|e| e.to_string())
        })
        .map_err(|error| RegistryDirError::Index { path, error })?;
        Ok((trust, report))
    }

    /// Applies one change to the index and writes it. On a signed index the change starts a new
    /// version (see the module docs); `rotating` keeps the `previous-root` the change sets.
    fn change(
        &self,
        rotating: bool,
        apply: impl FnOnce(&mut Index, bool) -> Result<(), RegistryDirError>,
    ) -> Result<u64, RegistryDirError> {
        let index = self.index()?;
        let signed = !self.signatures()?.trim().is_empty();
        let mut changed = index.clone();
        apply(&mut changed, signed)?;
        if changed == index {
            return Ok(index.version);
        }
        if signed {
            changed.version =
                index
                    .version
                    .checked_add(1)
                    .ok_or_else(|| RegistryDirError::Index {
                        path: self.index_path(),
                        error: IndexError::Invalid {
                            field: "version".to_string(),
                            reason: "cannot go higher".to_string(),
                        },
                    })?;
            changed.expires.clear();
            if !rotating {
                changed.previous_root = None;
            }
        }
        changed
            .validate()
            .map_err(|error| RegistryDirError::Index {
                path: self.index_path(),
                error,
            })?;
        write_atomically(&self.index_path(), changed.to_toml().as_bytes())?;
        // After the new index is in place: a crash in between leaves signatures that fail to
        // verify, never an unsigned index that reuses a signed version number.
        let signatures = self.signatures_path();
        if signatures.exists() {
            std::fs::remove_file(&signatures).map_err(|e| io_error(&signatures, e))?;
        }
        Ok(changed.version)
    }

    /// Refuses new team keys that leave a published, non-revoked plugin of the team signed by
    /// a key the team no longer has.
    fn check_keys_still_cover(
        &self,
        index: &Index,
        team: &str,
        new_keys: &[TrustedKey],
    ) -> Result<(), RegistryDirError> {
        let mut orphaned: Vec<(String, String)> = Vec::new();
        for entry in index.plugins.iter().filter(|e| e.team == team) {
            if index.revocation(&entry.name, &entry.version).is_some() {
                continue;
            }
            let sig = signature_path(&self.entry_dir(entry).join(MANIFEST_FILE));
            // A plugin whose signature is unreadable does not verify anyway; `verify` says so.
            let Ok(text) = read_text(&sig, MAX_MANIFEST_SIGNATURE_BYTES) else {
                continue;
            };
            if let Ok(key) = signer(&text)
                && !new_keys.contains(&key)
            {
                orphaned.push((key.fingerprint(), entry.id()));
            }
        }
        match orphaned.first() {
            None => Ok(()),
            Some((fingerprint, _)) => Err(RegistryDirError::KeyStillNeeded {
                path: self.index_path(),
                team: team.to_string(),
                fingerprint: fingerprint.clone(),
                plugins: orphaned
                    .iter()
                    .filter(|(f, _)| f == fingerprint)
                    .map(|(_, id)| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    fn entry_dir(&self, entry: &PluginEntry) -> PathBuf {
        entry
            .dir()
            .split('/')
            .fold(self.dir.clone(), |path, segment| path.join(segment))
    }

    /// A registry file named by a '/'-separated relative path from the index or a manifest.
    fn file_path(&self, file: &str) -> Result<PathBuf, String> {
        let mut path = self.dir.clone();
        for segment in file.split('/') {
            if segment.is_empty() || segment == "." || segment == ".." || segment.contains('\\') {
                return Err(format!("`{file}` is not a plain relative path"));
            }
            path.push(segment);
        }
        Ok(path)
    }

    fn index_bytes(&self) -> Result<Vec<u8>, RegistryDirError> {
        let path = self.index_path();
        if !path.exists() {
            return Err(RegistryDirError::NoIndex {
                path: self.dir.clone(),
            });
        }
        read_capped(&path, MAX_INDEX_BYTES)
    }

    fn parse(&self, bytes: &[u8]) -> Result<Index, RegistryDirError> {
        let index_error = |error| RegistryDirError::Index {
            path: self.index_path(),
            error,
        };
        Index::parse_bytes(bytes).map_err(index_error)
    }

    /// The signature file's text; empty when there is none.
    fn signatures(&self) -> Result<String, RegistryDirError> {
        let path = self.signatures_path();
        if !path.exists() {
            return Ok(String::new());
        }
        read_text(&path, MAX_INDEX_SIGNATURES_BYTES)
    }
}

/// Reads a whole file that must not be larger than `max` bytes.
fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>, RegistryDirError> {
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    palisade_normalize::read_capped(file, max)
        .map_err(|e| io_error(path, e))?
        .ok_or_else(|| io_error(path, format_args!("larger than {max} bytes")))
}

fn read_text(path: &Path, max: u64) -> Result<String, RegistryDirError> {
    String::from_utf8(read_capped(path, max)?).map_err(|_| io_error(path, "not UTF-8 text"))
}

/// Writes a file by renaming a complete temporary file over it, so readers (and a registry
/// served while it is changed) see the old bytes or the new, never half.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), RegistryDirError> {
    let dir = path
        .parent()
        .expect("registry files are inside the registry directory");
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| io_error(dir, e))?;
    file.write_all(bytes).map_err(|e| io_error(path, e))?;
    file.as_file().sync_all().map_err(|e| io_error(path, e))?;
    file.persist(path).map_err(|e| io_error(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_parse_as_days_hours_or_instants() {
        let now = OffsetDateTime::parse(
            "2026-06-01T12:00:00Z",
            &time::format_description::well_known::Rfc3339,
        )
        .expect("date");
        let at = |text: &str| {
            let expiry: Expiry = text.parse().expect(text);
            format_expiry(expiry.at(now).expect("in range"))
        };
        assert_eq!(at("30d"), "2026-07-01T12:00:00Z");
        assert_eq!(at("12h"), "2026-06-02T00:00:00Z");
        assert_eq!(at("2027-01-01T01:00:00+01:00"), "2027-01-01T00:00:00Z");
        for bad in ["", "d", "0d", "-1d", "30", "1w", "2027-01-01"] {
            assert!(bad.parse::<Expiry>().is_err(), "{bad}");
        }
        assert_eq!(Expiry::DEFAULT.to_string(), "30d");
        assert_eq!("12h".parse::<Expiry>().expect("parses").to_string(), "12h");
    }
}
