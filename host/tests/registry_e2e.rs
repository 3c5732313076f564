//! End to end: two teams publish to a signed registry served by a real web server (nginx on
//! 127.0.0.1, over HTTP and over HTTPS with a test CA); a project locks, scans, then scans again
//! offline once the server is gone.

mod support;

use std::path::Path;

use support::nginx::Nginx;
use support::registry::{STANDARD_PLUGINS, TestRegistry, path, project, run, run_ok};
use support::tls::TestCa;

/// `palisade scan --format json` in `dir` with the cache `cache`: (exit code, report, stderr).
fn scan(dir: &Path, cache: &Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let mut args = vec!["scan", "--format", "json"];
    args.extend_from_slice(extra);
    let output = run(&args, dir, cache);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}\nstderr:\n{stderr}"));
    (output.status.code().expect("exit code"), report, stderr)
}

/// The findings the two registry packs must report on the standard project.
fn assert_both_packs_judged(report: &serde_json::Value, stderr: &str) {
    assert_eq!(report["errors"], serde_json::json!([]), "{stderr}");
    let findings = support::finding_lines(report);
    for expected in [
        ("k8s/privileged-container", "./pod.yaml", 11),
        ("docker/ssh-port-exposed", "./Dockerfile", 2),
    ] {
        assert!(
            findings
                .iter()
                .any(|(rule, file, line)| (rule.as_str(), file.as_str(), *line) == expected),
            "{expected:?} not in {findings:?}"
        );
    }
    assert_eq!(
        report["summary"]["plugins"], 2,
        "only the registry's packs run"
    );
}

#[test]
fn a_registry_over_http_is_locked_scanned_and_then_used_offline() {
    let registry = TestRegistry::standard();
    let mut server = Nginx::start(&registry.root, None);
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path().join("project");
    let cache = work.path().join("cache");
    project(
        &dir,
        &format!("url = \"{}\"", server.http_url()),
        &registry.pin(),
        STANDARD_PLUGINS,
    );

    // The security team checks what the site serves, as it checks the directory.
    let verified = run_ok(
        &[
            "registry",
            "verify",
            &server.http_url(),
            "--root-key",
            &path(&registry.roots[0].public),
            "--root-key",
            &path(&registry.roots[1].public),
            "--threshold",
            "2",
        ],
        &dir,
        &cache,
    );
    assert!(
        verified.contains("trusting the given root keys"),
        "{verified}"
    );
    assert!(verified.contains("verified 2 of 2 plugins"), "{verified}");

    let stdout = run_ok(&["lock"], &dir, &cache);
    assert!(stdout.contains("locked appsec/docker@2.1.0"), "{stdout}");
    assert!(stdout.contains("locked platform/k8s@1.0.0"), "{stdout}");
    let lock = std::fs::read_to_string(dir.join("palisade.lock")).expect("the lock is written");
    let lock = palisade::registry::Lockfile::parse(&lock).expect("a valid lock");
    assert_eq!(lock.registry, server.http_url());
    let names: Vec<String> = lock.plugins.iter().map(|p| p.id()).collect();
    assert_eq!(names, ["appsec/docker@2.1.0", "platform/k8s@1.0.0"]);

    let (code, report, stderr) = scan(&dir, &cache, &["."]);
    assert_both_packs_judged(&report, &stderr);
    assert_eq!(code, 1, "findings fail the scan");

    server.stop();
    // Online, an unreachable registry is an error that names it: revocations cannot be
    // checked, so nothing from it runs.
    let (code, report, _) = scan(&dir, &cache, &["."]);
    assert_eq!(code, 2);
    let errors = report["errors"].to_string();
    assert!(errors.contains(&server.http_url()), "{errors}");
    assert_eq!(report["summary"]["plugins"], 0);

    // Offline, the verified cache is enough.
    let (code, report, stderr) = scan(&dir, &cache, &["--offline", "."]);
    assert_both_packs_judged(&report, &stderr);
    assert_eq!(code, 1);
}

#[test]
fn a_registry_over_https_is_trusted_through_the_configured_ca_only() {
    let registry = TestRegistry::standard();
    let ca = TestCa::new();
    let server = Nginx::start(&registry.root, Some(&ca));
    let work = tempfile::tempdir().expect("temp dir");
    let cache = work.path().join("cache");

    let trusted = work.path().join("trusted");
    project(
        &trusted,
        &format!("url = \"{}\"\nca-cert = \"ca.pem\"", server.https_url()),
        &registry.pin(),
        STANDARD_PLUGINS,
    );
    std::fs::write(trusted.join("ca.pem"), &ca.ca_pem).expect("write CA");
    run_ok(&["lock"], &trusted, &cache);
    let (code, report, stderr) = scan(&trusted, &cache, &["."]);
    assert_both_packs_judged(&report, &stderr);
    assert_eq!(code, 1);

    // Without the CA the server's certificate is not trusted, and nothing is locked.
    let untrusted = work.path().join("untrusted");
    project(
        &untrusted,
        &format!("url = \"{}\"", server.https_url()),
        &registry.pin(),
        STANDARD_PLUGINS,
    );
    let output = run(&["lock"], &untrusted, &work.path().join("other-cache"));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&server.https_url()), "{stderr}");
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    assert!(!untrusted.join("palisade.lock").exists());
}

/// The errors of a JSON report, joined.
fn errors_of(report: &serde_json::Value) -> String {
    report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_data_directory_is_granted_only_when_the_manifest_asks_and_the_config_agrees() {
    let registry = TestRegistry::new();
    let reader = std::fs::read(support::hostile_plugin("data-reader")).expect("read plugin");
    let asks = registry.artifact_of(
        &reader,
        "platform/reader",
        "1.0.0",
        "platform",
        Some("allow-lists"),
    );
    let plain = registry.artifact("kubernetes", "platform/k8s", "1.0.0", "platform", None);
    registry.publish(&[&asks, &plain]);
    registry.sign_all();
    let work = tempfile::tempdir().expect("temp dir");
    let cache = work.path().join("cache");
    let location = format!("path = \"{}\"", registry.root.display());
    let setup = |name: &str, plugins: &str| {
        let dir = work.path().join(name);
        project(&dir, &location, &registry.pin(), plugins);
        std::fs::create_dir_all(dir.join("allow")).expect("mkdir");
        std::fs::write(dir.join("allow/allowed.txt"), "ghcr.io/acme\n").expect("write");
        run_ok(&["lock"], &dir, &cache);
        dir
    };

    // Asked for and granted, by the same name: readable, and nothing more.
    let granted = setup(
        "granted",
        "\"platform/reader\" = { version = \"1\", data-dir = { name = \"allow-lists\", path = \"allow\" } }\n",
    );
    let (_, report, stderr) = scan(&granted, &cache, &["pod.yaml"]);
    assert_eq!(errors_of(&report), "", "{stderr}");
    let finding = &report["findings"][0];
    assert_eq!(finding["rule"], "hostile/attack");
    let seen: serde_json::Value =
        serde_json::from_str(finding["message"].as_str().expect("message")).expect("JSON");
    assert_eq!(seen["allowed"], "ok: ghcr.io/acme\n");
    for attempt in ["write", "dotdot", "root_listing", "etc_hostname"] {
        let outcome = seen[attempt].as_str().expect("outcome");
        assert!(outcome.starts_with("error: "), "{attempt}: {outcome}");
    }
    assert!(!granted.join("allow/new.txt").exists());

    // Asked for, not granted: the pack does not run rather than run without its data.
    let ungranted = setup("ungranted", "\"platform/reader\" = \"1\"\n");
    let (code, report, _) = scan(&ungranted, &cache, &["pod.yaml"]);
    assert_eq!(code, 2);
    let errors = errors_of(&report);
    assert!(errors.contains("platform/reader@1.0.0"), "{errors}");
    assert!(
        errors.contains("requests read-only data directory `allow-lists`"),
        "{errors}"
    );
    assert_eq!(report["summary"]["plugins"], 0);

    // Granted but never asked for: no more than asked.
    let unasked = setup(
        "unasked",
        "\"platform/k8s\" = { version = \"1\", data-dir = { name = \"allow-lists\", path = \"allow\" } }\n",
    );
    let (code, report, _) = scan(&unasked, &cache, &["pod.yaml"]);
    assert_eq!(code, 2);
    let errors = errors_of(&report);
    assert!(errors.contains("platform/k8s@1.0.0"), "{errors}");
    assert!(errors.contains("requests none"), "{errors}");

    // Granted under another name.
    let renamed = setup(
        "renamed",
        "\"platform/reader\" = { version = \"1\", data-dir = { name = \"secrets\", path = \"allow\" } }\n",
    );
    let (code, report, _) = scan(&renamed, &cache, &["pod.yaml"]);
    assert_eq!(code, 2);
    assert!(
        errors_of(&report).contains("grants `secrets`"),
        "{}",
        errors_of(&report)
    );
}

#[test]
fn the_example_script_builds_a_registry_that_locks_and_scans() {
    let out = tempfile::tempdir().expect("temp dir");
    let output = std::process::Command::new("bash")
        .arg(support::workspace().join("examples/registry/build.sh"))
        .arg(out.path())
        .env("PALISADE", env!("CARGO_BIN_EXE_palisade"))
        .env("CARGO", env!("CARGO"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env("NO_COLOR", "1")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("verified 2 of 2 plugins"), "{stdout}");
    assert!(stdout.contains("locked platform/k8s@1.0.0"), "{stdout}");
    assert!(stdout.contains("k8s/privileged-container"), "{stdout}");
    assert!(stdout.contains("docker/"), "{stdout}");
    let lock = std::fs::read_to_string(out.path().join("project/palisade.lock")).expect("lock");
    assert!(lock.contains("registry = \"../registry\""), "{lock}");
}

#[test]
fn a_pipeline_follows_a_root_rotation_it_has_seen_and_a_new_machine_needs_the_new_keys() {
    use support::registry::KeyPair;
    let registry = TestRegistry::standard();
    let work = tempfile::tempdir().expect("temp dir");
    let cache = work.path().join("cache");
    let dir = work.path().join("project");
    let location = format!("path = \"{}\"", registry.root.display());
    project(&dir, &location, &registry.pin(), STANDARD_PLUGINS);
    run_ok(&["lock"], &dir, &cache);

    // The security team rotates to two new keys; old and new thresholds both sign.
    let new = [
        KeyPair::new(work.path(), "new-root-1"),
        KeyPair::new(work.path(), "new-root-2"),
    ];
    let root = path(&registry.root);
    registry.ok(&[
        "registry",
        "rotate-root",
        &root,
        "--root-key",
        &path(&new[0].public),
        "--root-key",
        &path(&new[1].public),
        "--threshold",
        "2",
    ]);
    registry.sign_all();
    for key in &new {
        registry.ok(&["registry", "sign", &root, "--key", &path(&key.private)]);
    }
    let (code, report, stderr) = scan(&dir, &cache, &["."]);
    assert_both_packs_judged(&report, &stderr);
    assert_eq!(code, 1);

    // The next change is signed by the new keys alone: this machine saw the rotation.
    let newer = registry.artifact("dockerfile", "appsec/docker", "2.1.1", "appsec", None);
    registry.publish(&[&newer]);
    for key in &new {
        registry.ok(&["registry", "sign", &root, "--key", &path(&key.private)]);
    }
    let (code, report, stderr) = scan(&dir, &cache, &["."]);
    assert_both_packs_judged(&report, &stderr);
    assert_eq!(code, 1);

    // A machine that never saw the rotation, pinning the old keys, refuses the new index…
    let (code, report, _) = scan(&dir, &work.path().join("new-machine"), &["."]);
    assert_eq!(code, 2);
    let errors = errors_of(&report);
    assert!(errors.contains("root keys changed"), "{errors}");
    // …until the config pins the new keys.
    let pin = format!(
        "root-keys = [\"{}\", \"{}\"]\nthreshold = 2\n",
        new[0].public_line(),
        new[1].public_line()
    );
    project(&dir, &location, &pin, STANDARD_PLUGINS);
    let (code, report, stderr) = scan(&dir, &work.path().join("new-machine"), &["."]);
    assert_both_packs_judged(&report, &stderr);
    assert_eq!(code, 1);
}
