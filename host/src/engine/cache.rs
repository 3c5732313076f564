//! Precompiled plugins on disk, keyed by (wasm sha256, engine compatibility hash).
//!
//! An entry is `MAGIC ‖ sha256(payload) ‖ payload`, written to a temporary file and renamed into
//! place, so readers never see half an entry. On load the checksum is verified before wasmtime
//! sees a byte: a truncated, corrupted or foreign entry is recompiled, never trusted.

use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

const MAGIC: &[u8; 16] = b"PALISADE-CWASM1\n";

/// A directory of precompiled components.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    /// Uses `dir` (created on first store).
    pub fn new(dir: impl Into<PathBuf>) -> CompileCache {
        CompileCache { dir: dir.into() }
    }

    /// The user's default cache directory: `$PALISADE_CACHE_DIR`, else the platform cache dir.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("PALISADE_CACHE_DIR").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(dir));
        }
        dirs::cache_dir().map(|d| d.join("palisade"))
    }

    /// The directory entries live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file an entry for `wasm_digest` under `engine_key` lives in.
    pub(crate) fn entry_path(&self, wasm_digest: &str, engine_key: &str) -> PathBuf {
        self.dir
            .join("compiled")
            .join(format!("{wasm_digest}-{engine_key}.cwasm"))
    }

    /// The verified payload of an entry, or `None` when missing or damaged.
    pub(crate) fn load(&self, path: &Path) -> Option<Vec<u8>> {
        let mut bytes = std::fs::read(path).ok()?;
        if bytes.len() < MAGIC.len() + 32 || &bytes[..MAGIC.len()] != MAGIC {
            return None;
        }
        let (header, payload) = bytes.split_at(MAGIC.len() + 32);
        if Sha256::digest(payload).as_slice() != &header[MAGIC.len()..] {
            return None;
        }
        bytes.drain(..MAGIC.len() + 32);
        Some(bytes)
    }

    /// Stores an entry atomically. Failures are returned for the caller to report, never fatal.
    pub(crate) fn store(&self, path: &Path, payload: &[u8]) -> std::io::Result<()> {
        let parent = path.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(parent)?;
        let mut tmp = tempfile::NamedTempFile::new_in(parent)?;
        tmp.write_all(MAGIC)?;
        tmp.write_all(&Sha256::digest(payload))?;
        tmp.write_all(payload)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A stable digest of everything that makes precompiled code (in)compatible with `engine`:
/// wasmtime's version, target and compiler settings, as wasmtime itself reports them.
pub(crate) fn engine_key(engine: &wasmtime::Engine) -> String {
    struct ShaHasher(Sha256);
    impl Hasher for ShaHasher {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = ShaHasher(Sha256::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
    hex(&hasher.0.finalize()[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_entries_load_back_and_damage_is_detected() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = CompileCache::new(dir.path());
        let path = cache.entry_path("abc", "def");
        assert_eq!(cache.load(&path), None);
        cache.store(&path, b"compiled code").expect("store");
        assert_eq!(cache.load(&path).as_deref(), Some(&b"compiled code"[..]));

        let mut bytes = std::fs::read(&path).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).expect("write");
        assert_eq!(cache.load(&path), None, "a flipped bit must be detected");

        std::fs::write(&path, b"PALISADE").expect("write");
        assert_eq!(
            cache.load(&path),
            None,
            "a truncated entry must be detected"
        );
    }
}
