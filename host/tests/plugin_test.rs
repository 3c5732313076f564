//! `palisade test PLUGIN.wasm FIXTURES_DIR`: built packs against their own fixture trees (the
//! Rust SDK harness's convention: `# expect:` markers and `.expect` sidecars), a deliberately
//! wrong expectation reported as a diff, and errors exiting 2.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use palisade::packs::builtin;
use support::{palisade, workspace};

/// Writes a built-in pack's component to a temporary file, as a plugin team's build would.
fn pack_file(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(format!("{name}.wasm"));
    std::fs::write(&path, builtin(name).expect("a built-in pack")).expect("write the component");
    (dir, path)
}

/// Runs `palisade test` and returns (exit code, stdout, stderr).
fn run_test(args: &[&Path]) -> (i32, String, String) {
    let output = palisade()
        .arg("test")
        .args(args)
        .output()
        .expect("palisade runs");
    (
        output.status.code().expect("exited normally"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Copies a directory tree.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn the_kubernetes_pack_passes_its_own_fixtures() {
    let (_dir, wasm) = pack_file("kubernetes");
    let fixtures = workspace().join("plugins/kubernetes/fixtures");
    let (code, stdout, stderr) = run_test(&[&wasm, &fixtures]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("ok    k8s/run-as-root/fail.yaml\n"),
        "{stdout}"
    );
    assert!(stdout.contains("ok    hardened.yaml\n"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    assert!(stdout.contains(" passed, 0 failed\n"), "{stdout}");
}

#[test]
fn the_aws_pack_passes_its_fixtures_with_sidecar_expectations() {
    let (_dir, wasm) = pack_file("aws");
    let fixtures = workspace().join("plugins/aws/fixtures");
    let (code, stdout, stderr) = run_test(&[&wasm, &fixtures]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("ok    aws/s3-public-access/fail.plan.json\n"),
        "{stdout}"
    );
}

#[test]
fn a_wrong_expectation_fails_with_a_diff_naming_file_line_and_rule() {
    let (_dir, wasm) = pack_file("kubernetes");
    let copy = tempfile::tempdir().expect("temp dir");
    let rule_dir = copy.path().join("k8s/run-as-root");
    copy_tree(
        &workspace().join("plugins/kubernetes/fixtures/k8s/run-as-root"),
        &rule_dir,
    );
    // Move the expectation on line 13 (`runAsUser: 0`) to line 14, where nothing fires.
    let fail = rule_dir.join("fail.yaml");
    let text = std::fs::read_to_string(&fail).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[12].trim(), "runAsUser: 0 # expect: k8s/run-as-root");
    let moved: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| match i {
            12 => "            runAsUser: 0".to_string(),
            13 => format!("{line} # expect: k8s/run-as-root"),
            _ => line.to_string(),
        })
        .collect();
    std::fs::write(&fail, moved.join("\n") + "\n").expect("write");

    let (code, stdout, stderr) = run_test(&[&wasm, copy.path()]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("FAIL  k8s/run-as-root/fail.yaml\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("      - 14 k8s/run-as-root (expected, not found)\n"),
        "{stdout}"
    );
    let found = stdout
        .lines()
        .find(|l| l.starts_with("      + 13 k8s/run-as-root (found, not expected): "))
        .unwrap_or_else(|| panic!("no `+ 13` line:\n{stdout}"));
    assert!(found.len() > "      + 13 k8s/run-as-root (found, not expected): ".len());
    assert!(
        stdout.contains("ok    k8s/run-as-root/pass.yaml\n"),
        "{stdout}"
    );
    assert!(stdout.contains(": 1 passed, 1 failed\n"), "{stdout}");

    let output = palisade()
        .arg("test")
        .arg(&wasm)
        .arg(copy.path())
        .args(["--format", "json"])
        .output()
        .expect("palisade runs");
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    let failed = &report["files"][0];
    assert_eq!(failed["file"], "k8s/run-as-root/fail.yaml");
    assert_eq!(failed["rule"], "k8s/run-as-root");
    assert_eq!(
        failed["missing"],
        serde_json::json!([{"line": 14, "rule": "k8s/run-as-root"}])
    );
    assert_eq!(failed["unexpected"][0]["line"], 13);
}

#[test]
fn a_file_without_expectations_must_produce_no_finding() {
    let (_dir, wasm) = pack_file("kubernetes");
    let dir = support::tree(&[("deploy.yaml", support::PRIVILEGED_DEPLOYMENT)]);
    let (code, stdout, stderr) = run_test(&[&wasm, dir.path()]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("FAIL  deploy.yaml\n"), "{stdout}");
    assert!(
        stdout.contains("      + 12 k8s/privileged-container (found, not expected): "),
        "{stdout}"
    );
}

#[test]
fn unreadable_fixtures_and_missing_plugins_are_errors() {
    let (_dir, wasm) = pack_file("kubernetes");
    let dir = support::tree(&[
        (
            "broken.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: [unclosed\n",
        ),
        ("bad.json", "{}\n"),
        ("bad.json.expect", "twelve: k8s/run-as-root\n"),
    ]);
    let (code, stdout, stderr) = run_test(&[&wasm, dir.path()]);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("error bad.json: bad.json.expect: line 1: `twelve` is not a line number\n"),
        "{stdout}"
    );
    assert!(stdout.contains("error broken.yaml: line "), "{stdout}");

    let missing = dir.path().join("missing.wasm");
    let (code, _, stderr) = run_test(&[&missing, dir.path()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot read ") && stderr.contains("missing.wasm"),
        "{stderr}"
    );
}

#[test]
fn expectations_are_read_as_the_sdk_harness_reads_them() {
    // Every fixture of every first-party pack: the host's reading of its expectations, rule by
    // rule, equals the Rust SDK harness's, so one fixture tree serves both tools.
    let mut checked = 0;
    for pack in ["kubernetes", "dockerfile", "aws", "image"] {
        let mut stack = vec![workspace().join("plugins").join(pack).join("fixtures")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                if path.to_string_lossy().ends_with(".expect") {
                    continue;
                }
                let host = palisade::fixtures::expectations(&path, &text)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let rules: BTreeSet<&str> = host.iter().map(|e| e.rule.as_str()).collect();
                for rule in rules {
                    let ours: BTreeSet<u32> = host
                        .iter()
                        .filter(|e| e.rule == rule)
                        .map(|e| e.line)
                        .collect();
                    let sdk = palisade_sdk::testing::expectations(&path, &text, rule)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                    assert_eq!(ours, sdk, "{} {rule}", path.display());
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} expectations compared");
}

#[test]
fn pack_settings_come_from_config_json_beside_fixtures_or_from_config() {
    let (_dir, wasm) = pack_file("image");
    let fixtures = tempfile::tempdir().expect("temp dir");
    copy_tree(
        &workspace().join("plugins/image/fixtures/image/run-as-root"),
        &fixtures.path().join("image/run-as-root"),
    );
    let (code, stdout, stderr) = run_test(&[&wasm, fixtures.path()]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    // Settings from `palisade.toml` reach the pack's `configure`, which refuses these.
    let toml = fixtures.path().join("palisade.toml");
    std::fs::write(&toml, "[packs.image]\nsettings = { max-size-mib = 0 }\n").expect("write");
    let output = palisade()
        .arg("test")
        .arg(&wasm)
        .arg(fixtures.path().join("image"))
        .arg("--config")
        .arg(&toml)
        .output()
        .expect("palisade runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("error run-as-root/fail.config.json: plugin `")
            && stdout.contains("setting `max-size-mib` must be a whole number of MiB above 0"),
        "{stdout}"
    );

    // `config.json` beside the fixtures wins over `--config`.
    std::fs::write(
        fixtures.path().join("image/run-as-root/config.json"),
        r#"{"max-size-mib": 100}"#,
    )
    .expect("write");
    let output = palisade()
        .arg("test")
        .arg(&wasm)
        .arg(fixtures.path().join("image"))
        .arg("--config")
        .arg(&toml)
        .output()
        .expect("palisade runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}
