//! The engine through the library API: the compile cache, fresh sandboxes, plugin metadata.

mod support;

use std::path::PathBuf;

use palisade::engine::{CompileCache, Engine, Input, Limits};
use palisade::packs::builtin;

fn kubernetes_pack() -> &'static [u8] {
    builtin("kubernetes").expect("the Kubernetes pack is built in")
}

fn cache_entries(dir: &std::path::Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir.join("compiled"))
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

const POD: &str = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"x"},
    "spec":{"containers":[{"name":"c","image":"nginx","securityContext":{"privileged":true}}]}}"#;

fn privileged_findings(engine: &Engine) -> Vec<String> {
    let plugin = engine
        .load("kubernetes", kubernetes_pack(), Limits::default())
        .expect("the pack loads");
    let input = Input {
        id: "Pod/x/p",
        kind: "kubernetes/Pod",
        file: "p.yaml",
        attributes: POD,
        unit: None,
    };
    let run = engine.run(&plugin, "{}", &[input]);
    let mut found: Vec<String> = run
        .result
        .expect("the pack runs")
        .into_iter()
        .map(|f| format!("{} {}", f.rule_id, f.pointer))
        .collect();
    found.sort();
    found
}

#[test]
fn compiled_plugins_are_cached_and_damaged_entries_are_recompiled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::new(Some(CompileCache::new(dir.path()))).expect("engine");
    let expected = privileged_findings(&engine);
    assert!(expected.contains(
        &"k8s/privileged-container /spec/containers/0/securityContext/privileged".to_string()
    ));

    let entries = cache_entries(dir.path());
    assert_eq!(entries.len(), 1, "one precompiled entry: {entries:?}");
    let entry = &entries[0];
    let name = entry
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with(&palisade::engine::sha256_hex(kubernetes_pack())),
        "keyed by the wasm digest: {name}"
    );
    let good = std::fs::read(entry).expect("read entry");

    // A flipped bit: the checksum catches it, the plugin is recompiled and the entry repaired.
    let mut damaged = good.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x40;
    std::fs::write(entry, &damaged).expect("damage");
    assert_eq!(privileged_findings(&engine), expected);
    assert_eq!(
        std::fs::read(entry).expect("read"),
        good,
        "the entry is rewritten"
    );

    // A well-formed entry whose payload is not code for this engine (a foreign entry).
    let mut foreign = good[..16].to_vec();
    let payload = b"compiled by something else entirely";
    foreign.extend_from_slice(&sha2_digest(payload));
    foreign.extend_from_slice(payload);
    std::fs::write(entry, &foreign).expect("foreign");
    assert_eq!(privileged_findings(&engine), expected);
    assert_eq!(std::fs::read(entry).expect("read"), good);

    // Truncated to nothing.
    std::fs::write(entry, b"").expect("truncate");
    assert_eq!(privileged_findings(&engine), expected);
}

fn sha2_digest(bytes: &[u8]) -> Vec<u8> {
    let hex = palisade::engine::sha256_hex(bytes);
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn every_run_gets_a_fresh_sandbox_and_equal_inputs_give_equal_findings() {
    let engine = Engine::new(Some(CompileCache::new(support::cache_dir()))).expect("engine");
    let first = privileged_findings(&engine);
    for _ in 0..3 {
        assert_eq!(privileged_findings(&engine), first);
    }
}

#[test]
fn the_pack_describes_its_rules() {
    let engine = Engine::new(Some(CompileCache::new(support::cache_dir()))).expect("engine");
    let plugin = engine
        .load("", kubernetes_pack(), Limits::default())
        .expect("loads");
    assert_eq!(
        plugin.label(),
        "kubernetes",
        "an empty label falls back to the pack name"
    );
    let info = plugin.info();
    assert_eq!(info.name, "kubernetes");
    for id in [
        "k8s/privileged-container",
        "k8s/privilege-escalation",
        "k8s/run-as-root",
        "k8s/host-namespaces",
        "k8s/host-path-volume",
        "k8s/image-latest-tag",
        "k8s/missing-resource-limits",
        "k8s/writable-root-filesystem",
        "k8s/dangerous-capabilities",
        "k8s/capabilities-not-dropped",
        "k8s/secret-in-env",
        "k8s/default-namespace",
        "k8s/service-account-token-automount",
    ] {
        let rule = info
            .rules
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("{id} missing"));
        assert!(
            !rule.description.is_empty() && !rule.remediation.is_empty(),
            "{id} lacks docs"
        );
    }
    assert!(plugin.wants("kubernetes/CronJob"));
    assert!(!plugin.wants("terraform/aws_s3_bucket"));
}
