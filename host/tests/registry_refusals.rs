//! Every attack on the registry chain a scan must refuse, each built for real (files tampered,
//! signatures made with the real `ssh-keygen`, hostile downloads from a real socket) and each
//! refused with exit 2 and an error that names the registry, the pack and the reason.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use support::registry::{STANDARD_PLUGINS, TestRegistry, keygen_sign, path, project, run, run_ok};

/// A locked project that uses `registry` by directory.
struct Project {
    work: tempfile::TempDir,
    dir: PathBuf,
    cache: PathBuf,
}

impl Project {
    fn new(registry: &TestRegistry, plugins: &str) -> Project {
        let work = tempfile::tempdir().expect("temp dir");
        let dir = work.path().join("project");
        project(
            &dir,
            &format!("path = \"{}\"", path(&registry.root)),
            &registry.pin(),
            plugins,
        );
        let cache = work.path().join("cache");
        Project { work, dir, cache }
    }

    fn locked(registry: &TestRegistry) -> Project {
        let project = Project::new(registry, STANDARD_PLUGINS);
        run_ok(&["lock"], &project.dir, &project.cache);
        project
    }

    /// A cache this machine never used: everything is downloaded (and verified) again.
    fn fresh_cache(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    /// Scans with `cache`; the scan must be refused (exit 2). Returns the errors' text.
    fn refused(&self, cache: &Path, extra: &[&str]) -> String {
        let mut args = vec!["scan", "--format", "json"];
        args.extend_from_slice(extra);
        args.push(".");
        let output = run(&args, &self.dir, cache);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        assert_eq!(output.status.code(), Some(2), "{report}");
        report["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["message"].as_str().expect("message").to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Asserts the error names the registry and says each of `reasons`.
fn assert_names(errors: &str, registry: &TestRegistry, reasons: &[&str]) {
    assert!(
        errors.contains(&path(&registry.root)),
        "the registry is not named: {errors}"
    );
    for reason in reasons {
        assert!(errors.contains(reason), "`{reason}` not in: {errors}");
    }
}

/// The published directory of a pack version.
fn published(registry: &TestRegistry, name: &str, version: &str) -> PathBuf {
    registry.root.join("plugins").join(name).join(version)
}

/// Edits the index as TOML.
fn edit_index(text: String, edit: impl FnOnce(&mut toml::Table)) -> String {
    let mut table: toml::Table = text.parse().expect("index is TOML");
    edit(&mut table);
    toml::to_string(&table).expect("TOML")
}

fn plugin_entry<'a>(table: &'a mut toml::Table, name: &str, version: &str) -> &'a mut toml::Table {
    table["plugins"]
        .as_array_mut()
        .expect("plugins")
        .iter_mut()
        .filter_map(|p| p.as_table_mut())
        .find(|p| p["name"].as_str() == Some(name) && p["version"].as_str() == Some(version))
        .expect("the entry")
}

#[test]
fn a_tampered_component_is_refused() {
    let registry = TestRegistry::standard();
    let project = Project::locked(&registry);
    let wasm = published(&registry, "platform/k8s", "1.0.0").join("platform-k8s.wasm");
    let mut bytes = std::fs::read(&wasm).expect("read wasm");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&wasm, bytes).expect("write wasm");
    let errors = project.refused(&project.fresh_cache("c2"), &[]);
    assert_names(&errors, &registry, &["platform/k8s@1.0.0", "tampered"]);
}

#[test]
fn a_tampered_manifest_is_refused() {
    let registry = TestRegistry::standard();
    let project = Project::locked(&registry);
    let manifest = published(&registry, "appsec/docker", "2.1.0").join("palisade-plugin.toml");
    let text = std::fs::read_to_string(&manifest).expect("read manifest");
    std::fs::write(
        &manifest,
        text.replace("severity = \"low\"", "severity = \"info\""),
    )
    .expect("write manifest");
    let errors = project.refused(&project.fresh_cache("c2"), &[]);
    assert_names(&errors, &registry, &["appsec/docker@2.1.0", "tampered"]);
}

#[test]
fn a_manifest_signed_by_an_unknown_key_is_refused() {
    let registry = TestRegistry::standard();
    let project = Project::locked(&registry);
    let manifest = published(&registry, "platform/k8s", "1.0.0").join("palisade-plugin.toml");
    keygen_sign(&manifest, &registry.stranger, "palisade-plugin");
    let errors = project.refused(&project.fresh_cache("c2"), &[]);
    assert_names(&errors, &registry, &["platform/k8s@1.0.0", "platform"]);
    let stranger = palisade::registry::TrustedKey::read(&registry.stranger.public)
        .expect("key")
        .fingerprint();
    assert!(
        errors.contains(&stranger),
        "the signer is not named: {errors}"
    );
}

#[test]
fn a_team_publishing_outside_its_prefix_is_refused() {
    let registry = TestRegistry::standard();
    let project = Project::locked(&registry);
    // The roots list appsec's pack under the platform team, whose prefix does not cover it.
    registry.resign_with(|text| {
        edit_index(text, |index| {
            plugin_entry(index, "appsec/docker", "2.1.0").insert("team".into(), "platform".into());
        })
    });
    let errors = project.refused(&project.cache, &[]);
    assert_names(
        &errors,
        &registry,
        &[
            "appsec/docker@2.1.0",
            "outside the names team `platform` may publish",
        ],
    );
}

#[test]
fn a_revoked_version_is_refused_even_when_locked() {
    let registry = TestRegistry::standard();
    let project = Project::locked(&registry);
    registry.ok(&[
        "registry",
        "revoke",
        &path(&registry.root),
        "platform/k8s@1.0.0",
        "--reason",
        "reads service account tokens",
    ]);
    registry.sign_all();
    let errors = project.refused(&project.cache, &[]);
    assert_names(
        &errors,
        &registry,
        &[
            "platform/k8s@1.0.0",
            "revoked",
            "reads service account tokens",
        ],
    );
}

#[test]
fn an_index_signed_by_a_key_that_is_not_a_root_is_refused() {
    let registry = TestRegistry::standard();
    let project = Project::locked(&registry);
    let index = registry.root.join("index.toml");
    let mut signatures = keygen_sign(&index, &registry.platform, "palisade-registry");
    signatures.push_str(&keygen_sign(
        &index,
        &registry.stranger,
        "palisade-registry",
    ));
    std::fs::write(registry.root.join("index.toml.sig"), signatures).expect("write");
    let errors = project.refused(&project.cache, &[]);
    let platform = palisade::registry::TrustedKey::read(&registry.platform.public)
        .expect("key")
        .fingerprint();
    assert_names(&errors, &registry, &["root", &platform]);
}

#[test]
fn an_index_below_the_threshold_is_refused() {
    let registry = TestRegistry::standard();
    let project = Project::locked(&registry);
    let index = registry.root.join("index.toml");
    let one = keygen_sign(&index, &registry.roots[0], "palisade-registry");
    std::fs::write(registry.root.join("index.toml.sig"), one).expect("write");
    let errors = project.refused(&project.cache, &[]);
    assert_names(&errors, &registry, &["1 of 2"]);
}

#[test]
fn an_expired_index_is_refused() {
    let registry = TestRegistry::standard();
    let project = Project::locked(&registry);
    // A validly signed index whose expiry has passed: what a freeze attack replays.
    registry.resign_with(|text| {
        edit_index(text, |index| {
            index.insert("expires".into(), "2021-06-01T00:00:00Z".into());
            let version = index["version"].as_integer().expect("version");
            index.insert("version".into(), (version + 1).into());
        })
    });
    let errors = project.refused(&project.cache, &[]);
    assert_names(&errors, &registry, &["expired"]);
}

#[test]
fn an_index_older_than_one_seen_is_refused() {
    let registry = TestRegistry::new();
    let k8s = registry.artifact("kubernetes", "platform/k8s", "1.0.0", "platform", None);
    let docker = registry.artifact("dockerfile", "appsec/docker", "2.1.0", "appsec", None);
    registry.publish(&[&k8s, &docker]);
    registry.sign_all();
    let old = (
        std::fs::read(registry.root.join("index.toml")).expect("index"),
        std::fs::read(registry.root.join("index.toml.sig")).expect("sig"),
    );
    registry.ok(&[
        "registry",
        "revoke",
        &path(&registry.root),
        "appsec/docker@2.1.0",
        "--reason",
        "false positives",
    ]);
    let newer = registry.artifact("dockerfile", "appsec/docker", "2.1.1", "appsec", None);
    registry.publish(&[&newer]);
    registry.sign_all();
    let project = Project::locked(&registry);
    // The attacker serves the older, validly signed index that does not revoke 2.1.0.
    std::fs::write(registry.root.join("index.toml"), &old.0).expect("write");
    std::fs::write(registry.root.join("index.toml.sig"), &old.1).expect("write");
    let errors = project.refused(&project.cache, &[]);
    assert_names(&errors, &registry, &["rollback", "older than version"]);
}

#[test]
fn a_manifest_from_another_version_is_refused() {
    let registry = TestRegistry::new();
    let v1 = registry.artifact("kubernetes", "platform/k8s", "1.0.0", "platform", None);
    let v2 = registry.artifact("kubernetes", "platform/k8s", "1.1.0", "platform", None);
    let docker = registry.artifact("dockerfile", "appsec/docker", "2.1.0", "appsec", None);
    registry.publish(&[&v1, &v2, &docker]);
    registry.sign_all();
    // 1.1.0's files and its index entry are swapped for 1.0.0's signed manifest: every
    // signature and digest checks out, but the manifest is another version's.
    let old = published(&registry, "platform/k8s", "1.0.0");
    let new = published(&registry, "platform/k8s", "1.1.0");
    for file in ["palisade-plugin.toml", "palisade-plugin.toml.sig"] {
        std::fs::copy(old.join(file), new.join(file)).expect("copy");
    }
    registry.resign_with(|text| {
        edit_index(text, |index| {
            let from = plugin_entry(index, "platform/k8s", "1.0.0").clone();
            let to = plugin_entry(index, "platform/k8s", "1.1.0");
            for key in ["manifest-sha256", "manifest-size"] {
                to.insert(key.into(), from[key].clone());
            }
        })
    });
    let project = Project::new(&registry, STANDARD_PLUGINS);
    let output = run(&["lock"], &project.dir, &project.cache);
    assert_eq!(output.status.code(), Some(2));
    let errors = String::from_utf8_lossy(&output.stderr);
    assert_names(&errors, &registry, &["platform/k8s@1.1.0", "1.0.0"]);
    assert!(!project.dir.join("palisade.lock").exists());
}

#[test]
fn a_lock_digest_that_no_longer_matches_is_refused() {
    let registry = TestRegistry::standard();
    let project = Project::locked(&registry);
    // The registry now lists other bytes under the locked version.
    registry.resign_with(|text| {
        edit_index(text, |index| {
            let other = plugin_entry(index, "appsec/docker", "2.1.0").clone();
            let entry = plugin_entry(index, "platform/k8s", "1.0.0");
            for key in ["wasm-sha256", "wasm-size"] {
                entry.insert(key.into(), other[key].clone());
            }
            let version = index["version"].as_integer().expect("version");
            index.insert("version".into(), (version + 1).into());
        })
    });
    let errors = project.refused(&project.cache, &[]);
    assert_names(
        &errors,
        &registry,
        &["platform/k8s@1.0.0", "no longer matches"],
    );
}

/// Serves the registry directory over HTTP, except that components never end: the body of
/// every `.wasm` is an endless stream of zeros. Returns the base URL.
fn endless_server(root: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let root = root.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    return;
                }
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let target = request.split_whitespace().nth(1).unwrap_or("/");
                if target.ends_with(".wasm") {
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                    let zeros = [0u8; 64 << 10];
                    while stream.write_all(&zeros).is_ok() {}
                    return;
                }
                match std::fs::File::open(root.join(target.trim_start_matches('/'))) {
                    Ok(mut file) => {
                        let mut body = Vec::new();
                        file.read_to_end(&mut body).expect("read");
                        let _ = write!(
                            stream,
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = stream.write_all(&body);
                    }
                    Err(_) => {
                        let _ = stream.write_all(
                            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                    }
                }
            });
        }
    });
    url
}

#[test]
fn an_endless_download_is_cut_off_at_the_pinned_size() {
    let registry = TestRegistry::standard();
    let url = endless_server(registry.root.clone());
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path().join("project");
    project(
        &dir,
        &format!("url = \"{url}\""),
        &registry.pin(),
        STANDARD_PLUGINS,
    );
    let output = run(&["lock"], &dir, &work.path().join("cache"));
    assert_eq!(output.status.code(), Some(2));
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(errors.contains(&url), "{errors}");
    assert!(errors.contains("platform/k8s@1.0.0"), "{errors}");
    assert!(errors.contains("more than"), "{errors}");
}
