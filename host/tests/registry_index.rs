//! The signed registry index through the real binary: `palisade registry init / add-team /
//! publish / revoke / rotate-root / sign / verify` on real directories, with keys made by the
//! real `ssh-keygen`, signatures appended by `ssh-keygen -Y sign`, and real plugin components
//! (the built-in packs, built from source by the host's build script).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use palisade::registry::{Index, PluginRefusal, verify_plugin};
use support::palisade;

/// Runs `ssh-keygen`, failing loudly when it is missing.
fn ssh_keygen(args: &[&str], stdin: Stdio) -> std::process::Output {
    Command::new("ssh-keygen")
        .args(args)
        .stdin(stdin)
        .output()
        .expect("ssh-keygen (openssh-client) is installed")
}

fn utf8(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// A temporary directory with ed25519 keys made by `ssh-keygen` and a registry path.
struct Fixture {
    dir: tempfile::TempDir,
}

const KEYS: [&str; 8] = [
    "root1", "root2", "root3", "new1", "new2", "platform", "appsec", "stranger",
];

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("keys")).expect("mkdir keys");
        let fixture = Fixture { dir };
        for name in KEYS {
            let private = fixture.private(name);
            let output = ssh_keygen(
                &[
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    name,
                    "-f",
                    utf8(&private),
                ],
                Stdio::null(),
            );
            assert!(output.status.success(), "ssh-keygen failed: {output:?}");
        }
        fixture
    }

    fn private(&self, name: &str) -> PathBuf {
        self.dir.path().join("keys").join(name)
    }

    fn public(&self, name: &str) -> PathBuf {
        self.dir.path().join("keys").join(format!("{name}.pub"))
    }

    fn fingerprint(&self, name: &str) -> String {
        palisade::registry::TrustedKey::read(&self.public(name))
            .expect("a public key")
            .fingerprint()
    }

    fn registry(&self) -> PathBuf {
        self.dir.path().join("registry")
    }

    fn reg(&self) -> String {
        utf8(&self.registry()).to_string()
    }

    fn index_text(&self) -> String {
        std::fs::read_to_string(self.registry().join("index.toml")).expect("index.toml")
    }

    fn index(&self) -> Index {
        Index::parse(&self.index_text()).expect("a valid index")
    }

    fn signatures(&self) -> PathBuf {
        self.registry().join("index.toml.sig")
    }

    /// A signed artifact of a built-in pack in its own directory: the component, its manifest
    /// by `palisade plugin manifest`, signed by `palisade plugin sign --key KEY`.
    fn artifact(&self, pack: &str, name: &str, version: &str, team: &str, key: &str) -> PathBuf {
        let dir = self
            .dir
            .path()
            .join("artifacts")
            .join(format!("{}-{version}", name.replace('/', "-")));
        std::fs::create_dir_all(&dir).expect("mkdir artifact");
        let wasm = dir.join(format!("{pack}.wasm"));
        let component = palisade::packs::builtin(pack).expect("a built-in pack");
        std::fs::write(&wasm, component).expect("write the component");
        ok(&[
            "plugin",
            "manifest",
            utf8(&wasm),
            "--name",
            name,
            "--version",
            version,
            "--team",
            team,
        ]);
        let manifest = dir.join("palisade-plugin.toml");
        ok(&[
            "plugin",
            "sign",
            utf8(&manifest),
            "--key",
            utf8(&self.private(key)),
        ]);
        dir
    }

    /// `registry sign` with a root key.
    fn sign(&self, key: &str) -> String {
        ok(&[
            "registry",
            "sign",
            &self.reg(),
            "--key",
            utf8(&self.private(key)),
        ])
    }

    /// Appends a signature made by `ssh-keygen -Y sign -n palisade-registry -f KEY`, reading
    /// the index on stdin and writing the signature to stdout, as the docs tell root holders.
    fn keygen_sign(&self, key: &str) {
        let index = std::fs::File::open(self.registry().join("index.toml")).expect("index");
        let output = ssh_keygen(
            &[
                "-Y",
                "sign",
                "-n",
                "palisade-registry",
                "-f",
                utf8(&self.private(key)),
            ],
            Stdio::from(index),
        );
        assert!(output.status.success(), "ssh-keygen -Y sign: {output:?}");
        let mut text = std::fs::read_to_string(self.signatures()).unwrap_or_default();
        text.push_str(&String::from_utf8(output.stdout).expect("armored text"));
        std::fs::write(self.signatures(), text).expect("append the signature");
    }

    /// `registry verify` trusting `keys` with `threshold` (the index's own root when empty).
    fn verify(&self, keys: &[&str], threshold: usize) -> (i32, String, String) {
        let mut args = vec!["registry".to_string(), "verify".to_string(), self.reg()];
        for key in keys {
            args.push("--root-key".to_string());
            args.push(utf8(&self.public(key)).to_string());
        }
        if !keys.is_empty() {
            args.push("--threshold".to_string());
            args.push(threshold.to_string());
        }
        run(&args)
    }

    /// A registry with root keys root1..3 (2 of 3), teams platform and appsec, and the
    /// Kubernetes pack published as platform/k8s@1.0.0 and the Dockerfile pack as
    /// appsec/docker@1.0.0; not signed yet.
    fn with_registry() -> Fixture {
        let fx = Fixture::new();
        let reg = fx.reg();
        ok(&[
            "registry",
            "init",
            &reg,
            "--root-key",
            utf8(&fx.public("root1")),
            "--root-key",
            utf8(&fx.public("root2")),
            "--root-key",
            utf8(&fx.public("root3")),
            "--threshold",
            "2",
        ]);
        fx.add_team("platform", "platform", "platform/");
        fx.add_team("appsec", "appsec", "appsec/");
        let k8s = fx.artifact(
            "kubernetes",
            "platform/k8s",
            "1.0.0",
            "platform",
            "platform",
        );
        let docker = fx.artifact("dockerfile", "appsec/docker", "1.0.0", "appsec", "appsec");
        ok(&[
            "registry",
            "publish",
            &reg,
            utf8(&k8s),
            utf8(&docker.join("palisade-plugin.toml")),
        ]);
        fx
    }

    fn add_team(&self, team: &str, key: &str, prefix: &str) -> String {
        ok(&[
            "registry",
            "add-team",
            &self.reg(),
            "--team",
            team,
            "--key",
            utf8(&self.public(key)),
            "--prefix",
            prefix,
        ])
    }

    /// Publishes platform/k8s at `version` (the Kubernetes pack, signed by the platform key).
    fn publish_k8s(&self, version: &str) -> String {
        let artifact = self.artifact(
            "kubernetes",
            "platform/k8s",
            version,
            "platform",
            "platform",
        );
        ok(&["registry", "publish", &self.reg(), utf8(&artifact)])
    }
}

/// Runs palisade: (exit code, stdout, stderr).
fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (i32, String, String) {
    let output = palisade().args(args).output().expect("palisade runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs palisade, asserting success; returns stdout.
fn ok<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) -> String {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, 0, "{args:?} failed: {stderr}");
    stdout
}

/// Runs palisade, asserting exit 2 with every one of `reasons` on stderr; returns stderr.
fn refused<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S], reasons: &[&str]) -> String {
    let (code, stdout, stderr) = run(args);
    assert_eq!(
        code, 2,
        "{args:?} should be refused; stdout: {stdout}; stderr: {stderr}"
    );
    for reason in reasons {
        assert!(
            stderr.contains(reason),
            "{args:?}: expected `{reason}` in: {stderr}"
        );
    }
    stderr
}

/// Asserts `registry verify` refuses with every one of `reasons` on stderr.
fn verify_refused(fx: &Fixture, keys: &[&str], threshold: usize, reasons: &[&str]) -> String {
    let (code, stdout, stderr) = fx.verify(keys, threshold);
    assert_eq!(
        code, 2,
        "verify should refuse; stdout: {stdout}; stderr: {stderr}"
    );
    for reason in reasons {
        assert!(stderr.contains(reason), "expected `{reason}` in: {stderr}");
    }
    stderr
}

const ROOTS: [&str; 3] = ["root1", "root2", "root3"];

#[test]
fn a_registry_is_created_published_signed_2_of_3_and_verified() {
    let fx = Fixture::with_registry();
    for file in [
        "plugins/platform/k8s/1.0.0/palisade-plugin.toml",
        "plugins/platform/k8s/1.0.0/palisade-plugin.toml.sig",
        "plugins/platform/k8s/1.0.0/kubernetes.wasm",
        "plugins/appsec/docker/1.0.0/dockerfile.wasm",
    ] {
        assert!(fx.registry().join(file).is_file(), "{file} was not copied");
    }
    let index = fx.index();
    assert_eq!((index.version, index.expires.as_str()), (1, ""));
    assert_eq!(index.root.threshold, 2);
    assert_eq!(index.teams["platform"].prefixes, ["platform/"]);
    assert!(
        index.teams["platform"].keys[0].ends_with(" platform"),
        "the key's comment is kept: {:?}",
        index.teams["platform"].keys
    );
    let ids: Vec<String> = index.plugins.iter().map(|e| e.id()).collect();
    assert_eq!(ids, ["appsec/docker@1.0.0", "platform/k8s@1.0.0"]);
    let component = palisade::packs::builtin("kubernetes").expect("built in");
    assert_eq!(index.plugins[1].wasm_size, component.len() as u64);
    assert_eq!(
        index.plugins[1].wasm_sha256,
        palisade::engine::sha256_hex(component)
    );
    // Unsigned, it does not verify.
    verify_refused(&fx, &[], 0, &["index.toml", "not signed"]);

    let first = fx.sign("root1");
    assert!(first.contains("signed index version 1"), "{first}");
    assert!(first.contains("1 of 2 required root keys"), "{first}");
    let expires = fx.index().expires;
    assert!(expires.ends_with('Z') && expires.len() == 20, "{expires}");
    let second = fx.sign("root3");
    assert!(second.contains("2 of 2 required root keys"), "{second}");
    assert_eq!(
        fx.index().expires,
        expires,
        "a later signature keeps the expiry"
    );

    let (code, stdout, stderr) = fx.verify(&[], 0);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("trusting the index's own root keys"),
        "{stdout}"
    );
    assert!(stdout.contains("pass --root-key to pin them"), "{stdout}");
    assert!(
        stdout.contains(&format!("index version 1, expires {expires}")),
        "{stdout}"
    );
    assert!(stdout.contains(&fx.fingerprint("root1")), "{stdout}");
    assert!(stdout.contains(&fx.fingerprint("root3")), "{stdout}");
    assert!(
        stdout.contains("verified 2 of 2 plugins (0 revoked)"),
        "{stdout}"
    );

    let (code, stdout, stderr) = fx.verify(&ROOTS, 2);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("trusting the given root keys (2 of "),
        "{stdout}"
    );
    // Pinning the right keys with another threshold is pinning another root.
    verify_refused(&fx, &ROOTS, 1, &["are not the trusted root keys"]);
}

#[test]
fn a_signature_appended_by_ssh_keygen_counts() {
    let fx = Fixture::with_registry();
    fx.sign("root1");
    fx.keygen_sign("root2");
    let (code, stdout, stderr) = fx.verify(&ROOTS, 2);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&fx.fingerprint("root2")), "{stdout}");
    // palisade reads the blocks ssh-keygen wrote, and will not add a second one by the same key.
    refused(
        &[
            "registry",
            "sign",
            &fx.reg(),
            "--key",
            utf8(&fx.private("root2")),
        ],
        &["has already signed this version", &fx.fingerprint("root2")],
    );
}

#[test]
fn publish_refuses_bad_artifacts() {
    let fx = Fixture::with_registry();
    let reg = fx.reg();
    let publish = |artifact: &Path, reasons: &[&str]| {
        refused(&["registry", "publish", &reg, utf8(artifact)], reasons);
    };

    // A manifest changed after its team signed it.
    let changed = fx.artifact(
        "kubernetes",
        "platform/k8s",
        "2.0.0",
        "platform",
        "platform",
    );
    let manifest = changed.join("palisade-plugin.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(
        &manifest,
        text.replace("description = \"\"", "description = \"x\""),
    )
    .expect("write");
    publish(&changed, &[utf8(&manifest), "changed after signing"]);

    // Signed by a key of another team.
    let foreign = fx.artifact("kubernetes", "platform/k8s", "2.0.1", "platform", "appsec");
    publish(
        &foreign,
        &[
            "platform/k8s@2.0.1",
            &format!(
                "signed by {}, which is not a key of team `platform`",
                fx.fingerprint("appsec")
            ),
        ],
    );

    // Signed by the team's key, but outside the team's names.
    let outside = fx.artifact("kubernetes", "appsec/k8s", "1.0.0", "platform", "platform");
    publish(
        &outside,
        &[
            "appsec/k8s@1.0.0",
            "outside the names team `platform` may publish (platform/)",
        ],
    );

    // A team the registry does not know.
    let unknown = fx.artifact("kubernetes", "ops/k8s", "1.0.0", "ops", "platform");
    publish(&unknown, &["team `ops` is not in the index"]);

    // A component changed after its manifest was made.
    let tampered = fx.artifact(
        "kubernetes",
        "platform/k8s",
        "2.0.2",
        "platform",
        "platform",
    );
    let wasm = tampered.join("kubernetes.wasm");
    let mut bytes = std::fs::read(&wasm).expect("wasm");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&wasm, bytes).expect("write");
    publish(&tampered, &[utf8(&wasm), "tampered"]);

    // No signature.
    let unsigned = fx.artifact(
        "kubernetes",
        "platform/k8s",
        "2.0.3",
        "platform",
        "platform",
    );
    std::fs::remove_file(unsigned.join("palisade-plugin.toml.sig")).expect("remove");
    publish(&unsigned, &["no signature"]);

    // The same version again with other bytes (another description), and with the same bytes.
    let again = fx.dir.path().join("again");
    std::fs::create_dir(&again).expect("mkdir");
    let wasm = again.join("kubernetes.wasm");
    std::fs::write(
        &wasm,
        palisade::packs::builtin("kubernetes").expect("built in"),
    )
    .expect("write");
    ok(&[
        "plugin",
        "manifest",
        utf8(&wasm),
        "--name",
        "platform/k8s",
        "--version",
        "1.0.0",
        "--team",
        "platform",
        "--description",
        "other bytes",
    ]);
    ok(&[
        "plugin",
        "sign",
        utf8(&again.join("palisade-plugin.toml")),
        "--key",
        utf8(&fx.private("platform")),
    ]);
    publish(
        &again,
        &["platform/k8s@1.0.0 is already published with other bytes"],
    );
    let published = fx.dir.path().join("artifacts/platform-k8s-1.0.0");
    let stdout = ok(&["registry", "publish", &reg, utf8(&published)]);
    assert!(
        stdout.contains("already published with the same bytes"),
        "{stdout}"
    );

    // Nothing refused reached the registry.
    let ids: Vec<String> = fx.index().plugins.iter().map(|e| e.id()).collect();
    assert_eq!(ids, ["appsec/docker@1.0.0", "platform/k8s@1.0.0"]);
    assert!(!fx.registry().join("plugins/platform/k8s/2.0.0").exists());
    assert!(!fx.registry().join("plugins/appsec/k8s").exists());

    // A revoked version cannot come back.
    ok(&[
        "registry",
        "revoke",
        &reg,
        "platform/k8s@1.0.0",
        "--reason",
        "misfires",
    ]);
    publish(&published, &["platform/k8s@1.0.0", "revoked: misfires"]);
}

#[test]
fn verify_refuses_an_index_signed_by_a_key_that_is_not_a_root_key() {
    let fx = Fixture::with_registry();
    fx.sign("root1");
    fx.sign("root2");
    fx.keygen_sign("stranger");
    verify_refused(
        &fx,
        &[],
        0,
        &[
            "index.toml",
            &format!(
                "signed by {}, which is not one of its root keys",
                fx.fingerprint("stranger")
            ),
        ],
    );
    // palisade itself will not sign with it.
    std::fs::remove_file(fx.signatures()).expect("remove");
    refused(
        &[
            "registry",
            "sign",
            &fx.reg(),
            "--key",
            utf8(&fx.private("stranger")),
        ],
        &[
            "is not a root (or previous-root) key",
            utf8(&fx.private("stranger")),
        ],
    );
}

#[test]
fn verify_refuses_an_index_below_its_threshold() {
    let fx = Fixture::with_registry();
    fx.sign("root2");
    verify_refused(&fx, &ROOTS, 2, &["signed by 1 of 2 required root keys"]);
    verify_refused(&fx, &[], 0, &["signed by 1 of 2 required root keys"]);
}

#[test]
fn verify_refuses_an_index_changed_after_signing() {
    let fx = Fixture::with_registry();
    fx.sign("root1");
    fx.sign("root2");
    let text = fx.index_text();
    let changed = text.replacen("version = \"1.0.0\"", "version = \"1.0.1\"", 1);
    assert_ne!(changed, text);
    std::fs::write(fx.registry().join("index.toml"), changed).expect("write");
    verify_refused(
        &fx,
        &ROOTS,
        2,
        &["index signature 1", "changed after signing"],
    );
    // Adding a signature to it is refused too.
    refused(
        &[
            "registry",
            "sign",
            &fx.reg(),
            "--key",
            utf8(&fx.private("root3")),
        ],
        &["the index changed after it was signed"],
    );
}

#[test]
fn verify_refuses_a_validly_signed_but_expired_index() {
    let fx = Fixture::with_registry();
    fx.sign("root1");
    let text = fx.index_text();
    let expires = fx.index().expires;
    let stale = text.replace(&expires, "2020-01-01T00:00:00Z");
    std::fs::write(fx.registry().join("index.toml"), stale).expect("write");
    std::fs::remove_file(fx.signatures()).expect("remove");
    fx.keygen_sign("root1");
    fx.keygen_sign("root2");
    verify_refused(
        &fx,
        &ROOTS,
        2,
        &[
            "expired at 2020-01-01T00:00:00Z, ",
            " days ago: a stale index (freeze attack?)",
        ],
    );
    // palisade will not add a signature to it either.
    refused(
        &[
            "registry",
            "sign",
            &fx.reg(),
            "--key",
            utf8(&fx.private("root3")),
        ],
        &["expired at 2020-01-01T00:00:00Z"],
    );
}

#[test]
fn verify_reports_revoked_versions_and_the_library_refuses_them() {
    let fx = Fixture::with_registry();
    fx.publish_k8s("1.1.0");
    let stdout = ok(&[
        "registry",
        "revoke",
        &fx.reg(),
        "platform/k8s@1.0.0",
        "--reason",
        "false positives on StatefulSets",
    ]);
    assert!(stdout.contains("revoked platform/k8s@1.0.0"), "{stdout}");
    refused(
        &[
            "registry",
            "revoke",
            &fx.reg(),
            "platform/k8s@1.1.0",
            "--reason",
            " ",
        ],
        &["the reason is empty"],
    );
    refused(
        &[
            "registry",
            "revoke",
            &fx.reg(),
            "platform/k8s@1.0.0",
            "--reason",
            "again",
        ],
        &["already revoked: false positives on StatefulSets"],
    );
    refused(
        &[
            "registry",
            "revoke",
            &fx.reg(),
            "platform/k8s@9.0.0",
            "--reason",
            "x",
        ],
        &["platform/k8s@9.0.0 is not published"],
    );
    fx.sign("root1");
    fx.sign("root2");
    let (code, stdout, stderr) = fx.verify(&ROOTS, 2);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("revoked platform/k8s@1.0.0: false positives on StatefulSets"),
        "{stdout}"
    );
    assert!(
        stdout.contains("verified 2 of 2 plugins (1 revoked)"),
        "{stdout}"
    );

    // Whoever fetches the revoked version gets the reason.
    let index = fx.index();
    let entry = index
        .entry("platform/k8s", &semver::Version::new(1, 0, 0))
        .expect("still listed");
    let dir = fx.registry().join(entry.dir());
    let read = |name: &str| std::fs::read(dir.join(name)).expect("a published file");
    let signature = String::from_utf8(read("palisade-plugin.toml.sig")).expect("text");
    assert_eq!(
        verify_plugin(
            &index,
            entry,
            &read("palisade-plugin.toml"),
            &signature,
            &read("kubernetes.wasm")
        ),
        Err(PluginRefusal::Revoked {
            reason: "false positives on StatefulSets".to_string()
        })
    );
}

#[test]
fn verify_refuses_a_manifest_of_another_version_mix_and_match() {
    let fx = Fixture::with_registry();
    fx.publish_k8s("1.1.0");
    fx.sign("root1");
    fx.sign("root2");
    assert_eq!(fx.verify(&ROOTS, 2).0, 0);
    let old = fx.registry().join("plugins/platform/k8s/1.0.0");
    let new = fx.registry().join("plugins/platform/k8s/1.1.0");
    for file in ["palisade-plugin.toml", "palisade-plugin.toml.sig"] {
        std::fs::copy(old.join(file), new.join(file)).expect("copy");
    }
    verify_refused(
        &fx,
        &ROOTS,
        2,
        &[
            "plugin platform/k8s@1.1.0 (plugins/platform/k8s/1.1.0): refused: mix-and-match: the \
             manifest is the one of platform/k8s@1.0.0",
        ],
    );
}

#[test]
fn verify_refuses_a_tampered_published_component() {
    let fx = Fixture::with_registry();
    fx.sign("root1");
    fx.sign("root2");
    let wasm = fx
        .registry()
        .join("plugins/platform/k8s/1.0.0/kubernetes.wasm");
    let mut bytes = std::fs::read(&wasm).expect("wasm");
    bytes[100] ^= 1;
    std::fs::write(&wasm, bytes).expect("write");
    let (code, stdout, stderr) = fx.verify(&ROOTS, 2);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stderr.contains(
            "plugin platform/k8s@1.0.0 (plugins/platform/k8s/1.0.0): refused: component tampered"
        ),
        "{stderr}"
    );
    assert!(stdout.contains("verified 1 of 2 plugins"), "{stdout}");
    assert!(!stderr.contains("appsec/docker"), "{stderr}");
}

#[test]
fn the_version_rises_once_per_change_after_a_signature() {
    let fx = Fixture::with_registry();
    assert_eq!(
        fx.index().version,
        1,
        "changes before the first signature stay version 1"
    );
    fx.sign("root1");
    fx.sign("root2");
    let out = fx.publish_k8s("1.1.0");
    assert!(out.contains("(index version 2)"), "{out}");
    let index = fx.index();
    assert_eq!((index.version, index.expires.as_str()), (2, ""));
    assert!(!fx.signatures().exists(), "the old signatures are deleted");
    ok(&[
        "registry",
        "revoke",
        &fx.reg(),
        "platform/k8s@1.0.0",
        "--reason",
        "misfires",
    ]);
    fx.add_team("platform", "platform", "platform/");
    assert_eq!(
        fx.index().version,
        2,
        "one new version for all changes until signed"
    );
    fx.sign("root3");
    fx.sign("root1");
    assert_eq!(fx.verify(&ROOTS, 2).0, 0);
    fx.add_team("security", "stranger", "security/");
    assert_eq!(fx.index().version, 3);
    // A change that changes nothing does not start a version.
    fx.sign("root1");
    fx.add_team("security", "stranger", "security/");
    assert_eq!(fx.index().version, 3);
    assert!(fx.signatures().exists());
}

#[test]
fn sign_sets_the_expiry_once() {
    let fx = Fixture::with_registry();
    let sign = |key: &str, expires: &str| {
        run(&[
            "registry",
            "sign",
            &fx.reg(),
            "--key",
            utf8(&fx.private(key)),
            "--expires",
            expires,
        ])
    };
    let (code, _, stderr) = sign("root1", "2001-01-01T00:00:00Z");
    assert_eq!(code, 2);
    assert!(
        stderr.contains("the expiry 2001-01-01T00:00:00Z is not in the future"),
        "{stderr}"
    );
    assert!(!fx.signatures().exists());
    let (code, _, stderr) = sign("root1", "soon");
    assert_eq!(code, 2);
    assert!(stderr.contains("is not an expiry"), "{stderr}");

    assert_eq!(sign("root1", "2099-01-01T00:00:00Z").0, 0);
    assert_eq!(fx.index().expires, "2099-01-01T00:00:00Z");
    let (code, _, stderr) = sign("root2", "12h");
    assert_eq!(code, 2);
    assert!(
        stderr.contains("`expires` is already 2099-01-01T00:00:00Z, set by the first signature"),
        "{stderr}"
    );
    assert_eq!(
        sign("root2", "2099-01-01T00:00:00Z").0,
        0,
        "the same expiry is fine"
    );
    assert_eq!(fx.verify(&ROOTS, 2).0, 0);
}

#[test]
fn a_root_rotation_is_accepted_only_when_both_roots_sign_it() {
    let fx = Fixture::with_registry();
    fx.sign("root1");
    fx.sign("root2");
    let out = ok(&[
        "registry",
        "rotate-root",
        &fx.reg(),
        "--root-key",
        utf8(&fx.public("new1")),
        "--root-key",
        utf8(&fx.public("new2")),
        "--threshold",
        "2",
    ]);
    assert!(out.contains("(index version 2)"), "{out}");
    let index = fx.index();
    assert_eq!(index.previous_root.as_ref().map(|p| p.threshold), Some(2));
    assert_eq!(index.root.keys.len(), 2);

    // Signed by the new keys only: refused by anyone trusting the old ones.
    fx.sign("new1");
    fx.sign("new2");
    verify_refused(
        &fx,
        &ROOTS,
        2,
        &["replaces the root keys, but only 0 of the 2 required trusted (previous-root) keys"],
    );
    // One old key is not enough either.
    let out = fx.sign("root3");
    assert!(out.contains("1 of 2 required previous root keys"), "{out}");
    verify_refused(&fx, &ROOTS, 2, &["only 1 of the 2 required trusted"]);
    // Both thresholds: accepted by the old root and by the new.
    fx.keygen_sign("root1");
    let (code, _, stderr) = fx.verify(&ROOTS, 2);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(fx.verify(&["new1", "new2"], 2).0, 0);

    // The next version drops `previous-root`; whoever still pins the old keys is refused, and
    // pinning the new keys is the fix.
    fx.publish_k8s("1.1.0");
    assert!(fx.index().previous_root.is_none());
    fx.sign("new1");
    fx.sign("new2");
    verify_refused(
        &fx,
        &ROOTS,
        2,
        &["are not the trusted root keys", "pin the new root keys"],
    );
    let (code, stdout, stderr) = fx.verify(&["new1", "new2"], 2);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("verified 3 of 3 plugins"), "{stdout}");
    // The old root keys cannot sign anymore.
    refused(
        &[
            "registry",
            "sign",
            &fx.reg(),
            "--key",
            utf8(&fx.private("root1")),
        ],
        &["is not a root (or previous-root) key"],
    );
}

#[test]
fn registry_commands_refuse_bad_requests() {
    let fx = Fixture::with_registry();
    let reg = fx.reg();
    refused(
        &[
            "registry",
            "init",
            &reg,
            "--root-key",
            utf8(&fx.public("root1")),
        ],
        &["already holds a registry index"],
    );
    let empty = fx.dir.path().join("empty");
    refused(
        &["registry", "verify", utf8(&empty)],
        &[utf8(&empty), "no registry index here"],
    );
    refused(
        &[
            "registry",
            "init",
            utf8(&empty),
            "--root-key",
            utf8(&fx.public("root1")),
            "--threshold",
            "2",
        ],
        &["`root.threshold` is 2, but must be 1 to the number of keys (1)"],
    );
    refused(
        &[
            "registry",
            "init",
            utf8(&empty),
            "--root-key",
            utf8(&fx.private("root1")),
        ],
        &["is not an OpenSSH public key"],
    );
    refused(
        &[
            "registry",
            "add-team",
            &reg,
            "--team",
            "Ops",
            "--key",
            utf8(&fx.public("appsec")),
            "--prefix",
            "ops/",
        ],
        &["team name `Ops` may only contain lowercase letters"],
    );
    refused(
        &[
            "registry",
            "add-team",
            &reg,
            "--team",
            "ops",
            "--key",
            utf8(&fx.public("appsec")),
            "--prefix",
            "platform/x",
        ],
        &["`teams.ops.prefixes`"],
    );
    // Narrowing a team's prefixes below what it published, or dropping the key that signed it.
    refused(
        &[
            "registry",
            "add-team",
            &reg,
            "--team",
            "platform",
            "--key",
            utf8(&fx.public("platform")),
            "--prefix",
            "plat-x/",
        ],
        &["plugin platform/k8s@1.0.0 is outside the names team `platform` may publish"],
    );
    refused(
        &[
            "registry",
            "add-team",
            &reg,
            "--team",
            "platform",
            "--key",
            utf8(&fx.public("new1")),
            "--prefix",
            "platform/",
        ],
        &[
            &format!(
                "cannot drop key {} from team `platform`",
                fx.fingerprint("platform")
            ),
            "platform/k8s@1.0.0",
        ],
    );
    refused(
        &["registry", "revoke", &reg, "platform/k8s", "--reason", "x"],
        &["is not NAME@VERSION"],
    );
    refused(
        &[
            "registry",
            "rotate-root",
            &reg,
            "--root-key",
            utf8(&fx.public("root1")),
            "--root-key",
            utf8(&fx.public("root2")),
            "--root-key",
            utf8(&fx.public("root3")),
            "--threshold",
            "2",
        ],
        &["nothing to rotate"],
    );
    verify_refused(
        &fx,
        &["root1", "root2"],
        3,
        &[
            "the given root keys cannot be trusted: `threshold` is 3, but must be 1 to the number of keys (2)",
        ],
    );
    verify_refused(
        &fx,
        &["root1", "root1"],
        1,
        &["the given root keys cannot be trusted: `keys[1]` repeats the key"],
    );
    assert_eq!(fx.index().version, 1, "nothing refused changed the index");
}
