//! Image layers merged into one file tree, and the OS package databases read from it. Layers
//! are real tar archives built here (plain, gzip, zstd), including hostile ones: traversal,
//! escaping links, bombs, corruption, and a blob reader that fails its digest check at EOF.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::Command;

use palisade_normalize::image::layers::{
    Captured, Compression, Content, FileEntry, FileType, LayerLimits, Merged, Merger,
};
use palisade_normalize::image::packages::{Package, is_database, read_packages};
use tar::EntryType;

/// One layer's tar, built entry by entry with raw headers so hostile paths can be written
/// (`tar::Builder`'s path setters refuse `..`, which is exactly what these tests need).
struct Layer {
    builder: tar::Builder<Vec<u8>>,
}

impl Layer {
    fn new() -> Layer {
        Layer {
            builder: tar::Builder::new(Vec::new()),
        }
    }

    fn entry(mut self, path: &str, kind: EntryType, mode: u32, link: &str, data: &[u8]) -> Layer {
        let mut header = tar::Header::new_gnu();
        let gnu = header.as_gnu_mut().expect("a GNU header");
        assert!(
            path.len() <= 100 && link.len() <= 100,
            "test paths fit a header"
        );
        gnu.name[..path.len()].copy_from_slice(path.as_bytes());
        gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(data.len() as u64);
        header.set_cksum();
        self.builder
            .append(&header, data)
            .expect("writing to memory");
        self
    }

    fn file(self, path: &str, mode: u32, data: &[u8]) -> Layer {
        self.entry(path, EntryType::Regular, mode, "", data)
    }

    fn dir(self, path: &str, mode: u32) -> Layer {
        self.entry(path, EntryType::Directory, mode, "", b"")
    }

    fn symlink(self, path: &str, target: &str) -> Layer {
        self.entry(path, EntryType::Symlink, 0o777, target, b"")
    }

    fn hardlink(self, path: &str, target: &str) -> Layer {
        self.entry(path, EntryType::Link, 0o644, target, b"")
    }

    fn tar(self) -> Vec<u8> {
        self.builder.into_inner().expect("writing to memory")
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(bytes, 3).expect("writing to memory")
}

/// Merges `layers` (declared compression, blob) with default limits; every layer must read.
fn merge(layers: &[(Compression, Vec<u8>)]) -> Merged {
    let mut merger = Merger::new(LayerLimits::default());
    for (index, (compression, blob)) in layers.iter().enumerate() {
        merger
            .add_layer(index, *compression, blob.as_slice())
            .unwrap_or_else(|error| panic!("{error}"));
    }
    merger.finish()
}

fn plain(layer: Layer) -> (Compression, Vec<u8>) {
    (Compression::None, layer.tar())
}

fn paths(merged: &Merged) -> Vec<&str> {
    merged.files.iter().map(|f| f.path.as_str()).collect()
}

fn file<'a>(merged: &'a Merged, path: &str) -> &'a FileEntry {
    merged
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no {path} in {:?}", paths(merged)))
}

fn removed(merged: &Merged) -> Vec<(&str, usize, usize)> {
    merged
        .removed
        .iter()
        .map(|r| (r.path.as_str(), r.layer, r.removed_in))
        .collect()
}

fn problems(merged: &Merged) -> Vec<(usize, &str)> {
    merged
        .problems
        .iter()
        .map(|p| (p.layer, p.path.as_str()))
        .collect()
}

#[test]
fn paths_are_absolute_sorted_and_the_root_is_dropped() {
    let merged = merge(&[plain(
        Layer::new()
            .dir("./", 0o755)
            .dir("./usr/", 0o755)
            .dir("usr/bin/", 0o755)
            .file("./usr/bin/env", 0o755, b"#!")
            .file("/etc/hostname", 0o644, b"box\n")
            .dir("etc", 0o755),
    )]);
    assert_eq!(
        paths(&merged),
        ["/etc", "/etc/hostname", "/usr", "/usr/bin", "/usr/bin/env"]
    );
    let env = file(&merged, "/usr/bin/env");
    assert_eq!(
        (env.kind, env.mode, env.size, env.layer),
        (FileType::File, 0o755, 2, 0)
    );
    assert_eq!(file(&merged, "/usr").kind, FileType::Dir);
    assert_eq!(merged.layers.len(), 1);
    assert_eq!(merged.layers[0].entries, 6);
    assert!(merged.layers[0].bytes >= 7 * 512, "{:?}", merged.layers);
    assert!(merged.problems.is_empty(), "{:?}", merged.problems);
}

#[test]
fn mode_keeps_setuid_setgid_sticky_and_world_writable_bits() {
    let merged = merge(&[plain(
        Layer::new()
            .file("usr/bin/passwd", 0o104755, b"elf")
            .file("usr/bin/wall", 0o2755, b"elf")
            .dir("tmp", 0o41777)
            .file("etc/open", 0o666, b"x"),
    )]);
    assert_eq!(file(&merged, "/usr/bin/passwd").mode, 0o4755);
    assert_eq!(file(&merged, "/usr/bin/wall").mode, 0o2755);
    assert_eq!(file(&merged, "/tmp").mode, 0o1777);
    assert_eq!(file(&merged, "/etc/open").mode & 0o002, 0o002);
}

#[test]
fn device_files_and_fifos_are_kept() {
    let merged = merge(&[plain(
        Layer::new()
            .entry("dev/null", EntryType::Char, 0o666, "", b"")
            .entry("dev/sda", EntryType::Block, 0o660, "", b"")
            .entry("run/pipe", EntryType::Fifo, 0o600, "", b""),
    )]);
    assert_eq!(file(&merged, "/dev/null").kind, FileType::Char);
    assert_eq!(file(&merged, "/dev/sda").kind, FileType::Block);
    assert_eq!(file(&merged, "/run/pipe").kind, FileType::Fifo);
}

#[test]
fn a_whiteout_removes_a_lower_file_and_records_it() {
    let merged = merge(&[
        plain(
            Layer::new()
                .dir("root/.ssh", 0o700)
                .file(
                    "root/.ssh/id_rsa",
                    0o600,
                    b"-----BEGIN RSA PRIVATE KEY-----\n",
                )
                .file("root/keep", 0o644, b"k"),
        ),
        plain(Layer::new().file("root/.ssh/.wh.id_rsa", 0o600, b"")),
    ]);
    assert_eq!(paths(&merged), ["/root/.ssh", "/root/keep"]);
    assert_eq!(removed(&merged), [("/root/.ssh/id_rsa", 0, 1)]);
}

#[test]
fn a_directory_whiteout_removes_everything_below_it() {
    let merged = merge(&[
        plain(
            Layer::new()
                .dir("app", 0o755)
                .dir("app/secrets", 0o755)
                .file("app/secrets/token", 0o600, b"t")
                .symlink("app/secrets/link", "token")
                .file("app/secrets-not-below", 0o644, b"n"),
        ),
        plain(Layer::new().file("app/.wh.secrets", 0o644, b"")),
    ]);
    assert_eq!(paths(&merged), ["/app", "/app/secrets-not-below"]);
    // The directory itself is not a file with data: only what it held is recorded.
    assert_eq!(
        removed(&merged),
        [("/app/secrets/link", 0, 1), ("/app/secrets/token", 0, 1)]
    );
}

#[test]
fn an_opaque_directory_hides_lower_children_but_keeps_itself_and_its_own_layer() {
    let merged = merge(&[
        plain(
            Layer::new()
                .dir("app", 0o755)
                .file("app/old", 0o644, b"o")
                .dir("app/sub", 0o755)
                .file("app/sub/deep", 0o644, b"d")
                .file("other", 0o644, b"x"),
        ),
        // The new file comes before the marker: order inside the layer must not matter.
        plain(
            Layer::new()
                .file("app/new", 0o644, b"n")
                .file("app/.wh..wh..opq", 0o644, b""),
        ),
    ]);
    assert_eq!(paths(&merged), ["/app", "/app/new", "/other"]);
    assert_eq!(file(&merged, "/app").layer, 0);
    assert_eq!(file(&merged, "/app/new").layer, 1);
    assert_eq!(
        removed(&merged),
        [("/app/old", 0, 1), ("/app/sub/deep", 0, 1)]
    );
}

#[test]
fn whiteouts_apply_only_to_lower_layers_whatever_their_order_in_the_tar() {
    let merged = merge(&[
        plain(Layer::new().file("etc/conf", 0o644, b"lower")),
        plain(
            Layer::new()
                .file("etc/conf", 0o600, b"upper")
                .file("etc/.wh.conf", 0o644, b"")
                .file("etc/.wh.added", 0o644, b"")
                .file("etc/added", 0o644, b"a"),
        ),
    ]);
    assert_eq!(paths(&merged), ["/etc/added", "/etc/conf"]);
    let conf = file(&merged, "/etc/conf");
    assert_eq!((conf.layer, conf.mode, conf.size), (1, 0o600, 5));
    assert_eq!(removed(&merged), [("/etc/conf", 0, 1)]);
}

#[test]
fn a_file_added_then_deleted_is_not_a_file_but_is_recorded_as_removed() {
    let merged = merge(&[
        plain(Layer::new().dir("build", 0o755)),
        plain(Layer::new().file("build/.npmrc", 0o600, b"//registry:_authToken=x")),
        plain(Layer::new().file("build/.wh..npmrc", 0o600, b"")),
    ]);
    assert_eq!(paths(&merged), ["/build"]);
    assert_eq!(removed(&merged), [("/build/.npmrc", 1, 2)]);
}

#[test]
fn a_file_replacing_a_directory_removes_its_children() {
    let merged = merge(&[
        plain(
            Layer::new()
                .dir("opt/tool", 0o755)
                .file("opt/tool/bin", 0o755, b"b")
                .dir("opt/keep", 0o755)
                .file("opt/keep/a", 0o644, b"a"),
        ),
        plain(
            Layer::new()
                .file("opt/tool", 0o755, b"now a file")
                .dir("opt/keep", 0o700)
                .file("opt/keep/b", 0o644, b"b"),
        ),
    ]);
    assert_eq!(
        paths(&merged),
        ["/opt/keep", "/opt/keep/a", "/opt/keep/b", "/opt/tool"]
    );
    assert_eq!(file(&merged, "/opt/tool").kind, FileType::File);
    // A directory over a directory: new metadata, children kept.
    let keep = file(&merged, "/opt/keep");
    assert_eq!((keep.mode, keep.layer), (0o700, 1));
    assert_eq!(file(&merged, "/opt/keep/a").layer, 0);
    assert_eq!(removed(&merged), [("/opt/tool/bin", 0, 1)]);
}

#[test]
fn a_later_entry_of_the_same_tar_wins() {
    let merged = merge(&[plain(
        Layer::new()
            .file("etc/motd", 0o644, b"first")
            .file("etc/motd", 0o600, b"second!"),
    )]);
    let motd = file(&merged, "/etc/motd");
    assert_eq!((motd.mode, motd.size), (0o600, 7));
}

#[test]
fn hardlinks_take_size_and_mode_from_their_target() {
    let merged = merge(&[plain(
        Layer::new()
            .file("usr/bin/su", 0o104755, b"12345")
            .hardlink("usr/bin/su-link", "usr/bin/su")
            .hardlink("usr/bin/dangling", "./usr/bin/none"),
    )]);
    let link = file(&merged, "/usr/bin/su-link");
    assert_eq!(
        (link.kind, link.size, link.mode, link.link.as_deref()),
        (FileType::Hardlink, 5, 0o4755, Some("/usr/bin/su"))
    );
    let dangling = file(&merged, "/usr/bin/dangling");
    assert_eq!(
        (dangling.size, dangling.link.as_deref()),
        (0, Some("/usr/bin/none"))
    );
}

#[test]
fn symlink_targets_are_kept_as_written() {
    let merged = merge(&[plain(
        Layer::new()
            .symlink("bin/sh", "/usr/bin/dash")
            .symlink("usr/lib/os-release", "../../etc/os-release")
            .symlink("etc/alt", "./alternatives/x"),
    )]);
    assert_eq!(
        file(&merged, "/bin/sh").link.as_deref(),
        Some("/usr/bin/dash")
    );
    assert_eq!(
        file(&merged, "/usr/lib/os-release").link.as_deref(),
        Some("../../etc/os-release")
    );
    assert_eq!(file(&merged, "/etc/alt").kind, FileType::Symlink);
    assert!(merged.problems.is_empty(), "{:?}", merged.problems);
}

#[test]
fn path_traversal_entries_are_skipped_as_problems_and_the_layer_goes_on() {
    let merged = merge(&[plain(
        Layer::new()
            .file("../../etc/passwd", 0o644, b"root::0:0")
            .file("/../etc/shadow", 0o644, b"x")
            .file("usr/../../escape", 0o644, b"x")
            .file("usr/../inside", 0o644, b"x")
            .file("etc/ok", 0o644, b"fine"),
    )]);
    assert_eq!(paths(&merged), ["/etc/ok"]);
    assert_eq!(
        problems(&merged),
        [
            (0, "../../etc/passwd"),
            (0, "/../etc/shadow"),
            (0, "usr/../../escape"),
            (0, "usr/../inside"),
        ]
    );
    assert!(
        merged.problems[0].message.contains(".."),
        "{:?}",
        merged.problems
    );
}

#[test]
fn escaping_symlink_and_hardlink_targets_are_skipped_as_problems() {
    let merged = merge(&[plain(
        Layer::new()
            .file("etc/shadow", 0o640, b"s")
            .symlink("etc/evil", "../../root/.ssh")
            .symlink("evil2", "../x")
            .hardlink("etc/hard", "../../etc/shadow")
            .hardlink("etc/hard2", "/etc/../../shadow")
            .hardlink("etc/fine", "etc/sub/../shadow"),
    )]);
    assert_eq!(paths(&merged), ["/etc/fine", "/etc/shadow"]);
    assert_eq!(
        file(&merged, "/etc/fine").link.as_deref(),
        Some("/etc/shadow")
    );
    assert_eq!(
        problems(&merged),
        [
            (0, "etc/evil"),
            (0, "evil2"),
            (0, "etc/hard"),
            (0, "etc/hard2"),
        ]
    );
    assert!(
        merged.problems[0].message.contains("climbs above /"),
        "{:?}",
        merged.problems
    );
}

#[test]
fn long_paths_from_gnu_and_pax_headers_are_read() {
    // The header's uid and gid fields are left empty, as some writers do: they read as 0.
    let long = format!("opt/{}/file", "d".repeat(150));
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(2);
    header.set_mode(0o644);
    header.set_entry_type(EntryType::Regular);
    builder
        .append_data(&mut header, &long, &b"hi"[..])
        .expect("writing to memory");
    let merged = merge(&[(
        Compression::None,
        builder.into_inner().expect("writing to memory"),
    )]);
    assert_eq!(
        paths(&merged),
        [format!("/{long}")],
        "{:?}",
        merged.problems
    );
    let entry = &merged.files[0];
    assert_eq!(
        (entry.uid, entry.gid, entry.mode, entry.size),
        (0, 0, 0o644, 2)
    );
}

#[test]
fn gzip_and_zstd_layers_are_read() {
    let merged = merge(&[
        (
            Compression::Gzip,
            gzip(&Layer::new().file("a", 0o644, b"gz").tar()),
        ),
        (
            Compression::Zstd,
            zstd(&Layer::new().file("b", 0o644, b"zstd").tar()),
        ),
    ]);
    assert_eq!(paths(&merged), ["/a", "/b"]);
    assert_eq!(file(&merged, "/b").layer, 1);
}

#[test]
fn the_bytes_win_when_the_media_type_is_wrong() {
    let tar = Layer::new().file("x", 0o644, b"x").tar();
    let merged = merge(&[
        (Compression::Gzip, tar.clone()),
        (
            Compression::None,
            gzip(&Layer::new().file("y", 0o644, b"y").tar()),
        ),
        (
            Compression::Gzip,
            zstd(&Layer::new().file("z", 0o644, b"z").tar()),
        ),
    ]);
    assert_eq!(paths(&merged), ["/x", "/y", "/z"]);
    assert_eq!(merged.layers[0].bytes, tar.len() as u64);
}

#[test]
fn media_types_map_to_compression() {
    let cases = [
        (
            "application/vnd.oci.image.layer.v1.tar",
            Some(Compression::None),
        ),
        (
            "application/vnd.oci.image.layer.v1.tar+gzip",
            Some(Compression::Gzip),
        ),
        (
            "application/vnd.oci.image.layer.v1.tar+zstd",
            Some(Compression::Zstd),
        ),
        (
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            Some(Compression::Gzip),
        ),
        (
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
            Some(Compression::Gzip),
        ),
        (
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            Some(Compression::Gzip),
        ),
        (
            "application/vnd.docker.image.rootfs.diff.tar",
            Some(Compression::None),
        ),
        ("application/vnd.oci.image.config.v1+json", None),
        ("application/vnd.oci.image.layer.v1.tar+bzip2", None),
        ("application/vnd.in-toto+json", None),
    ];
    for (media_type, expected) in cases {
        assert_eq!(
            Compression::from_media_type(media_type),
            expected,
            "{media_type}"
        );
    }
    assert_eq!(Compression::Zstd.as_str(), "zstd");
    assert_eq!(FileType::Hardlink.as_str(), "hardlink");
    assert_eq!(Content::PrivateKey.as_str(), "private-key");
}

#[test]
fn a_gzip_bomb_stops_at_max_bytes() {
    // 64 MiB of zeros compresses to a few dozen KiB; the cap is 4 MiB.
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let mut header = tar::Header::new_gnu();
    header.set_size(64 << 20);
    header.set_mode(0o644);
    header.set_entry_type(EntryType::Regular);
    builder
        .append_data(&mut header, "zeros", io::repeat(0).take(64 << 20))
        .expect("writing to memory");
    let blob = builder
        .into_inner()
        .and_then(|encoder| encoder.finish())
        .expect("writing to memory");
    assert!(blob.len() < 1 << 20, "the bomb is small: {}", blob.len());
    let mut merger = Merger::new(LayerLimits {
        max_bytes: 4 << 20,
        ..LayerLimits::default()
    });
    merger
        .add_layer(
            0,
            Compression::None,
            Layer::new().file("a", 0o644, b"a").tar().as_slice(),
        )
        .expect("a small first layer");
    let error = merger
        .add_layer(1, Compression::Gzip, blob.as_slice())
        .expect_err("the bomb must stop");
    assert_eq!(error.layer, 1);
    assert_eq!(
        error.to_string(),
        "layer 1: more than 4 MiB decompressed; stopped"
    );
    let merged = merger.finish();
    assert!(merged.layers[1].bytes <= 4 << 20, "{:?}", merged.layers);
}

#[test]
fn a_bomb_after_the_end_of_the_archive_is_still_counted() {
    let mut tar = Layer::new().file("a", 0o644, b"a").tar();
    tar.resize(tar.len() + (8 << 20), 0);
    let mut merger = Merger::new(LayerLimits {
        max_bytes: 1 << 20,
        ..LayerLimits::default()
    });
    let error = merger
        .add_layer(0, Compression::Gzip, gzip(&tar).as_slice())
        .expect_err("trailing zeros count");
    assert_eq!(error.message, "more than 1 MiB decompressed; stopped");
}

#[test]
fn too_many_entries_across_layers_stop() {
    let mut merger = Merger::new(LayerLimits {
        max_entries: 10,
        ..LayerLimits::default()
    });
    let layer = |prefix: &str| {
        (0..6)
            .fold(Layer::new(), |layer, n| {
                layer.file(&format!("{prefix}{n}"), 0o644, b"")
            })
            .tar()
    };
    merger
        .add_layer(0, Compression::None, layer("a").as_slice())
        .expect("6 entries fit");
    let error = merger
        .add_layer(1, Compression::None, layer("b").as_slice())
        .expect_err("12 entries do not");
    assert_eq!(error.to_string(), "layer 1: more than 10 entries; stopped");
}

#[test]
fn corrupt_gzip_is_a_layer_error() {
    let mut blob = gzip(&Layer::new().file("a", 0o644, b"a").tar());
    blob[2] = 0x07; // compression method: only 8 (deflate) exists
    let mut merger = Merger::new(LayerLimits::default());
    let error = merger
        .add_layer(0, Compression::Gzip, blob.as_slice())
        .expect_err("bad header");
    assert!(error.message.starts_with("corrupt gzip data:"), "{error}");

    let blob = gzip(&Layer::new().file("a", 0o644, &[7; 5000]).tar());
    let mut merger = Merger::new(LayerLimits::default());
    let error = merger
        .add_layer(0, Compression::Gzip, &blob[..blob.len() / 2])
        .expect_err("truncated stream");
    assert!(error.message.starts_with("corrupt gzip data:"), "{error}");
}

#[test]
fn corrupt_zstd_is_a_layer_error() {
    let mut blob = zstd(&Layer::new().file("a", 0o644, &[3; 5000]).tar());
    let len = blob.len();
    blob.truncate(len - 4);
    let mut merger = Merger::new(LayerLimits::default());
    let error = merger
        .add_layer(0, Compression::Zstd, blob.as_slice())
        .expect_err("truncated frame");
    assert!(error.message.starts_with("corrupt zstd data:"), "{error}");
}

#[test]
fn a_truncated_tar_is_a_layer_error() {
    let tar = Layer::new()
        .file("a", 0o644, b"a")
        .file("b", 0o644, &[1; 4000])
        .tar();
    let mut merger = Merger::new(LayerLimits::default());
    let error = merger
        .add_layer(0, Compression::None, &tar[..512 * 4])
        .expect_err("truncated in b's data");
    assert!(
        error.to_string().starts_with("layer 0: corrupt tar:"),
        "{error}"
    );
    // What was read before the damage is still reported.
    assert_eq!(paths(&merger.finish()), ["/a", "/b"]);

    let mut tar = Layer::new().file("a", 0o644, b"a").tar();
    tar[0] ^= 0x20; // breaks the header checksum
    let mut merger = Merger::new(LayerLimits::default());
    let error = merger
        .add_layer(0, Compression::None, tar.as_slice())
        .expect_err("bad checksum");
    assert!(error.message.contains("checksum"), "{error}");
}

/// A blob reader that fails at EOF, as a digest-verifying reader does on a mismatch.
struct FailsAtEof<'a> {
    bytes: &'a [u8],
    eof_reached: bool,
}

impl Read for FailsAtEof<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Short reads, like a network stream, to exercise the magic-byte sniffing too.
        let n = self.bytes.len().min(buf.len()).min(3000);
        if n == 0 {
            self.eof_reached = true;
            return Err(io::Error::other("digest mismatch: expected sha256:1234"));
        }
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

#[test]
fn an_io_error_at_the_end_of_the_blob_is_a_layer_error() {
    let tar = Layer::new().file("a", 0o644, &[9; 10_000]).tar();
    for (compression, blob) in [
        (Compression::None, tar.clone()),
        (Compression::Gzip, gzip(&tar)),
        (Compression::Zstd, zstd(&tar)),
    ] {
        let mut reader = FailsAtEof {
            bytes: &blob,
            eof_reached: false,
        };
        let mut merger = Merger::new(LayerLimits::default());
        let error = merger
            .add_layer(0, compression, &mut reader)
            .expect_err("the digest check fails");
        assert!(
            reader.eof_reached,
            "{compression:?}: the blob was read to its end"
        );
        assert_eq!(
            error.to_string(),
            "layer 0: reading the layer blob failed: digest mismatch: expected sha256:1234",
            "{compression:?}"
        );
    }
}

#[test]
fn the_blob_is_read_to_eof_even_after_the_tar_ends() {
    // Plain tar with padding past the end marker: the reader must still reach its EOF.
    let mut tar = Layer::new().file("a", 0o644, b"a").tar();
    tar.extend_from_slice(&[0; 10_240]);
    let mut reader = FailsAtEof {
        bytes: &tar,
        eof_reached: false,
    };
    let mut merger = Merger::new(LayerLimits::default());
    assert!(merger.add_layer(0, Compression::None, &mut reader).is_err());
    assert!(reader.eof_reached);
}

#[test]
fn private_keys_are_recognized_by_their_first_bytes() {
    let merged = merge(&[(
        Compression::Gzip,
        gzip(
            &Layer::new()
                .file("k/rsa", 0o600, b"-----BEGIN RSA PRIVATE KEY-----\nMIIE")
                .file("k/ssh", 0o600, b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl")
                .file("k/ec", 0o600, b"\n  -----BEGIN EC PRIVATE KEY-----\n")
                .file("k/pkcs8", 0o600, b"-----BEGIN PRIVATE KEY-----\n")
                .file("k/enc", 0o600, b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
                .file("k/dsa", 0o600, b"-----BEGIN DSA PRIVATE KEY-----\n")
                .file("k/cert", 0o644, b"-----BEGIN CERTIFICATE-----\nMIIB")
                .file("k/pub", 0o644, b"-----BEGIN PUBLIC KEY-----\n")
                .file("k/doc", 0o644, b"see -----BEGIN RSA PRIVATE KEY----- below")
                .file("k/cut", 0o644, b"-----BEGIN RSA PRIVATE")
                .hardlink("k/rsa-link", "k/rsa")
                .tar(),
        ),
    )]);
    let keys: Vec<&str> = merged
        .files
        .iter()
        .filter(|f| f.content == Some(Content::PrivateKey))
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "/k/dsa",
            "/k/ec",
            "/k/enc",
            "/k/pkcs8",
            "/k/rsa",
            "/k/rsa-link",
            "/k/ssh"
        ]
    );
}

#[test]
fn package_databases_are_captured_in_their_final_state() {
    let merged = merge(&[
        plain(
            Layer::new()
                .file("var/lib/dpkg/status", 0o644, b"Package: old\n")
                .file("lib/apk/db/installed", 0o644, b"P:musl\n")
                .file("var/lib/dpkg/status.d/base", 0o644, b"Package: base\n")
                .file("var/lib/dpkg/status.d/base.md5sums", 0o644, b"abc  /x\n")
                .file("var/lib/dpkg/other", 0o644, b"not a database"),
        ),
        plain(
            Layer::new()
                .file("var/lib/dpkg/status", 0o644, b"Package: new\n")
                .file("lib/apk/db/.wh.installed", 0o644, b""),
        ),
    ]);
    let captured: Vec<(&str, usize, &[u8])> = merged
        .captured
        .iter()
        .map(|(path, c)| (path.as_str(), c.layer, c.bytes.as_slice()))
        .collect();
    assert_eq!(
        captured,
        [
            ("/var/lib/dpkg/status", 1, &b"Package: new\n"[..]),
            ("/var/lib/dpkg/status.d/base", 0, &b"Package: base\n"[..]),
        ]
    );
}

#[test]
fn an_oversized_package_database_is_a_problem_not_a_capture() {
    let mut merger = Merger::new(LayerLimits {
        max_captured_bytes: 100,
        ..LayerLimits::default()
    });
    let tar = Layer::new()
        .file("var/lib/dpkg/status", 0o644, &[b'x'; 101])
        .tar();
    merger
        .add_layer(0, Compression::None, tar.as_slice())
        .expect("the layer reads");
    let merged = merger.finish();
    assert!(merged.captured.is_empty());
    assert_eq!(paths(&merged), ["/var/lib/dpkg/status"]);
    assert_eq!(problems(&merged), [(0, "var/lib/dpkg/status")]);
    assert_eq!(
        merged.problems[0].message,
        "package database larger than 100 bytes; not read"
    );
}

#[test]
fn layers_must_be_added_in_order() {
    let mut merger = Merger::new(LayerLimits::default());
    let error = merger
        .add_layer(1, Compression::None, &[][..])
        .expect_err("layer 0 first");
    assert_eq!(
        error.to_string(),
        "layer 1: layers must be added bottom first; expected layer 0"
    );
}

#[test]
fn a_whiteout_at_the_root_and_one_naming_nothing() {
    let merged = merge(&[
        plain(Layer::new().file("a", 0o644, b"a").dir("d", 0o755)),
        plain(
            Layer::new()
                .file(".wh..wh..opq", 0o644, b"")
                .file("d/.wh.", 0o644, b"")
                .file("b", 0o644, b"b"),
        ),
    ]);
    assert_eq!(paths(&merged), ["/b"]);
    assert_eq!(removed(&merged), [("/a", 0, 1)]);
    assert_eq!(problems(&merged), [(1, "d/.wh.")]);
}

// ---- packages ----

fn captured(entries: &[(&str, &[u8])]) -> BTreeMap<String, Captured> {
    entries
        .iter()
        .enumerate()
        .map(|(layer, (path, bytes))| {
            (
                path.to_string(),
                Captured {
                    layer,
                    bytes: bytes.to_vec(),
                },
            )
        })
        .collect()
}

/// A package as (name, version, source, arch, manager).
type Row = (String, String, Option<String>, Option<String>, &'static str);

fn summary(packages: &[Package]) -> Vec<Row> {
    packages
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.version.clone(),
                p.source.clone(),
                p.arch.clone(),
                p.manager,
            )
        })
        .collect()
}

fn owned(
    name: &str,
    version: &str,
    source: Option<&str>,
    arch: Option<&str>,
    manager: &'static str,
) -> Row {
    (
        name.to_string(),
        version.to_string(),
        source.map(str::to_string),
        arch.map(str::to_string),
        manager,
    )
}

#[test]
fn package_database_paths() {
    for path in [
        "/var/lib/dpkg/status",
        "/var/lib/dpkg/status.d/libc6",
        "/lib/apk/db/installed",
        "/var/lib/rpm/rpmdb.sqlite",
        "/usr/lib/sysimage/rpm/rpmdb.sqlite",
    ] {
        assert!(is_database(path), "{path}");
    }
    for path in [
        "/var/lib/dpkg/status-old",
        "/var/lib/dpkg/status.d/libc6.md5sums",
        "/var/lib/dpkg/status.d/",
        "/var/lib/dpkg/status.d/x/y",
        "/var/lib/rpm/Packages",
        "/etc/passwd",
    ] {
        assert!(!is_database(path), "{path}");
    }
}

const DPKG_STATUS: &str = "\
Package: libssl3
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Source: openssl (3.0.11-1~deb12u2)
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit - shared libraries
 This package is part of the OpenSSL project's implementation.
 .
 It provides the libssl and libcrypto shared libraries.

Package: removed-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: held
Status: hold ok installed
Architecture: all
Version: 2:1.2-3

Package: bash
Essential: yes
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b2

Status: install ok installed
Version: 1
";

#[test]
fn dpkg_status_lists_installed_packages() {
    let (packages, problems) = read_packages(&captured(&[(
        "/var/lib/dpkg/status",
        DPKG_STATUS.as_bytes(),
    )]));
    assert_eq!(
        summary(&packages),
        [
            owned(
                "libssl3",
                "3.0.11-1~deb12u2",
                Some("openssl"),
                Some("amd64"),
                "dpkg"
            ),
            owned("held", "2:1.2-3", None, Some("all"), "dpkg"),
            owned("bash", "5.2.15-2+b2", None, Some("amd64"), "dpkg"),
        ]
    );
    assert_eq!(packages[0].database, "/var/lib/dpkg/status");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].message, "line 29: entry has no Package field");
}

#[test]
fn distroless_status_d_files_are_read_without_a_status_field() {
    let (packages, problems) = read_packages(&captured(&[
        (
            "/var/lib/dpkg/status.d/base",
            b"Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n",
        ),
        (
            "/var/lib/dpkg/status.d/libc6",
            b"Package: libc6\nSource: glibc\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\n",
        ),
    ]));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        summary(&packages),
        [
            owned("base-files", "12.4+deb12u5", None, Some("amd64"), "dpkg"),
            owned(
                "libc6",
                "2.36-9+deb12u4",
                Some("glibc"),
                Some("amd64"),
                "dpkg"
            ),
        ]
    );
    assert_eq!(
        (packages[1].database.as_str(), packages[1].layer),
        ("/var/lib/dpkg/status.d/libc6", 1)
    );
}

fn dpkg_query(package: &str) -> String {
    let output = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", package])
        .output()
        .expect("dpkg-query must be installed to check the dpkg reader against a real database");
    assert!(output.status.success(), "dpkg-query -W {package} failed");
    String::from_utf8(output.stdout).expect("dpkg-query prints UTF-8")
}

#[test]
fn this_machines_dpkg_status_matches_dpkg_query() {
    let status = std::fs::read("/var/lib/dpkg/status")
        .expect("this test reads the real /var/lib/dpkg/status of a Debian-based machine");
    let (packages, problems) = read_packages(&captured(&[("/var/lib/dpkg/status", &status)]));
    assert!(problems.is_empty(), "{problems:?}");
    assert!(packages.len() > 50, "{} packages", packages.len());
    for name in ["bash", "dpkg", "coreutils"] {
        let found = packages
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{name} not found"));
        assert_eq!(found.version, dpkg_query(name), "{name}");
        assert_eq!(found.manager, "dpkg");
    }
}

const APK_INSTALLED: &str = "\
C:Q1p78yvTLG094tHE1+dToJGbmYzQE=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:407278
I:667648
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>
t:1705927144
c:ca7f2ab5e88794e4e654b40776f8a92256f50639
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1wO5Aq/JCmgHKuXtN6M0TnHMdfy0=

C:Q1Q2bR1eQ6PEa/2D2/nK0OQHfpL5Q=
P:libcrypto3
V:3.1.4-r5
A:x86_64
o:openssl
F:usr
F:usr/lib

C:Q1lm9aJyAyR3Wlk0q7xQZ6pv7fxkU=
V:1.0-r0
";

#[test]
fn apk_installed_lists_packages() {
    let (packages, problems) = read_packages(&captured(&[(
        "/lib/apk/db/installed",
        APK_INSTALLED.as_bytes(),
    )]));
    assert_eq!(
        summary(&packages),
        [
            owned(
                "musl",
                "1.2.4_git20230717-r4",
                Some("musl"),
                Some("x86_64"),
                "apk"
            ),
            owned(
                "libcrypto3",
                "3.1.4-r5",
                Some("openssl"),
                Some("x86_64"),
                "apk"
            ),
        ]
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].message, "line 27: entry has no P: line");
}

/// An RPM header blob as rpm stores it in its database, built from the format description:
/// index count and data length (big-endian), 16-byte entries (tag, type, offset, count), data.
fn rpm_header(strings: &[(u32, &str)], epoch: Option<u32>) -> Vec<u8> {
    let mut index = Vec::new();
    let mut data = Vec::new();
    let mut entry = |tag: u32, kind: u32, offset: usize| {
        for word in [tag, kind, offset as u32, 1] {
            index.extend_from_slice(&word.to_be_bytes());
        }
    };
    if let Some(epoch) = epoch {
        entry(1003, 4, data.len());
        data.extend_from_slice(&epoch.to_be_bytes());
    }
    for (tag, value) in strings {
        entry(*tag, 6, data.len());
        data.extend_from_slice(value.as_bytes());
        data.push(0);
    }
    let mut blob = Vec::new();
    blob.extend_from_slice(&((index.len() / 16) as u32).to_be_bytes());
    blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
    blob.extend_from_slice(&index);
    blob.extend_from_slice(&data);
    blob
}

/// An SQLite database shaped like rpm's, holding `blobs`.
fn rpm_database(blobs: &[Vec<u8>]) -> Vec<u8> {
    let mut connection = rusqlite::Connection::open_in_memory().expect("in-memory SQLite");
    connection
        .execute_batch(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);",
        )
        .expect("creating the table");
    for blob in blobs {
        connection
            .execute("INSERT INTO Packages (blob) VALUES (?1)", [blob])
            .expect("inserting a header");
    }
    connection.serialize("main").expect("serializing").to_vec()
}

#[test]
fn rpm_headers_built_from_the_spec_are_read_and_hostile_ones_are_problems() {
    let good = rpm_header(
        &[
            (1000, "openssl-libs"),
            (1001, "3.0.7"),
            (1002, "24.el9"),
            (1022, "x86_64"),
            (1044, "openssl-3.0.7-24.el9.src.rpm"),
        ],
        Some(1),
    );
    let no_epoch = rpm_header(
        &[
            (1000, "tzdata"),
            (1001, "2024a"),
            (1002, "1.el9"),
            (1022, "noarch"),
        ],
        None,
    );
    let pubkey = rpm_header(
        &[(1000, "gpg-pubkey"), (1001, "fd431d51"), (1002, "4ae0493b")],
        None,
    );
    let mut past_end = good.clone();
    // The first index entry's offset now points far outside the data.
    past_end[8 + 8..8 + 12].copy_from_slice(&0x00ff_fff0_u32.to_be_bytes());
    let mut huge_count = good.clone();
    huge_count[..4].copy_from_slice(&u32::MAX.to_be_bytes());
    // "name" without its NUL, and the data length shortened to match.
    let mut unterminated = rpm_header(&[(1000, "name")], None);
    unterminated.pop();
    let data_len = (unterminated.len() - 8 - 16) as u32;
    unterminated[4..8].copy_from_slice(&data_len.to_be_bytes());
    let database = rpm_database(&[
        good,
        no_epoch,
        pubkey,
        past_end,
        huge_count,
        unterminated,
        vec![1, 2],
    ]);
    let (packages, problems) =
        read_packages(&captured(&[("/var/lib/rpm/rpmdb.sqlite", &database)]));
    assert_eq!(
        summary(&packages),
        [
            owned(
                "openssl-libs",
                "1:3.0.7-24.el9",
                Some("openssl"),
                Some("x86_64"),
                "rpm"
            ),
            owned("tzdata", "2024a-1.el9", None, Some("noarch"), "rpm"),
        ]
    );
    let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "package 4: tag 1003 points past the header data",
            "package 5: header claims 4294967295 tags",
            "package 6: tag 1000's string is not terminated",
            "package 7: header of 2 bytes is too short",
        ]
    );
    assert!(
        problems
            .iter()
            .all(|p| p.database == "/var/lib/rpm/rpmdb.sqlite")
    );
}

#[test]
fn a_broken_rpm_database_is_a_problem() {
    let (packages, problems) = read_packages(&captured(&[
        ("/var/lib/rpm/rpmdb.sqlite", b"not sqlite at all"),
        ("/usr/lib/sysimage/rpm/rpmdb.sqlite", &{
            let mut db = rpm_database(&[]);
            let len = db.len();
            db.truncate(len / 2);
            db
        }),
    ]));
    assert!(packages.is_empty());
    let messages: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| (p.database.as_str(), p.message.as_str()))
        .collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0].0, "/usr/lib/sysimage/rpm/rpmdb.sqlite");
    assert!(messages[0].1.starts_with("SQLite: "), "{messages:?}");
    assert_eq!(
        messages[1],
        ("/var/lib/rpm/rpmdb.sqlite", "not an SQLite database")
    );
}

#[test]
fn an_rpm_database_whose_packages_is_a_view_is_refused() {
    // A view could run any query, endless recursion included; rpm only ever makes a table.
    // (This view is finite, so a regression fails the test instead of hanging it.)
    let mut connection = rusqlite::Connection::open_in_memory().expect("in-memory SQLite");
    connection
        .execute_batch("CREATE VIEW Packages AS SELECT 1 AS hnum, x'00' AS blob;")
        .expect("creating the view");
    let database = connection.serialize("main").expect("serializing").to_vec();
    let (packages, problems) =
        read_packages(&captured(&[("/var/lib/rpm/rpmdb.sqlite", &database)]));
    assert!(packages.is_empty());
    let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(messages, ["no Packages table"]);
}

/// Runs `program` with `args`, panicking with the output on failure.
fn run(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "`{program}` could not run ({error}): the real-rpmdb test needs rpm and rpmbuild \
             (Debian: apt-get install -y rpm)"
            )
        });
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_real_rpmdb_made_by_rpm_is_read() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("image-layers-rpmdb");
    let _ = std::fs::remove_dir_all(&work);
    let top = work.join("top");
    let db = work.join("db");
    std::fs::create_dir_all(&db).expect("creating the work directory");
    let spec = work.join("demo.spec");
    std::fs::write(
        &spec,
        "Name: palisade-demo\nVersion: 1.2.3\nRelease: 4.el9\nEpoch: 2\nSummary: demo\n\
         License: MIT\nBuildArch: noarch\n%description\ndemo\n%files\n",
    )
    .expect("writing the spec");
    let top_define = format!("_topdir {}", top.display());
    run(
        "rpmbuild",
        &[
            "--define",
            &top_define,
            "-bb",
            spec.to_str().expect("UTF-8 path"),
        ],
    );
    let dbpath = db.to_str().expect("UTF-8 path");
    let backend = "_db_backend sqlite";
    run(
        "rpm",
        &["--dbpath", dbpath, "--define", backend, "--initdb"],
    );
    let package = top.join("RPMS/noarch/palisade-demo-1.2.3-4.el9.noarch.rpm");
    run(
        "rpm",
        &[
            "--dbpath",
            dbpath,
            "--define",
            backend,
            "-i",
            "--justdb",
            "--nodeps",
            package.to_str().expect("UTF-8 path"),
        ],
    );
    let bytes = std::fs::read(db.join("rpmdb.sqlite")).expect("rpm created rpmdb.sqlite");
    let (packages, problems) =
        read_packages(&captured(&[("/usr/lib/sysimage/rpm/rpmdb.sqlite", &bytes)]));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        summary(&packages),
        [owned(
            "palisade-demo",
            "2:1.2.3-4.el9",
            Some("palisade-demo"),
            Some("noarch"),
            "rpm"
        )]
    );
}

#[test]
fn packages_come_from_the_merged_layers() {
    let merged = merge(&[
        (
            Compression::Gzip,
            gzip(
                &Layer::new()
                    .file("lib/apk/db/installed", 0o644, APK_INSTALLED.as_bytes())
                    .tar(),
            ),
        ),
        (
            Compression::Gzip,
            gzip(
                &Layer::new()
                    .file("var/lib/dpkg/status", 0o644, DPKG_STATUS.as_bytes())
                    .tar(),
            ),
        ),
    ]);
    let (packages, _) = read_packages(&merged.captured);
    let names: Vec<(&str, &str, usize)> = packages
        .iter()
        .map(|p| (p.name.as_str(), p.manager, p.layer))
        .collect();
    assert_eq!(
        names,
        [
            ("musl", "apk", 0),
            ("libcrypto3", "apk", 0),
            ("libssl3", "dpkg", 1),
            ("held", "dpkg", 1),
            ("bash", "dpkg", 1),
        ]
    );
}
