//! The registry cache: downloaded files stored by their sha256 (so a file is fetched once and
//! is checked on every read), the last verified index of each registry, and what this machine
//! has seen of each registry, for rollback protection.
//!
//! Layout under the cache directory:
//! ```text
//! blobs/sha256/<hex>                 a file, named by the sha256 of its bytes
//! blobs/sha256/<hex>.<suffix>        a companion, e.g. the signature of a manifest
//! registries/<id>/index              the sha256 of the last verified index (a blob)
//! registries/<id>/state.toml         the highest index version seen, its digest, its root keys
//! ```
//! where `<id>` is the first 32 hex digits of the sha256 of the registry's location key. The
//! index's signatures are the companion `<hex>.sig` of its blob, so an index and its signatures
//! are found through one file written in one rename: a reader never pairs an index with the
//! signatures of another.
//!
//! Every write goes to a temporary file in the same directory, is synced, then renamed into
//! place, so concurrent scans never see half a file.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Largest cached index read back; the registry index itself is capped far below this.
pub const MAX_CACHED_INDEX_BYTES: u64 = 64 << 20;
/// Largest cached index signature file read back.
pub const MAX_CACHED_SIGNATURES_BYTES: u64 = 1 << 20;
/// Largest `state.toml` read back; real ones are a few hundred bytes.
const MAX_STATE_BYTES: u64 = 1 << 20;
/// The companion suffix of an index's signatures.
const INDEX_SIGNATURES_SUFFIX: &str = "sig";

/// Why the registry cache could not be read or written. Every message names the file or the
/// value refused.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// A digest that is not 64 lowercase hex digits (it would become a file name).
    #[error("registry cache: `{digest}` is not a sha256 digest (64 lowercase hex digits)")]
    Digest { digest: String },
    /// A companion suffix that is not a short lowercase word.
    #[error(
        "registry cache: `{suffix}` is not a companion suffix (1 to 16 lowercase letters or digits)"
    )]
    Suffix { suffix: String },
    /// Bytes stored under a digest they do not have.
    #[error("registry cache: refusing to store bytes with sha256 {found} under {expected}")]
    Mismatch { expected: String, found: String },
    /// A remembered registry state that cannot be read back; it is not ignored, since that
    /// would forget the versions seen and allow a rollback.
    #[error("registry cache {}: {reason}; delete it to forget what was seen of this registry", path.display())]
    Corrupt { path: PathBuf, reason: String },
    /// A file could not be read or written.
    #[error("registry cache {}: {reason}", path.display())]
    Io { path: PathBuf, reason: String },
}

impl CacheError {
    fn io(path: &Path, error: impl std::fmt::Display) -> CacheError {
        CacheError::Io {
            path: path.to_path_buf(),
            reason: error.to_string(),
        }
    }
}

/// What this machine has seen of one registry: an index older than this is a rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryState {
    /// The highest index version verified.
    pub highest_version: u64,
    /// The sha256 of that index.
    pub index_sha256: String,
    /// Its root threshold.
    pub root_threshold: usize,
    /// Its root keys (OpenSSH public key lines), trusted for the next index.
    pub root_keys: Vec<String>,
}

/// `state.toml`, with the registry's location key inside for humans (and to notice a file
/// that belongs to another registry).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct StateFile {
    registry: String,
    highest_version: u64,
    index_sha256: String,
    root_threshold: usize,
    root_keys: Vec<String>,
}

/// The content-addressed registry cache in one directory (e.g. `<cache dir>/registry`).
#[derive(Debug, Clone)]
pub struct RegistryCache {
    dir: PathBuf,
}

impl RegistryCache {
    /// The cache in `dir`; nothing is created until something is stored.
    pub fn new(dir: impl Into<PathBuf>) -> RegistryCache {
        RegistryCache { dir: dir.into() }
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The blob with this digest, if cached and intact: bytes that do not hash to `sha256`
    /// are deleted and reported as absent; a file larger than `max` is reported as absent
    /// (unread; storing the right bytes replaces it).
    pub fn blob(&self, sha256: &str, max: u64) -> Result<Option<Vec<u8>>, CacheError> {
        check_digest(sha256)?;
        let path = self.blob_path(sha256);
        let Some(bytes) = read_capped(&path, max)? else {
            return Ok(None);
        };
        if hex_sha256(&bytes) != sha256 {
            // Damaged on disk: gone, so it is fetched and stored again.
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(CacheError::io(&path, e)),
            }
            return Ok(None);
        }
        Ok(Some(bytes))
    }

    /// Stores `bytes` under their digest, which must be `sha256`.
    pub fn put_blob(&self, sha256: &str, bytes: &[u8]) -> Result<(), CacheError> {
        check_digest(sha256)?;
        let found = hex_sha256(bytes);
        if found != sha256 {
            return Err(CacheError::Mismatch {
                expected: sha256.to_owned(),
                found,
            });
        }
        write_atomic(&self.blob_path(sha256), bytes)
    }

    /// A blob's companion file (e.g. `sig`, a manifest's signature), if cached and at most
    /// `max` bytes. Companions are not content-addressed: whoever reads one verifies it.
    pub fn companion(
        &self,
        sha256: &str,
        suffix: &str,
        max: u64,
    ) -> Result<Option<Vec<u8>>, CacheError> {
        let path = self.companion_path(sha256, suffix)?;
        read_capped(&path, max)
    }

    /// Stores a blob's companion file.
    pub fn put_companion(
        &self,
        sha256: &str,
        suffix: &str,
        bytes: &[u8],
    ) -> Result<(), CacheError> {
        let path = self.companion_path(sha256, suffix)?;
        write_atomic(&path, bytes)
    }

    /// The last verified index of the registry with location key `key`: `index.toml`'s bytes
    /// and the signatures' text. Absent when never stored, or when its files are damaged.
    pub fn index(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, CacheError> {
        let pointer = self.registry_dir(key).join("index");
        let Some(digest) = read_capped(&pointer, 128)? else {
            return Ok(None);
        };
        let digest = String::from_utf8_lossy(&digest).trim().to_owned();
        if check_digest(&digest).is_err() {
            return Ok(None);
        }
        let Some(index) = self.blob(&digest, MAX_CACHED_INDEX_BYTES)? else {
            return Ok(None);
        };
        let signatures = self.companion(
            &digest,
            INDEX_SIGNATURES_SUFFIX,
            MAX_CACHED_SIGNATURES_BYTES,
        )?;
        match signatures.map(String::from_utf8) {
            Some(Ok(signatures)) => Ok(Some((index, signatures))),
            _ => Ok(None),
        }
    }

    /// Stores a verified index and its signatures as the registry's last one.
    pub fn put_index(&self, key: &str, index: &[u8], signatures: &str) -> Result<(), CacheError> {
        let digest = hex_sha256(index);
        self.put_blob(&digest, index)?;
        self.put_companion(&digest, INDEX_SIGNATURES_SUFFIX, signatures.as_bytes())?;
        write_atomic(
            &self.registry_dir(key).join("index"),
            format!("{digest}\n").as_bytes(),
        )
    }

    /// What this machine has seen of the registry with location key `key`; `None` for a
    /// registry never recorded. A damaged record is an error, never silently forgotten.
    pub fn state(&self, key: &str) -> Result<Option<RegistryState>, CacheError> {
        let path = self.registry_dir(key).join("state.toml");
        let Some(bytes) = read_capped(&path, MAX_STATE_BYTES)? else {
            return Ok(None);
        };
        let corrupt = |reason: String| CacheError::Corrupt {
            path: path.clone(),
            reason,
        };
        let text = String::from_utf8(bytes).map_err(|_| corrupt("not UTF-8 text".to_owned()))?;
        let file: StateFile = toml::from_str(&text).map_err(|e| corrupt(e.message().to_owned()))?;
        if file.registry != key {
            return Err(corrupt(format!(
                "it records registry `{}`, not `{key}`",
                file.registry
            )));
        }
        if check_digest(&file.index_sha256).is_err() {
            return Err(corrupt(format!(
                "`{}` is not a sha256 digest",
                file.index_sha256
            )));
        }
        Ok(Some(RegistryState {
            highest_version: file.highest_version,
            index_sha256: file.index_sha256,
            root_threshold: file.root_threshold,
            root_keys: file.root_keys,
        }))
    }

    /// Records a verified index as seen and returns what is recorded now. A version above the
    /// recorded one replaces it (with its digest and root keys); an equal or lower one changes
    /// nothing, so the memory never goes back. The record is re-read under a lock held across
    /// the write, so scans racing to record cannot roll it back either.
    pub fn record(&self, key: &str, seen: &RegistryState) -> Result<RegistryState, CacheError> {
        check_digest(&seen.index_sha256)?;
        let dir = self.registry_dir(key);
        create_dir(&dir)?;
        let lock_path = dir.join("state.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| CacheError::io(&lock_path, e))?;
        lock.lock().map_err(|e| CacheError::io(&lock_path, e))?;
        let recorded = self.state(key)?;
        if let Some(recorded) = recorded
            && recorded.highest_version >= seen.highest_version
        {
            return Ok(recorded);
        }
        let file = StateFile {
            registry: key.to_owned(),
            highest_version: seen.highest_version,
            index_sha256: seen.index_sha256.clone(),
            root_threshold: seen.root_threshold,
            root_keys: seen.root_keys.clone(),
        };
        let text = format!(
            "# What palisade has seen of this registry: an index below this version is refused\n\
             # as a rollback. Written by palisade; deleting it forgets what was seen.\n{}",
            toml::to_string(&file).expect("a state file serializes to TOML")
        );
        write_atomic(&dir.join("state.toml"), text.as_bytes())?;
        // The lock is released when `lock` is dropped, after the rename.
        drop(lock);
        Ok(seen.clone())
    }

    fn blob_path(&self, sha256: &str) -> PathBuf {
        self.dir.join("blobs").join("sha256").join(sha256)
    }

    fn companion_path(&self, sha256: &str, suffix: &str) -> Result<PathBuf, CacheError> {
        check_digest(sha256)?;
        let valid = !suffix.is_empty()
            && suffix.len() <= 16
            && suffix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !valid {
            return Err(CacheError::Suffix {
                suffix: suffix.chars().take(40).collect(),
            });
        }
        Ok(self
            .dir
            .join("blobs")
            .join("sha256")
            .join(format!("{sha256}.{suffix}")))
    }

    fn registry_dir(&self, key: &str) -> PathBuf {
        let id = hex_sha256(key.as_bytes());
        self.dir.join("registries").join(&id[..32])
    }
}

/// Digests become file names: only 64 lowercase hex digits pass.
fn check_digest(sha256: &str) -> Result<(), CacheError> {
    let valid = sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if valid {
        Ok(())
    } else {
        Err(CacheError::Digest {
            digest: sha256.chars().take(80).collect(),
        })
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// A whole file of at most `max` bytes; `None` when it is missing or larger.
fn read_capped(path: &Path, max: u64) -> Result<Option<Vec<u8>>, CacheError> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CacheError::io(path, e)),
    };
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| CacheError::io(path, e))?;
    Ok((bytes.len() as u64 <= max).then_some(bytes))
}

fn create_dir(dir: &Path) -> Result<(), CacheError> {
    std::fs::create_dir_all(dir).map_err(|e| CacheError::io(dir, e))
}

/// Writes `path` whole or not at all: a synced temporary file in the same directory, renamed.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
    let dir = path
        .parent()
        .expect("cache paths are always inside the cache directory");
    create_dir(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| CacheError::io(dir, e))?;
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .map_err(|e| CacheError::io(file.path(), e))?;
    file.persist(path)
        .map_err(|e| CacheError::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(version: u64, digest_byte: char) -> RegistryState {
        RegistryState {
            highest_version: version,
            index_sha256: digest_byte.to_string().repeat(64),
            root_threshold: 1,
            root_keys: vec![format!("ssh-ed25519 AAAA root-{version}")],
        }
    }

    #[test]
    fn blobs_round_trip_under_their_digest() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = RegistryCache::new(dir.path());
        let bytes = b"a plugin component".as_slice();
        let digest = hex_sha256(bytes);
        assert_eq!(cache.blob(&digest, 1024).expect("reads"), None);
        cache.put_blob(&digest, bytes).expect("stores");
        assert_eq!(
            cache.blob(&digest, 1024).expect("reads").as_deref(),
            Some(bytes)
        );
        assert!(dir.path().join("blobs/sha256").join(&digest).is_file());
        // Over the caller's cap: absent, and left for a put to replace.
        assert_eq!(cache.blob(&digest, 4).expect("reads"), None);
        // Storing again is harmless.
        cache.put_blob(&digest, bytes).expect("stores again");

        cache
            .put_companion(&digest, "sig", b"-----BEGIN SSH SIGNATURE-----")
            .expect("stores");
        assert_eq!(
            cache
                .companion(&digest, "sig", 1024)
                .expect("reads")
                .as_deref(),
            Some(b"-----BEGIN SSH SIGNATURE-----".as_slice())
        );
        assert_eq!(cache.companion(&digest, "toml", 1024).expect("reads"), None);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("blobs/sha256"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(leftovers.len(), 2, "no temporary files left: {leftovers:?}");
    }

    #[test]
    fn a_corrupt_blob_is_deleted_and_reported_absent() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = RegistryCache::new(dir.path());
        let digest = hex_sha256(b"original");
        cache.put_blob(&digest, b"original").expect("stores");
        let path = dir.path().join("blobs/sha256").join(&digest);
        std::fs::write(&path, b"tampered").expect("tamper");
        assert_eq!(cache.blob(&digest, 1024).expect("reads"), None);
        assert!(!path.exists(), "the damaged blob is gone");
    }

    #[test]
    fn bytes_are_only_stored_under_their_own_digest() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = RegistryCache::new(dir.path());
        let other = hex_sha256(b"other");
        let error = cache.put_blob(&other, b"bytes").expect_err("mismatch");
        assert!(
            matches!(&error, CacheError::Mismatch { expected, found }
                if *expected == other && *found == hex_sha256(b"bytes")),
            "{error}"
        );
        assert!(!dir.path().join("blobs/sha256").join(&other).exists());
        for bad in [
            "../../etc/passwd".to_owned(),
            "A".repeat(64),
            "a".repeat(63),
            format!("{}/x", "a".repeat(62)),
        ] {
            assert!(
                matches!(cache.blob(&bad, 10), Err(CacheError::Digest { .. })),
                "{bad}"
            );
            assert!(matches!(
                cache.put_blob(&bad, b""),
                Err(CacheError::Digest { .. })
            ));
        }
        for bad in ["", "../x", "SIG", "s.g", &"x".repeat(17)] {
            assert!(
                matches!(
                    cache.put_companion(&other, bad, b""),
                    Err(CacheError::Suffix { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn indexes_round_trip_per_registry() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = RegistryCache::new(dir.path());
        let key = "https://plugins.example.com/";
        assert_eq!(cache.index(key).expect("reads"), None);
        cache
            .put_index(key, b"format = 1\nversion = 1\n", "sig one")
            .expect("stores");
        cache
            .put_index(key, b"format = 1\nversion = 2\n", "sig two")
            .expect("stores");
        assert_eq!(
            cache.index(key).expect("reads"),
            Some((b"format = 1\nversion = 2\n".to_vec(), "sig two".to_owned()))
        );
        assert_eq!(cache.index("/srv/other-registry").expect("reads"), None);

        // A damaged index blob is absent, not handed out.
        let digest = hex_sha256(b"format = 1\nversion = 2\n");
        std::fs::write(dir.path().join("blobs/sha256").join(&digest), b"junk").expect("damage");
        assert_eq!(cache.index(key).expect("reads"), None);
    }

    #[test]
    fn record_never_lowers_the_highest_version() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = RegistryCache::new(dir.path());
        let key = "/srv/registry";
        assert_eq!(cache.state(key).expect("reads"), None);
        assert_eq!(
            cache.record(key, &state(3, 'a')).expect("records"),
            state(3, 'a')
        );
        assert_eq!(
            cache.record(key, &state(5, 'b')).expect("records"),
            state(5, 'b')
        );
        // An older index, and another index of the same version, change nothing.
        assert_eq!(
            cache.record(key, &state(4, 'c')).expect("records"),
            state(5, 'b')
        );
        assert_eq!(
            cache.record(key, &state(5, 'd')).expect("records"),
            state(5, 'b')
        );
        assert_eq!(cache.state(key).expect("reads"), Some(state(5, 'b')));
        assert_eq!(cache.state("/srv/another").expect("reads"), None);

        let text = std::fs::read_to_string(cache.registry_dir(key).join("state.toml"))
            .expect("state file");
        assert!(text.contains("registry = \"/srv/registry\""), "{text}");
        assert!(text.contains("highest-version = 5"), "{text}");
    }

    #[test]
    fn racing_records_keep_the_highest_version() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = RegistryCache::new(dir.path());
        let key = "https://plugins.example.com/";
        std::thread::scope(|scope| {
            for version in 1..=16u64 {
                let cache = cache.clone();
                scope.spawn(move || {
                    let digest = char::from_digit((version % 16) as u32, 16).expect("hex");
                    cache.record(key, &state(version, digest)).expect("records");
                });
            }
        });
        assert_eq!(
            cache.state(key).expect("reads").map(|s| s.highest_version),
            Some(16)
        );
    }

    #[test]
    fn a_damaged_state_is_an_error_not_a_blank_memory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = RegistryCache::new(dir.path());
        let key = "/srv/registry";
        cache.record(key, &state(2, 'a')).expect("records");
        let path = cache.registry_dir(key).join("state.toml");
        std::fs::write(&path, "highest-version = \"many\"").expect("damage");
        let error = cache.state(key).expect_err("damaged");
        assert!(
            matches!(&error, CacheError::Corrupt { path: p, .. } if *p == path),
            "{error}"
        );
        assert!(
            matches!(
                cache.record(key, &state(3, 'b')),
                Err(CacheError::Corrupt { .. })
            ),
            "a damaged memory is not overwritten silently"
        );
    }
}
