//! Gates, end to end through the real binary: the failure threshold, severity overrides,
//! and enforcement levels set by the pipeline owner per pack or rule, with `--override`.

mod support;

use predicates::prelude::*;
use support::{PRIVILEGED_DEPLOYMENT, palisade, scan_json, tree};

/// A hardened Deployment whose only finding is the medium `k8s/image-latest-tag` on line 24.
const LATEST_TAG: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: api
          image: registry.example.com/shop/api:latest
          resources:
            limits:
              cpu: 500m
              memory: 256Mi
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: [\"ALL\"]
";

const RULE: &str = "k8s/image-latest-tag";

/// A directory with the manifest and, when given, a `palisade.toml`.
fn project(manifest: &str, config: Option<&str>) -> tempfile::TempDir {
    let mut files = vec![("deploy.yaml", manifest)];
    if let Some(config) = config {
        files.push(("palisade.toml", config));
    }
    tree(&files)
}

/// The exit code of `palisade scan deploy.yaml ARGS` and its JSON report.
fn scan(dir: &tempfile::TempDir, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["deploy.yaml"];
    all.extend(args);
    let (code, report, _) = scan_json(&all, dir.path());
    (code, report)
}

fn errors(report: &serde_json::Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .expect("errors array")
        .iter()
        .map(|e| e["message"].as_str().expect("message").to_string())
        .collect()
}

#[test]
fn fail_on_sets_the_threshold_and_the_flag_beats_the_config() {
    let dir = project(LATEST_TAG, None);
    let (code, report) = scan(&dir, &[]);
    assert_eq!(
        code, 1,
        "a medium finding fails the default (low) threshold"
    );
    assert_eq!(report["findings"][0]["rule"], RULE);
    assert_eq!(report["findings"][0]["severity"], "medium");
    assert_eq!(report["summary"]["fail_on"], "low");
    assert_eq!(
        scan(&dir, &["--fail-on", "medium"]).0,
        1,
        "at the threshold"
    );
    let (code, report) = scan(&dir, &["--fail-on", "high"]);
    assert_eq!(code, 0, "below the threshold");
    assert_eq!(report["summary"]["findings"], 1, "still reported");

    let dir = project(LATEST_TAG, Some("fail-on = \"high\"\n"));
    assert_eq!(scan(&dir, &[]).0, 0);
    assert_eq!(scan(&dir, &["--fail-on", "info"]).0, 1);
}

#[test]
fn a_severity_override_in_palisade_toml_changes_the_exit_code() {
    let raised = format!("fail-on = \"high\"\n[rules.\"{RULE}\"]\nseverity = \"critical\"\n");
    let (code, report) = scan(&project(LATEST_TAG, Some(&raised)), &[]);
    assert_eq!(code, 1);
    assert_eq!(report["findings"][0]["severity"], "critical");
    assert_eq!(report["summary"]["by_severity"]["critical"], 1);

    let lowered = format!("[rules.\"{RULE}\"]\nseverity = \"info\"\n");
    let (code, report) = scan(&project(LATEST_TAG, Some(&lowered)), &[]);
    assert_eq!(code, 0);
    assert_eq!(report["findings"][0]["severity"], "info");
}

#[test]
fn advisory_findings_are_reported_and_never_fail() {
    let config = format!("[rules.\"{RULE}\"]\nenforcement = \"advisory\"\n");
    let dir = project(LATEST_TAG, Some(&config));
    let (code, report) = scan(&dir, &["--fail-on", "info"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["findings"][0]["rule"], RULE);
    assert_eq!(report["findings"][0]["enforcement"], "advisory");
    assert_eq!(report["summary"]["findings"], 1);
    palisade()
        .current_dir(dir.path())
        .args(["scan", "deploy.yaml"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!(
            "medium {RULE} (advisory):"
        )));
}

#[test]
fn soft_mandatory_fails_until_overridden_with_a_reason_that_every_report_records() {
    let dir = project(LATEST_TAG, None);
    let (code, report) = scan(&dir, &[]);
    assert_eq!(code, 1);
    assert_eq!(report["findings"][0]["enforcement"], "soft-mandatory");
    assert_eq!(report["overrides"], serde_json::json!([]));

    let reason = "tag pinned by the release job, INC-42";
    let (code, report) = scan(&dir, &["--override", RULE, "--reason", reason]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        report["overrides"],
        serde_json::json!([{ "rule": RULE, "reason": reason }])
    );
    assert_eq!(report["findings"][0]["rule"], RULE, "still reported");
    palisade()
        .current_dir(dir.path())
        .args([
            "scan",
            "deploy.yaml",
            "--override",
            RULE,
            "--reason",
            reason,
        ])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains(format!("medium {RULE} (overridden):"))
                .and(predicate::str::contains("overridden for this run:"))
                .and(predicate::str::contains(format!("  {RULE}: {reason}"))),
        );
}

#[test]
fn a_hard_mandatory_rule_cannot_be_overridden() {
    let config = format!("[rules.\"{RULE}\"]\nenforcement = \"hard-mandatory\"\n");
    let dir = project(LATEST_TAG, Some(&config));
    assert_eq!(scan(&dir, &[]).0, 1);
    let (code, report) = scan(&dir, &["--override", RULE, "--reason", "please"]);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(
        errors(&report),
        [format!(
            "--override {RULE}: the rule is hard-mandatory, which cannot be overridden"
        )]
    );
    assert_eq!(report["overrides"], serde_json::json!([]));
    assert_eq!(report["findings"][0]["enforcement"], "hard-mandatory");
}

#[test]
fn an_override_needs_a_reason() {
    let dir = project(LATEST_TAG, None);
    palisade()
        .current_dir(dir.path())
        .args(["scan", "deploy.yaml", "--override", RULE])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "1 --override but 0 --reason: give each override its reason",
        ));
    let (code, report) = scan(&dir, &["--override", RULE, "--reason", "  "]);
    assert_eq!(code, 2);
    assert_eq!(
        errors(&report),
        [format!(
            "--override {RULE}: it has no reason: give one with --reason"
        )]
    );
    let (code, report) = scan(&dir, &["--override", "k8s/no-such-rule", "--reason", "x"]);
    assert_eq!(code, 2);
    assert_eq!(
        errors(&report),
        ["--override k8s/no-such-rule: no loaded rule has this id"]
    );
}

#[test]
fn pack_enforcement_applies_to_every_rule_of_the_pack_and_a_rule_setting_beats_it() {
    let advisory_pack = "[packs.kubernetes]\nenforcement = \"advisory\"\n";
    let dir = project(PRIVILEGED_DEPLOYMENT, Some(advisory_pack));
    let (code, report) = scan(&dir, &[]);
    assert_eq!(code, 0, "{report:#}");
    let findings = report["findings"].as_array().expect("findings");
    assert!(findings.len() > 1, "{report:#}");
    assert!(
        findings.iter().all(|f| f["enforcement"] == "advisory"),
        "{report:#}"
    );

    let one_rule_hard = format!(
        "{advisory_pack}[rules.\"k8s/privileged-container\"]\nenforcement = \"hard-mandatory\"\n"
    );
    let dir = project(PRIVILEGED_DEPLOYMENT, Some(&one_rule_hard));
    let (code, report) = scan(&dir, &[]);
    assert_eq!(code, 1, "{report:#}");
    let findings = report["findings"].as_array().expect("findings");
    for f in findings {
        let expected = if f["rule"] == "k8s/privileged-container" {
            "hard-mandatory"
        } else {
            "advisory"
        };
        assert_eq!(f["enforcement"], expected, "{f:#}");
    }
    let (code, _) = scan(
        &dir,
        &["--override", "k8s/privileged-container", "--reason", "x"],
    );
    assert_eq!(code, 2, "the rule's own setting is what counts");

    // A hard-mandatory pack refuses overrides of each of its rules.
    let hard_pack = "[packs.kubernetes]\nenforcement = \"hard-mandatory\"\n";
    let dir = project(LATEST_TAG, Some(hard_pack));
    let (code, report) = scan(&dir, &["--override", RULE, "--reason", "x"]);
    assert_eq!(code, 2);
    assert_eq!(report["findings"][0]["enforcement"], "hard-mandatory");
}

#[test]
fn the_config_wide_enforcement_is_the_default_for_every_pack() {
    let config =
        "enforcement = \"advisory\"\n[packs.kubernetes]\nenforcement = \"soft-mandatory\"\n";
    let dir = project(LATEST_TAG, Some(config));
    assert_eq!(
        scan(&dir, &[]).0,
        1,
        "the pack's setting beats the config's"
    );
    let dir = project(LATEST_TAG, Some("enforcement = \"advisory\"\n"));
    assert_eq!(scan(&dir, &[]).0, 0);
}

#[test]
fn a_gate_naming_no_loaded_rule_or_pack_is_an_error_not_silently_ignored() {
    // A typo would otherwise leave the rule soft-mandatory without a word.
    let config = "[rules.\"k8s/image-lastest-tag\"]\nenforcement = \"hard-mandatory\"\n\
                  [packs.kubernets]\nenforcement = \"hard-mandatory\"\n";
    let dir = project(LATEST_TAG, Some(config));
    let (code, report) = scan(&dir, &[]);
    assert_eq!(code, 2, "{report:#}");
    let errors = errors(&report);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].starts_with("[packs.kubernets]: no loaded pack is called `kubernets` (loaded: ")
            && errors[0].contains("kubernetes"),
        "{errors:#?}"
    );
    assert_eq!(
        errors[1],
        "[rules.\"k8s/image-lastest-tag\"]: no loaded rule has this id (see `palisade rules`)"
    );
    assert!(
        report["errors"][0]["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("palisade.toml")),
        "{report:#}"
    );
    // A pack disabled in the config still declares its rules.
    let disabled =
        "[packs.kubernetes]\nenabled = false\n[rules.\"k8s/run-as-root\"]\nenabled = false\n";
    let (code, report) = scan(&project(LATEST_TAG, Some(disabled)), &[]);
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn rules_and_explain_show_the_severity_and_enforcement_the_config_sets() {
    let dir = project(
        LATEST_TAG,
        Some(
            "[packs.kubernetes]\nenforcement = \"hard-mandatory\"\n\
             [rules.\"k8s/image-latest-tag\"]\nseverity = \"high\"\nenforcement = \"advisory\"\n",
        ),
    );
    let config = dir.path().join("palisade.toml");
    let output = palisade()
        .args(["rules", "--config"])
        .arg(&config)
        .output()
        .expect("palisade runs");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let row = |rule: &str| -> Vec<String> {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{rule} ")))
            .unwrap_or_else(|| panic!("{rule} is listed:\n{stdout}"))
            .split_whitespace()
            .take(3)
            .map(str::to_string)
            .collect()
    };
    assert!(
        stdout.starts_with("RULE")
            && stdout
                .lines()
                .next()
                .is_some_and(|h| h.contains("ENFORCEMENT"))
    );
    assert_eq!(row(RULE), [RULE, "high", "advisory"]);
    assert_eq!(
        row("k8s/privileged-container"),
        ["k8s/privileged-container", "critical", "hard-mandatory"]
    );
    assert_eq!(
        row("docker/run-as-root")[2],
        "soft-mandatory",
        "other packs keep the default"
    );
    palisade()
        .args(["explain", RULE, "--config"])
        .arg(&config)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "severity: high   enforcement: advisory   pack: kubernetes",
        ));
}
