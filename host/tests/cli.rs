//! The real binary on real files: exit codes, exact lines, errors that lose nothing, reports.

mod support;

use predicates::prelude::*;
use support::{PRIVILEGED_DEPLOYMENT, finding_lines, palisade, scan_json, tree, workspace};

#[test]
fn examples_give_findings_at_exact_lines() {
    let (code, report, stderr) = scan_json(&["examples/"], &workspace());
    assert_eq!(code, 1, "{stderr}");
    let lines = finding_lines(&report);
    for expected in [
        (
            "k8s/privileged-container",
            "examples/kubernetes/web.yaml",
            26,
        ),
        ("k8s/image-latest-tag", "examples/kubernetes/web.yaml", 19),
        // A module input set in terraform.tfvars opens SSH in the local module.
        (
            "aws/sg-open-ingress",
            "examples/terraform/modules/network/main.tf",
            35,
        ),
        // A variable set in terraform.tfvars makes the database public.
        ("aws/rds-public", "examples/terraform/main.tf", 65),
        ("aws/ec2-imdsv1", "examples/terraform/main.tf", 97),
        (
            "aws/sg-open-ingress",
            "examples/cloudformation/storage.yaml",
            73,
        ),
        // A parameter default decides `PubliclyAccessible: !Ref ReportsPublic`.
        ("aws/rds-public", "examples/cloudformation/storage.yaml", 62),
        ("docker/curl-pipe-shell", "examples/docker/Dockerfile", 15),
        ("k8s/secret-in-env", "examples/kubernetes/web.yaml", 24),
        (
            "k8s/host-namespaces",
            "examples/kubernetes/nightly-backup.yaml",
            11,
        ),
    ] {
        let expected = (expected.0.to_string(), expected.1.to_string(), expected.2);
        assert!(
            lines.contains(&expected),
            "missing {expected:?} in {lines:#?}"
        );
    }
    assert!(
        !lines
            .iter()
            .any(|(_, file, _)| file.ends_with("hardened.yaml")),
        "the hardened example must be clean: {lines:#?}"
    );
    assert!(report["errors"].as_array().expect("errors").is_empty());
}

#[test]
fn one_rule_finds_privileged_containers_in_every_workload_kind_at_the_privileged_line() {
    let fixture = "plugins/kubernetes/fixtures/k8s/privileged-container/fail.yaml";
    let text = std::fs::read_to_string(workspace().join(fixture)).expect("fixture");
    let marked: Vec<u64> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("expect: k8s/privileged-container"))
        .map(|(i, l)| {
            assert!(
                l.contains("privileged: true"),
                "marker on a non-privileged line: {l}"
            );
            i as u64 + 1
        })
        .collect();
    for kind in ["kind: CronJob", "kind: Deployment", "kind: Pod"] {
        assert!(text.contains(kind), "the fixture must cover {kind}");
    }
    let (code, report, _) = scan_json(&[fixture], &workspace());
    assert_eq!(code, 1);
    let found: Vec<u64> = finding_lines(&report)
        .into_iter()
        .filter(|(rule, _, _)| rule == "k8s/privileged-container")
        .map(|(_, _, line)| line)
        .collect();
    assert_eq!(found, marked);
    let kinds: std::collections::BTreeSet<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "k8s/privileged-container")
        .map(|f| f["kind"].as_str().expect("kind"))
        .collect();
    assert!(
        kinds.is_superset(
            &[
                "kubernetes/CronJob",
                "kubernetes/Deployment",
                "kubernetes/Pod"
            ]
            .into()
        )
    );
}

#[test]
fn terraform_modules_are_read_through_their_callers_with_inputs_from_tfvars() {
    let (_, report, stderr) = scan_json(&["examples/"], &workspace());
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["file"] == "examples/terraform/modules/network/main.tf")
        .map(|f| f["resource"].as_str().expect("resource"))
        .collect();
    assert!(!ids.is_empty(), "{stderr}");
    assert!(
        ids.iter().all(|id| id.starts_with("module.network.")),
        "the module is not also scanned as a root of its own: {ids:?}"
    );
}

#[test]
fn malformed_terraform_is_an_error_with_its_line_and_the_rest_of_the_module_is_judged() {
    let dir = tree(&[
        (
            "infra/main.tf",
            "resource \"aws_security_group\" \"ssh\" {\n  ingress {\n    from_port   = 22\n    to_port     = 22\n    protocol    = \"tcp\"\n    cidr_blocks = [\"0.0.0.0/0\"]\n  }\n}\n",
        ),
        (
            "infra/broken.tf",
            "locals {\n  a = 1\n}\n\nresource \"aws_s3_bucket\" \"x\" {\n  bucket = \"x\"\n  tags = {\n}\n",
        ),
        ("deploy.yaml", PRIVILEGED_DEPLOYMENT),
    ]);
    let (code, report, _) = scan_json(&["."], dir.path());
    assert_eq!(code, 2, "errors win over findings");
    let errors = report["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["file"], "./infra/broken.tf");
    assert!(errors[0]["line"].as_u64().is_some(), "{errors:#?}");
    let lines = finding_lines(&report);
    assert!(
        lines.contains(&("aws/sg-open-ingress".into(), "./infra/main.tf".into(), 6)),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|(_, file, _)| file == "./deploy.yaml"));
}

#[test]
fn terraform_cycles_and_module_recursion_are_errors_not_hangs() {
    let dir = tree(&[(
        "main.tf",
        "locals {\n  a = local.b\n  b = local.a\n}\n\nmodule \"self\" {\n  source = \"./\"\n}\n\nresource \"aws_kms_key\" \"k\" {\n  description = local.a\n}\n",
    )]);
    let (code, report, _) = scan_json(&["."], dir.path());
    assert_eq!(code, 2);
    let messages: Vec<&str> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["message"].as_str().expect("message"))
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("local.a")),
        "the cycle is named: {messages:#?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("itself") || m.contains("recurs")),
        "the recursion is named: {messages:#?}"
    );
    // The key is judged even so: rotation is off.
    assert!(finding_lines(&report).contains(&(
        "aws/kms-rotation-disabled".into(),
        "./main.tf".into(),
        10
    )));
}

#[test]
fn a_fully_hardened_manifest_has_no_findings() {
    let (code, report, stderr) =
        scan_json(&["plugins/kubernetes/fixtures/hardened.yaml"], &workspace());
    assert_eq!(report["findings"], serde_json::json!([]), "{stderr}");
    assert_eq!(code, 0);
}

#[test]
fn a_malformed_file_is_an_error_and_the_good_files_are_still_reported() {
    let dir = tree(&[
        ("good.yaml", PRIVILEGED_DEPLOYMENT),
        (
            "broken.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   namespace: y\n",
        ),
    ]);
    let (code, report, _) = scan_json(&["."], dir.path());
    assert_eq!(code, 2, "errors win over findings");
    assert_eq!(
        report["errors"],
        serde_json::json!([{
            "file": "./broken.yaml",
            "line": 5,
            "message": "invalid YAML: mapping values are not allowed in this context"
        }])
    );
    assert!(finding_lines(&report).contains(&(
        "k8s/privileged-container".into(),
        "./good.yaml".into(),
        12
    )));
}

#[test]
fn hostile_yaml_gets_a_clear_error_and_the_scan_goes_on() {
    let mut laughs = String::from(
        "apiVersion: v1\nkind: ConfigMap\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for pair in names.windows(2) {
        let refs = vec![format!("*{}", pair[0]); 9].join(",");
        laughs.push_str(&format!("{}: &{} [{refs}]\n", pair[1], pair[1]));
    }
    let deep = format!(
        "apiVersion: v1\nkind: ConfigMap\ndata: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let dir = tree(&[
        ("good.yaml", PRIVILEGED_DEPLOYMENT),
        ("laughs.yaml", &laughs),
        ("deep.yaml", &deep),
    ]);
    // 200 MB without writing 200 MB: a sparse file is enough to trip the size cap.
    let huge = std::fs::File::create(dir.path().join("huge.yaml")).expect("create");
    huge.set_len(200 << 20).expect("set_len");

    let (code, report, _) = scan_json(&["."], dir.path());
    assert_eq!(code, 2);
    let errors: Vec<(String, String)> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["file"].as_str().expect("file").to_string(),
                e["message"].as_str().expect("message").to_string(),
            )
        })
        .collect();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(
        errors[0].0 == "./deep.yaml" && errors[0].1.contains("nesting deeper than"),
        "{errors:#?}"
    );
    assert!(
        errors[1].0 == "./huge.yaml" && errors[1].1.contains("over the 16 MiB limit"),
        "{errors:#?}"
    );
    assert!(
        errors[2].0 == "./laughs.yaml" && errors[2].1.contains("alias"),
        "{errors:#?}"
    );
    assert!(finding_lines(&report).contains(&(
        "k8s/privileged-container".into(),
        "./good.yaml".into(),
        12
    )));
}

#[test]
fn non_kubernetes_files_are_skipped_quietly() {
    let dir = tree(&[
        ("config.yaml", "server:\n  port: 8080\n"),
        ("package.json", "{\"name\": \"x\"}"),
        (
            "tsconfig.json",
            "{\n  // comments are not JSON\n  \"strict\": true,\n}\n",
        ),
        ("README.md", "# hi"),
    ]);
    let (code, report, _) = scan_json(&["."], dir.path());
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["summary"]["resources"], 0);
    assert!(report["errors"].as_array().expect("errors").is_empty());
}

#[test]
fn the_threshold_and_rule_overrides_come_from_palisade_toml() {
    let config = "fail-on = \"critical\"\n\
                  [rules.\"k8s/privileged-container\"]\nseverity = \"high\"\n\
                  [rules.\"k8s/run-as-root\"]\nenabled = false\n";
    let dir = tree(&[
        ("deploy.yaml", PRIVILEGED_DEPLOYMENT),
        ("palisade.toml", config),
    ]);
    let (code, report, _) = scan_json(&["deploy.yaml"], dir.path());
    assert_eq!(code, 0, "nothing reaches critical: {report:#}");
    let findings = report["findings"].as_array().expect("findings");
    assert!(findings.iter().all(|f| f["rule"] != "k8s/run-as-root"));
    let privileged = findings
        .iter()
        .find(|f| f["rule"] == "k8s/privileged-container")
        .expect("still reported");
    assert_eq!(privileged["severity"], "high");
    assert_eq!(report["summary"]["fail_on"], "critical");

    let (code, _, _) = scan_json(&["deploy.yaml", "--fail-on", "high"], dir.path());
    assert_eq!(code, 1, "the flag overrides the config");
}

#[test]
fn a_bad_config_is_an_error_naming_the_file_and_line() {
    let dir = tree(&[
        ("deploy.yaml", PRIVILEGED_DEPLOYMENT),
        ("palisade.toml", "fail-on = \"low\"\n[limit]\n"),
    ]);
    palisade()
        .current_dir(dir.path())
        .args(["scan", "deploy.yaml"])
        .assert()
        .code(2)
        .stderr(
            predicates::str::contains("palisade.toml").and(predicates::str::contains("line 2")),
        );
}

#[test]
fn an_invalid_plugin_file_is_an_error_naming_it() {
    let dir = tree(&[
        ("deploy.yaml", PRIVILEGED_DEPLOYMENT),
        ("fake.wasm", "not wasm"),
    ]);
    let (code, report, _) = scan_json(&["deploy.yaml", "--plugin", "fake.wasm"], dir.path());
    assert_eq!(code, 2);
    assert_eq!(report["errors"][0]["plugin"], "fake.wasm");
    assert!(
        report["errors"][0]["message"]
            .as_str()
            .expect("message")
            .starts_with("cannot be loaded: not a valid WebAssembly component"),
        "{report:#}"
    );
    assert!(finding_lines(&report).contains(&(
        "k8s/privileged-container".into(),
        "deploy.yaml".into(),
        12
    )));
}

#[test]
fn no_default_packs_means_no_rules() {
    let dir = tree(&[("deploy.yaml", PRIVILEGED_DEPLOYMENT)]);
    let (code, report, _) = scan_json(&["deploy.yaml", "--no-default-packs"], dir.path());
    assert_eq!(code, 0);
    assert_eq!(report["summary"]["plugins"], 0);
}

#[test]
fn json_report_format_is_stable() {
    let dir = tree(&[("deploy.yaml", PRIVILEGED_DEPLOYMENT)]);
    let output = palisade()
        .current_dir(dir.path())
        .args(["scan", "deploy.yaml", "--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout).replace(
        &format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION")),
        "\"version\": \"<version>\"",
    );
    insta::assert_snapshot!(stdout);
}

#[test]
fn text_report_shows_file_line_snippet_and_fix() {
    let dir = tree(&[("deploy.yaml", PRIVILEGED_DEPLOYMENT)]);
    let output = palisade()
        .current_dir(dir.path())
        .args(["scan", "deploy.yaml"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8_lossy(&output.stdout));
}

#[test]
fn the_report_can_go_to_a_file() {
    let dir = tree(&[("deploy.yaml", PRIVILEGED_DEPLOYMENT)]);
    palisade()
        .current_dir(dir.path())
        .args([
            "scan",
            "deploy.yaml",
            "--format",
            "json",
            "--output",
            "report.json",
        ])
        .assert()
        .code(1)
        .stdout("");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report.json")).expect("written"),
    )
    .expect("JSON");
    assert!(report["summary"]["findings"].as_u64().expect("count") > 0);
}

#[test]
fn rules_lists_every_pack_with_kinds_and_explain_prints_a_rule() {
    palisade().arg("rules").assert().success().stdout(
        predicates::str::contains("k8s/privileged-container")
            .and(predicates::str::contains("critical"))
            .and(predicates::str::contains("kubernetes"))
            .and(predicates::str::contains("docker/run-as-root"))
            .and(predicates::str::contains("aws/s3-public-access"))
            .and(predicates::str::contains("KINDS"))
            .and(predicates::str::contains("dockerfile/stage")),
    );
    // What, why, an example of the fix, for a rule of each format family.
    palisade()
        .args(["explain", "aws/sg-open-ingress"])
        .assert()
        .success()
        .stdout(
            predicates::str::contains("cloudformation/AWS::EC2::SecurityGroup")
                .and(predicates::str::contains("How to fix"))
                .and(predicates::str::contains("```hcl"))
                .and(predicates::str::contains("\n  cidr_ipv4")),
        );
    palisade()
        .args(["explain", "k8s/privileged-container"])
        .assert()
        .success()
        .stdout(predicates::str::contains("How to fix"));
    palisade()
        .args(["explain", "k8s/no-such-rule"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no loaded rule"));
}

#[test]
fn version_is_printed() {
    palisade()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicates::str::starts_with("palisade 0.1.0"));
}
