//! Signed plugin registries built the way a security team and two plugin teams would: keys from
//! the real `ssh-keygen`, artifacts and the index made and signed through the real binary (one
//! team signs with `ssh-keygen -Y sign`), and a project that consumes them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::palisade;

/// An OpenSSH key pair made by `ssh-keygen`.
#[derive(Debug, Clone)]
pub struct KeyPair {
    /// The private key file.
    pub private: PathBuf,
    /// The `.pub` file.
    pub public: PathBuf,
}

impl KeyPair {
    /// A new ed25519 key `dir/name` without a passphrase.
    pub fn new(dir: &Path, name: &str) -> KeyPair {
        let private = dir.join(name);
        let output = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(&private)
            .output()
            .expect("ssh-keygen runs (openssh-client; .ci/run installs it)");
        assert!(output.status.success(), "ssh-keygen failed: {output:?}");
        KeyPair {
            public: dir.join(format!("{name}.pub")),
            private,
        }
    }

    /// The public key line.
    pub fn public_line(&self) -> String {
        std::fs::read_to_string(&self.public)
            .expect("read public key")
            .trim()
            .to_string()
    }
}

/// Signs `file` with `ssh-keygen -Y sign` in `namespace`, writing `file.sig`, and returns the
/// armored signature.
pub fn keygen_sign(file: &Path, key: &KeyPair, namespace: &str) -> String {
    let sig = PathBuf::from(format!("{}.sig", file.display()));
    let _ = std::fs::remove_file(&sig);
    let output = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", namespace, "-f"])
        .arg(&key.private)
        .arg(file)
        .output()
        .expect("ssh-keygen runs");
    assert!(
        output.status.success(),
        "ssh-keygen -Y sign failed: {output:?}"
    );
    std::fs::read_to_string(&sig).expect("read signature")
}

/// Runs palisade with `args` in `cwd` and the registry cache `cache`; returns the output.
pub fn run(args: &[&str], cwd: &Path, cache: &Path) -> Output {
    palisade()
        .current_dir(cwd)
        .env("PALISADE_CACHE_DIR", cache)
        .args(args)
        .output()
        .expect("palisade runs")
}

/// Like [`run`], but the command must succeed; returns stdout.
pub fn run_ok(args: &[&str], cwd: &Path, cache: &Path) -> String {
    let output = run(args, cwd, cache);
    assert!(
        output.status.success(),
        "palisade {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A registry directory with its keys: root keys `root-1` and `root-2` (threshold 2), team
/// `platform` (prefix `platform/`) and team `appsec` (prefix `appsec/`).
pub struct TestRegistry {
    /// Holds keys, work files and the registry.
    pub dir: tempfile::TempDir,
    /// The registry directory (what a web server serves).
    pub root: PathBuf,
    /// The security team's root keys.
    pub roots: [KeyPair; 2],
    /// The platform team's key.
    pub platform: KeyPair,
    /// The appsec team's key.
    pub appsec: KeyPair,
    /// A key nobody trusts.
    pub stranger: KeyPair,
    /// Where commands run with their cache.
    pub cache: PathBuf,
}

impl TestRegistry {
    /// An empty registry with both teams, not yet signed.
    pub fn new() -> TestRegistry {
        let dir = tempfile::tempdir().expect("temp dir");
        let keys = dir.path().join("keys");
        std::fs::create_dir_all(&keys).expect("mkdir keys");
        let registry = TestRegistry {
            root: dir.path().join("registry"),
            roots: [KeyPair::new(&keys, "root-1"), KeyPair::new(&keys, "root-2")],
            platform: KeyPair::new(&keys, "platform"),
            appsec: KeyPair::new(&keys, "appsec"),
            stranger: KeyPair::new(&keys, "stranger"),
            cache: dir.path().join("publisher-cache"),
            dir,
        };
        let root = registry.root_arg();
        registry.ok(&[
            "registry",
            "init",
            &root,
            "--root-key",
            &path(&registry.roots[0].public),
            "--root-key",
            &path(&registry.roots[1].public),
            "--threshold",
            "2",
        ]);
        for (team, key) in [
            ("platform", &registry.platform),
            ("appsec", &registry.appsec),
        ] {
            registry.ok(&[
                "registry",
                "add-team",
                &root,
                "--team",
                team,
                "--key",
                &path(&key.public),
                "--prefix",
                &format!("{team}/"),
            ]);
        }
        registry
    }

    /// The standard registry: `platform/k8s@1.0.0` (the Kubernetes pack, signed by palisade)
    /// and `appsec/docker@2.1.0` (the Dockerfile pack, signed by `ssh-keygen`), published and
    /// signed by both root keys.
    pub fn standard() -> TestRegistry {
        let registry = TestRegistry::new();
        let k8s = registry.artifact("kubernetes", "platform/k8s", "1.0.0", "platform", None);
        let docker = registry.artifact("dockerfile", "appsec/docker", "2.1.0", "appsec", None);
        registry.publish(&[&k8s, &docker]);
        registry.sign_all();
        registry
    }

    fn root_arg(&self) -> String {
        path(&self.root)
    }

    /// Runs a publisher command that must succeed.
    pub fn ok(&self, args: &[&str]) -> String {
        run_ok(args, self.dir.path(), &self.cache)
    }

    /// Makes a signed artifact of a built-in pack under `work/<name>/<version>/`: the team's
    /// key signs the manifest, with palisade for `platform` and with `ssh-keygen` for the
    /// others. Returns the manifest's path.
    pub fn artifact(
        &self,
        pack: &str,
        name: &str,
        version: &str,
        team: &str,
        data_dir: Option<&str>,
    ) -> PathBuf {
        let component = palisade::packs::builtin(pack).expect("a built-in pack");
        self.artifact_of(component, name, version, team, data_dir)
    }

    /// [`artifact`](Self::artifact) of any component.
    pub fn artifact_of(
        &self,
        component: &[u8],
        name: &str,
        version: &str,
        team: &str,
        data_dir: Option<&str>,
    ) -> PathBuf {
        let work = self.dir.path().join("work").join(name).join(version);
        std::fs::create_dir_all(&work).expect("mkdir work");
        let wasm = work.join(format!("{}.wasm", name.replace('/', "-")));
        std::fs::write(&wasm, component).expect("write component");
        let mut args = vec![
            "plugin".to_string(),
            "manifest".to_string(),
            path(&wasm),
            "--name".to_string(),
            name.to_string(),
            "--version".to_string(),
            version.to_string(),
            "--team".to_string(),
            team.to_string(),
        ];
        if let Some(dir) = data_dir {
            args.extend(["--data-dir".to_string(), dir.to_string()]);
        }
        self.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let manifest = work.join("palisade-plugin.toml");
        match team {
            "platform" => {
                self.ok(&[
                    "plugin",
                    "sign",
                    &path(&manifest),
                    "--key",
                    &path(&self.platform.private),
                ]);
            }
            _ => {
                keygen_sign(&manifest, self.team_key(team), "palisade-plugin");
            }
        }
        manifest
    }

    /// The key of a team.
    pub fn team_key(&self, team: &str) -> &KeyPair {
        match team {
            "platform" => &self.platform,
            "appsec" => &self.appsec,
            _ => &self.stranger,
        }
    }

    /// Publishes artifacts by their manifests.
    pub fn publish(&self, manifests: &[&Path]) {
        let root = self.root_arg();
        let mut args = vec!["registry", "publish", &root];
        let paths: Vec<String> = manifests.iter().map(|m| path(m)).collect();
        args.extend(paths.iter().map(String::as_str));
        self.ok(&args);
    }

    /// Both root keys sign the index.
    pub fn sign_all(&self) {
        for key in &self.roots {
            self.ok(&[
                "registry",
                "sign",
                &self.root_arg(),
                "--key",
                &path(&key.private),
            ]);
        }
    }

    /// Replaces the index with `edit(index.toml)` and signs it afresh with both root keys
    /// through `ssh-keygen`: what a registry operator holding the root keys can do.
    pub fn resign_with(&self, edit: impl FnOnce(String) -> String) {
        let index = self.root.join("index.toml");
        let text = std::fs::read_to_string(&index).expect("read index");
        std::fs::write(&index, edit(text)).expect("write index");
        let mut signatures = String::new();
        for key in &self.roots {
            signatures.push_str(&keygen_sign(&index, key, "palisade-registry"));
        }
        std::fs::write(self.root.join("index.toml.sig"), signatures).expect("write signatures");
    }

    /// `palisade.toml` lines pinning the root keys (threshold 2).
    pub fn pin(&self) -> String {
        format!(
            "root-keys = [\"{}\", \"{}\"]\nthreshold = 2\n",
            self.roots[0].public_line(),
            self.roots[1].public_line()
        )
    }
}

/// A path as a command-line argument.
pub fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A project to scan: a privileged pod (`k8s/privileged-container` on pod.yaml line 11) and a
/// Dockerfile exposing SSH (`docker/ssh-port-exposed` on line 2), with `palisade.toml` using
/// only the registry's packs, from `location` (`url = "…"` or `path = "…"`).
pub fn project(dir: &Path, location: &str, pin: &str, plugins: &str) {
    std::fs::create_dir_all(dir).expect("mkdir project");
    std::fs::write(
        dir.join("palisade.toml"),
        format!(
            "default-packs = false\n\n[registry]\n{location}\n{pin}\n[registry.plugins]\n{plugins}"
        ),
    )
    .expect("write palisade.toml");
    std::fs::write(
        dir.join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: debug\n  namespace: ops\nspec:\n  \
         containers:\n    - name: shell\n      image: busybox:1.36\n      securityContext:\n        \
         privileged: true\n",
    )
    .expect("write pod.yaml");
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM alpine:3.20\nEXPOSE 22\nUSER app\n",
    )
    .expect("write Dockerfile");
}

/// The standard project's two packs.
pub const STANDARD_PLUGINS: &str = "\"platform/k8s\" = \"^1\"\n\"appsec/docker\" = \"2\"\n";
