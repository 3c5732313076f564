//! Container images at scale: an OCI layout of five gzip layers (level 6, as `docker build`
//! writes them), built in the setup from real files of this machine: the first 20,000 regular
//! files of a sorted walk of `/usr` (at most 2 MiB each, the Google Cloud SDK left out) with
//! their directories and symlinks, setuid bits as installed, some of `/etc`, this machine's
//! `/var/lib/dpkg/status`, and a whiteout in the top layer. Modes, owners and contents are the
//! real ones; mtimes are fixed, so the layout is the same from run to run on one machine.
//!
//! - `normalize image (one core)`: `palisade::image::normalize` in this process: every blob
//!   read and digest-checked, every layer inflated and merged into the four `image/*`
//!   resources, as compressed layer bytes per second;
//! - `palisade scan --image (new process, warm cache)`: the `palisade` binary scanning the same
//!   layout with the built-in packs and a warm compile cache, a new process each time, as a
//!   pipeline runs it;
//! - peak memory: after the timed runs, one more scan in a fresh child, whose peak RSS is
//!   printed (not a criterion measurement).
//!
//! Run with `cargo bench -p palisade --bench image`. The setup prints the layout's compressed
//! and uncompressed size and its file count.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use palisade_normalize::Limits;
use palisade_normalize::image::ImageOptions;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Regular files taken from `/usr`.
const USR_FILES: usize = 20_000;
/// Larger files are passed over: with 4 MiB the 20,000 files make ~300 MB of gzip, more than
/// the ~200 MB of a typical large image.
const MAX_FILE_BYTES: u64 = 2 << 20;
/// Left out of the walk: a 1.9 GB vendored SDK of this machine, not found in typical images,
/// whose tiny YAML files would make the 20,000 files only ~150 MB of gzip.
const SKIPPED_DIR: &str = "/usr/lib/google-cloud-sdk";
/// Files of this machine's `/etc` and `/var` put in the base layer beside `/usr`.
const SYSTEM_FILES: [&str; 5] = [
    "etc/passwd",
    "etc/group",
    "etc/os-release",
    "etc/debian_version",
    "var/lib/dpkg/status",
];
const LAYERS: usize = 5;
/// The mtime of every entry (2024-01-01), so a rerun writes the same blobs.
const MTIME: u64 = 1_704_067_200;
const TAG: &str = "bench";
const GZIP_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let layout = dir.path().join("layout");
    let image = write_layout(&layout);
    let compressed: u64 = image.layers.iter().map(|l| l.size).sum();
    let uncompressed: u64 = image.layers.iter().map(|l| l.tar_bytes).sum();
    eprintln!(
        "image: {} layers, {:.1} MB gzip (level 6), {:.1} MB of tar, {} regular files ({} setuid), \
         {} tar entries, {}",
        image.layers.len(),
        mb(compressed),
        mb(uncompressed),
        image.files,
        image.setuid,
        image.layers.iter().map(|l| l.entries).sum::<u64>(),
        image.digest,
    );
    assert!(image.setuid >= 3, "this machine's /usr has setuid programs");

    let reference = format!("oci:{}:{TAG}", layout.display());
    let options = ImageOptions::default();
    let limits = Limits::default();
    let normalize = || {
        let normalized = palisade::image::normalize(&reference, &options, &limits);
        assert_eq!(normalized.diagnostics, []);
        assert_eq!(
            normalized.resources.len(),
            4,
            "config, manifest, filesystem, packages"
        );
        normalized
    };
    let files = normalize()
        .resources
        .iter()
        .find(|r| r.kind == palisade_normalize::image::FILESYSTEM_KIND)
        .and_then(|r| r.attributes["files"].as_array().map(Vec::len))
        .expect("image/filesystem lists files");

    let mut group = c.benchmark_group(format!("image {} MB", compressed / 1_000_000));
    // One iteration takes about a second: the same number per sample, ten samples.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    // Decimal units (MB/s), as the target is stated.
    group.throughput(Throughput::BytesDecimal(compressed));
    group.bench_function(
        format!("normalize image ({files} files merged, one core)"),
        |b| b.iter(normalize),
    );

    let cache = dir.path().join("cache");
    let scan = || {
        let output = Command::new(env!("CARGO_BIN_EXE_palisade"))
            .args(["scan", "--image", &reference, "--format", "json"])
            .env("PALISADE_CACHE_DIR", &cache)
            .output()
            .expect("palisade runs");
        check_report(output.status.code(), &output.stdout);
    };
    scan(); // warm the compile cache
    group.bench_function("palisade scan --image (new process, warm cache)", |b| {
        b.iter(scan)
    });
    group.finish();

    let (code, peak_kib, report) = scan_peak_rss(&reference, &cache, dir.path());
    check_report(code, &report);
    eprintln!(
        "peak RSS of `palisade scan --image` (one fresh process): {:.1} MB (target <= 100 MB)",
        mb(peak_kib * 1024)
    );
}

/// Asserts that a scan ran to its end without errors (its findings are the packs' business).
fn check_report(code: Option<i32>, stdout: &[u8]) {
    let report: Value = serde_json::from_slice(stdout).expect("a JSON report");
    assert_eq!(
        report["errors"],
        json!([]),
        "the image scans without errors"
    );
    assert!(
        matches!(code, Some(0 | 1)),
        "exit code {code:?}: 0 or 1 (findings) expected"
    );
}

/// Runs one scan in a new child and returns its exit code, its peak RSS in KiB and its stdout.
/// `wait4` reports that child's own peak, where `getrusage(RUSAGE_CHILDREN)` would give the
/// largest of every child this process ever waited for.
fn scan_peak_rss(reference: &str, cache: &Path, dir: &Path) -> (Option<i32>, u64, Vec<u8>) {
    let out_path = dir.join("peak-scan.json");
    let out = File::create(&out_path).expect("report file");
    #[expect(
        clippy::zombie_processes,
        reason = "reaped by `wait4` below, which `Child::wait` cannot replace"
    )]
    let child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["scan", "--image", reference, "--format", "json"])
        .env("PALISADE_CACHE_DIR", cache)
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("palisade runs");
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    let mut status = 0;
    // SAFETY: `rusage` is plain integers, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child and not yet reaped (`child` is never waited for); `status`
    // and `usage` are valid for writes.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4: {}", io::Error::last_os_error());
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let peak_kib = u64::try_from(usage.ru_maxrss).expect("ru_maxrss is not negative");
    let report = std::fs::read(&out_path).expect("read the report");
    (code, peak_kib, report)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// What goes into a layer, in tar order.
enum Item {
    /// A regular file: its image path (no leading `/`) and the file of this machine it copies.
    File(String, PathBuf),
    /// A symlink: its image path and target, as found on this machine.
    Symlink(String, PathBuf),
    /// A whiteout removing the image path from the layers below.
    Whiteout(String),
}

/// One layer blob as written.
struct Layer {
    digest: String,
    /// Compressed size.
    size: u64,
    diff_id: String,
    tar_bytes: u64,
    entries: u64,
}

struct Image {
    layers: Vec<Layer>,
    /// The manifest's digest: the same from run to run on one machine.
    digest: String,
    /// Regular files across all layers.
    files: usize,
    setuid: usize,
}

/// Writes the OCI layout under `layout`, tagged [`TAG`].
fn write_layout(layout: &Path) -> Image {
    std::fs::create_dir_all(layout.join("blobs/sha256")).expect("layout dirs");
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("oci-layout");

    let mut usr = Vec::new();
    let mut taken = 0;
    walk(Path::new("/usr"), &mut usr, &mut taken);
    assert_eq!(
        taken, USR_FILES,
        "this machine's /usr has {USR_FILES} files"
    );
    let setuid = usr
        .iter()
        .filter(|item| match item {
            Item::File(_, real) => std::fs::metadata(real).is_ok_and(|m| m.mode() & 0o6000 != 0),
            _ => false,
        })
        .count();

    // Contiguous runs of the sorted walk, of about equal file bytes, as layers that each add
    // a part of the tree; the base layer also has /etc and the package database, the top one
    // deletes a file of the layer below it.
    let file_bytes = |item: &Item| match item {
        Item::File(_, real) => std::fs::symlink_metadata(real).map_or(0, |m| m.len()),
        _ => 0,
    };
    let total: u64 = usr.iter().map(file_bytes).sum();
    let mut layers: Vec<Vec<Item>> = (0..LAYERS).map(|_| Vec::new()).collect();
    let mut so_far = 0;
    for item in usr {
        let index = usize::try_from(so_far * LAYERS as u64 / (total + 1)).expect("small");
        so_far += file_bytes(&item);
        layers[index].push(item);
    }
    for path in SYSTEM_FILES {
        let real = Path::new("/").join(path);
        assert!(
            real.is_file(),
            "{} is a file of this machine",
            real.display()
        );
        layers[0].push(Item::File(path.to_owned(), real));
    }
    let removed = layers[LAYERS - 2]
        .iter()
        .find_map(|item| match item {
            Item::File(path, _) => Some(path.clone()),
            _ => None,
        })
        .expect("the layer below the top has files");
    layers[LAYERS - 1].push(Item::Whiteout(removed));
    let files = layers
        .iter()
        .flatten()
        .filter(|item| matches!(item, Item::File(..)))
        .count();

    // Layers are independent: gzip them in parallel to keep the setup short.
    let written: Vec<Layer> = std::thread::scope(|scope| {
        let handles: Vec<_> = layers
            .iter()
            .enumerate()
            .map(|(index, items)| scope.spawn(move || write_layer(layout, index, items)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("layer writer"))
            .collect()
    });

    let created = "2024-01-01T00:00:00Z";
    let mut history: Vec<Value> = (0..LAYERS)
        .map(|i| json!({"created": created, "created_by": format!("COPY usr-part-{i}/ /usr/ # buildkit")}))
        .collect();
    history.push(json!({"created": created, "created_by": "CMD [\"bash\"]", "empty_layer": true}));
    let config = json!({
        "created": created,
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["bash"],
            "WorkingDir": "/",
            "Labels": {"org.opencontainers.image.source": "https://github.com/acme/bench"},
        },
        "rootfs": {"type": "layers", "diff_ids": written.iter().map(|l| &l.diff_id).collect::<Vec<_>>()},
        "history": history,
    });
    let config = blob(
        layout,
        "application/vnd.oci.image.config.v1+json",
        &serde_json::to_vec(&config).expect("config"),
    );
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config,
        "layers": written.iter().map(|l| json!({"mediaType": GZIP_LAYER, "digest": l.digest, "size": l.size})).collect::<Vec<_>>(),
    });
    let mut manifest = blob(
        layout,
        "application/vnd.oci.image.manifest.v1+json",
        &serde_json::to_vec(&manifest).expect("manifest"),
    );
    manifest["annotations"] = json!({"org.opencontainers.image.ref.name": TAG});
    let index = json!({"schemaVersion": 2, "manifests": [manifest]});
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).expect("index"),
    )
    .expect("write index.json");
    Image {
        digest: manifest["digest"]
            .as_str()
            .expect("a descriptor has a digest")
            .to_owned(),
        layers: written,
        files,
        setuid,
    }
}

/// Appends to `items` the entries below `dir` in sorted order until [`USR_FILES`] regular
/// files are taken: files up to [`MAX_FILE_BYTES`], and symlinks whose target stays inside
/// the image (a link climbing above `/` would be skipped by the scan, as a problem).
fn walk(dir: &Path, items: &mut Vec<Item>, taken: &mut usize) {
    let mut children: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    children.sort();
    for path in children {
        if *taken == USR_FILES {
            return;
        }
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue; // removed since listed
        };
        let name = image_path(&path);
        if meta.is_dir() {
            if path == Path::new(SKIPPED_DIR) {
                continue;
            }
            walk(&path, items, taken);
        } else if meta.is_file() && meta.len() <= MAX_FILE_BYTES {
            items.push(Item::File(name, path));
            *taken += 1;
        } else if meta.file_type().is_symlink()
            && let Ok(target) = std::fs::read_link(&path)
            && !climbs_above_root(&name, &target)
        {
            items.push(Item::Symlink(name, target));
        }
    }
}

/// `path` of this machine as a tar entry name: `/usr/bin/ls` → `usr/bin/ls`.
fn image_path(path: &Path) -> String {
    let text = path.to_str().expect("the /usr paths used are UTF-8");
    text.trim_start_matches('/').to_owned()
}

/// Whether a relative symlink target, resolved from the link's directory, leaves the root.
fn climbs_above_root(link: &str, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut depth = link.split('/').count() - 1;
    for part in target.components() {
        match part {
            std::path::Component::ParentDir => match depth.checked_sub(1) {
                Some(up) => depth = up,
                None => return true,
            },
            std::path::Component::Normal(_) => depth += 1,
            _ => {}
        }
    }
    false
}

/// Writes layer `index` as a gzip blob (level 6) and returns its descriptor data. Parent
/// directories are written before the first entry below them, with this machine's modes.
fn write_layer(layout: &Path, index: usize, items: &[Item]) -> Layer {
    let temp = layout.join(format!("blobs/sha256/layer-{index}.partial"));
    let file = BufWriter::new(File::create(&temp).expect("create the layer blob"));
    let gzip = flate2::write::GzEncoder::new(Digesting::new(file), flate2::Compression::new(6));
    let mut builder = tar::Builder::new(Digesting::new(gzip));
    let mut dirs = BTreeSet::new();
    let mut entries = 0;
    for item in items {
        let path = match item {
            Item::File(path, _) | Item::Symlink(path, _) | Item::Whiteout(path) => path,
        };
        for (at, _) in path.match_indices('/') {
            let parent = &path[..at];
            if dirs.insert(parent.to_owned()) {
                let meta = std::fs::metadata(Path::new("/").join(parent));
                let mut header = header(tar::EntryType::Directory, meta.as_ref().ok());
                builder
                    .append_data(&mut header, format!("{parent}/"), io::empty())
                    .expect("write a directory entry");
                entries += 1;
            }
        }
        match item {
            Item::File(path, real) => {
                let meta = std::fs::metadata(real)
                    .unwrap_or_else(|e| panic!("{} went away: {e}", real.display()));
                let data = std::fs::read(real)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", real.display()));
                let mut header = header(tar::EntryType::Regular, Some(&meta));
                header.set_size(data.len() as u64);
                builder
                    .append_data(&mut header, path, data.as_slice())
                    .expect("write a file entry");
            }
            Item::Symlink(path, target) => {
                let mut header = header(tar::EntryType::Symlink, None);
                header.set_mode(0o777);
                builder
                    .append_link(&mut header, path, target)
                    .expect("write a symlink entry");
            }
            Item::Whiteout(path) => {
                let (parent, name) = path.rsplit_once('/').expect("a path below /");
                let mut header = header(tar::EntryType::Regular, None);
                builder
                    .append_data(&mut header, format!("{parent}/.wh.{name}"), io::empty())
                    .expect("write a whiteout");
            }
        }
        entries += 1;
    }
    let tar = builder.into_inner().expect("finish the tar");
    let (tar_bytes, diff_id) = (tar.bytes, tar.hasher.finalize());
    let blob = tar.inner.finish().expect("finish the gzip stream");
    let (size, digest) = (blob.bytes, blob.hasher.finalize());
    blob.inner
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(|file| file.sync_all())
        .expect("flush the layer blob");
    std::fs::rename(&temp, layout.join(format!("blobs/sha256/{digest:x}")))
        .expect("name the blob by its digest");
    Layer {
        digest: format!("sha256:{digest:x}"),
        size,
        diff_id: format!("sha256:{diff_id:x}"),
        tar_bytes,
        entries,
    }
}

/// A tar header with `meta`'s permission bits and owner (root, 0644/0755 without it) and the
/// fixed mtime.
fn header(kind: tar::EntryType, meta: Option<&std::fs::Metadata>) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    let default_mode = if kind.is_dir() { 0o755 } else { 0o644 };
    header.set_mode(meta.map_or(default_mode, |m| m.mode() & 0o7777));
    header.set_uid(meta.map_or(0, |m| u64::from(m.uid())));
    header.set_gid(meta.map_or(0, |m| u64::from(m.gid())));
    header.set_mtime(MTIME);
    header.set_size(0);
    header
}

/// Stores a small blob (config, manifest) and returns its descriptor.
fn blob(layout: &Path, media_type: &str, bytes: &[u8]) -> Value {
    let digest = format!("sha256:{:x}", Sha256::digest(bytes));
    let path = layout.join("blobs/sha256").join(&digest["sha256:".len()..]);
    std::fs::write(path, bytes).expect("write blob");
    json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
}

/// A writer that hashes and counts the bytes passing through it: a layer's diff id (of the
/// tar) and its digest (of the gzip blob) come out of one pass.
struct Digesting<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W> Digesting<W> {
    fn new(inner: W) -> Digesting<W> {
        Digesting {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }
}

impl<W: Write> Write for Digesting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
