//! Hostile plugins next to the Kubernetes pack: each attack fails that plugin alone, with an
//! error naming it and the cause, and the pack's findings still arrive.

mod support;

use support::{PRIVILEGED_DEPLOYMENT, finding_lines, hostile_plugin, scan_json, tree};

/// Small caps so the attacks end quickly.
const TIGHT_LIMITS: &str = "[limits]\ntimeout-seconds = 1\nmemory-mib = 64\nmax-findings = 1000\n";

/// Scans a privileged Deployment with the hostile plugin built with `feature`.
fn scan_with(feature: &str) -> (i32, serde_json::Value, String) {
    let plugin = hostile_plugin(feature);
    let dir = tree(&[
        ("deploy.yaml", PRIVILEGED_DEPLOYMENT),
        ("palisade.toml", TIGHT_LIMITS),
    ]);
    scan_json(
        &[
            "deploy.yaml",
            "--plugin",
            plugin.to_str().expect("utf-8 path"),
        ],
        dir.path(),
    )
}

fn assert_pack_still_reports(report: &serde_json::Value) {
    assert!(
        finding_lines(report).contains(&(
            "k8s/privileged-container".into(),
            "deploy.yaml".into(),
            12
        )),
        "the Kubernetes pack's finding is missing: {report:#}"
    );
}

fn plugin_error(report: &serde_json::Value) -> String {
    let errors = report["errors"].as_array().expect("errors array");
    assert_eq!(errors.len(), 1, "{report:#}");
    let plugin = errors[0]["plugin"]
        .as_str()
        .expect("the error names the plugin");
    assert!(plugin.ends_with(".wasm"), "{plugin}");
    errors[0]["message"].as_str().expect("message").to_string()
}

#[test]
fn an_endless_loop_is_stopped_by_the_deadline() {
    let (code, report, _) = scan_with("spin");
    assert_eq!(code, 2);
    assert_eq!(plugin_error(&report), "timed out after 1.0 s");
    assert_pack_still_reports(&report);
}

#[test]
fn a_memory_bomb_is_stopped_by_the_cap() {
    let (code, report, _) = scan_with("memory-bomb");
    assert_eq!(code, 2);
    assert_eq!(plugin_error(&report), "exceeded the memory limit of 64 MiB");
    assert_pack_still_reports(&report);
}

#[test]
fn a_panic_is_reported_with_its_message() {
    let (code, report, _) = scan_with("panic");
    assert_eq!(code, 2);
    let message = plugin_error(&report);
    assert!(message.starts_with("crashed: "), "{message}");
    assert!(
        message.contains("hostile plugin gave up on Deployment/prod/web"),
        "{message}"
    );
    assert_pack_still_reports(&report);
}

#[test]
fn a_finding_flood_is_cut_off() {
    let (code, report, _) = scan_with("finding-flood");
    assert_eq!(code, 2);
    assert_eq!(
        plugin_error(&report),
        "exceeded the output limit: more than 1000 findings"
    );
    assert_pack_still_reports(&report);
}

#[test]
fn the_sandbox_offers_no_files_environment_arguments_network_or_real_time() {
    let (code, report, _) = scan_with("snoop");
    assert_eq!(code, 1, "{report:#}");
    let seen = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "hostile/attack")
        .expect("the snoop plugin reports what it saw");
    let seen: serde_json::Value =
        serde_json::from_str(seen["message"].as_str().expect("message")).expect("JSON message");
    for key in ["passwd", "cwd_file", "root_listing", "network"] {
        let outcome = seen[key].as_str().expect("string outcome");
        assert!(outcome.starts_with("error"), "{key}: {outcome}");
    }
    assert_eq!(seen["env"], 0, "{seen}");
    assert_eq!(seen["args"], 0, "{seen}");
    assert_eq!(
        seen["clock"], 946_684_800,
        "the wall clock is fixed: {seen}"
    );
    assert_pack_still_reports(&report);
}

#[test]
fn a_flood_of_output_is_capped_and_the_plugin_still_reports() {
    let plugin = hostile_plugin("chatty");
    let dir = tree(&[("deploy.yaml", PRIVILEGED_DEPLOYMENT)]);
    let (code, report, stderr) = scan_json(
        &[
            "deploy.yaml",
            "--verbose",
            "--plugin",
            plugin.to_str().expect("utf-8 path"),
        ],
        dir.path(),
    );
    assert_eq!(code, 1, "{report:#}\n{stderr}");
    assert!(
        report["errors"].as_array().expect("errors").is_empty(),
        "{report:#}"
    );
    assert!(
        finding_lines(&report)
            .iter()
            .any(|(rule, _, _)| rule == "hostile/attack"),
        "{report:#}"
    );
    assert_pack_still_reports(&report);
    // 20,000 lines each of stdout, stderr and log were written; only the capped log shows.
    assert!(
        stderr.len() < 256 * 1024,
        "log not capped: {} bytes",
        stderr.len()
    );
    assert!(
        stderr.contains("line 0 of a flood of stdout"),
        "{}",
        &stderr[..stderr.len().min(500)]
    );
    assert!(
        stderr.contains("bytes of log dropped"),
        "no truncation notice"
    );
}
