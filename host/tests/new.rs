//! `palisade new`: the scaffolded Rust project passes its own native test, builds into a
//! component that `palisade test` passes against the scaffold's fixtures and that reports its
//! rule at the marked line in a real scan; and the refusals (non-empty directory, bad name,
//! language not built yet).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{finding_lines, palisade, scan_json, workspace};

/// A `cargo` for the scaffolded project, as a user would run it there: none of the outer build's
/// flags, target directory or pinned toolchain (the project's `rust-toolchain.toml` decides).
fn cargo(project: &Path, target_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(project)
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("PALISADE_PLUGIN_TARGET_DIR")
        .env_remove("RUSTUP_TOOLCHAIN");
    cmd
}

fn run(mut cmd: Command, what: &str) {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        output.status.success(),
        "{what} failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_new_rust_plugin_tests_builds_and_scans() {
    let temp = tempfile::tempdir().expect("temp dir");
    let project = temp.path().join("team-policies");
    palisade()
        .arg("new")
        .arg("team-policies")
        .args(["--lang", "rust", "--dir"])
        .arg(&project)
        .arg("--sdk-path")
        .arg(workspace().join("plugin-sdk"))
        .assert()
        .success();
    for file in [
        "Cargo.toml",
        "rust-toolchain.toml",
        ".gitignore",
        "README.md",
        "src/lib.rs",
        "tests/fixtures.rs",
        "fixtures/team-policies/team-label/fail.yaml",
        "fixtures/team-policies/team-label/pass.yaml",
    ] {
        assert!(project.join(file).is_file(), "{file} was not created");
    }
    let toolchain = std::fs::read_to_string(project.join("rust-toolchain.toml")).unwrap();
    assert!(toolchain.contains("wasm32-wasip2"), "{toolchain}");
    // The workspace's lock pins the same dependency versions, so the build needs no resolution.
    std::fs::copy(workspace().join("Cargo.lock"), project.join("Cargo.lock")).expect("copy lock");

    // One target directory across runs keeps repeated test runs fast.
    let target_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("new-plugin");
    let mut test = cargo(&project, &target_dir);
    test.args(["test", "--quiet"]);
    run(test, "`cargo test` in the new project");
    let mut build = cargo(&project, &target_dir);
    build.args(["build", "--quiet", "--release", "--target", "wasm32-wasip2"]);
    run(
        build,
        "`cargo build --release --target wasm32-wasip2` in the new project",
    );
    let wasm = target_dir.join("wasm32-wasip2/release/team_policies.wasm");
    assert!(wasm.is_file(), "{} was not built", wasm.display());

    let output = palisade()
        .arg("test")
        .arg(&wasm)
        .arg(project.join("fixtures"))
        .output()
        .expect("palisade test runs");
    assert!(
        output.status.success(),
        "palisade test failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let fail = project.join("fixtures/team-policies/team-label/fail.yaml");
    let (code, report, stderr) = scan_json(
        &[
            "--no-default-packs",
            "--plugin",
            wasm.to_str().unwrap(),
            fail.to_str().unwrap(),
        ],
        &project,
    );
    assert_eq!(code, 1, "{stderr}");
    let mut lines: Vec<_> = finding_lines(&report)
        .into_iter()
        .map(|(rule, _, line)| (rule, line))
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            ("team-policies/team-label".to_string(), 3),
            ("team-policies/team-label".to_string(), 19)
        ]
    );
}

#[test]
fn a_non_empty_directory_is_refused() {
    let temp = tempfile::tempdir().expect("temp dir");
    std::fs::write(temp.path().join("keep.txt"), "mine").unwrap();
    let output = palisade()
        .arg("new")
        .arg("team-policies")
        .arg("--dir")
        .arg(temp.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("already exists and is not empty"),
        "{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(temp.path()).unwrap().collect();
    assert_eq!(
        left.len(),
        1,
        "nothing may be written beside existing files"
    );
    assert_eq!(
        std::fs::read_to_string(temp.path().join("keep.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn a_bad_name_is_refused() {
    let temp = tempfile::tempdir().expect("temp dir");
    let output = palisade()
        .current_dir(temp.path())
        .args(["new", "Team_Policies"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid plugin name `Team_Policies`"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(temp.path()).unwrap().count(), 0);
}

#[test]
fn languages_not_built_yet_are_an_error() {
    for lang in ["python", "js", "c"] {
        let temp = tempfile::tempdir().expect("temp dir");
        let output = palisade()
            .current_dir(temp.path())
            .args(["new", "team-policies", "--lang", lang])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "--lang {lang}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!(
                "`palisade new --lang {lang}` is not available yet"
            )),
            "{stderr}"
        );
        assert_eq!(std::fs::read_dir(temp.path()).unwrap().count(), 0);
    }
}
