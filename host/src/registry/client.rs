//! A pipeline's side of the registry: resolve the config's packs into a lock, then fetch,
//! verify and cache exactly what the lock pins.
//!
//! Every pack is checked along the whole chain before a byte of it is compiled: the pinned root
//! keys (or the root this machine last verified) sign the index, which must not be expired nor
//! older than an index seen before; the index lists the team's keys and name prefixes, the
//! version (not revoked) and its digests, which must equal the lock's; the team's key signs the
//! manifest, which must be that very name and version; the manifest and the index pin the
//! component's size and sha256. Downloads land in a content-addressed cache, so a second run —
//! or one with `--offline` — reads nothing from the network.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use semver::VersionReq;

use super::cache::{RegistryCache, RegistryState};
use super::directory::Trust;
use super::fetch::{FetchError, FetchOptions, Fetcher, RegistryLocation};
use super::index::{
    INDEX_FILE, INDEX_SIGNATURES_FILE, MAX_INDEX_BYTES, MAX_INDEX_SIGNATURES_BYTES,
    MAX_MANIFEST_SIGNATURE_BYTES, PluginEntry, RegistryVerification, SignedIndex, TrustedRoot,
    verify_index, verify_manifest, verify_registry, verify_wasm,
};
use super::lock::{LockedPlugin, Lockfile};
use super::manifest::{MANIFEST_FILE, Manifest};
use super::sshsig::TrustedKey;
use crate::config::{RegistryConfig, RegistryPlugin};

/// Why a registry or one of its packs was refused. The message names the registry, the pack
/// (when it is about one) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("registry {registry}: {}{reason}", plugin.as_deref().map(|p| format!("plugin {p}: ")).unwrap_or_default())]
pub struct RegistryError {
    /// The registry's URL or directory.
    pub registry: String,
    /// `name@version` (or the name) of the pack concerned.
    pub plugin: Option<String>,
    /// What went wrong.
    pub reason: String,
}

/// A pack whose whole chain verified: its manifest and its component's bytes.
#[derive(Debug, Clone)]
pub struct VerifiedPlugin {
    /// The signed manifest.
    pub manifest: Manifest,
    /// The component, matching the manifest, the index and the lock.
    pub wasm: Vec<u8>,
}

/// A connection to one registry, with this machine's cache and memory of it.
pub struct RegistryClient {
    /// The registry as the config names it (`url`, or `path` as written).
    configured: String,
    location: RegistryLocation,
    fetcher: Fetcher,
    cache: RegistryCache,
    pinned: TrustedRoot,
    offline: bool,
}

impl RegistryClient {
    /// Opens the registry of a config (`base_dir` resolves its relative paths); downloads are
    /// cached under `cache_dir`. Offline, nothing is fetched: the index and packs must be cached.
    pub fn open(
        config: &RegistryConfig,
        base_dir: &Path,
        cache_dir: &Path,
        offline: bool,
    ) -> Result<RegistryClient, RegistryError> {
        let location = match (&config.url, &config.path) {
            (Some(url), _) => RegistryLocation::parse(url),
            (None, Some(path)) => Ok(RegistryLocation::Dir(base_dir.join(path))),
            (None, None) => RegistryLocation::parse(""),
        };
        let configured = config
            .url
            .clone()
            .or_else(|| config.path.as_ref().map(|p| p.display().to_string()))
            .unwrap_or_default();
        let described = config
            .url
            .clone()
            .or_else(|| {
                config
                    .path
                    .as_ref()
                    .map(|p| base_dir.join(p).display().to_string())
            })
            .unwrap_or_default();
        let fail = |reason: String| RegistryError {
            registry: described.clone(),
            plugin: None,
            reason,
        };
        let location = location.map_err(|e| fail(e.to_string()))?;
        let keys = config
            .root_keys
            .iter()
            .map(|line| TrustedKey::parse(line))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                fail(format!(
                    "a pinned root key is not an OpenSSH public key: {e}"
                ))
            })?;
        let pinned = TrustedRoot {
            keys,
            threshold: config.threshold.unwrap_or(1),
        };
        let defaults = FetchOptions::default();
        let timeout = config
            .timeout_seconds
            .map_or(defaults.timeout, Duration::from_secs);
        let options = FetchOptions {
            ca_cert: config.ca_cert.as_ref().map(|p| base_dir.join(p)),
            timeout,
            ..defaults
        };
        let fetcher = Fetcher::new(location.clone(), &options).map_err(|e| fail(e.to_string()))?;
        Ok(RegistryClient {
            configured,
            location,
            fetcher,
            cache: RegistryCache::new(cache_dir),
            pinned,
            offline,
        })
    }

    /// The registry's identity on this machine: its URL, or its canonical directory.
    pub fn key(&self) -> String {
        self.location.key()
    }

    /// The registry as the config names it, which the lock records (a relative `path` stays
    /// relative, so a committed lock holds on every checkout).
    pub fn configured(&self) -> &str {
        &self.configured
    }

    fn error(&self, plugin: Option<String>, reason: impl std::fmt::Display) -> RegistryError {
        RegistryError {
            registry: self.location.to_string(),
            plugin,
            reason: reason.to_string(),
        }
    }

    /// The current index, verified: fetched (or, offline, the cached one), signed by the
    /// trusted root, not expired, not older than one seen before. Remembered on success.
    pub fn index(&self) -> Result<SignedIndex, RegistryError> {
        let key = self.key();
        let (bytes, signatures) = if self.offline {
            self.cache
                .index(&key)
                .map_err(|e| self.error(None, e))?
                .ok_or_else(|| {
                    self.error(
                        None,
                        "no cached index: run `palisade lock`, or a scan without --offline, \
                         once while the registry is reachable",
                    )
                })?
        } else {
            fetch_index(&self.fetcher).map_err(|reason| self.error(None, reason))?
        };
        let state = self.cache.state(&key).map_err(|e| self.error(None, e))?;
        let signed = self.verify(&bytes, &signatures, state.as_ref())?;
        if let Some(seen) = &state {
            let version = signed.index.version;
            if version < seen.highest_version {
                return Err(self.error(
                    None,
                    format!(
                        "rollback refused: index version {version} is older than version {} \
                         already seen here (only if this registry was rebuilt from scratch on \
                         purpose, delete this machine's memory of it under {})",
                        seen.highest_version,
                        self.cache.dir().join("registries").display()
                    ),
                ));
            }
            if version == seen.highest_version && signed.sha256 != seen.index_sha256 {
                return Err(self.error(
                    None,
                    format!(
                        "index version {version} differs from the version {version} seen here \
                         before (sha256 {}, now {}): a registry never changes a signed version \
                         (only if this registry was rebuilt from scratch on purpose, delete this \
                         machine's memory of it under {})",
                        seen.index_sha256,
                        signed.sha256,
                        self.cache.dir().join("registries").display()
                    ),
                ));
            }
        }
        if !self.offline {
            self.cache
                .put_index(&key, &bytes, &signatures)
                .map_err(|e| self.error(None, e))?;
        }
        let seen = RegistryState {
            highest_version: signed.index.version,
            index_sha256: signed.sha256.clone(),
            root_threshold: signed.index.root.threshold,
            root_keys: signed.index.root.keys.clone(),
        };
        // Most scans see the index they saw last time: nothing to write then.
        if state.as_ref() != Some(&seen) {
            self.cache
                .record(&key, &seen)
                .map_err(|e| self.error(None, e))?;
        }
        Ok(signed)
    }

    /// Verifies against the root this machine last verified (it follows rotations), and failing
    /// that against the pinned keys (a config re-pinned after rotations this machine missed).
    fn verify(
        &self,
        bytes: &[u8],
        signatures: &str,
        state: Option<&RegistryState>,
    ) -> Result<SignedIndex, RegistryError> {
        let now = time::OffsetDateTime::now_utc();
        let remembered = state.map(|s| super::index::RootKeys {
            threshold: s.root_threshold,
            keys: s.root_keys.clone(),
        });
        let pinned_result = verify_index(bytes, signatures, &self.pinned, now);
        let Some(remembered) = remembered.filter(|r| !self.pinned.same_keys(r)) else {
            return pinned_result.map_err(|e| self.error(None, e));
        };
        let trusted = TrustedRoot::from_root_keys(&remembered)
            .map_err(|e| self.error(None, format!("the remembered root keys are unusable: {e}")))?;
        match verify_index(bytes, signatures, &trusted, now) {
            Ok(signed) => Ok(signed),
            Err(remembered_error) => pinned_result.map_err(|_| self.error(None, remembered_error)),
        }
    }

    /// Resolves each wanted pack to the highest published, non-revoked version its requirement
    /// accepts, then fetches and verifies it (filling the cache).
    pub fn lock(
        &self,
        wanted: &BTreeMap<String, RegistryPlugin>,
    ) -> Result<(Lockfile, Vec<VerifiedPlugin>), Vec<RegistryError>> {
        let index = self.index().map_err(|e| vec![e])?;
        let mut errors = Vec::new();
        let mut lock = Lockfile {
            format: 1,
            registry: self.configured.clone(),
            index_version: index.index.version,
            plugins: Vec::new(),
        };
        let mut verified = Vec::new();
        for (name, plugin) in wanted {
            let requirement = match VersionReq::parse(plugin.requirement()) {
                Ok(r) => r,
                Err(e) => {
                    errors.push(self.error(Some(name.clone()), e));
                    continue;
                }
            };
            let Some(entry) = index.index.resolve(name, &requirement) else {
                let published: Vec<String> = index
                    .index
                    .plugins
                    .iter()
                    .filter(|p| &p.name == name)
                    .map(|p| match index.index.revocation(&p.name, &p.version) {
                        Some(_) => format!("{} (revoked)", p.version),
                        None => p.version.to_string(),
                    })
                    .collect();
                errors.push(self.error(
                    Some(name.clone()),
                    format!(
                        "no published, unrevoked version matches `{}` (published: {})",
                        plugin.requirement(),
                        if published.is_empty() {
                            "none".to_string()
                        } else {
                            published.join(", ")
                        }
                    ),
                ));
                continue;
            };
            let locked = LockedPlugin {
                name: entry.name.clone(),
                version: entry.version.clone(),
                manifest_sha256: entry.manifest_sha256.clone(),
                wasm_sha256: entry.wasm_sha256.clone(),
                wasm_size: entry.wasm_size,
            };
            match self.fetch_locked(&index, &locked) {
                Ok(plugin) => {
                    verified.push(plugin);
                    lock.plugins.push(locked);
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok((lock, verified))
        } else {
            Err(errors)
        }
    }

    /// Fetches (or reads from the cache) and verifies one locked pack against a verified index.
    pub fn fetch_locked(
        &self,
        index: &SignedIndex,
        locked: &LockedPlugin,
    ) -> Result<VerifiedPlugin, RegistryError> {
        let fail = |reason: String| self.error(Some(locked.id()), reason);
        let Some(entry) = index.index.entry(&locked.name, &locked.version) else {
            return Err(fail(format!(
                "not in the registry's index (version {}): it was never published there",
                index.index.version
            )));
        };
        if let Some(revocation) = index.index.revocation(&locked.name, &locked.version) {
            return Err(fail(format!("revoked: {}", revocation.reason)));
        }
        check_lock_digests(entry, locked).map_err(fail)?;
        let dir = entry.dir();
        let manifest = self
            .blob(
                &entry.manifest_sha256,
                &format!("{dir}/{MANIFEST_FILE}"),
                entry.manifest_size,
            )
            .map_err(fail)?;
        let signature = self
            .signature(
                &entry.manifest_sha256,
                &format!("{dir}/{MANIFEST_FILE}.sig"),
            )
            .map_err(fail)?;
        // The whole manifest is checked before its component is fetched: the component's file
        // name comes from it.
        let manifest = verify_manifest(&index.index, entry, &manifest, &signature)
            .map_err(|e| fail(format!("refused: {e}")))?;
        let wasm = self
            .blob(
                &entry.wasm_sha256,
                &format!("{dir}/{}", manifest.wasm.file),
                entry.wasm_size,
            )
            .map_err(fail)?;
        verify_wasm(entry, &wasm).map_err(|e| fail(format!("refused: {e}")))?;
        Ok(VerifiedPlugin { manifest, wasm })
    }

    /// A blob by digest: from the cache, else downloaded (exactly `size` bytes) and cached once
    /// its digest matches. Offline, only the cache.
    fn blob(&self, sha256: &str, path: &str, size: u64) -> Result<Vec<u8>, String> {
        if let Some(bytes) = self.cache.blob(sha256, size).map_err(|e| e.to_string())? {
            return Ok(bytes);
        }
        if self.offline {
            return Err(format!(
                "{path} is not cached and --offline forbids downloading it"
            ));
        }
        let bytes = self.fetcher.get_exact(path, size).map_err(|e| match e {
            FetchError::TooLarge { .. } | FetchError::Truncated { .. } => format!(
                "refused: {e}: not the {size} bytes the signed index pins (tampered or replaced)"
            ),
            e => e.to_string(),
        })?;
        let found = crate::engine::sha256_hex(&bytes);
        if found != sha256 {
            return Err(format!(
                "refused: {path} has sha256 {found}, the index says {sha256} (tampered)"
            ));
        }
        self.cache
            .put_blob(sha256, &bytes)
            .map_err(|e| e.to_string())?;
        Ok(bytes)
    }

    /// The signature of the manifest with digest `sha256`: cached beside it, else downloaded.
    /// Not trusted because of where it came from: it is verified against the team's keys.
    fn signature(&self, sha256: &str, path: &str) -> Result<String, String> {
        let cached = self
            .cache
            .companion(sha256, "sig", MAX_MANIFEST_SIGNATURE_BYTES)
            .map_err(|e| e.to_string())?;
        let bytes = match cached {
            Some(bytes) => bytes,
            None if self.offline => {
                return Err(format!(
                    "{path} is not cached and --offline forbids downloading it"
                ));
            }
            None => {
                let bytes = self
                    .fetcher
                    .get(path, MAX_MANIFEST_SIGNATURE_BYTES)
                    .map_err(|e| e.to_string())?;
                self.cache
                    .put_companion(sha256, "sig", &bytes)
                    .map_err(|e| e.to_string())?;
                bytes
            }
        };
        String::from_utf8(bytes).map_err(|_| format!("{path} is not UTF-8 text"))
    }
}

/// The lock pins the exact bytes; a registry that now lists other digests for the same version
/// replaced a published artifact.
fn check_lock_digests(entry: &PluginEntry, locked: &LockedPlugin) -> Result<(), String> {
    let pairs = [
        (
            "manifest sha256",
            &locked.manifest_sha256,
            &entry.manifest_sha256,
        ),
        ("component sha256", &locked.wasm_sha256, &entry.wasm_sha256),
    ];
    for (what, lock, index) in pairs {
        if lock != index {
            return Err(format!(
                "the lock's digest no longer matches: palisade.lock pins {what} {lock}, the \
                 registry's index now says {index} (run `palisade lock` only if this change is \
                 expected)"
            ));
        }
    }
    if locked.wasm_size != entry.wasm_size {
        return Err(format!(
            "the lock's digest no longer matches: palisade.lock pins a {}-byte component, the \
             registry's index now says {} bytes",
            locked.wasm_size, entry.wasm_size
        ));
    }
    Ok(())
}

/// Where registry downloads are kept under a palisade cache directory.
pub fn cache_dir(palisade_cache: &Path) -> PathBuf {
    palisade_cache.join("registry")
}

/// The index and its signatures, as a registry serves them. A missing signature file is an
/// unsigned index.
pub fn fetch_index(fetcher: &Fetcher) -> Result<(Vec<u8>, String), String> {
    let bytes = fetcher
        .get(INDEX_FILE, MAX_INDEX_BYTES)
        .map_err(|e| e.to_string())?;
    let signatures = fetcher
        .get(INDEX_SIGNATURES_FILE, MAX_INDEX_SIGNATURES_BYTES)
        .map_err(|e| match e {
            FetchError::NotFound { .. } => {
                format!("the index is not signed ({INDEX_SIGNATURES_FILE} is missing)")
            }
            e => e.to_string(),
        })?;
    let signatures = String::from_utf8(signatures)
        .map_err(|_| "the index signatures are not UTF-8 text".to_string())?;
    Ok((bytes, signatures))
}

/// `registry verify` of a registry served over HTTP(S): the same checks as for a directory
/// ([`RegistryDir::verify`](super::RegistryDir::verify)), every file read through the capped,
/// timed fetcher. Trusts `trusted`, or else the index's own root keys.
pub fn verify_site(
    url: &str,
    options: &FetchOptions,
    trusted: Option<TrustedRoot>,
    now: time::OffsetDateTime,
) -> Result<(Trust, RegistryVerification), String> {
    let location = RegistryLocation::parse(url).map_err(|e| e.to_string())?;
    let fetcher = Fetcher::new(location, options).map_err(|e| e.to_string())?;
    let (index, signatures) = fetch_index(&fetcher).map_err(|e| format!("registry {url}: {e}"))?;
    let trust = Trust::for_index(trusted, &index).map_err(|e| format!("registry {url}: {e}"))?;
    let report = verify_registry(&index, &signatures, trust.root(), now, |path, max| {
        fetcher.get(path, max).map_err(|e| e.to_string())
    })
    .map_err(|e| format!("registry {url}: {e}"))?;
    Ok((trust, report))
}
