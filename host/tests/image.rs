//! Container images through the real binary: images built here with Debian's `umoci` and
//! `skopeo` (installed by `.ci/run`), and layouts assembled by the test where an image must be
//! broken or hostile in a precise way.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::scan_json;

/// Runs a container tool that the test needs, failing loudly when it is missing.
fn tool(program: &str, args: &[&str], cwd: &Path) {
    let output = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| {
            panic!("`{program}` is needed by this test (`.ci/run` installs it with apt): {e}")
        });
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// An OCI layout built with `umoci`, one layer per call to `layer`.
struct Umoci {
    dir: PathBuf,
    image: String,
}

impl Umoci {
    fn new(dir: &Path, tag: &str) -> Umoci {
        tool("umoci", &["init", "--layout", "layout"], dir);
        let image = format!("layout:{tag}");
        tool("umoci", &["new", "--image", &image], dir);
        Umoci {
            dir: dir.to_path_buf(),
            image,
        }
    }

    /// Adds a layer: `change` edits the unpacked root file system, umoci records the change
    /// (whiteouts for deleted files included).
    fn layer(&self, change: impl FnOnce(&Path)) -> &Umoci {
        let bundle = self.dir.join("bundle");
        tool(
            "umoci",
            &["unpack", "--rootless", "--image", &self.image, "bundle"],
            &self.dir,
        );
        change(&bundle.join("rootfs"));
        tool(
            "umoci",
            &["repack", "--image", &self.image, "bundle"],
            &self.dir,
        );
        std::fs::remove_dir_all(&bundle).expect("remove the bundle");
        self
    }

    fn config(&self, args: &[&str]) -> &Umoci {
        let mut all = vec!["config", "--image", &self.image];
        all.extend_from_slice(args);
        tool("umoci", &all, &self.dir);
        self
    }

    /// The image's config blob, a bare config JSON file.
    fn config_file(&self) -> PathBuf {
        let layout = self.dir.join("layout");
        let index: Value = read_json(&layout.join("index.json"));
        let manifest: Value = read_json(&blob_path(
            &layout,
            index["manifests"][0]["digest"].as_str().expect("digest"),
        ));
        blob_path(
            &layout,
            manifest["config"]["digest"]
                .as_str()
                .expect("config digest"),
        )
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read JSON")).expect("valid JSON")
}

fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    layout
        .join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").expect("sha256 digest"))
}

/// An OCI layout written by the test, blob by blob.
struct Layout {
    dir: PathBuf,
    manifests: Vec<Value>,
}

impl Layout {
    fn new(dir: &Path) -> Layout {
        std::fs::create_dir_all(dir.join("blobs/sha256")).expect("layout dirs");
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)
            .expect("oci-layout");
        Layout {
            dir: dir.to_path_buf(),
            manifests: Vec::new(),
        }
    }

    /// Stores a blob and returns its descriptor.
    fn blob(&self, media_type: &str, bytes: &[u8]) -> Value {
        let digest = format!("sha256:{:x}", Sha256::digest(bytes));
        std::fs::write(blob_path(&self.dir, &digest), bytes).expect("write blob");
        json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
    }

    /// Stores an image (its config and already stored layers) and returns its manifest's
    /// descriptor.
    fn image(&self, config: &Value, layers: &[Value]) -> Value {
        let config = self.blob(
            "application/vnd.oci.image.config.v1+json",
            &serde_json::to_vec(config).expect("config"),
        );
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": layers,
        });
        self.blob(
            "application/vnd.oci.image.manifest.v1+json",
            &serde_json::to_vec(&manifest).expect("manifest"),
        )
    }

    /// Lists `descriptor` in `index.json` under `tag`.
    fn tag(&mut self, tag: &str, mut descriptor: Value) -> &mut Layout {
        descriptor["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
        self.manifests.push(descriptor);
        let index = json!({"schemaVersion": 2, "manifests": self.manifests});
        std::fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&index).expect("index"),
        )
        .expect("write index.json");
        self
    }
}

/// An image config with the given `config` section and no layers.
fn config(section: Value, history: &[&str]) -> Value {
    json!({
        "architecture": "amd64",
        "os": "linux",
        "config": section,
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": history.iter().map(|h| json!({"created_by": h, "empty_layer": true})).collect::<Vec<_>>(),
    })
}

/// A hardened config: non-root, a health check, a source label, nothing secret.
fn hardened() -> Value {
    config(
        json!({
            "User": "10001:10001",
            "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "APP_MODE=production"],
            "ExposedPorts": {"8080/tcp": {}},
            "Healthcheck": {"Test": ["CMD", "/app", "healthcheck"], "Interval": 30000000000i64},
            "Labels": {"org.opencontainers.image.source": "https://github.com/acme/app"},
            "Entrypoint": ["/app"],
        }),
        &["COPY app /app # buildkit"],
    )
}

/// The findings of one image input: (rule, detail or line).
fn findings_of(report: &Value, file: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["file"] == file)
        .map(|f| {
            let place = match f["line"].as_u64() {
                Some(0) | None => f["detail"].as_str().unwrap_or("").to_owned(),
                Some(line) => format!("line {line}"),
            };
            (f["rule"].as_str().expect("rule").to_owned(), place)
        })
        .collect();
    found.sort();
    found
}

fn rules_of(found: &[(String, String)]) -> Vec<&str> {
    let mut rules: Vec<&str> = found.iter().map(|(rule, _)| rule.as_str()).collect();
    rules.dedup();
    rules
}

fn errors(report: &Value) -> Vec<(String, String)> {
    report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["file"].as_str().unwrap_or("").to_owned(),
                e["message"].as_str().expect("message").to_owned(),
            )
        })
        .collect()
}

#[test]
fn an_image_built_with_umoci_gives_the_same_findings_as_layout_archive_and_config_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let image = Umoci::new(dir.path(), "app");
    image
        .layer(|rootfs| {
            std::fs::create_dir_all(rootfs.join("app")).expect("mkdir");
            std::fs::write(rootfs.join("app/server.py"), "print('hi')\n").expect("write");
        })
        .config(&[
            "--config.user",
            "root",
            "--config.env",
            "AWS_ACCESS_KEY_ID=AKIAQ3EGRDSYB6NWFHWQ",
            "--config.exposedports",
            "22/tcp",
            "--history.created_by",
            "/bin/sh -c curl -fsSL https://get.example.com/install.sh | sh",
        ]);
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
    let mut layout = Layout::new(&dir.path().join("layout"));
    let amd64 = layout.image(&hardened(), &[]);
    let mut root = hardened();
    root["architecture"] = json!("arm64");
    root["config"]["User"] = json!("0");
    let arm64 = layout.image(&root, &[]);
    let with_platform = |mut d: Value, arch: &str| {
        d["platform"] = json!({"os": "linux", "architecture": arch});
        d
    };
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [with_platform(amd64, "amd64"), with_platform(arm64, "arm64")],
    });
    let index = layout.blob(
        "application/vnd.oci.image.index.v1+json",
        &serde_json::to_vec(&index).expect("index"),
    );
    layout.tag("multi", index);
    let scan = |platform: &str| {
        let (_, report, _) = scan_json(
            &["--image", "oci:layout:multi", "--platform", platform],
            dir.path(),
        );
        report
    };
    let report = scan("linux/amd64");
    assert_eq!(report["summary"]["resources"], 2, "{report:#}");
    assert_eq!(findings_of(&report, "oci:layout:multi"), []);
    let report = scan("linux/arm64");
    assert_eq!(
        rules_of(&findings_of(&report, "oci:layout:multi")),
        ["image/run-as-root"]
    );
    let report = scan("all");
    assert_eq!(report["summary"]["resources"], 4, "{report:#}");
    let report = scan("linux/s390x");
    let errors = errors(&report);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0]
            .1
            .contains("no image for linux/s390x (it has: linux/amd64, linux/arm64)"),
        "{errors:#?}"
    );
}

#[test]
fn unreadable_image_references_are_errors_that_name_the_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut layout = Layout::new(&dir.path().join("layout"));
    let manifest = layout.image(&hardened(), &[]);
    layout.tag("1.0", manifest);
    std::fs::write(dir.path().join("not-a.tar"), "plain text").expect("write");
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
