//! Pure plugins: a component that imports no WASI is linked without it, loads and evaluates;
//! the built-in packs (which import WASI) still get it; an import neither the host nor WASI
//! offers is refused by name.

mod support;

use std::path::Path;

use palisade::engine::{Engine, Failure, Input, Limits};
use palisade::packs::builtin;

/// The hand-written pure component (`tests/pure/host-network.wat`), as WebAssembly text.
fn pure_source() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pure/host-network.wat");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Compiles component text to binary, as `wasm-tools parse` would.
fn compile(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap_or_else(|e| panic!("the component text does not compile: {e}"))
}

/// The pure plugin compiled to a component.
fn pure_plugin() -> Vec<u8> {
    compile(&pure_source())
}

fn input<'a>(id: &'a str, attributes: &'a str) -> Input<'a> {
    Input {
        id,
        kind: "kubernetes/Pod",
        file: "pod.yaml",
        attributes,
        unit: None,
    }
}

#[test]
fn a_pure_plugin_loads_without_wasi_and_evaluates() {
    let engine = Engine::new(None).expect("engine");
    let plugin = engine
        .load("", &pure_plugin(), Limits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(plugin.imports().is_empty(), "{:?}", plugin.imports());
    assert!(!plugin.uses_wasi());
    assert_eq!(plugin.exports(), ["palisade:policy/policy@0.1.0"]);
    let info = plugin.info();
    assert_eq!(
        (info.name.as_str(), info.version.as_str()),
        ("pure-network", "1.0.0")
    );
    let rule = &info.rules[0];
    assert_eq!(rule.id, "pure/host-network");
    assert_eq!(rule.kinds, ["kubernetes/*"]);
    assert_eq!(rule.severity, palisade::Severity::High);

    let resources = [
        input("Pod/default/shared", r#"{"spec":{"hostNetwork":true}}"#),
        input("Pod/default/own", r#"{"spec":{"hostNetwork":false}}"#),
        input(
            "Pod/default/also-shared",
            r#"{"spec":{"containers":[],"hostNetwork":true}}"#,
        ),
    ];
    let run = engine.run(&plugin, "{}", &resources);
    let findings = run.result.unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<(&str, &str, Option<usize>)> = findings
        .iter()
        .map(|f| (f.rule_id.as_str(), f.resource_id.as_str(), f.resource))
        .collect();
    assert_eq!(
        got,
        [
            ("pure/host-network", "Pod/default/shared", Some(0)),
            ("pure/host-network", "Pod/default/also-shared", Some(2)),
        ]
    );
    assert_eq!(
        findings[0].message,
        "hostNetwork is true: the pod shares the node's network namespace"
    );
    assert_eq!(findings[0].pointer, "");

    // A fresh sandbox per run: a second run gives the same answer.
    let again = engine.run(&plugin, "{}", &resources[..1]);
    assert_eq!(again.result.expect("second run").len(), 1);
}

#[test]
fn the_builtin_packs_still_get_wasi() {
    let engine = Engine::new(None).expect("engine");
    let wasm = builtin("kubernetes").expect("the Kubernetes pack is built in");
    let plugin = engine
        .load("kubernetes", wasm, Limits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(plugin.uses_wasi(), "{:?}", plugin.imports());
    assert!(
        plugin.imports().iter().any(|i| i.starts_with("wasi:cli/")),
        "{:?}",
        plugin.imports()
    );
    let attributes = serde_json::json!({
        "metadata": {"name": "web", "namespace": "prod"},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
            "securityContext": {"privileged": true}}]}
    })
    .to_string();
    let resources = [input("Pod/prod/web", &attributes)];
    let findings = engine
        .run(&plugin, "{}", &resources)
        .result
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        findings
            .iter()
            .any(|f| f.rule_id == "k8s/privileged-container"),
        "{findings:?}"
    );
}

#[test]
fn an_import_the_host_does_not_offer_is_refused_by_name() {
    let source = pure_source().replacen(
        "(component",
        "(component\n  (import \"acme:vault/secrets@1.0.0\" (instance))",
        1,
    );
    let engine = Engine::new(None).expect("engine");
    let error = engine
        .load("vault.wasm", &compile(&source), Limits::default())
        .expect_err("a foreign import must be refused");
    assert_eq!(error.plugin, "vault.wasm");
    let Failure::Invalid(message) = &error.failure else {
        panic!("not refused as invalid: {error}");
    };
    assert!(
        message.contains("`acme:vault/secrets@1.0.0`"),
        "the import is not named: {message}"
    );
    assert_eq!(
        error.to_string(),
        "plugin `vault.wasm` cannot be loaded: it imports `acme:vault/secrets@1.0.0`, which \
         palisade does not offer (a plugin may import only `palisade:policy/*` and `wasi:*`)"
    );
}

/// Writes the pure component to a temporary file.
fn pure_file() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("pure-network.wasm");
    std::fs::write(&path, pure_plugin()).expect("write the component");
    (dir, path)
}

/// `palisade plugin inspect` with `args`; returns (exit code, stdout).
fn inspect(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let output = support::palisade()
        .args(["plugin", "inspect"])
        .args(args)
        .output()
        .expect("palisade runs");
    (
        output.status.code().expect("exited normally"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn inspect_shows_a_pure_plugin_as_pure() {
    let (_dir, wasm) = pure_file();
    let size = std::fs::metadata(&wasm).expect("metadata").len();
    let (code, text) = inspect(&[wasm.as_os_str()]);
    assert_eq!(code, 0, "{text}");
    let digest = palisade::engine::sha256_hex(&std::fs::read(&wasm).expect("read"));
    assert!(text.starts_with("pure-network 1.0.0\n"), "{text}");
    assert!(text.contains(&format!("  sha256  {digest}\n")), "{text}");
    assert!(
        text.contains(&format!("  size    {size} bytes\n")),
        "{text}"
    );
    assert!(
        text.contains("rules (1)\n  pure/host-network  high      kubernetes/*\n"),
        "{text}"
    );
    assert!(text.contains("  palisade host  none\n"), "{text}");
    assert!(
        text.contains("  WASI           none (pure: no WASI)\n"),
        "{text}"
    );
    assert!(
        text.contains("exports\n  palisade:policy/policy@0.1.0\n"),
        "{text}"
    );

    let (code, json) = inspect(&[wasm.as_os_str(), "--format".as_ref(), "json".as_ref()]);
    assert_eq!(code, 0, "{json}");
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(report["imports"]["pure"], true);
    assert_eq!(report["imports"]["wasi"], serde_json::json!([]));
    assert_eq!(report["size"], size);
    assert_eq!(report["sha256"], digest);
    assert_eq!(report["rules"][0]["id"], "pure/host-network");
}

#[test]
fn inspect_lists_a_builtin_pack_s_wasi_and_host_imports() {
    let dir = tempfile::tempdir().expect("temp dir");
    let wasm = dir.path().join("kubernetes.wasm");
    std::fs::write(&wasm, builtin("kubernetes").expect("built in")).expect("write");
    let (code, json) = inspect(&[wasm.as_os_str(), "--format".as_ref(), "json".as_ref()]);
    assert_eq!(code, 0, "{json}");
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(report["name"], "kubernetes");
    assert_eq!(report["imports"]["pure"], false);
    let wasi = report["imports"]["wasi"].as_array().expect("wasi imports");
    assert!(
        wasi.iter()
            .all(|i| i.as_str().is_some_and(|i| i.starts_with("wasi:")))
            && !wasi.is_empty(),
        "{report:#}"
    );
    let palisade_imports = report["imports"]["palisade"]
        .as_array()
        .expect("host imports");
    assert!(
        palisade_imports.iter().any(|i| i
            .as_str()
            .is_some_and(|i| i.starts_with("palisade:policy/"))),
        "{report:#}"
    );
    assert_eq!(
        report["exports"],
        serde_json::json!(["palisade:policy/policy@0.1.0"])
    );
    let rules = report["rules"].as_array().expect("rules");
    assert!(
        rules.iter().any(|r| r["id"] == "k8s/run-as-root"
            && r["kinds"].as_array().is_some_and(|k| !k.is_empty())),
        "{report:#}"
    );

    let (code, text) = inspect(&[wasm.as_os_str()]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("  WASI           wasi:"), "{text}");
}

#[test]
fn palisade_test_runs_the_pure_plugin_on_fixtures() {
    let (_dir, wasm) = pure_file();
    let fixtures = support::tree(&[
        (
            "pure/host-network/fail.yaml",
            "apiVersion: v1 # expect: pure/host-network\nkind: Pod\nmetadata:\n  name: shared\n\
             spec:\n  hostNetwork: true\n  containers:\n    - name: app\n      image: app:1\n",
        ),
        (
            "pure/host-network/pass.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: own\nspec:\n  containers:\n    \
             - name: app\n      image: app:1\n",
        ),
    ]);
    let output = support::palisade()
        .arg("test")
        .arg(&wasm)
        .arg(fixtures.path())
        .output()
        .expect("palisade runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("pure-network 1.0.0: 2 passed, 0 failed\n"),
        "{stdout}"
    );
}

#[test]
fn a_pure_plugin_runs_in_a_scan_with_its_findings_on_their_lines() {
    let (_dir, wasm) = pure_file();
    let dir = support::tree(&[(
        "pods.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: shared\nspec:\n  hostNetwork: true\n  \
         containers:\n    - name: app\n      image: app:1\n---\napiVersion: v1\nkind: Pod\n\
         metadata:\n  name: own\nspec:\n  containers:\n    - name: app\n      image: app:1\n",
    )]);
    let (code, report, stderr) = support::scan_json(
        &[
            "pods.yaml",
            "--no-default-packs",
            "--plugin",
            wasm.to_str().expect("utf-8 path"),
        ],
        dir.path(),
    );
    assert_eq!(code, 1, "{report:#}\n{stderr}");
    assert_eq!(
        support::finding_lines(&report),
        [("pure/host-network".to_string(), "pods.yaml".to_string(), 1)]
    );
}
