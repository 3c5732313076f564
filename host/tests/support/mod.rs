//! Shared helpers for the integration tests: the real binary, a shared compile cache, and
//! plugins built from source.

#![allow(dead_code)]

pub mod nginx;
pub mod oci;
pub mod registry;
pub mod tls;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ is inside the workspace")
        .to_path_buf()
}

/// A compile cache shared by all tests, so each plugin is compiled once per test run.
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("palisade-cache")
}

/// The `palisade` binary, with the shared cache and no color.
pub fn palisade() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("palisade").expect("the palisade binary is built");
    cmd.env("PALISADE_CACHE_DIR", cache_dir())
        .env("NO_COLOR", "1");
    cmd
}

/// Runs `palisade` with `args` and parses its JSON report; returns (exit code, report, stderr).
pub fn scan_json(args: &[&str], cwd: &Path) -> (i32, serde_json::Value, String) {
    let output = palisade()
        .current_dir(cwd)
        .arg("scan")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("palisade runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (
        output.status.code().expect("exited normally"),
        report,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `(rule, file, line)` of every finding in a JSON report.
pub fn finding_lines(report: &serde_json::Value) -> Vec<(String, String, u64)> {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().expect("rule").to_string(),
                f["file"].as_str().expect("file").to_string(),
                f["line"].as_u64().expect("line"),
            )
        })
        .collect()
}

/// Writes files (path → text) under a new temporary directory.
pub fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    dir
}

/// Builds the hostile test plugin with one attack feature and returns the component's path.
/// Builds are serialized: every feature writes the same output file before it is copied.
pub fn hostile_plugin(feature: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.get(feature) {
        return path.clone();
    }
    let target_dir = std::env::var_os("PALISADE_PLUGIN_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target").join("plugins"));
    let status = Command::new(env!("CARGO"))
        .current_dir(workspace())
        .args([
            "build",
            "--quiet",
            "--target",
            "wasm32-wasip2",
            "--profile",
            "plugin",
        ])
        .args(["-p", "palisade-hostile-plugin", "--features", feature])
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("cargo runs");
    assert!(
        status.success(),
        "building the hostile plugin with `{feature}` failed"
    );
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile");
    std::fs::create_dir_all(&out_dir).expect("mkdir");
    let path = out_dir.join(format!("{feature}.wasm"));
    std::fs::copy(
        target_dir.join("wasm32-wasip2/plugin/palisade_hostile_plugin.wasm"),
        &path,
    )
    .expect("copy the built plugin");
    built.insert(feature.to_string(), path.clone());
    path
}

/// A Deployment with a privileged container at line 12 (the Kubernetes pack's finding).
pub const PRIVILEGED_DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  template:
    spec:
      containers:
        - name: web
          securityContext:
            privileged: true
";
