//! Container images for the integration tests: OCI layouts built with Debian's `umoci` (and
//! converted or pushed with `skopeo`), layouts assembled blob by blob where an image must be
//! broken in a precise way, and readers for the image parts of a JSON report.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Runs a container tool that the test needs, failing loudly when it is missing.
pub fn tool(program: &str, args: &[&str], cwd: &Path) {
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
pub struct Umoci {
    pub dir: PathBuf,
    pub image: String,
}

impl Umoci {
    pub fn new(dir: &Path, tag: &str) -> Umoci {
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
    pub fn layer(&self, change: impl FnOnce(&Path)) -> &Umoci {
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

    pub fn config(&self, args: &[&str]) -> &Umoci {
        let mut all = vec!["config", "--image", &self.image];
        all.extend_from_slice(args);
        tool("umoci", &all, &self.dir);
        self
    }

    /// The image's config blob, a bare config JSON file.
    pub fn config_file(&self) -> PathBuf {
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

pub fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read JSON")).expect("valid JSON")
}

pub fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    layout
        .join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").expect("sha256 digest"))
}

/// An OCI layout written by the test, blob by blob.
pub struct Layout {
    pub dir: PathBuf,
    manifests: Vec<Value>,
}

impl Layout {
    pub fn new(dir: &Path) -> Layout {
        std::fs::create_dir_all(dir.join("blobs/sha256")).expect("layout dirs");
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)
            .expect("oci-layout");
        Layout {
            dir: dir.to_path_buf(),
            manifests: Vec::new(),
        }
    }

    /// Stores a blob and returns its descriptor.
    pub fn blob(&self, media_type: &str, bytes: &[u8]) -> Value {
        let digest = format!("sha256:{:x}", Sha256::digest(bytes));
        std::fs::write(blob_path(&self.dir, &digest), bytes).expect("write blob");
        json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
    }

    /// Stores an image (its config and already stored layers) and returns its manifest's
    /// descriptor.
    pub fn image(&self, config: &Value, layers: &[Value]) -> Value {
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
    pub fn tag(&mut self, tag: &str, mut descriptor: Value) -> &mut Layout {
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
pub fn config(section: Value, history: &[&str]) -> Value {
    json!({
        "architecture": "amd64",
        "os": "linux",
        "config": section,
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": history.iter().map(|h| json!({"created_by": h, "empty_layer": true})).collect::<Vec<_>>(),
    })
}

/// A hardened config: non-root, a health check, a source label, nothing secret.
pub fn hardened() -> Value {
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

/// The findings of one input: (rule, where). An image's findings are told apart by their
/// detail (`REFERENCE › config User`), a file's by its path (`line N`).
pub fn findings_of(report: &Value, input: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| {
            let place = match f["detail"].as_str() {
                Some(detail) if detail == input => String::new(),
                Some(detail) => detail.strip_prefix(&format!("{input} › "))?.to_owned(),
                None if f["file"] == input => format!("line {}", f["line"]),
                None => return None,
            };
            Some((f["rule"].as_str().expect("rule").to_owned(), place))
        })
        .collect();
    found.sort();
    found
}

pub fn rules_of(found: &[(String, String)]) -> Vec<&str> {
    let mut rules: Vec<&str> = found.iter().map(|(rule, _)| rule.as_str()).collect();
    rules.dedup();
    rules
}

pub fn errors(report: &Value) -> Vec<(String, String)> {
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

/// Writes a layout whose tag `multi` is an index of two images: a clean linux/amd64 one and a
/// linux/arm64 one that runs as root.
pub fn multi_platform_layout(path: &Path) {
    let mut layout = Layout::new(path);
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
}

/// Checks `--platform` on the image `input` of [`multi_platform_layout`], given a scan that
/// takes the platform and returns the JSON report.
pub fn check_platform_choice(input: &str, scan: impl Fn(&str) -> Value) {
    // Config, manifest, file system and packages for each image scanned.
    let report = scan("linux/amd64");
    assert_eq!(errors(&report), []);
    assert_eq!(report["summary"]["resources"], 4, "{report:#}");
    assert_eq!(findings_of(&report, input), []);
    let report = scan("linux/arm64");
    assert_eq!(
        rules_of(&findings_of(&report, input)),
        ["image/run-as-root"]
    );
    let report = scan("all");
    assert_eq!(report["summary"]["resources"], 8, "{report:#}");
    assert_eq!(
        rules_of(&findings_of(&report, input)),
        ["image/run-as-root"]
    );
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

/// An image built with umoci in `dir` (layout `layout`, tag `app`) with what an image must not
/// have in its config: root, an AWS key in the environment, SSH exposed, `curl | sh` in its
/// history; one layer with an app file.
pub fn risky_umoci_image(dir: &Path) -> Umoci {
    let image = Umoci::new(dir, "app");
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
    image
}
