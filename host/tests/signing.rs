//! Signed plugin artifacts through the real binary, interoperating with the real `ssh-keygen`
//! in both directions: keys it made sign through palisade, its signatures verify in palisade,
//! palisade's verify in `ssh-keygen -Y verify`, and every refusal is its own test.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use palisade::registry::Manifest;
use support::palisade;

/// The key types `ssh-keygen` can make that palisade signs with.
#[derive(Debug, Clone, Copy)]
enum KeyType {
    Ed25519,
    Ecdsa,
    Rsa,
}

impl KeyType {
    fn keygen_args(self) -> &'static [&'static str] {
        match self {
            KeyType::Ed25519 => &["-t", "ed25519"],
            KeyType::Ecdsa => &["-t", "ecdsa", "-b", "256"],
            KeyType::Rsa => &["-t", "rsa", "-b", "3072"],
        }
    }
}

/// Runs `ssh-keygen`, failing loudly when it is missing.
fn ssh_keygen(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new("ssh-keygen")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("ssh-keygen (openssh-client) is installed")
}

/// A key pair made by `ssh-keygen` in `dir`: (private key path, public key path).
fn keygen(dir: &Path, name: &str, key: KeyType, passphrase: &str) -> (PathBuf, PathBuf) {
    let private = dir.join(name);
    let output = ssh_keygen(
        &[
            key.keygen_args(),
            &["-q", "-N", passphrase, "-C", name, "-f"],
            &[private.to_str().expect("UTF-8 temp path")],
        ]
        .concat(),
        dir,
    );
    assert!(output.status.success(), "ssh-keygen failed: {output:?}");
    (private.clone(), private.with_extension("pub"))
}

/// A real plugin component (the built-in Kubernetes pack, built from source by the host's
/// build script) written to `dir/k8s.wasm`, with its manifest made by `palisade plugin
/// manifest`. Returns (wasm, manifest).
fn artifact(dir: &Path) -> (PathBuf, PathBuf) {
    let wasm = dir.join("k8s.wasm");
    let component =
        palisade::packs::builtin("kubernetes").expect("the kubernetes pack is built in");
    std::fs::write(&wasm, component).expect("write the component");
    let output = palisade()
        .args(["plugin", "manifest"])
        .arg(&wasm)
        .args(["--name", "platform/k8s-extra", "--version", "1.4.0"])
        .args([
            "--team",
            "platform",
            "--description",
            "Extra Kubernetes checks",
        ])
        .output()
        .expect("palisade runs");
    assert!(
        output.status.success(),
        "plugin manifest failed: {output:?}"
    );
    (wasm, dir.join("palisade-plugin.toml"))
}

fn sig_of(manifest: &Path) -> PathBuf {
    palisade::registry::signature_path(manifest)
}

/// `palisade plugin sign MANIFEST --key KEY`.
fn palisade_sign(manifest: &Path, key: &Path) -> std::process::Output {
    palisade()
        .args(["plugin", "sign"])
        .arg(manifest)
        .arg("--key")
        .arg(key)
        .output()
        .expect("palisade runs")
}

/// `ssh-keygen -Y sign -n NAMESPACE -f KEY MANIFEST` (writes `MANIFEST.sig`).
fn keygen_sign(manifest: &Path, key: &Path, namespace: &str) {
    let output = ssh_keygen(
        &[
            "-Y",
            "sign",
            "-n",
            namespace,
            "-f",
            key.to_str().expect("UTF-8"),
            manifest.to_str().expect("UTF-8"),
        ],
        manifest.parent().expect("in a dir"),
    );
    assert!(
        output.status.success(),
        "ssh-keygen -Y sign failed: {output:?}"
    );
}

/// `palisade plugin verify MANIFEST --key PUB [--wasm W]`: (exit code, stdout, stderr).
fn palisade_verify(manifest: &Path, public: &Path, wasm: Option<&Path>) -> (i32, String, String) {
    let mut cmd = palisade();
    cmd.args(["plugin", "verify"])
        .arg(manifest)
        .arg("--key")
        .arg(public);
    if let Some(wasm) = wasm {
        cmd.arg("--wasm").arg(wasm);
    }
    let output = cmd.output().expect("palisade runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Asserts `palisade plugin verify` refuses with exit 2 and an error naming `file` and saying
/// `reason`.
fn assert_refused(manifest: &Path, public: &Path, wasm: Option<&Path>, file: &Path, reason: &str) {
    let (code, stdout, stderr) = palisade_verify(manifest, public, wasm);
    assert_eq!(
        code, 2,
        "expected a refusal; stdout: {stdout}; stderr: {stderr}"
    );
    assert!(
        stderr.contains(&file.display().to_string()),
        "the error names {}: {stderr}",
        file.display()
    );
    assert!(
        stderr.contains(reason),
        "the error says `{reason}`: {stderr}"
    );
}

/// `ssh-keygen -Y verify` of `MANIFEST.sig` against `public` in the `palisade-plugin` namespace.
fn keygen_verify(manifest: &Path, public: &Path) -> std::process::Output {
    let dir = manifest.parent().expect("in a dir");
    let key = std::fs::read_to_string(public).expect("read public key");
    let signers = dir.join("allowed_signers");
    std::fs::write(&signers, format!("team@example.com {}\n", key.trim())).expect("write signers");
    Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(&signers)
        .args(["-I", "team@example.com", "-n", "palisade-plugin", "-s"])
        .arg(sig_of(manifest))
        .stdin(std::fs::File::open(manifest).expect("open manifest"))
        .output()
        .expect("ssh-keygen is installed")
}

#[test]
fn a_manifest_lists_the_components_own_rules_and_is_deterministic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wasm, manifest_path) = artifact(dir.path());
    let text = std::fs::read_to_string(&manifest_path).expect("manifest written");
    let manifest = Manifest::parse(&text).expect("the written manifest parses");

    let engine = palisade::engine::Engine::new(Some(palisade::engine::CompileCache::new(
        support::cache_dir(),
    )))
    .expect("engine");
    let component = std::fs::read(&wasm).expect("read wasm");
    let plugin = engine
        .load("", &component, palisade::engine::Limits::default())
        .expect("the pack loads");
    let mut described: Vec<&str> = plugin.info().rules.iter().map(|r| r.id.as_str()).collect();
    described.sort_unstable();
    let listed: Vec<&str> = manifest.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(listed, described);
    assert!(manifest.kinds.iter().any(|k| k.starts_with("kubernetes/")));
    assert_eq!(manifest.name, "platform/k8s-extra");
    assert_eq!(manifest.version.to_string(), "1.4.0");
    assert_eq!(manifest.team, "platform");
    assert_eq!(manifest.wit.to_string(), palisade::engine::WIT_VERSION);
    assert_eq!(manifest.min_palisade.to_string(), env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest.wasm.file, "k8s.wasm");
    assert_eq!(manifest.wasm.size, component.len() as u64);
    assert_eq!(manifest.wasm.sha256, plugin.digest());
    assert!(manifest.capabilities.data_dir.is_none());

    // Same input, same bytes; a requested data directory is recorded.
    let again = dir.path().join("again.toml");
    let with_data = dir.path().join("data.toml");
    for (output, extra) in [(&again, None), (&with_data, Some("allow-lists"))] {
        let mut cmd = palisade();
        cmd.args(["plugin", "manifest"])
            .arg(&wasm)
            .args(["--name", "platform/k8s-extra", "--version", "1.4.0"])
            .args([
                "--team",
                "platform",
                "--description",
                "Extra Kubernetes checks",
            ])
            .arg("-o")
            .arg(output);
        if let Some(name) = extra {
            cmd.args(["--data-dir", name]);
        }
        cmd.assert().success();
    }
    assert_eq!(std::fs::read_to_string(&again).expect("written"), text);
    let with_data =
        Manifest::parse(&std::fs::read_to_string(&with_data).expect("written")).expect("parses");
    assert_eq!(
        with_data.capabilities.data_dir.as_deref(),
        Some("allow-lists")
    );
}

#[test]
fn manifest_refuses_a_bad_name_version_or_component() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wasm, _) = artifact(dir.path());
    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, b"not a component").expect("write");
    let cases: [(&Path, &str, &str, &str); 4] = [
        (&wasm, "Platform/Extra", "1.0.0", "`name`"),
        (&wasm, "platform/a/b", "1.0.0", "exactly one `/`"),
        (&wasm, "platform/extra", "1.x", "`version`"),
        (&garbage, "platform/extra", "1.0.0", "not a palisade plugin"),
    ];
    for (component, name, version, reason) in cases {
        let output = palisade()
            .args(["plugin", "manifest"])
            .arg(component)
            .args(["--name", name, "--version", version, "--team", "platform"])
            .arg("-o")
            .arg(dir.path().join("out.toml"))
            .output()
            .expect("palisade runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name} {version}: {stderr}");
        assert!(stderr.contains(reason), "{name} {version}: {stderr}");
    }
    assert!(!dir.path().join("out.toml").exists());
}

/// palisade signs with a key `ssh-keygen` made; `ssh-keygen -Y verify` and palisade accept.
fn palisade_signs_ssh_keygen_verifies(key: KeyType) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, manifest) = artifact(dir.path());
    let (private, public) = keygen(dir.path(), "team", key, "");
    let output = palisade_sign(&manifest, &private);
    assert!(output.status.success(), "{key:?}: {output:?}");
    let verified = keygen_verify(&manifest, &public);
    assert!(
        verified.status.success(),
        "{key:?}: ssh-keygen -Y verify refused palisade's signature: {verified:?}"
    );
    let (code, stdout, stderr) = palisade_verify(&manifest, &public, None);
    assert_eq!(code, 0, "{key:?}: {stderr}");
    assert!(
        stdout.contains("verified platform/k8s-extra@1.4.0"),
        "{stdout}"
    );
}

/// `ssh-keygen -Y sign` signs; palisade verifies.
fn ssh_keygen_signs_palisade_verifies(key: KeyType) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, manifest) = artifact(dir.path());
    let (private, public) = keygen(dir.path(), "team", key, "");
    keygen_sign(&manifest, &private, "palisade-plugin");
    let (code, _, stderr) = palisade_verify(&manifest, &public, None);
    assert_eq!(
        code, 0,
        "{key:?}: palisade refused ssh-keygen's signature: {stderr}"
    );
}

#[test]
fn palisade_ed25519_signatures_verify_in_ssh_keygen() {
    palisade_signs_ssh_keygen_verifies(KeyType::Ed25519);
}

#[test]
fn palisade_ecdsa_p256_signatures_verify_in_ssh_keygen() {
    palisade_signs_ssh_keygen_verifies(KeyType::Ecdsa);
}

#[test]
fn palisade_rsa_signatures_verify_in_ssh_keygen() {
    palisade_signs_ssh_keygen_verifies(KeyType::Rsa);
}

#[test]
fn ssh_keygen_ed25519_signatures_verify_in_palisade() {
    ssh_keygen_signs_palisade_verifies(KeyType::Ed25519);
}

#[test]
fn ssh_keygen_ecdsa_p256_signatures_verify_in_palisade() {
    ssh_keygen_signs_palisade_verifies(KeyType::Ecdsa);
}

#[test]
fn ssh_keygen_rsa_signatures_verify_in_palisade() {
    ssh_keygen_signs_palisade_verifies(KeyType::Rsa);
}

#[test]
fn ssh_keygen_signatures_with_a_sha256_message_hash_verify_in_palisade() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, manifest) = artifact(dir.path());
    let (private, public) = keygen(dir.path(), "team", KeyType::Ed25519, "");
    let output = ssh_keygen(
        &[
            "-Y",
            "sign",
            "-O",
            "hashalg=sha256",
            "-n",
            "palisade-plugin",
            "-f",
            private.to_str().expect("UTF-8"),
            manifest.to_str().expect("UTF-8"),
        ],
        dir.path(),
    );
    assert!(output.status.success(), "{output:?}");
    let (code, _, stderr) = palisade_verify(&manifest, &public, None);
    assert_eq!(code, 0, "{stderr}");
}

/// For deterministic signature schemes, palisade writes exactly what `ssh-keygen` writes.
fn signatures_are_byte_identical(key: KeyType) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, manifest) = artifact(dir.path());
    let (private, _) = keygen(dir.path(), "team", key, "");
    let by_keygen = dir.path().join("by-keygen.toml");
    std::fs::copy(&manifest, &by_keygen).expect("copy manifest");
    keygen_sign(&by_keygen, &private, "palisade-plugin");
    let output = palisade_sign(&manifest, &private);
    assert!(output.status.success(), "{output:?}");
    let ours = std::fs::read(sig_of(&manifest)).expect("palisade wrote the signature");
    let theirs = std::fs::read(sig_of(&by_keygen)).expect("ssh-keygen wrote the signature");
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs),
        "{key:?}"
    );
}

#[test]
fn ed25519_signatures_are_byte_identical_to_ssh_keygens() {
    signatures_are_byte_identical(KeyType::Ed25519);
}

#[test]
fn rsa_signatures_are_byte_identical_to_ssh_keygens() {
    signatures_are_byte_identical(KeyType::Rsa);
}

/// A signed ed25519 artifact in a temp dir: (dir, wasm, manifest, public key).
fn signed_artifact() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wasm, manifest) = artifact(dir.path());
    let (private, public) = keygen(dir.path(), "team", KeyType::Ed25519, "");
    let output = palisade_sign(&manifest, &private);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(palisade_verify(&manifest, &public, None).0, 0);
    (dir, wasm, manifest, public)
}

#[test]
fn a_manifest_changed_after_signing_is_refused() {
    let (_dir, _, manifest, public) = signed_artifact();
    let text = std::fs::read_to_string(&manifest).expect("read");
    let tampered = text.replace(
        "Extra Kubernetes checks",
        "Extra Kubernetes checks, trust me",
    );
    assert_ne!(text, tampered);
    std::fs::write(&manifest, tampered).expect("write");
    assert_refused(&manifest, &public, None, &manifest, "changed after signing");
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let (dir, _, manifest, _) = signed_artifact();
    let (_, stranger) = keygen(dir.path(), "stranger", KeyType::Ed25519, "");
    assert_refused(
        &manifest,
        &stranger,
        None,
        &manifest,
        "signed by another key",
    );
}

#[test]
fn a_signature_in_another_namespace_is_refused() {
    let (dir, _, manifest, public) = signed_artifact();
    let private = dir.path().join("team");
    std::fs::remove_file(sig_of(&manifest)).expect("remove the good signature");
    keygen_sign(&manifest, &private, "palisade-registry");
    assert_refused(
        &manifest,
        &public,
        None,
        &manifest,
        "namespace is `palisade-registry`, expected `palisade-plugin`",
    );
}

#[test]
fn a_tampered_component_is_refused() {
    let (_dir, wasm, manifest, public) = signed_artifact();
    let mut bytes = std::fs::read(&wasm).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&wasm, bytes).expect("write");
    assert_refused(&manifest, &public, None, &wasm, "tampered: sha256");
}

#[test]
fn a_component_of_another_size_is_refused() {
    let (_dir, wasm, manifest, public) = signed_artifact();
    let mut bytes = std::fs::read(&wasm).expect("read");
    bytes.extend_from_slice(b"\0\0\0\0");
    std::fs::write(&wasm, bytes).expect("write");
    assert_refused(&manifest, &public, None, &wasm, "size mismatch");
}

#[test]
fn another_component_given_with_wasm_is_checked_against_the_manifest() {
    let (dir, _, manifest, public) = signed_artifact();
    let other = dir.path().join("other.wasm");
    let component =
        palisade::packs::builtin("dockerfile").expect("the dockerfile pack is built in");
    std::fs::write(&other, component).expect("write");
    let (code, _, stderr) = palisade_verify(&manifest, &public, Some(&other));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&other.display().to_string()), "{stderr}");
}

#[test]
fn a_malformed_signature_is_refused() {
    let (_dir, _, manifest, public) = signed_artifact();
    let sig = sig_of(&manifest);
    let text = std::fs::read_to_string(&sig).expect("read");
    // Valid armor around truncated content.
    let lines: Vec<&str> = text.lines().collect();
    let broken = format!("{}\n{}\n{}\n", lines[0], lines[1], lines[lines.len() - 1]);
    std::fs::write(&sig, broken).expect("write");
    assert_refused(&manifest, &public, None, &manifest, "malformed signature");
    std::fs::write(&sig, "hello\n").expect("write");
    assert_refused(&manifest, &public, None, &sig, "malformed signature");
}

#[test]
fn a_missing_signature_is_refused() {
    let (_dir, _, manifest, public) = signed_artifact();
    std::fs::remove_file(sig_of(&manifest)).expect("remove");
    assert_refused(&manifest, &public, None, &sig_of(&manifest), "no signature");
}

#[test]
fn a_signed_manifest_with_unknown_fields_is_refused() {
    let (dir, _, manifest, public) = signed_artifact();
    let text = std::fs::read_to_string(&manifest).expect("read");
    std::fs::write(&manifest, format!("homepage = \"https://x\"\n{text}")).expect("write");
    // palisade will not sign it ...
    let private = dir.path().join("team");
    let output = palisade_sign(&manifest, &private);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown field `homepage`"), "{stderr}");
    // ... and when ssh-keygen does, palisade still refuses it.
    std::fs::remove_file(sig_of(&manifest)).expect("remove");
    keygen_sign(&manifest, &private, "palisade-plugin");
    assert_refused(
        &manifest,
        &public,
        None,
        &manifest,
        "unknown field `homepage`",
    );
}

#[test]
fn a_plugin_for_a_newer_palisade_or_another_interface_is_refused() {
    for (field, value, reason) in [
        (
            "min-palisade",
            "99.0.0",
            "the plugin needs palisade 99.0.0 or newer",
        ),
        (
            "wit",
            "0.2.0",
            "the plugin implements palisade:policy@0.2.0, but this palisade supports",
        ),
    ] {
        let (dir, _, manifest, public) = signed_artifact();
        let text = std::fs::read_to_string(&manifest).expect("read");
        let changed: String = text
            .lines()
            .map(|line| {
                if line.starts_with(&format!("{field} = ")) {
                    format!("{field} = \"{value}\"\n")
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        assert_ne!(changed, text, "the manifest has a `{field}` line");
        std::fs::write(&manifest, changed).expect("write");
        // Signed by its team, so only the compatibility check can refuse it.
        std::fs::remove_file(sig_of(&manifest)).expect("remove");
        keygen_sign(&manifest, &dir.path().join("team"), "palisade-plugin");
        assert_refused(&manifest, &public, None, &manifest, reason);
    }
}

#[test]
fn a_passphrase_protected_key_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, manifest) = artifact(dir.path());
    let (private, _) = keygen(dir.path(), "locked", KeyType::Ed25519, "correct horse");
    let output = palisade_sign(&manifest, &private);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&private.display().to_string()), "{stderr}");
    assert!(stderr.contains("protected by a passphrase"), "{stderr}");
    assert!(!sig_of(&manifest).exists());
}

#[test]
fn a_public_key_given_as_private_key_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, manifest) = artifact(dir.path());
    let (_, public) = keygen(dir.path(), "team", KeyType::Ed25519, "");
    let output = palisade_sign(&manifest, &public);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is not an OpenSSH private key"), "{stderr}");
}
