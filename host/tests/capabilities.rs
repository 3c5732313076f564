//! The data-directory capability through the library API: a plugin granted a directory reads
//! it at `/data/<name>`, read-only, and gets nowhere else; a plugin without a grant gets no
//! files at all.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use palisade::engine::{CompileCache, DataDir, Engine, Failure, Input, Limits, Plugin};
use serde_json::Value;

const ALLOWED: &str = "ghcr.io/acme/\nregistry.example.com/base/\n";

/// A host tree around the granted directory, laid out so that every escape the plugin tries
/// would land on a file the test planted:
/// ```text
/// root/data/allow-lists/allowed.txt    the granted file
/// root/data/allow-lists/escape         a symlink to root/secret.txt
/// root/secret.txt                      what the symlink would leak
/// root/etc/hostname                    where `/data/allow-lists/../../etc/hostname` leads on the host
/// ```
struct HostTree {
    root: tempfile::TempDir,
}

impl HostTree {
    fn new() -> HostTree {
        let root = tempfile::tempdir().expect("temp dir");
        let granted = root.path().join("data/allow-lists");
        std::fs::create_dir_all(&granted).expect("mkdir");
        std::fs::write(granted.join("allowed.txt"), ALLOWED).expect("write");
        std::fs::create_dir_all(root.path().join("etc")).expect("mkdir");
        std::fs::write(root.path().join("etc/hostname"), "leaked-through-dotdot\n").expect("write");
        let secret = root.path().join("secret.txt");
        std::fs::write(&secret, "leaked-through-symlink\n").expect("write");
        std::os::unix::fs::symlink(&secret, granted.join("escape")).expect("symlink");
        HostTree { root }
    }

    fn granted(&self) -> PathBuf {
        self.root.path().join("data/allow-lists")
    }

    /// Every entry under the root: file contents, symlink targets, directories.
    fn snapshot(&self) -> BTreeMap<PathBuf, String> {
        fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
            for entry in std::fs::read_dir(dir).expect("list") {
                let path = entry.expect("entry").path();
                let kind = std::fs::symlink_metadata(&path).expect("metadata");
                if kind.is_symlink() {
                    let target = std::fs::read_link(&path).expect("link");
                    out.insert(path, format!("-> {}", target.display()));
                } else if kind.is_dir() {
                    out.insert(path.clone(), "dir".to_owned());
                    walk(&path, out);
                } else {
                    out.insert(path.clone(), std::fs::read_to_string(&path).expect("read"));
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(self.root.path(), &mut out);
        out
    }
}

fn engine() -> Engine {
    Engine::new(Some(CompileCache::new(support::cache_dir()))).expect("engine")
}

fn data_reader(engine: &Engine) -> Plugin {
    let wasm = std::fs::read(support::hostile_plugin("data-reader")).expect("read the plugin");
    engine
        .load("data-reader", &wasm, Limits::default())
        .expect("the plugin loads")
}

/// Runs the plugin on one Pod and returns what it reported seeing.
fn outcomes(engine: &Engine, plugin: &Plugin) -> BTreeMap<String, String> {
    let input = Input {
        id: "Pod/default/web",
        kind: "kubernetes/Pod",
        file: "pod.yaml",
        attributes: "{}",
        unit: None,
    };
    let run = engine.run(plugin, "{}", &[input]);
    let findings = run.result.expect("the plugin runs");
    assert_eq!(findings.len(), 1, "{findings:?}");
    let seen: Value = serde_json::from_str(&findings[0].message).expect("a JSON message");
    seen.as_object()
        .expect("an object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("string outcome").to_owned()))
        .collect()
}

#[test]
fn a_granted_directory_is_readable_and_nothing_else_is() {
    let tree = HostTree::new();
    let before = tree.snapshot();
    let engine = engine();
    let mut plugin = data_reader(&engine);
    plugin
        .grant_data_dir(DataDir {
            name: "allow-lists".to_owned(),
            host_path: tree.granted(),
        })
        .expect("the directory exists");
    assert_eq!(
        plugin.data_dir().map(|d| d.guest_path()),
        Some("/data/allow-lists".to_owned())
    );

    let seen = outcomes(&engine, &plugin);
    assert_eq!(seen["allowed"], format!("ok: {ALLOWED}"), "{seen:#?}");
    for attempt in ["write", "dotdot", "symlink", "root_listing", "etc_hostname"] {
        assert!(
            seen[attempt].starts_with("error: "),
            "{attempt} succeeded: {seen:#?}"
        );
    }
    assert!(
        !format!("{seen:?}").contains("leaked"),
        "a file outside the grant was read: {seen:#?}"
    );
    assert!(
        !tree.granted().join("new.txt").exists(),
        "the plugin wrote a file"
    );
    assert_eq!(tree.snapshot(), before, "the host file system changed");

    // A second run gets the grant again, in a fresh sandbox.
    assert_eq!(
        outcomes(&engine, &plugin)["allowed"],
        format!("ok: {ALLOWED}")
    );
}

#[test]
fn without_a_grant_no_file_is_reachable() {
    let tree = HostTree::new();
    let before = tree.snapshot();
    let engine = engine();
    let plugin = data_reader(&engine);
    assert_eq!(plugin.data_dir(), None);
    let seen = outcomes(&engine, &plugin);
    assert_eq!(seen.len(), 6, "{seen:#?}");
    for (attempt, outcome) in &seen {
        assert!(
            outcome.starts_with("error: "),
            "{attempt} succeeded: {seen:#?}"
        );
    }
    assert_eq!(tree.snapshot(), before);
}

#[test]
fn a_grant_must_name_an_existing_directory() {
    let tree = HostTree::new();
    let engine = engine();
    let mut plugin = data_reader(&engine);

    let missing = tree.root.path().join("no-such-dir");
    let error = plugin
        .grant_data_dir(DataDir {
            name: "allow-lists".to_owned(),
            host_path: missing.clone(),
        })
        .expect_err("a missing directory cannot be granted");
    assert_eq!(
        error,
        format!(
            "plugin `data-reader`: cannot grant data directory `allow-lists` ({}): no such directory",
            missing.display()
        )
    );

    let file = tree.granted().join("allowed.txt");
    let error = plugin
        .grant_data_dir(DataDir {
            name: "allow-lists".to_owned(),
            host_path: file.clone(),
        })
        .expect_err("a file cannot be granted");
    assert!(
        error.contains(&file.display().to_string()) && error.ends_with(": not a directory"),
        "{error}"
    );

    for name in ["", "..", "../etc", "a/b", ".hidden"] {
        let error = plugin
            .grant_data_dir(DataDir {
                name: name.to_owned(),
                host_path: tree.granted(),
            })
            .expect_err("not a plain name");
        assert!(error.contains("the name must be"), "{name}: {error}");
    }
    assert_eq!(plugin.data_dir(), None, "a refused grant grants nothing");
}

#[test]
fn a_granted_directory_that_disappears_fails_the_run_with_a_clear_error() {
    let tree = HostTree::new();
    let engine = engine();
    let mut plugin = data_reader(&engine);
    let granted = tree.root.path().join("data/allow-lists");
    plugin
        .grant_data_dir(DataDir {
            name: "allow-lists".to_owned(),
            host_path: granted.clone(),
        })
        .expect("granted");
    std::fs::remove_dir_all(&granted).expect("remove");
    let input = Input {
        id: "Pod/default/web",
        kind: "kubernetes/Pod",
        file: "pod.yaml",
        attributes: "{}",
        unit: None,
    };
    let error = engine
        .run(&plugin, "{}", &[input])
        .result
        .expect_err("the directory is gone");
    assert_eq!(error.plugin, "data-reader");
    assert!(
        matches!(&error.failure, Failure::DataDir(m) if m.contains(&granted.display().to_string())),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with("plugin `data-reader` cannot open its data directory: `allow-lists` ("),
        "{error}"
    );
}
