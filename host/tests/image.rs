//! Container images through the real binary: images built here with Debian's `umoci` and
//! `skopeo` (installed by `.ci/run`), and layouts assembled by the test where an image must be
//! broken or hostile in a precise way.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use support::oci::{
    Layout, Umoci, blob_path, check_platform_choice, errors, findings_of, hardened,
    multi_platform_layout, read_json, risky_umoci_image, rules_of, tool,
};
use support::scan_json;

#[test]
fn an_image_built_with_umoci_gives_the_same_findings_as_layout_archive_and_config_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let image = risky_umoci_image(dir.path());
    tool(
        "skopeo",
        &[
            "copy",
            "--quiet",
            "oci:layout:app",
            "docker-archive:app.tar:acme/app:1.0",
        ],
        dir.path(),
    );
    let config_file = image.config_file();
    let config_arg = config_file.to_string_lossy().into_owned();
    let (code, report, stderr) = scan_json(
        &[
            "--image",
            "oci:layout:app",
            "--image",
            "docker-archive:app.tar",
            "--image",
            &config_arg,
        ],
        dir.path(),
    );
    assert_eq!(code, 1, "{stderr}\n{report:#}");
    assert_eq!(errors(&report), []);
    assert_eq!(report["summary"]["images"], 3);
    let expected_rules = [
        "image/curl-pipe-shell",
        "image/missing-source-label",
        "image/no-healthcheck",
        "image/run-as-root",
        "image/secret-in-env",
        "image/ssh-port-exposed",
    ];
    let layout = findings_of(&report, "oci:layout:app");
    assert_eq!(rules_of(&layout), expected_rules, "{layout:#?}");
    // Images have no lines: each finding says where in the image it is.
    for expected in [
        ("image/run-as-root", "config User"),
        ("image/secret-in-env", "config Env AWS_ACCESS_KEY_ID"),
        ("image/ssh-port-exposed", "config ExposedPorts 22/tcp"),
        ("image/curl-pipe-shell", "history 1"),
    ] {
        let expected = (expected.0.to_owned(), expected.1.to_owned());
        assert!(layout.contains(&expected), "{expected:?} in {layout:#?}");
    }
    let archive = findings_of(&report, "docker-archive:app.tar");
    assert_eq!(archive, layout, "the archive holds the same image");
    // An image on disk is a file like the others: the layout directory, the archive.
    let mut files: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["file"].as_str())
        .collect();
    files.dedup();
    assert_eq!(files, [config_arg.as_str(), "app.tar", "layout"]);
    // The bare config is a JSON file: its findings have lines.
    let bare = findings_of(&report, &config_arg);
    assert_eq!(rules_of(&bare), expected_rules, "{bare:#?}");
    assert!(bare.iter().all(|(_, place)| place.starts_with("line ")));
}

#[test]
fn a_hardened_image_has_no_config_findings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut layout = Layout::new(&dir.path().join("layout"));
    let manifest = layout.image(&hardened(), &[]);
    layout.tag("1.0", manifest);
    let (code, report, stderr) = scan_json(&["--image", "oci:layout:1.0"], dir.path());
    assert_eq!(errors(&report), []);
    assert_eq!(findings_of(&report, "oci:layout:1.0"), []);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_blob_that_does_not_match_its_digest_is_an_error_and_the_rest_is_still_scanned() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut layout = Layout::new(&dir.path().join("layout"));
    let mut root = hardened();
    root["config"]["User"] = json!("root");
    let tampered = layout.image(&root, &[]);
    root["config"]["Labels"]["org.opencontainers.image.version"] = json!("2");
    let good = layout.image(&root, &[]);
    layout.tag("tampered", tampered.clone()).tag("good", good);
    let manifest: Value = read_json(&blob_path(
        &layout.dir,
        tampered["digest"].as_str().expect("digest"),
    ));
    let config_blob = blob_path(
        &layout.dir,
        manifest["config"]["digest"].as_str().expect("digest"),
    );
    let text = std::fs::read_to_string(&config_blob).expect("config");
    std::fs::write(&config_blob, text.replace("\"root\"", "\"ROOT\"")).expect("tamper");
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM alpine:3.20\nUSER root\n",
    )
    .expect("Dockerfile");
    let (code, report, stderr) = scan_json(
        &[
            "Dockerfile",
            "--image",
            "oci:layout:tampered",
            "--image",
            "oci:layout:good",
        ],
        dir.path(),
    );
    assert_eq!(code, 2, "{stderr}");
    let errors = errors(&report);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].0, "oci:layout:tampered");
    assert!(
        errors[0].1.contains("does not match its digest"),
        "{errors:#?}"
    );
    assert_eq!(
        rules_of(&findings_of(&report, "oci:layout:good")),
        ["image/run-as-root"]
    );
    assert_eq!(findings_of(&report, "oci:layout:tampered"), []);
    let dockerfile = findings_of(&report, "Dockerfile");
    assert!(
        dockerfile.contains(&("docker/run-as-root".to_owned(), "line 2".to_owned())),
        "{dockerfile:#?}"
    );
}

#[test]
fn a_multi_platform_index_scans_the_platform_asked_for() {
    let dir = tempfile::tempdir().expect("temp dir");
    multi_platform_layout(&dir.path().join("layout"));
    check_platform_choice("oci:layout:multi", |platform| {
        scan_json(
            &["--image", "oci:layout:multi", "--platform", platform],
            dir.path(),
        )
        .1
    });
}

#[test]
fn unreadable_image_references_are_errors_that_name_the_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut layout = Layout::new(&dir.path().join("layout"));
    let manifest = layout.image(&hardened(), &[]);
    layout.tag("1.0", manifest);
    std::fs::write(dir.path().join("not-a.tar"), "plain text").expect("write");
    let mut gzipped = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gzipped, b"a tar would be here").expect("writing to memory");
    std::fs::write(
        dir.path().join("saved.tar"),
        gzipped.finish().expect("writing to memory"),
    )
    .expect("write");
    let (code, report, _) = scan_json(
        &[
            "--image",
            "oci:layout:2.0",
            "--image",
            "oci:nowhere",
            "--image",
            "docker-archive:not-a.tar",
            "--image",
            "docker-archive:missing.tar",
            "--image",
            "docker-archive:saved.tar",
        ],
        dir.path(),
    );
    assert_eq!(code, 2);
    let errors = errors(&report);
    let expect = [
        ("docker-archive:missing.tar", "cannot open missing.tar"),
        (
            "docker-archive:not-a.tar",
            "not-a.tar is not a readable tar archive",
        ),
        (
            "docker-archive:saved.tar",
            "saved.tar is gzip-compressed; decompress it first",
        ),
        (
            "oci:layout:2.0",
            "no image tagged `2.0` in the layout (its tags: 1.0)",
        ),
        ("oci:nowhere", "nowhere is not an OCI image layout"),
    ];
    assert_eq!(errors.len(), expect.len(), "{errors:#?}");
    for ((file, message), (want_file, want)) in errors.iter().zip(expect) {
        assert_eq!(file, want_file);
        assert!(message.contains(want), "{message:?} should say {want:?}");
    }
}

/// A gzip-compressed tar layer of regular files and directories, plus raw `(path, link)`
/// symlinks written byte for byte (the `tar` crate refuses `..` in paths it sets itself).
fn gzip_layer(files: &[(&str, u32, &[u8])], raw_links: &[(&str, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, mode, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(if path.ends_with('/') {
            tar::EntryType::Directory
        } else {
            tar::EntryType::Regular
        });
        header.set_mode(*mode);
        header.set_size(data.len() as u64);
        builder
            .append_data(&mut header, path, *data)
            .expect("writing to memory");
    }
    for (path, link) in raw_links {
        let mut header = tar::Header::new_gnu();
        let gnu = header.as_gnu_mut().expect("a GNU header");
        gnu.name[..path.len()].copy_from_slice(path.as_bytes());
        gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_mode(0o777);
        header.set_size(0);
        header.set_cksum();
        builder.append(&header, &[][..]).expect("writing to memory");
    }
    let tar = builder.into_inner().expect("writing to memory");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut encoder, &tar).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// A hardened config whose `rootfs.diff_ids` count matches `layers` (values unchecked here:
/// the layers' own digests are what the scan verifies).
fn hardened_with_layers(layers: usize) -> Value {
    let mut config = hardened();
    config["rootfs"]["diff_ids"] = json!(vec![format!("sha256:{}", "0".repeat(64)); layers]);
    config
}

const GZIP_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// The paths that file-system findings name, per rule.
fn file_findings(report: &Value, file: &str) -> Vec<(String, String)> {
    findings_of(report, file)
        .into_iter()
        .filter_map(|(rule, detail)| {
            let path = detail.rsplit(' ').next()?.to_owned();
            path.starts_with('/').then_some((rule, path))
        })
        .collect()
}

#[test]
fn umoci_layers_give_the_merged_tree_with_real_packages_and_a_deleted_secret_gone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let image = Umoci::new(dir.path(), "app");
    image
        .layer(|rootfs| {
            let make = |path: &str, text: &str, mode: u32| {
                let path = rootfs.join(path);
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                std::fs::write(&path, text).expect("write");
                std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode))
                    .expect("chmod");
            };
            // This machine's own dpkg database: real package names and versions.
            let status = std::fs::read_to_string("/var/lib/dpkg/status").expect("dpkg status");
            make("var/lib/dpkg/status", &status, 0o644);
            make("usr/local/bin/escalate", "#!/bin/sh\n", 0o4755);
            make("srv/shared.txt", "anyone may write\n", 0o666);
            make("app/.env", "API_TOKEN=abc\n", 0o600);
            make(
                "root/.ssh/id_rsa",
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n",
                0o600,
            );
        })
        .layer(|rootfs| {
            std::fs::remove_file(rootfs.join("root/.ssh/id_rsa")).expect("delete the key");
        })
        .config(&["--config.user", "1000"]);
    // The same image with zstd layers, converted by skopeo.
    tool(
        "skopeo",
        &[
            "copy",
            "--quiet",
            "--dest-compress-format",
            "zstd",
            "oci:layout:app",
            "oci:zstd:app",
        ],
        dir.path(),
    );
    let (code, report, stderr) = scan_json(
        &["--image", "oci:layout:app", "--image", "oci:zstd:app"],
        dir.path(),
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(errors(&report), []);
    let expected = [
        ("image/secret-files", "/app/.env"),
        ("image/setuid-binaries", "/usr/local/bin/escalate"),
        ("image/world-writable-files", "/srv/shared.txt"),
    ]
    .map(|(rule, path)| (rule.to_owned(), path.to_owned()));
    let gzip = file_findings(&report, "oci:layout:app");
    assert_eq!(gzip, expected, "the deleted key is not in the image");
    assert_eq!(file_findings(&report, "oci:zstd:app"), expected);

    // What the packs were given: the real packages, and the key's removal on record.
    let reference = format!("oci:{}:app", dir.path().join("zstd").display());
    let resources = palisade::image::normalize(
        &reference,
        &palisade::normalize::image::ImageOptions::default(),
        &palisade::normalize::Limits::default(),
    );
    assert_eq!(resources.diagnostics, []);
    let of_kind = |kind: &str| {
        resources
            .resources
            .iter()
            .find(|r| r.kind == kind)
            .unwrap_or_else(|| panic!("no {kind}"))
            .attributes
            .clone()
    };
    let manifest = of_kind("image/manifest");
    assert!(
        manifest["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .all(|l| l["compression"] == "zstd"),
        "{manifest:#}"
    );
    let packages = of_kind("image/packages");
    let bash_version = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "bash"])
        .output()
        .expect("dpkg-query");
    let bash_version = String::from_utf8(bash_version.stdout).expect("utf-8");
    assert!(
        packages["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .any(|p| {
                p["name"] == "bash"
                    && p["version"] == bash_version.as_str()
                    && p["manager"] == "dpkg"
            }),
        "bash {bash_version} in {packages:#}"
    );
    let filesystem = of_kind("image/filesystem");
    let removed = filesystem["removed"].as_array().expect("removed");
    assert!(
        removed
            .iter()
            .any(|r| r["path"] == "/root/.ssh/id_rsa" && r["layer"] == 0 && r["removed_in"] == 1),
        "{removed:#?}"
    );
    let files = filesystem["files"].as_array().expect("files");
    assert!(!files.iter().any(|f| f["path"] == "/root/.ssh/id_rsa"));
}

#[test]
fn hostile_layers_are_errors_and_the_rest_of_the_scan_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut layout = Layout::new(&dir.path().join("layout"));
    // Entries that climb out of the image: reported, never applied; the layer's other files are.
    let traversal = layout.blob(
        GZIP_LAYER,
        &gzip_layer(
            &[("app/", 0o755, b""), ("app/run.sh", 0o777, b"#!/bin/sh\n")],
            &[
                ("../../etc/cron.d/evil", "x"),
                ("app/escape", "../../../../../etc/shadow"),
            ],
        ),
    );
    let image = layout.image(&hardened_with_layers(1), &[traversal]);
    layout.tag("traversal", image);
    // A decompression bomb: 64 MiB of zeros in a blob of a few dozen KiB, over the 16 MiB cap
    // the config below sets.
    let zeros = vec![0u8; 64 << 20];
    let bomb = layout.blob(GZIP_LAYER, &gzip_layer(&[("zeros", 0o644, &zeros)], &[]));
    assert!(bomb["size"].as_u64().expect("size") < 1 << 20);
    let image = layout.image(&hardened_with_layers(1), &[bomb]);
    layout.tag("bomb", image);
    // A layer whose bytes were changed after it was pushed.
    let good = gzip_layer(&[("srv/", 0o755, b""), ("srv/open.txt", 0o666, b"x")], &[]);
    let corrupt = layout.blob(GZIP_LAYER, &good);
    let path = blob_path(&layout.dir, corrupt["digest"].as_str().expect("digest"));
    let mut bytes = std::fs::read(&path).expect("blob");
    let last = bytes.len() - 9;
    bytes[last] ^= 0xff;
    std::fs::write(&path, bytes).expect("corrupt");
    let mut root = hardened_with_layers(1);
    root["config"]["User"] = json!("root");
    let image = layout.image(&root, &[corrupt]);
    layout.tag("corrupt", image);
    std::fs::write(
        dir.path().join("palisade.toml"),
        "[limits]\nmax-image-mib = 16\n",
    )
    .expect("config");
    std::fs::write(dir.path().join("Dockerfile"), "FROM alpine:3.20\n").expect("Dockerfile");

    let (code, report, stderr) = scan_json(
        &[
            ".",
            "--image",
            "oci:layout:traversal",
            "--image",
            "oci:layout:bomb",
            "--image",
            "oci:layout:corrupt",
        ],
        dir.path(),
    );
    assert_eq!(code, 2, "{stderr}");
    let errors = errors(&report);
    let has = |file: &str, text: &str| {
        errors
            .iter()
            .any(|(f, message)| f == file && message.contains(text))
    };
    for (file, text) in [
        ("oci:layout:traversal", "`../../etc/cron.d/evil`"),
        ("oci:layout:traversal", "`app/escape`"),
        ("oci:layout:bomb", "more than 16 MiB decompressed"),
        ("oci:layout:corrupt", "does not match its digest"),
    ] {
        assert!(
            has(file, text),
            "no error with {text:?} for {file}: {errors:#?}"
        );
    }
    // The traversal image is still judged on what it safely holds.
    assert_eq!(
        file_findings(&report, "oci:layout:traversal"),
        [(
            "image/world-writable-files".to_owned(),
            "/app/run.sh".to_owned()
        )]
    );
    // The corrupt image's config is judged; its unverifiable file system is not.
    assert_eq!(
        rules_of(&findings_of(&report, "oci:layout:corrupt")),
        ["image/run-as-root"]
    );
    // And the Dockerfile beside them is reported as usual.
    assert!(
        rules_of(&findings_of(&report, "./Dockerfile")).contains(&"docker/run-as-root"),
        "{report:#}"
    );
}

#[test]
fn the_example_image_is_what_its_script_writes_and_gives_findings_where_the_readme_says() {
    let workspace = support::workspace();
    // The committed layout is the script's output: same layer contents (the uncompressed tars'
    // digests, whatever zlib compressed them), same config.
    let dir = tempfile::tempdir().expect("temp dir");
    let fresh = dir.path().join("layout");
    let status = Command::new("python3")
        .arg(workspace.join("examples/image/build.py"))
        .arg(&fresh)
        .status()
        .expect("python3 runs the example script");
    assert!(status.success());
    let config_of = |layout: &Path| {
        let index = read_json(&layout.join("index.json"));
        let manifest = read_json(&blob_path(
            layout,
            index["manifests"][0]["digest"].as_str().expect("digest"),
        ));
        read_json(&blob_path(
            layout,
            manifest["config"]["digest"].as_str().expect("digest"),
        ))
    };
    assert_eq!(
        config_of(&fresh),
        config_of(&workspace.join("examples/image/layout")),
        "run examples/image/build.py and commit its output"
    );

    let (code, report, stderr) =
        scan_json(&["--image", "oci:examples/image/layout:demo"], &workspace);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(errors(&report), []);
    let found = findings_of(&report, "oci:examples/image/layout:demo");
    for expected in [
        ("image/run-as-root", "config User"),
        ("image/secret-in-env", "config Env AWS_ACCESS_KEY_ID"),
        ("image/ssh-port-exposed", "config ExposedPorts 22/tcp"),
        (
            "image/curl-pipe-shell",
            "history 1 (layer sha256:37b0dc831959)",
        ),
        ("image/secret-files", "layer sha256:37b0dc831959 /app/.env"),
        (
            "image/setuid-binaries",
            "layer sha256:37b0dc831959 /usr/local/bin/backup-helper",
        ),
        (
            "image/world-writable-files",
            "layer sha256:37b0dc831959 /app/uploads",
        ),
        (
            "image/package-manager-cache",
            "layer sha256:37b0dc831959 /var/lib/apt/lists",
        ),
    ] {
        let expected = (expected.0.to_owned(), expected.1.to_owned());
        assert!(found.contains(&expected), "{expected:?} in {found:#?}");
    }
    // The key the last layer deletes is gone; the allowed setuid tools are not reported.
    assert!(
        !found
            .iter()
            .any(|(_, detail)| detail.contains("id_ed25519") || detail.ends_with("/usr/bin/su")),
        "{found:#?}"
    );
}

#[test]
fn a_hardened_image_with_layers_is_clean_until_it_grows_too_large() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut layout = Layout::new(&dir.path().join("layout"));
    // What a careful base and app layer hold: the allowed setuid tools, a sticky /tmp, a
    // certificate (not a key), a cleaned apt directory, an app owned by its user.
    let certificate = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    let base = layout.blob(
        GZIP_LAYER,
        &gzip_layer(
            &[
                ("tmp/", 0o1777, b""),
                ("usr/", 0o755, b""),
                ("usr/bin/", 0o755, b""),
                ("usr/bin/passwd", 0o4755, b"\x7fELF"),
                ("usr/bin/su", 0o4755, b"\x7fELF"),
                ("etc/ssl/certs/ca.pem", 0o644, certificate),
                ("var/lib/apt/lists/", 0o755, b""),
                ("var/lib/apt/lists/lock", 0o640, b""),
            ],
            &[],
        ),
    );
    let app = layout.blob(
        GZIP_LAYER,
        &gzip_layer(
            &[("app/", 0o755, b""), ("app/server", 0o755, b"\x7fELF")],
            &[],
        ),
    );
    let image = layout.image(&hardened_with_layers(2), &[base.clone(), app.clone()]);
    layout.tag("clean", image);
    // The same image with 3 MiB of data nobody can compress.
    let mut noise = vec![0u8; 3 << 20];
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for byte in &mut noise {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    let big = layout.blob(
        GZIP_LAYER,
        &gzip_layer(&[("app/model.bin", 0o644, &noise)], &[]),
    );
    let image = layout.image(&hardened_with_layers(3), &[base, app, big]);
    layout.tag("big", image);
    std::fs::write(
        dir.path().join("palisade.toml"),
        "[packs.image]\nsettings = { max-size-mib = 2 }\n",
    )
    .expect("config");

    let (code, report, stderr) = scan_json(
        &["--image", "oci:layout:clean", "--image", "oci:layout:big"],
        dir.path(),
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(errors(&report), []);
    assert_eq!(findings_of(&report, "oci:layout:clean"), []);
    assert_eq!(
        rules_of(&findings_of(&report, "oci:layout:big")),
        ["image/too-large"]
    );
}
