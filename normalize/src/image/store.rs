//! Images on disk: OCI image layouts and `docker save` archives, and the reader that checks a
//! blob against its descriptor.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::model::{self, Index, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, sha256_hex};
use super::{Fetched, ImageError, ImageStore, MAX_MANIFEST_BYTES};

/// Most entries read from a `docker save` archive's table of contents.
const MAX_ARCHIVE_ENTRIES: usize = 1_000_000;

/// Opens a local image reference: `oci:DIR[:TAG]`, `docker-archive:FILE`, or a path to an OCI
/// layout directory or a `.tar` archive. `None` when `reference` is none of these (a registry
/// reference or a JSON file is the caller's to handle).
pub fn open_local(reference: &str) -> Option<Result<Box<dyn ImageStore>, ImageError>> {
    if let Some(rest) = reference.strip_prefix("oci:") {
        let (dir, tag) = split_tag(rest);
        return Some(OciLayout::open(Path::new(dir), tag).map(|s| Box::new(s) as _));
    }
    if let Some(file) = reference.strip_prefix("docker-archive:") {
        return Some(DockerArchive::open(Path::new(file)).map(|s| Box::new(s) as _));
    }
    let path = Path::new(reference);
    if path.join("oci-layout").is_file() {
        return Some(OciLayout::open(path, None).map(|s| Box::new(s) as _));
    }
    if path.is_file() && reference.ends_with(".tar") {
        return Some(DockerArchive::open(path).map(|s| Box::new(s) as _));
    }
    None
}

/// `DIR:TAG` → (`DIR`, `TAG`), unless what follows the last `:` is part of a path (or the
/// whole text names an existing directory).
fn split_tag(text: &str) -> (&str, Option<&str>) {
    match text.rsplit_once(':') {
        Some((dir, tag))
            if !tag.is_empty() && !tag.contains(['/', '\\']) && !Path::new(text).is_dir() =>
        {
            (dir, Some(tag))
        }
        _ => (text, None),
    }
}

/// A reader that yields a blob's bytes and fails, at its end, unless they have the digest and
/// size the descriptor gave. Reads stop one byte past the size, so an endless blob is cut off.
pub struct Verified<R> {
    inner: io::Take<R>,
    hasher: Sha256,
    digest: String,
    size: u64,
    read: u64,
    checked: bool,
}

impl<R: Read> Verified<R> {
    /// Wraps `inner`, which must yield `size` bytes hashing to `digest` (`sha256:…`).
    pub fn new(inner: R, digest: &str, size: u64) -> Result<Verified<R>, ImageError> {
        sha256_hex(digest)?;
        Ok(Verified {
            inner: inner.take(size.saturating_add(1)),
            hasher: Sha256::new(),
            digest: digest.to_owned(),
            size,
            read: 0,
            checked: false,
        })
    }

    fn check(&mut self) -> io::Result<()> {
        if self.checked {
            return Ok(());
        }
        self.checked = true;
        if self.read != self.size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "blob {} has {} bytes, its descriptor says {}",
                    model::short(&self.digest),
                    if self.read > self.size {
                        "more".to_owned()
                    } else {
                        self.read.to_string()
                    },
                    self.size
                ),
            ));
        }
        let actual = format!("sha256:{:x}", self.hasher.clone().finalize());
        if actual != self.digest {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "blob {} does not match its digest (its content hashes to {})",
                    model::short(&self.digest),
                    model::short(&actual)
                ),
            ));
        }
        Ok(())
    }
}

impl<R: Read> Read for Verified<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        if n == 0 || self.read > self.size {
            self.check()?;
        }
        Ok(n)
    }
}

/// Reads a whole small blob (a manifest, an index, a config) through [`Verified`].
pub(super) fn read_verified(
    reader: impl Read,
    digest: &str,
    size: u64,
    what: &str,
) -> Result<Vec<u8>, ImageError> {
    if size > MAX_MANIFEST_BYTES {
        return Err(ImageError::new(format!(
            "{what} {} is {size} bytes, more than the {MAX_MANIFEST_BYTES} read",
            model::short(digest)
        )));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    Verified::new(reader, digest, size)?
        .read_to_end(&mut bytes)
        .map_err(|e| ImageError::new(format!("reading {what}: {e}")))?;
    Ok(bytes)
}

/// Reads at most [`MAX_MANIFEST_BYTES`] from a file (an `index.json`, a `manifest.json`).
fn read_small(reader: impl Read, what: &str) -> Result<Vec<u8>, ImageError> {
    crate::read_capped(reader, MAX_MANIFEST_BYTES)
        .map_err(|e| ImageError::new(format!("cannot read {what}: {e}")))?
        .ok_or_else(|| ImageError::new(format!("{what} is larger than {MAX_MANIFEST_BYTES} bytes")))
}

/// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/…`), as `skopeo`,
/// `umoci`, `buildah` and BuildKit write it.
pub struct OciLayout {
    dir: PathBuf,
    tag: Option<String>,
    display: String,
    file: String,
}

impl OciLayout {
    /// Opens the layout in `dir`; `tag` picks the manifest whose
    /// `org.opencontainers.image.ref.name` annotation it is (without one, every manifest).
    pub fn open(dir: &Path, tag: Option<&str>) -> Result<OciLayout, ImageError> {
        let shown = dir.to_string_lossy().replace('\\', "/");
        let display = match tag {
            Some(tag) => format!("oci:{shown}:{tag}"),
            None => format!("oci:{shown}"),
        };
        let marker = dir.join("oci-layout");
        let text = File::open(&marker)
            .map_err(|e| {
                ImageError::new(format!(
                    "{shown} is not an OCI image layout (no readable `oci-layout` file: {e})"
                ))
            })
            .and_then(|file| read_small(file, "oci-layout"))?;
        let version = serde_json::from_slice::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("imageLayoutVersion")?.as_str().map(str::to_owned));
        if version.is_none() {
            return Err(ImageError::new(format!(
                "{shown}/oci-layout has no `imageLayoutVersion`"
            )));
        }
        Ok(OciLayout {
            dir: dir.to_path_buf(),
            tag: tag.map(str::to_owned),
            display,
            file: shown,
        })
    }

    fn blob_file(&self, digest: &str) -> Result<File, ImageError> {
        let hex = sha256_hex(digest)?;
        let path = self.dir.join("blobs").join("sha256").join(hex);
        let meta = std::fs::symlink_metadata(&path).map_err(|e| {
            ImageError::new(format!("blob {} is missing: {e}", model::short(digest)))
        })?;
        if !meta.is_file() {
            return Err(ImageError::new(format!(
                "blob {} is not a regular file; not read",
                model::short(digest)
            )));
        }
        File::open(&path)
            .map_err(|e| ImageError::new(format!("cannot read blob {}: {e}", model::short(digest))))
    }
}

impl ImageStore for OciLayout {
    fn display(&self) -> &str {
        &self.display
    }

    fn file(&self) -> &str {
        &self.file
    }

    fn roots(&mut self) -> Result<Vec<Fetched>, ImageError> {
        let bytes = File::open(self.dir.join("index.json"))
            .map_err(|e| ImageError::new(format!("cannot read index.json: {e}")))
            .and_then(|file| read_small(file, "index.json"))?;
        let index: Index = serde_json::from_slice(&bytes)
            .map_err(|e| ImageError::new(format!("invalid index.json: {e}")))?;
        let tagged: Vec<_> = match &self.tag {
            None => index.manifests.iter().collect(),
            Some(tag) => index
                .manifests
                .iter()
                .filter(|d| d.annotations.get(REF_NAME) == Some(tag))
                .collect(),
        };
        if tagged.is_empty() {
            let mut tags: Vec<&str> = index
                .manifests
                .iter()
                .filter_map(|d| d.annotations.get(REF_NAME).map(String::as_str))
                .collect();
            tags.sort_unstable();
            return Err(ImageError::new(match &self.tag {
                Some(tag) if !tags.is_empty() => format!(
                    "no image tagged `{tag}` in the layout (its tags: {})",
                    tags.join(", ")
                ),
                Some(tag) => format!("no image tagged `{tag}` in the layout (it has no tags)"),
                None => "the layout's index.json lists no images".to_owned(),
            }));
        }
        tagged
            .into_iter()
            .map(|descriptor| {
                let file = self.blob_file(&descriptor.digest)?;
                Ok(Fetched {
                    bytes: read_small(file, "manifest")?,
                    media_type: Some(descriptor.media_type.clone()).filter(|m| !m.is_empty()),
                    digest: Some(descriptor.digest.clone()),
                })
            })
            .collect()
    }

    fn manifest(&mut self, digest: &str, _size: u64) -> Result<Fetched, ImageError> {
        // Checked against `digest` by the caller, as every store's manifests are.
        let file = self.blob_file(digest)?;
        Ok(Fetched {
            bytes: read_small(file, "manifest")?,
            media_type: None,
            digest: Some(digest.to_owned()),
        })
    }

    fn blob<'s>(&'s mut self, digest: &str, _size: u64) -> Result<Box<dyn Read + 's>, ImageError> {
        Ok(Box::new(self.blob_file(digest)?))
    }
}

/// The annotation that names a manifest's tag in a layout's `index.json`.
const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// A `docker save` archive: the legacy layout (`manifest.json`, `<id>.json` configs,
/// `<id>/layer.tar`) and the OCI-style one of newer Docker (the same `manifest.json` pointing
/// into `blobs/sha256/`). Read in place: a table of contents, then each blob by seeking.
pub struct DockerArchive {
    path: PathBuf,
    display: String,
    file: String,
    /// Entry name → (offset of its data, size), links resolved.
    entries: HashMap<String, (u64, u64)>,
    /// Digest → entry name, for the blobs the synthesized manifests name.
    blobs: HashMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ArchiveImage {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

impl DockerArchive {
    /// Reads the archive's table of contents.
    pub fn open(path: &Path) -> Result<DockerArchive, ImageError> {
        let shown = path.to_string_lossy().replace('\\', "/");
        let display = format!("docker-archive:{shown}");
        let mut file =
            File::open(path).map_err(|e| ImageError::new(format!("cannot open {shown}: {e}")))?;
        // `docker save | gzip` output cannot be read in place (blobs are found by seeking).
        let mut magic = [0u8; 2];
        if file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b] {
            return Err(ImageError::new(format!(
                "{shown} is gzip-compressed; decompress it first (`gunzip`): archives are read \
                 in place"
            )));
        }
        file.seek(SeekFrom::Start(0))
            .map_err(|e| ImageError::new(format!("cannot read {shown}: {e}")))?;
        let mut archive = tar::Archive::new(file);
        let mut data = HashMap::new();
        let mut links = HashMap::new();
        let not_tar =
            |e: io::Error| ImageError::new(format!("{shown} is not a readable tar archive: {e}"));
        for entry in archive.entries_with_seek().map_err(not_tar)? {
            let entry = entry.map_err(not_tar)?;
            if data.len() + links.len() >= MAX_ARCHIVE_ENTRIES {
                return Err(ImageError::new(format!(
                    "{shown} has more than {MAX_ARCHIVE_ENTRIES} entries; not read"
                )));
            }
            let name = archive_name(&String::from_utf8_lossy(&entry.path_bytes()));
            let kind = entry.header().entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                if let Some(target) = entry.link_name_bytes() {
                    let target = String::from_utf8_lossy(&target).into_owned();
                    let resolved = if kind.is_symlink() {
                        resolve_relative(&name, &target)
                    } else {
                        Some(archive_name(&target))
                    };
                    if let Some(resolved) = resolved {
                        links.insert(name, resolved);
                    }
                }
            } else if kind.is_file() {
                data.insert(name, (entry.raw_file_position(), entry.size()));
            }
        }
        // Legacy archives link repeated layers to the first copy; a few hops, inside the
        // archive only.
        let mut resolved = Vec::new();
        for (name, target) in &links {
            let mut current = target;
            for _ in 0..8 {
                if let Some(&found) = data.get(current) {
                    resolved.push((name.clone(), found));
                    break;
                }
                match links.get(current) {
                    Some(next) => current = next,
                    None => break,
                }
            }
        }
        data.extend(resolved);
        Ok(DockerArchive {
            path: path.to_path_buf(),
            display,
            file: shown,
            entries: data,
            blobs: HashMap::new(),
        })
    }

    fn entry(&self, name: &str) -> Result<impl Read + use<>, ImageError> {
        let &(offset, size) = self
            .entries
            .get(name)
            .ok_or_else(|| ImageError::new(format!("the archive has no file `{name}`")))?;
        let mut file = File::open(&self.path)
            .map_err(|e| ImageError::new(format!("cannot open the archive: {e}")))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| ImageError::new(format!("cannot read `{name}`: {e}")))?;
        Ok(file.take(size))
    }

    fn size(&self, name: &str) -> u64 {
        self.entries.get(name).map_or(0, |&(_, size)| size)
    }
}

impl ImageStore for DockerArchive {
    fn display(&self) -> &str {
        &self.display
    }

    fn file(&self) -> &str {
        &self.file
    }

    fn roots(&mut self) -> Result<Vec<Fetched>, ImageError> {
        let bytes = read_small(self.entry("manifest.json")?, "manifest.json")?;
        let images: Vec<ArchiveImage> = serde_json::from_slice(&bytes)
            .map_err(|e| ImageError::new(format!("invalid manifest.json: {e}")))?;
        if images.is_empty() {
            return Err(ImageError::new(
                "the archive's manifest.json lists no images",
            ));
        }
        let mut roots = Vec::new();
        for image in images {
            let config_name = archive_name(&image.config);
            let config_size = self.size(&config_name);
            let config = read_small(self.entry(&config_name)?, &config_name)?;
            let config_digest = format!("sha256:{:x}", Sha256::digest(&config));
            let diff_ids: Vec<String> = serde_json::from_slice::<serde_json::Value>(&config)
                .ok()
                .and_then(|c| {
                    c.pointer("/rootfs/diff_ids")?
                        .as_array()?
                        .iter()
                        .map(|d| d.as_str().map(str::to_owned))
                        .collect()
                })
                .ok_or_else(|| {
                    ImageError::new(format!("{config_name}: no `rootfs.diff_ids` in the config"))
                })?;
            if diff_ids.len() != image.layers.len() {
                return Err(ImageError::new(format!(
                    "{config_name} lists {} layers, manifest.json {}",
                    diff_ids.len(),
                    image.layers.len()
                )));
            }
            self.blobs.insert(config_digest.clone(), config_name);
            // The archive's layers are uncompressed tars, so each one's digest is the diff id
            // the config records for it.
            let mut layers = Vec::new();
            for (layer, diff_id) in image.layers.iter().zip(&diff_ids) {
                sha256_hex(diff_id)?;
                let name = archive_name(layer);
                layers.push(serde_json::json!({
                    "mediaType": OCI_LAYER,
                    "digest": diff_id,
                    "size": self.size(&name),
                }));
                self.blobs.insert(diff_id.clone(), name);
            }
            let mut manifest = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
                "layers": layers,
            });
            if let Some(tag) = image.repo_tags.as_ref().and_then(|t| t.first()) {
                manifest["annotations"] = serde_json::json!({ REF_NAME: tag });
            }
            roots.push(Fetched {
                bytes: serde_json::to_vec(&manifest).expect("JSON values always serialize"),
                media_type: Some(OCI_MANIFEST.to_owned()),
                digest: None,
            });
        }
        Ok(roots)
    }

    fn manifest(&mut self, digest: &str, _size: u64) -> Result<Fetched, ImageError> {
        Err(ImageError::new(format!(
            "a docker archive holds no manifest {}",
            model::short(digest)
        )))
    }

    fn blob<'s>(&'s mut self, digest: &str, _size: u64) -> Result<Box<dyn Read + 's>, ImageError> {
        let name = self.blobs.get(digest).cloned().ok_or_else(|| {
            ImageError::new(format!("the archive has no blob {}", model::short(digest)))
        })?;
        Ok(Box::new(self.entry(&name)?))
    }
}

/// An archive member name without `./` and trailing `/`.
fn archive_name(name: &str) -> String {
    let mut name = name;
    while let Some(rest) = name.strip_prefix("./") {
        name = rest;
    }
    name.trim_end_matches('/').to_owned()
}

/// A symlink's target inside the archive, from the link's own directory; `None` when it leaves
/// the archive.
fn resolve_relative(link: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}
