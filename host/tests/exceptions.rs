//! Exceptions through the real binary on files written in temporary directories: inline
//! `palisade:ignore` comments (YAML, HCL, Dockerfile), `palisade.toml` waivers, and baselines.

mod support;

use std::path::Path;

use serde_json::Value;
use support::{PRIVILEGED_DEPLOYMENT, palisade, scan_json, tree};

/// A day relative to today (UTC), as a TOML date.
fn day(offset: i64) -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(offset)).to_string()
}

/// The findings of a JSON report with this rule in this file.
fn findings<'a>(report: &'a Value, rule: &str, file: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == rule && f["file"] == file)
        .collect()
}

/// The one finding of a rule in a file.
fn finding<'a>(report: &'a Value, rule: &str, file: &str) -> &'a Value {
    let found = findings(report, rule, file);
    assert_eq!(found.len(), 1, "one {rule} in {file}: {report:#}");
    found[0]
}

/// `(rule, file, line)` of the findings that count.
fn active(report: &Value) -> Vec<(String, String, u64)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f.get("suppression").is_none())
        .map(|f| {
            (
                f["rule"].as_str().expect("rule").to_string(),
                f["file"].as_str().expect("file").to_string(),
                f["line"].as_u64().expect("line"),
            )
        })
        .collect()
}

fn warnings(report: &Value) -> Vec<(Option<&str>, Option<u64>, &str)> {
    report["warnings"]
        .as_array()
        .expect("warnings array")
        .iter()
        .map(|w| {
            (
                w["file"].as_str(),
                w["line"].as_u64(),
                w["message"].as_str().expect("message"),
            )
        })
        .collect()
}

/// A privileged Deployment named `name` in namespace `prod` (privileged at line 12).
fn deployment(name: &str) -> String {
    PRIVILEGED_DEPLOYMENT.replace("name: web", &format!("name: {name}"))
}

fn waiver(rule: &str, scope: &str, expires: &str) -> String {
    format!(
        "[[waivers]]\nrule = \"{rule}\"\n{scope}\nowner = \"shop-team@example.com\"\nreason = \"Vendor image; ticket SEC-123\"\nexpires = {expires}\n"
    )
}

#[test]
fn a_waiver_by_resource_id_suppresses_that_resource_and_json_shows_who_and_until_when() {
    let expires = day(365);
    let dir = tree(&[
        ("web.yaml", &deployment("web")),
        ("api.yaml", &deployment("api")),
        (
            "palisade.toml",
            &format!(
                "# exceptions\n\n{}",
                waiver(
                    "k8s/privileged-container",
                    "resource = \"Deployment/prod/web\"",
                    &expires
                )
            ),
        ),
    ]);
    let (code, report, stderr) = scan_json(&[".", "--fail-on", "critical"], dir.path());
    assert_eq!(code, 1, "the api Deployment still fails: {stderr}");
    assert_eq!(
        finding(&report, "k8s/privileged-container", "./web.yaml")["suppression"],
        serde_json::json!({
            "kind": "waiver",
            "reason": "Vendor image; ticket SEC-123",
            "owner": "shop-team@example.com",
            "expires": expires,
            "source": "palisade.toml:3",
        })
    );
    assert!(
        finding(&report, "k8s/privileged-container", "./api.yaml")
            .get("suppression")
            .is_none()
    );
    // Only the rule it names is waived.
    assert!(
        findings(&report, "k8s/privilege-escalation", "./web.yaml")
            .iter()
            .all(|f| f.get("suppression").is_none())
    );
    assert_eq!(report["summary"]["suppressed"], 1);
    assert!(warnings(&report).is_empty());

    // The waived resource alone no longer fails a critical gate.
    let (code, report, _) = scan_json(&["web.yaml", "--fail-on", "critical"], dir.path());
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["summary"]["by_severity"]["critical"], 0);
}

#[test]
fn a_waiver_by_path_glob_covers_the_files_it_matches_and_no_others() {
    let dir = tree(&[
        ("legacy/web.yaml", &deployment("web")),
        ("legacy/shop/cart.yaml", &deployment("cart")),
        ("apps/api.yaml", &deployment("api")),
        (
            "palisade.toml",
            &waiver("k8s/privileged-container", "path = \"legacy/**\"", &day(30)),
        ),
    ]);
    let (_, report, stderr) = scan_json(&["."], dir.path());
    for file in ["./legacy/web.yaml", "./legacy/shop/cart.yaml"] {
        let f = finding(&report, "k8s/privileged-container", file);
        assert_eq!(f["suppression"]["kind"], "waiver", "{file}: {stderr}");
    }
    assert!(
        finding(&report, "k8s/privileged-container", "./apps/api.yaml")
            .get("suppression")
            .is_none()
    );
    // Scanning a subdirectory names files differently; the glob sees them the same way.
    let (_, report, _) = scan_json(&["legacy/shop"], dir.path());
    assert_eq!(
        finding(&report, "k8s/privileged-container", "legacy/shop/cart.yaml")["suppression"]["kind"],
        "waiver"
    );
}

#[test]
fn an_expired_waiver_warns_and_suppresses_nothing() {
    let expired = day(-1);
    let dir = tree(&[
        ("web.yaml", PRIVILEGED_DEPLOYMENT),
        (
            "palisade.toml",
            &waiver(
                "k8s/privileged-container",
                "resource = \"Deployment/prod/web\"",
                &expired,
            ),
        ),
    ]);
    let (code, report, _) = scan_json(&[".", "--fail-on", "critical"], dir.path());
    assert_eq!(code, 1, "the finding counts again");
    assert!(
        finding(&report, "k8s/privileged-container", "./web.yaml")
            .get("suppression")
            .is_none()
    );
    let warned = warnings(&report);
    assert_eq!(warned.len(), 1, "{warned:?}");
    let (file, line, message) = warned[0];
    assert_eq!((file, line), (Some("palisade.toml"), Some(1)));
    for part in [
        "waiver of `k8s/privileged-container` for resource `Deployment/prod/web`",
        "shop-team@example.com",
        &format!("expired on {expired}"),
        "1 finding it covered counts again",
    ] {
        assert!(message.contains(part), "{part:?} in {message}");
    }

    // The text report shows it too, and the warning does not change the exit code.
    let output = palisade()
        .current_dir(dir.path())
        .args(["scan", ".", "--fail-on", "critical"])
        .output()
        .expect("palisade runs");
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(&format!("warnings:\n  palisade.toml:1: {message}\n")),
        "{text}"
    );
    assert!(text.contains(", 1 warning · "), "{text}");

    // Code scanning and the PR comment see it as well.
    let sarif = dir.path().join("report.sarif");
    let markdown = dir.path().join("comment.md");
    let output = palisade()
        .current_dir(dir.path())
        .args(["scan", ".", "--fail-on", "critical", "--output"])
        .arg(format!("sarif={}", sarif.display()))
        .arg("--output")
        .arg(format!("markdown={}", markdown.display()))
        .output()
        .expect("palisade runs");
    assert_eq!(output.status.code(), Some(1));
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).expect("sarif")).expect("JSON");
    let notifications = &sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"];
    assert_eq!(notifications[0]["level"], "warning", "{notifications}");
    assert_eq!(notifications[0]["message"]["text"], message);
    let markdown = std::fs::read_to_string(&markdown).expect("markdown");
    assert!(markdown.contains("### Warnings"), "{markdown}");
}

#[test]
fn a_waiver_without_reason_owner_or_expiry_is_refused_when_the_config_loads() {
    let complete = waiver(
        "k8s/privileged-container",
        "resource = \"Deployment/prod/web\"",
        &day(30),
    );
    for (drop, expected) in [
        ("reason = ", "`reason` is required"),
        ("owner = ", "`owner` is required"),
        ("expires = ", "`expires` is required"),
        ("resource = ", "give `resource` (a resource id) or `path`"),
    ] {
        let config: String = format!("fail-on = \"high\"\n\n{complete}")
            .lines()
            .filter(|l| !l.starts_with(drop))
            .map(|l| format!("{l}\n"))
            .collect();
        let dir = tree(&[
            ("web.yaml", PRIVILEGED_DEPLOYMENT),
            ("palisade.toml", &config),
        ]);
        let output = palisade()
            .current_dir(dir.path())
            .args(["scan", ".", "--format", "json"])
            .output()
            .expect("palisade runs");
        assert_eq!(output.status.code(), Some(2), "{drop}");
        assert!(output.stdout.is_empty(), "no report from a refused config");
        let stderr = String::from_utf8_lossy(&output.stderr);
        for part in [
            "palisade.toml",
            "line 3",
            "waiver of `k8s/privileged-container`",
            "is refused",
            expected,
        ] {
            assert!(stderr.contains(part), "{drop}: {part:?} in {stderr}");
        }
    }
}

#[test]
fn inline_suppressions_in_yaml_cover_their_line_the_line_below_or_the_whole_resource() {
    let manifest = "\
# palisade:ignore k8s/run-as-root, k8s/seccomp-unconfined -- vendor image; ticket SEC-7
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  template:
    spec:
      containers:
        - name: web
          securityContext:
            # palisade:ignore k8s/privileged-container -- CNI agent needs the host network
            privileged: true
        - name: debug
          securityContext:
            privileged: true # palisade:ignore k8s/privileged-container -- debug sidecar, SEC-8
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: prod
spec:
  template:
    spec:
      containers:
        - name: api
          securityContext:
            privileged: true
";
    let dir = tree(&[("web.yaml", manifest)]);
    let (_, report, stderr) = scan_json(&["."], dir.path());
    assert!(
        report["errors"].as_array().expect("errors").is_empty(),
        "{stderr}"
    );
    assert!(warnings(&report).is_empty(), "{report:#}");
    let by_line = |line: u64| {
        findings(&report, "k8s/privileged-container", "./web.yaml")
            .into_iter()
            .find(|f| f["line"] == line)
            .unwrap_or_else(|| panic!("a privileged finding on line {line}: {report:#}"))
            .clone()
    };
    assert_eq!(
        by_line(14)["suppression"],
        serde_json::json!({
            "kind": "inline",
            "reason": "CNI agent needs the host network",
            "source": "./web.yaml:13",
        })
    );
    assert_eq!(by_line(17)["suppression"]["source"], "./web.yaml:17");
    assert_eq!(by_line(17)["suppression"]["reason"], "debug sidecar, SEC-8");
    assert!(
        by_line(30).get("suppression").is_none(),
        "the api is not covered"
    );

    // On the resource's first line: every finding of that resource for the rules named.
    for rule in ["k8s/run-as-root", "k8s/seccomp-unconfined"] {
        let (web, api): (Vec<&Value>, Vec<&Value>) = findings(&report, rule, "./web.yaml")
            .into_iter()
            .partition(|f| f["resource"] == "Deployment/prod/web");
        assert_eq!(web.len(), 2, "{rule} for both containers: {report:#}");
        for f in web {
            assert_eq!(f["suppression"]["source"], "./web.yaml:1", "{rule}");
        }
        assert!(api.iter().all(|f| f.get("suppression").is_none()), "{rule}");
    }
    assert!(
        findings(&report, "k8s/privilege-escalation", "./web.yaml")
            .iter()
            .all(|f| f.get("suppression").is_none()),
        "rules not named are not suppressed"
    );
}

#[test]
fn inline_suppressions_in_hcl_with_hash_slashes_and_block_comments() {
    let main = "\
# palisade:ignore aws/sg-open-ingress -- bastion, reachable only through the VPN
resource \"aws_security_group\" \"bastion\" {
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = \"tcp\"
    cidr_blocks = [\"0.0.0.0/0\"]
  }
  ingress {
    from_port   = 3389
    to_port     = 3389
    protocol    = \"tcp\"
    cidr_blocks = [\"0.0.0.0/0\"]
  }
}

resource \"aws_security_group\" \"admin\" {
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = \"tcp\"
    cidr_blocks = [\"0.0.0.0/0\"] // palisade:ignore aws/sg-open-ingress -- office NAT, SEC-9
  }
  ingress {
    from_port   = 3389
    to_port     = 3389
    protocol    = \"tcp\"
    /* palisade:ignore aws/sg-open-ingress -- jump host RDP, SEC-10 */
    cidr_blocks = [\"0.0.0.0/0\"]
  }
}

resource \"aws_security_group\" \"db\" {
  ingress {
    from_port   = 5432
    to_port     = 5432
    protocol    = \"tcp\"
    cidr_blocks = [\"0.0.0.0/0\"]
  }
}
";
    let dir = tree(&[("infra/main.tf", main)]);
    let (code, report, stderr) = scan_json(&["."], dir.path());
    assert!(
        report["errors"].as_array().expect("errors").is_empty(),
        "{stderr}"
    );
    assert!(warnings(&report).is_empty(), "{report:#}");
    let sources: Vec<(u64, Option<&str>)> =
        findings(&report, "aws/sg-open-ingress", "./infra/main.tf")
            .into_iter()
            .map(|f| {
                (
                    f["line"].as_u64().expect("line"),
                    f["suppression"]["source"].as_str(),
                )
            })
            .collect();
    assert_eq!(
        sources,
        vec![
            (7, Some("./infra/main.tf:1")),
            (13, Some("./infra/main.tf:1")),
            (22, Some("./infra/main.tf:22")),
            (29, Some("./infra/main.tf:28")),
            (38, None),
        ]
    );
    assert_eq!(code, 1, "the database stays open to the world");
}

#[test]
fn inline_suppressions_in_dockerfile_comments() {
    let dockerfile = "\
# palisade:ignore docker/run-as-root -- the entrypoint drops to uid 1000 itself
FROM debian:12
# palisade:ignore docker/curl-pipe-shell -- vendor installer, pinned by checksum
RUN curl -fsSL https://example.com/install.sh | sh
RUN curl -fsSL https://example.com/other.sh | sh
";
    let dir = tree(&[("Dockerfile", dockerfile)]);
    let (_, report, stderr) = scan_json(&["."], dir.path());
    assert!(warnings(&report).is_empty(), "{report:#} {stderr}");
    assert_eq!(
        finding(&report, "docker/run-as-root", "./Dockerfile")["suppression"]["source"],
        "./Dockerfile:1"
    );
    let curls: Vec<(u64, Option<&str>)> =
        findings(&report, "docker/curl-pipe-shell", "./Dockerfile")
            .into_iter()
            .map(|f| {
                (
                    f["line"].as_u64().expect("line"),
                    f["suppression"]["kind"].as_str(),
                )
            })
            .collect();
    assert_eq!(curls, vec![(4, Some("inline")), (5, None)]);
    assert!(
        active(&report)
            .iter()
            .any(|(rule, _, _)| rule == "docker/missing-healthcheck")
    );
}

#[test]
fn a_suppression_without_a_reason_is_an_error_at_its_line_and_suppresses_nothing() {
    let manifest = PRIVILEGED_DEPLOYMENT.replace(
        "privileged: true",
        "privileged: true # palisade:ignore k8s/privileged-container",
    );
    let dir = tree(&[("web.yaml", &manifest)]);
    let (code, report, _) = scan_json(&["."], dir.path());
    assert_eq!(code, 2);
    let errors = report["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["file"], "./web.yaml");
    assert_eq!(errors[0]["line"], 12);
    assert!(
        errors[0]["message"]
            .as_str()
            .expect("message")
            .contains("`palisade:ignore k8s/privileged-container` has no reason"),
        "{errors:#?}"
    );
    assert!(
        finding(&report, "k8s/privileged-container", "./web.yaml")
            .get("suppression")
            .is_none()
    );

    // The text report names the file and line.
    let output = palisade()
        .current_dir(dir.path())
        .args(["scan", "."])
        .output()
        .expect("palisade runs");
    assert_eq!(output.status.code(), Some(2));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("errors:\n  ./web.yaml:12: `palisade:ignore"),
        "{text}"
    );
}

#[test]
fn an_unused_suppression_is_a_warning_and_leaves_the_exit_code_alone() {
    let manifest = PRIVILEGED_DEPLOYMENT
        .replace(
            "privileged: true",
            "privileged: true # palisade:ignore k8s/privileged-container -- CNI agent",
        )
        .replace(
            "  name: web\n",
            "  name: web # palisade:ignore k8s/host-namespaces -- stale\n",
        )
        + "# palisade:ignore k8s/no-such-rule -- typo\n";
    let dir = tree(&[("web.yaml", &manifest)]);
    let (code, report, _) = scan_json(&[".", "--fail-on", "critical"], dir.path());
    assert_eq!(code, 0, "warnings never fail a scan: {report:#}");
    assert!(report["errors"].as_array().expect("errors").is_empty());
    let warned = warnings(&report);
    assert_eq!(warned.len(), 2, "{warned:#?}");
    assert_eq!((warned[0].0, warned[0].1), (Some("./web.yaml"), Some(4)));
    assert!(
        warned[0]
            .2
            .contains("unused suppression: no `k8s/host-namespaces` finding is on line 4"),
        "{}",
        warned[0].2
    );
    assert_eq!((warned[1].0, warned[1].1), (Some("./web.yaml"), Some(13)));
    assert!(
        warned[1]
            .2
            .contains("`palisade:ignore k8s/no-such-rule` names no loaded rule"),
        "{}",
        warned[1].2
    );
}

#[test]
fn inline_comes_before_waivers_which_come_before_the_baseline() {
    let dir = tree(&[("web.yaml", PRIVILEGED_DEPLOYMENT)]);
    let output = palisade()
        .current_dir(dir.path())
        .args(["baseline", "create", "."])
        .output()
        .expect("palisade runs");
    assert_eq!(output.status.code(), Some(0), "{output:?}");

    std::fs::write(
        dir.path().join("web.yaml"),
        PRIVILEGED_DEPLOYMENT.replace(
            "privileged: true",
            "privileged: true # palisade:ignore k8s/privileged-container -- CNI agent",
        ),
    )
    .expect("write");
    let waivers = [
        waiver("k8s/privileged-container", "path = \"*.yaml\"", &day(30)),
        waiver("k8s/run-as-root", "path = \"*.yaml\"", &day(30)),
    ]
    .join("\n");
    std::fs::write(dir.path().join("palisade.toml"), waivers).expect("write");
    let (code, report, _) = scan_json(&[".", "--baseline", "palisade-baseline.json"], dir.path());
    assert_eq!(code, 0, "{report:#}");
    let kind = |rule: &str| {
        finding(&report, rule, "./web.yaml")["suppression"]["kind"]
            .as_str()
            .expect("suppressed")
            .to_string()
    };
    assert_eq!(kind("k8s/privileged-container"), "inline");
    assert_eq!(kind("k8s/run-as-root"), "waiver");
    assert_eq!(kind("k8s/privilege-escalation"), "baseline");
    assert!(warnings(&report).is_empty(), "{report:#}");
}

fn baseline_create(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = palisade()
        .current_dir(dir)
        .args(["baseline", "create"])
        .args(args)
        .output()
        .expect("palisade runs");
    (
        output.status.code().expect("exited"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const OPEN_SSH: &str = "\
resource \"aws_security_group\" \"ssh\" {
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = \"tcp\"
    cidr_blocks = [\"0.0.0.0/0\"]
  }
}
";

#[test]
fn a_baseline_hides_known_findings_through_line_shifts_and_reports_only_new_ones() {
    let dir = tree(&[
        ("deploy/web.yaml", PRIVILEGED_DEPLOYMENT),
        ("infra/main.tf", OPEN_SSH),
    ]);
    let (_, before, _) = scan_json(&["."], dir.path());
    let known = before["summary"]["findings"].as_u64().expect("count");
    assert!(known > 5, "{before:#}");

    let (code, stdout, stderr) = baseline_create(dir.path(), &["."]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        format!("wrote palisade-baseline.json ({known} findings)\n")
    );
    let written = std::fs::read_to_string(dir.path().join("palisade-baseline.json"))
        .expect("the default file");
    let document: Value = serde_json::from_str(&written).expect("JSON");
    assert_eq!(document["version"], 1);
    let entries = document["findings"].as_array().expect("findings");
    assert_eq!(entries.len() as u64, known);
    let keys: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            let fields: Vec<&str> = e
                .as_object()
                .expect("entry")
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(
                fields,
                ["file", "fingerprint", "message", "resource", "rule"]
            );
            (
                e["file"].as_str().expect("file").to_string(),
                e["rule"].as_str().expect("rule").to_string(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "sorted by file, then rule");
    assert!(
        keys.iter()
            .any(|(file, rule)| file == "infra/main.tf" && rule == "aws/sg-open-ingress")
    );
    assert!(keys.iter().all(|(file, _)| !file.starts_with("./")));

    let scan = |dir: &Path| scan_json(&[".", "--baseline", "palisade-baseline.json"], dir);
    let (code, report, stderr) = scan(dir.path());
    assert_eq!(code, 0, "nothing new: {stderr}");
    assert_eq!(report["summary"]["findings"], 0);
    assert_eq!(report["summary"]["suppressed"].as_u64(), Some(known));
    let f = finding(&report, "aws/sg-open-ingress", "./infra/main.tf");
    assert_eq!(
        f["suppression"],
        serde_json::json!({
            "kind": "baseline",
            "reason": "known when the baseline was created",
            "source": "palisade-baseline.json",
        })
    );

    // Lines move above every finding: still nothing new.
    let web = dir.path().join("deploy/web.yaml");
    let main = dir.path().join("infra/main.tf");
    std::fs::write(
        &web,
        format!("# The web tier.\n\n# Owned by shop.\n{PRIVILEGED_DEPLOYMENT}"),
    )
    .expect("write");
    std::fs::write(
        &main,
        format!("locals {{\n  team = \"shop\"\n}}\n\n{OPEN_SSH}"),
    )
    .expect("write");
    let (code, report, stderr) = scan(dir.path());
    assert_eq!(code, 0, "{stderr} {report:#}");
    assert_eq!(report["summary"]["findings"], 0);
    assert_eq!(
        finding(&report, "aws/sg-open-ingress", "./infra/main.tf")["line"],
        10,
        "the finding did move"
    );
    assert_eq!(
        finding(&report, "k8s/privileged-container", "./deploy/web.yaml")["line"],
        15
    );
    // A baseline made now is the same file: no line is recorded.
    let (code, _, stderr) = baseline_create(dir.path(), &[".", "--output", "again.json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("again.json")).expect("written"),
        written
    );

    // A new problem: only it is reported.
    let with_host_network = std::fs::read_to_string(&web).expect("read").replace(
        "    spec:\n      containers:",
        "    spec:\n      hostNetwork: true\n      containers:",
    );
    std::fs::write(&web, with_host_network).expect("write");
    let (code, report, _) = scan(dir.path());
    assert_eq!(code, 1);
    assert_eq!(
        active(&report),
        vec![(
            "k8s/host-namespaces".to_string(),
            "./deploy/web.yaml".to_string(),
            12
        )]
    );
    assert_eq!(report["summary"]["suppressed"].as_u64(), Some(known));
}

#[test]
fn a_missing_or_malformed_baseline_is_an_error() {
    let dir = tree(&[
        ("web.yaml", PRIVILEGED_DEPLOYMENT),
        (
            "broken.json",
            "{\"version\": 1, \"findings\": [{\"rule\": 1}]}",
        ),
        ("future.json", "{\"version\": 7, \"findings\": []}"),
    ]);
    for (file, expected) in [
        ("missing.json", "baseline missing.json: cannot read"),
        ("broken.json", "baseline broken.json: malformed"),
        (
            "future.json",
            "baseline future.json: version 7 is not supported",
        ),
    ] {
        let output = palisade()
            .current_dir(dir.path())
            .args(["scan", ".", "--baseline", file])
            .output()
            .expect("palisade runs");
        assert_eq!(output.status.code(), Some(2), "{file}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{file}: {stderr}");
        assert!(
            output.stdout.is_empty(),
            "no report without the baseline asked for"
        );
    }
}

#[test]
fn a_baseline_is_not_written_from_a_scan_with_errors() {
    let dir = tree(&[
        ("web.yaml", PRIVILEGED_DEPLOYMENT),
        (
            "broken.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   namespace: y\n",
        ),
    ]);
    let (code, stdout, stderr) = baseline_create(dir.path(), &["."]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("error: ./broken.yaml:5: invalid YAML"),
        "{stderr}"
    );
    assert!(
        stderr.contains("not writing palisade-baseline.json"),
        "{stderr}"
    );
    assert!(!dir.path().join("palisade-baseline.json").exists());
}

#[test]
fn inline_suppressions_in_cloudformation_yaml_cover_a_resource_by_its_logical_id() {
    let template = "\
AWSTemplateFormatVersion: \"2010-09-09\"
Resources:
  # palisade:ignore aws/sg-open-ingress -- public MySQL replica for the partner, SEC-11
  PartnerSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: Partner replica
      SecurityGroupIngress:
        - IpProtocol: tcp
          FromPort: 3306
          ToPort: 3306
          CidrIp: 0.0.0.0/0
  ReportsSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: Reporting database
      SecurityGroupIngress:
        - IpProtocol: tcp
          FromPort: 3306
          ToPort: 3306
          CidrIp: 0.0.0.0/0
";
    let dir = tree(&[("stack.yaml", template)]);
    let (_, report, stderr) = scan_json(&["."], dir.path());
    assert!(warnings(&report).is_empty(), "{report:#} {stderr}");
    let kinds: Vec<(&str, Option<&str>)> = findings(&report, "aws/sg-open-ingress", "./stack.yaml")
        .into_iter()
        .map(|f| {
            (
                f["resource"].as_str().expect("resource"),
                f["suppression"]["source"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            (
                "AWS::EC2::SecurityGroup/PartnerSecurityGroup",
                Some("./stack.yaml:3")
            ),
            ("AWS::EC2::SecurityGroup/ReportsSecurityGroup", None),
        ]
    );
}

#[test]
fn the_library_judges_waivers_on_the_day_it_is_given() {
    let dir = tree(&[
        ("web.yaml", PRIVILEGED_DEPLOYMENT),
        (
            "palisade.toml",
            &waiver(
                "k8s/privileged-container",
                "resource = \"Deployment/prod/web\"",
                "2027-01-31",
            ),
        ),
    ]);
    let scan_on = |day: u8, month: time::Month| {
        palisade::Scan::new([dir.path()])
            .cache_dir(support::cache_dir())
            .today(time::Date::from_calendar_date(2027, month, day).expect("a date"))
            .run()
            .expect("the config loads")
    };
    let privileged = |report: &palisade::ScanReport| {
        report
            .findings
            .iter()
            .find(|f| f.rule == "k8s/privileged-container")
            .expect("the privileged finding")
            .clone()
    };

    let last_day = scan_on(31, time::Month::January);
    let waived = privileged(&last_day);
    let suppression = waived.suppression.expect("waived through its expiry day");
    assert_eq!(
        suppression.kind,
        palisade::findings::SuppressionKind::Waiver
    );
    assert_eq!(suppression.expires.as_deref(), Some("2027-01-31"));
    assert!(last_day.warnings.is_empty(), "{:?}", last_day.warnings);

    let day_after = scan_on(1, time::Month::February);
    assert!(privileged(&day_after).is_active());
    assert_eq!(day_after.warnings.len(), 1, "{:?}", day_after.warnings);
    assert!(
        day_after.warnings[0]
            .message
            .contains("expired on 2027-01-31"),
        "{:?}",
        day_after.warnings
    );
    assert_eq!(day_after.exit_code(), 1);
}
