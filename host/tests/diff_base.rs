//! `--diff-base`: only findings on what changed since a git revision, on real git repositories
//! built here with the real `git` (the product reads them with gitoxide).

mod support;

use std::path::Path;
use std::process::Command;

use support::{finding_lines, palisade, scan_json, tree};

/// A Deployment with findings on several lines: the image tag on line 12, privileged on 15.
const WEB: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.25
          securityContext:
            runAsUser: 0
            privileged: true
";

/// Another workload, left untouched by the change.
const WORKER: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: worker
  namespace: jobs
spec:
  hostNetwork: true
  containers:
    - name: worker
      image: busybox
";

/// A new file in the change, with a finding.
const NEW: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: ops
spec:
  containers:
    - name: debug
      image: alpine:3.20
      securityContext:
        privileged: true
";

/// Runs git in `dir` with a fixed identity and no user or system config; panics with its
/// output when it fails.
fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Palisade Test",
            "-c",
            "user.email=test@example.com",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap_or_else(|e| panic!("the git CLI is needed to build test repositories: {e}"));
    assert!(
        output.status.success(),
        "git {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A repository with `deploy/web.yaml` and `deploy/worker.yaml` committed on `main`, a branch
/// `base` at that commit, then the working tree changed: `replicas` changed (fixing nothing),
/// the image moved to `latest` (a new finding on line 12), and `deploy/new.yaml` added.
fn changed_repository() -> tempfile::TempDir {
    let dir = tree(&[("deploy/web.yaml", WEB), ("deploy/worker.yaml", WORKER)]);
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "initial"]);
    git(dir.path(), &["branch", "base"]);
    let web = WEB
        .replace("replicas: 2", "replicas: 3")
        .replace("nginx:1.25", "nginx:latest");
    std::fs::write(dir.path().join("deploy/web.yaml"), web).expect("write");
    std::fs::write(dir.path().join("deploy/new.yaml"), NEW).expect("write");
    dir
}

/// The findings expected on the change: the new `latest` tag, and all of the new file.
fn assert_only_the_change(report: &serde_json::Value, prefix: &str) {
    let lines = finding_lines(report);
    assert!(
        lines.contains(&(
            "k8s/image-latest-tag".to_string(),
            format!("{prefix}web.yaml"),
            12
        )),
        "the finding on the changed line is reported: {lines:#?}"
    );
    assert!(
        lines.contains(&(
            "k8s/privileged-container".to_string(),
            format!("{prefix}new.yaml"),
            11
        )),
        "the new file's findings are reported: {lines:#?}"
    );
    for (rule, file, line) in &lines {
        let on_change = (file == &format!("{prefix}web.yaml") && *line == 12)
            || file == &format!("{prefix}new.yaml");
        assert!(on_change, "{rule} at {file}:{line} is not on the change");
    }
}

#[test]
fn only_findings_on_changed_lines_and_new_files_are_reported() {
    let repo = changed_repository();
    let (full_code, full, _) = scan_json(&["deploy"], repo.path());
    assert_eq!(full_code, 1);
    let total = full["findings"].as_array().expect("findings").len();

    let (code, report, stderr) = scan_json(&["deploy", "--diff-base", "HEAD"], repo.path());
    assert_eq!(code, 1, "{stderr}");
    assert_only_the_change(&report, "deploy/");
    let reported = report["findings"].as_array().expect("findings").len();
    let outside = report["summary"]["outside_diff"]
        .as_u64()
        .expect("outside_diff is counted");
    assert!(outside > 0, "the unchanged findings exist: {full:#}");
    assert_eq!(reported + outside as usize, total, "nothing is lost");
    assert_eq!(
        report["summary"]["findings"].as_u64(),
        Some(reported as u64)
    );
    // Every resource was still evaluated.
    assert_eq!(report["summary"]["resources"], full["summary"]["resources"]);
    // Without the flag the count is absent rather than zero.
    assert!(full["summary"].get("outside_diff").is_none());
}

#[test]
fn a_branch_name_compares_with_the_branch_and_committed_changes_count() {
    let repo = changed_repository();
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "the change"]);
    let (code, report, stderr) = scan_json(&["deploy", "--diff-base", "base"], repo.path());
    assert_eq!(code, 1, "{stderr}");
    assert_only_the_change(&report, "deploy/");
    // An annotated tag and a relative revision name the same commit.
    git(
        repo.path(),
        &["tag", "-a", "v1.0.0", "-m", "release", "base"],
    );
    for rev in ["v1.0.0", "HEAD~1"] {
        let (code, report, stderr) = scan_json(&["deploy", "--diff-base", rev], repo.path());
        assert_eq!(code, 1, "{rev}: {stderr}");
        assert_only_the_change(&report, "deploy/");
    }

    // Against HEAD the committed change is no change at all.
    let (code, report, stderr) = scan_json(&["deploy", "--diff-base", "HEAD"], repo.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(report["findings"].as_array().expect("findings").is_empty());
    assert!(report["summary"]["outside_diff"].as_u64() > Some(0));
}

#[test]
fn paths_map_to_the_repository_from_a_subdirectory_and_with_dot_slash() {
    let repo = changed_repository();
    let deploy = repo.path().join("deploy");
    let (code, report, stderr) = scan_json(&[".", "--diff-base", "HEAD"], &deploy);
    assert_eq!(code, 1, "{stderr}");
    assert_only_the_change(&report, "./");

    let (code, report, stderr) = scan_json(&["./deploy", "--diff-base", "base"], repo.path());
    assert_eq!(code, 1, "{stderr}");
    assert_only_the_change(&report, "./deploy/");

    // A file named from outside the repository, by its absolute path.
    let outside = tempfile::tempdir().expect("temp dir");
    let web = deploy.join("web.yaml");
    let (code, report, stderr) = scan_json(
        &[web.to_str().expect("UTF-8 path"), "--diff-base", "HEAD"],
        outside.path(),
    );
    assert_eq!(code, 1, "{stderr}");
    let lines = finding_lines(&report);
    assert_eq!(
        lines,
        [(
            "k8s/image-latest-tag".to_string(),
            web.display().to_string(),
            12
        )]
    );
}

#[test]
fn removing_a_line_reports_the_findings_of_its_resource() {
    let repo = changed_repository();
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "the change"]);
    // Dropping `runAsUser: 0` fixes one finding but the gap is inside the Deployment, whose
    // findings then all count as changed; the untouched Pod's do not.
    let web = std::fs::read_to_string(repo.path().join("deploy/web.yaml")).expect("read");
    std::fs::write(
        repo.path().join("deploy/web.yaml"),
        web.replace("            runAsUser: 0\n", ""),
    )
    .expect("write");
    let (_, report, stderr) = scan_json(&["deploy", "--diff-base", "HEAD"], repo.path());
    let lines = finding_lines(&report);
    assert!(
        lines
            .iter()
            .any(|(rule, file, line)| rule == "k8s/privileged-container"
                && file == "deploy/web.yaml"
                && *line == 14),
        "{lines:#?}\n{stderr}"
    );
    assert!(
        lines.iter().all(|(_, file, _)| file == "deploy/web.yaml"),
        "{lines:#?}"
    );
}

#[test]
fn a_file_moved_unchanged_has_no_changed_lines() {
    let repo = changed_repository();
    git(
        repo.path(),
        &["mv", "deploy/worker.yaml", "deploy/moved.yaml"],
    );
    let (_, report, stderr) = scan_json(&["deploy", "--diff-base", "HEAD"], repo.path());
    let lines = finding_lines(&report);
    assert!(
        lines.iter().all(|(_, file, _)| file != "deploy/moved.yaml"),
        "{lines:#?}\n{stderr}"
    );
    assert_only_the_change(&report, "deploy/");
}

#[test]
fn the_text_report_counts_what_is_outside_the_diff() {
    let repo = changed_repository();
    palisade()
        .current_dir(repo.path())
        .args(["scan", "deploy", "--diff-base", "HEAD"])
        .assert()
        .code(1)
        .stdout(
            predicates::str::is_match(r"\d+ findings? \(.*\), \d+ outside the diff · ")
                .expect("regex"),
        );
}

#[test]
fn a_directory_outside_git_is_a_clear_error() {
    let dir = tree(&[("deploy/web.yaml", WEB)]);
    palisade()
        .current_dir(dir.path())
        .args(["scan", "deploy", "--diff-base", "HEAD"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::contains(
            "--diff-base HEAD: deploy is not in a git repository",
        ));
}

#[test]
fn an_unknown_revision_is_a_clear_error() {
    let repo = changed_repository();
    palisade()
        .current_dir(repo.path())
        .args(["scan", "deploy", "--diff-base", "no-such-branch"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::contains(
            "--diff-base no-such-branch: not a commit, branch or tag of the git repository at",
        ));
}

#[test]
fn image_findings_have_no_lines_and_are_always_reported() {
    let repo = changed_repository();
    copy_dir(
        &support::workspace().join("examples/image/layout"),
        &repo.path().join("layout"),
    );
    git(repo.path(), &["add", "-A"]);
    git(
        repo.path(),
        &["commit", "-q", "-m", "the image, unchanged from now on"],
    );
    let (code, report, stderr) = scan_json(
        &[
            "deploy",
            "--image",
            "oci:layout:demo",
            "--diff-base",
            "HEAD",
        ],
        repo.path(),
    );
    assert_eq!(code, 1, "{stderr}");
    let findings = report["findings"].as_array().expect("findings");
    assert!(
        findings
            .iter()
            .any(|f| f["rule"] == "image/run-as-root" && f["line"] == 0),
        "{report:#}"
    );
    assert!(
        findings.iter().all(|f| f["line"] == 0),
        "the manifests did not change since HEAD: {report:#}"
    );
    assert!(report["summary"]["outside_diff"].as_u64() > Some(0));
}

/// Copies a directory tree of regular files.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn a_revision_that_is_not_a_commit_is_refused() {
    let repo = changed_repository();
    // A subtree would otherwise be compared as if it were the repository's root.
    palisade()
        .current_dir(repo.path())
        .args(["scan", "deploy", "--diff-base", "HEAD:deploy"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--diff-base HEAD:deploy: it names no commit",
        ));
}

#[test]
fn a_missing_scan_path_is_reported_as_such_and_the_repository_is_still_found() {
    let repo = changed_repository();
    let (code, report, stderr) = scan_json(
        &["deploy/gone.yaml", "deploy", "--diff-base", "HEAD"],
        repo.path(),
    );
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(report["errors"][0]["file"], "deploy/gone.yaml");
    assert!(report["summary"]["outside_diff"].as_u64() > Some(0));
}
