//! `palisade init` and the CI configs shipped in the repository: the config it writes parses,
//! it never overwrites by accident, the CI configs are valid YAML of the right shape, and the
//! pre-commit hooks work with the real `pre-commit` in a real git repository.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use palisade::Config;
use support::{PRIVILEGED_DEPLOYMENT, palisade, workspace};
use yaml_rust2::{Yaml, YamlLoader};

fn init(dir: &Path, args: &[&str]) -> Output {
    palisade()
        .current_dir(dir)
        .arg("init")
        .args(args)
        .output()
        .expect("palisade runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn yaml(path: &Path) -> Yaml {
    let source = std::fs::read_to_string(path).expect("written");
    YamlLoader::load_from_str(&source)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}\n{source}", path.display()))
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{} is empty", path.display()))
}

/// The config with every `# key = value` and `# [table]` line uncommented.
fn uncommented(config: &str) -> String {
    config
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest)
                if rest.starts_with('[')
                    || rest.split_once(" = ").is_some_and(|(key, _)| {
                        !key.is_empty()
                            && key
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || "-_.\"/".contains(c))
                    }) =>
            {
                rest
            }
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn init_writes_a_commented_config_listing_every_builtin_rule_that_parses() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = init(dir.path(), &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "wrote palisade.toml\n");
    let config = std::fs::read_to_string(dir.path().join("palisade.toml")).expect("written");
    assert_eq!(
        Config::parse(&config).expect("the written config parses"),
        Config::default(),
        "everything is commented out, so the file changes nothing"
    );

    let rules = palisade()
        .args(["rules"])
        .output()
        .expect("palisade rules runs");
    let listed: Vec<String> = text(&rules.stdout)
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().expect("a rule id").to_string())
        .collect();
    assert!(listed.len() > 20, "{listed:?}");
    for rule in &listed {
        assert!(
            config.contains(&format!("# [rules.\"{rule}\"]")),
            "rule {rule} is not listed"
        );
    }
    for pack in palisade::packs::BUILTIN {
        assert!(config.contains(&format!("# [packs.{}]", pack.name)));
    }
    for section in [
        "# fail-on = ",
        "# enforcement = ",
        "# [limits]",
        "# [[waivers]]",
        "# [registry]",
    ] {
        assert!(config.contains(section), "missing {section}");
    }

    // Every example, uncommented, is a real setting: the file is a valid config.
    let all = uncommented(&config);
    let parsed = Config::parse(&all).unwrap_or_else(|e| panic!("{e}\n{all}"));
    assert_eq!(parsed.waivers.len(), 1);
    assert_eq!(parsed.fail_on, Some(palisade::Severity::Low));
    assert!(
        parsed.rules.len() == listed.len(),
        "{:?}",
        parsed.rules.keys()
    );
    assert!(parsed.registry.is_some());
}

#[test]
fn init_refuses_to_overwrite_and_force_replaces() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("palisade.toml"), "fail-on = \"high\"\n").expect("write");
    let output = init(dir.path(), &["--github"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("palisade.toml already exists; pass --force to replace it"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("palisade.toml")).expect("kept"),
        "fail-on = \"high\"\n"
    );
    assert!(
        !dir.path().join(".github").exists(),
        "a refused init writes nothing at all"
    );

    let output = init(dir.path(), &["--force"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "replaced palisade.toml\n");
    let config = std::fs::read_to_string(dir.path().join("palisade.toml")).expect("written");
    assert!(config.contains("# [[waivers]]"));
    Config::parse(&config).expect("parses");
}

#[test]
fn ci_configs_are_valid_yaml_of_the_right_shape_and_match_the_shipped_examples() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = init(dir.path(), &["--github", "--gitlab", "--pre-commit"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("include:\n  - local: .gitlab/palisade.yml"),
        "{stdout}"
    );
    let version = env!("CARGO_PKG_VERSION");

    let workflow = yaml(&dir.path().join(".github/workflows/palisade.yml"));
    assert_eq!(
        workflow["permissions"]["security-events"].as_str(),
        Some("write")
    );
    let steps = workflow["jobs"]["palisade"]["steps"]
        .as_vec()
        .expect("steps");
    let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    assert_eq!(
        uses,
        [
            "actions/checkout@v4".to_string(),
            format!("palisade-dev/palisade@v{version}")
        ]
    );

    let gitlab = yaml(&dir.path().join(".gitlab/palisade.yml"));
    let job = &gitlab["palisade"];
    assert_eq!(
        job["artifacts"]["reports"]["codequality"].as_str(),
        Some("gl-code-quality-report.json")
    );
    assert_eq!(
        job["artifacts"]["reports"]["junit"].as_str(),
        Some("palisade-junit.xml")
    );
    let script = job["script"].as_vec().expect("script")[0]
        .as_str()
        .expect("a command");
    assert!(
        script.contains("--output gitlab=gl-code-quality-report.json")
            && script.contains("--output junit=palisade-junit.xml"),
        "{script}"
    );

    let pre_commit = yaml(&dir.path().join(".pre-commit-config.yaml"));
    let repo = &pre_commit["repos"][0];
    assert_eq!(
        repo["repo"].as_str(),
        Some("https://github.com/palisade-dev/palisade")
    );
    assert_eq!(repo["rev"].as_str(), Some(format!("v{version}").as_str()));
    assert_eq!(repo["hooks"][0]["id"].as_str(), Some("palisade"));
    pre_commit_ok(dir.path(), &["validate-config", ".pre-commit-config.yaml"]);

    // The examples in the repository are exactly what init writes.
    for (example, written) in [
        ("github-workflow.yml", ".github/workflows/palisade.yml"),
        ("gitlab-ci.yml", ".gitlab/palisade.yml"),
        ("pre-commit-config.yaml", ".pre-commit-config.yaml"),
    ] {
        let shipped = std::fs::read_to_string(workspace().join("examples/ci").join(example))
            .expect("the example is shipped");
        let written = std::fs::read_to_string(dir.path().join(written)).expect("written");
        assert_eq!(
            shipped, written,
            "examples/ci/{example} is out of date: regenerate it with `palisade init`"
        );
    }
}

#[test]
fn an_existing_pre_commit_config_is_extended_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mine = "# our hooks\nrepos:\n  - repo: local\n    hooks:\n      - id: no-tabs\n        name: no tabs\n        entry: \"\\t\"\n        language: pygrep\n";
    std::fs::write(dir.path().join(".pre-commit-config.yaml"), mine).expect("write");
    let output = init(dir.path(), &["--pre-commit"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("added the palisade hook to .pre-commit-config.yaml"));
    let path = dir.path().join(".pre-commit-config.yaml");
    let extended = std::fs::read_to_string(&path).expect("read");
    assert!(extended.starts_with(mine), "{extended}");
    let config = yaml(&path);
    let ids: Vec<&str> = config["repos"]
        .as_vec()
        .expect("repos")
        .iter()
        .map(|r| r["hooks"][0]["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(ids, ["no-tabs", "palisade"]);
    pre_commit_ok(dir.path(), &["validate-config", ".pre-commit-config.yaml"]);

    let output = init(dir.path(), &["--pre-commit", "--force"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("already runs palisade: .pre-commit-config.yaml"));
    assert_eq!(std::fs::read_to_string(&path).expect("read"), extended);
}

#[test]
fn shipped_action_and_hook_manifest_are_valid() {
    pre_commit_ok(
        &workspace(),
        &["validate-manifest", ".pre-commit-hooks.yaml"],
    );
    let hooks = yaml(&workspace().join(".pre-commit-hooks.yaml"));
    let ids: Vec<&str> = hooks
        .as_vec()
        .expect("a list of hooks")
        .iter()
        .map(|h| h["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["palisade", "palisade-system"]);
    let script = workspace().join(hooks[0]["entry"].as_str().expect("entry"));
    assert!(script.is_file(), "{} is missing", script.display());

    let action = yaml(&workspace().join("action.yml"));
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    for input in [
        "paths",
        "fail-on",
        "format",
        "sarif-file",
        "upload-sarif",
        "args",
    ] {
        assert!(
            !action["inputs"][input]["description"].is_badvalue(),
            "input {input} is not declared"
        );
    }
    let steps = action["runs"]["steps"].as_vec().expect("steps");
    let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    assert!(
        uses.contains(&"github/codeql-action/upload-sarif@v3"),
        "{uses:?}"
    );
    let scan = steps
        .iter()
        .find(|s| s["id"].as_str() == Some("scan"))
        .expect("a scan step");
    let run = scan["run"].as_str().expect("a script");
    assert!(run.contains("--output \"sarif=$PALISADE_SARIF\""), "{run}");
    // Every shell step must parse as bash.
    for step in steps {
        if let Some(run) = step["run"].as_str() {
            let status = Command::new("bash")
                .args(["-n", "-c", run])
                .status()
                .expect("bash runs");
            assert!(status.success(), "not valid bash:\n{run}");
        }
    }
}

/// Runs the real `pre-commit` (installed by `.ci/run`) and asserts it succeeds.
fn pre_commit_ok(dir: &Path, args: &[&str]) {
    let output = pre_commit(dir).args(args).output().unwrap_or_else(|e| {
        panic!(
            "cannot run pre-commit ({e}): install it with `pip install pre-commit` (.ci/run does)"
        )
    });
    assert!(
        output.status.success(),
        "pre-commit {args:?} failed:\n{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// `pre-commit` with its cache kept under the test's target directory.
fn pre_commit(dir: &Path) -> Command {
    let mut command = Command::new("pre-commit");
    command.current_dir(dir).env(
        "PRE_COMMIT_HOME",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("pre-commit-home"),
    );
    command
}

/// `git` in `dir`, with an identity and no user or system config.
fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env(
            "PRE_COMMIT_HOME",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("pre-commit-home"),
        )
        .env("PALISADE_CACHE_DIR", support::cache_dir())
        .env("NO_COLOR", "1")
        .env("PATH", path_with_palisade())
        .output()
        .expect("git runs")
}

/// `PATH` with the palisade under test first.
fn path_with_palisade() -> std::ffi::OsString {
    let bin = Path::new(env!("CARGO_BIN_EXE_palisade"))
        .parent()
        .expect("the binary is in a directory");
    let mut paths = vec![bin.to_path_buf()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).expect("a valid PATH")
}

/// A hooks repository as pre-commit clones it at a `rev`: this repository's hook manifest and
/// the build-from-source script, committed. Its build is already "done" (a committed link to
/// the palisade under test), so the `palisade` hook runs without compiling palisade again.
fn hooks_repository() -> (tempfile::TempDir, String) {
    let hooks = tempfile::tempdir().expect("temp dir");
    let dir = hooks.path();
    std::fs::create_dir_all(dir.join(".pre-commit/build/bin")).expect("mkdir");
    for file in [".pre-commit-hooks.yaml", ".pre-commit/palisade-from-source"] {
        std::fs::copy(workspace().join(file), dir.join(file)).expect("copy the hook files");
    }
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_palisade"),
        dir.join(".pre-commit/build/bin/palisade"),
    )
    .expect("link the built palisade");
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &["commit", "-q", "-m", "hooks"],
    ] {
        let output = git(dir, args);
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            text(&output.stderr)
        );
    }
    let rev = text(&git(dir, &["rev-parse", "HEAD"]).stdout)
        .trim()
        .to_string();
    (hooks, rev)
}

/// In a new git repository whose pre-commit config runs hook `id`: a clean manifest commits, a
/// privileged container (critical) is blocked with the finding in pre-commit's output.
fn assert_hook_gates_commits(id: &str) {
    pre_commit_ok(&workspace(), &["--version"]);
    let (hooks, rev) = hooks_repository();
    let project = tempfile::tempdir().expect("temp dir");
    let dir = project.path();
    assert!(git(dir, &["init", "-q"]).status.success());
    std::fs::write(
        dir.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: {id}\n",
            hooks.path().display()
        ),
    )
    .expect("write the config");
    let install = pre_commit(dir)
        .args(["install"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("pre-commit runs");
    assert!(install.status.success(), "{}", text(&install.stderr));

    std::fs::copy(
        workspace().join("examples/kubernetes/hardened.yaml"),
        dir.join("hardened.yaml"),
    )
    .expect("copy");
    assert!(git(dir, &["add", "-A"]).status.success());
    let clean = git(dir, &["commit", "-q", "-m", "clean"]);
    let output = format!("{}{}", text(&clean.stdout), text(&clean.stderr));
    assert!(
        clean.status.success(),
        "a clean commit is blocked:\n{output}"
    );
    assert!(
        output.contains("palisade") && output.contains("Passed"),
        "{output}"
    );
    let log = text(&git(dir, &["log", "--oneline"]).stdout);
    assert_eq!(log.lines().count(), 1, "{log}");

    std::fs::write(dir.join("web.yaml"), PRIVILEGED_DEPLOYMENT).expect("write");
    assert!(git(dir, &["add", "web.yaml"]).status.success());
    let blocked = git(dir, &["commit", "-q", "-m", "privileged"]);
    let output = format!("{}{}", text(&blocked.stdout), text(&blocked.stderr));
    assert!(
        !blocked.status.success(),
        "the commit went through:\n{output}"
    );
    assert!(output.contains("k8s/privileged-container"), "{output}");
    assert!(output.contains("web.yaml:12"), "{output}");
    let log = text(&git(dir, &["log", "--oneline"]).stdout);
    assert_eq!(log.lines().count(), 1, "no commit was made: {log}");
}

#[test]
fn the_system_hook_blocks_a_commit_with_a_critical_finding() {
    assert_hook_gates_commits("palisade-system");
}

#[test]
fn the_from_source_hook_runs_its_build_and_blocks_the_same_commit() {
    assert_hook_gates_commits("palisade");
}

/// Runs the action's scan step as the runner would: its script under bash, its environment
/// from the inputs, `GITHUB_OUTPUT` a file; returns the step's exit status and outputs.
fn run_action_scan(inputs: &[(&str, &str)], dir: &Path) -> (bool, String) {
    let action = yaml(&workspace().join("action.yml"));
    let step = action["runs"]["steps"]
        .as_vec()
        .expect("steps")
        .iter()
        .find(|s| s["id"].as_str() == Some("scan"))
        .expect("a scan step")
        .clone();
    let outputs = dir.join("github-output");
    std::fs::write(&outputs, "").expect("write");
    let mut command = Command::new("bash");
    command
        .args(["-e", "-c", step["run"].as_str().expect("a script")])
        .current_dir(dir)
        .env("GITHUB_OUTPUT", &outputs)
        .env("PATH", path_with_palisade())
        .env("PALISADE_CACHE_DIR", support::cache_dir())
        .env("NO_COLOR", "1");
    let declared = step["env"].as_hash().expect("the step's env");
    for (name, value) in declared {
        let name = name.as_str().expect("a variable name");
        let input = value
            .as_str()
            .and_then(|v| v.strip_prefix("${{ inputs."))
            .and_then(|v| v.strip_suffix(" }}"))
            .unwrap_or_else(|| panic!("{name} is not set from an input"));
        let default = action["inputs"][input]["default"]
            .as_str()
            .unwrap_or_else(|| panic!("input {input} has no default"));
        let given = inputs.iter().find(|(i, _)| *i == input).map(|(_, v)| *v);
        command.env(name, given.unwrap_or(default));
    }
    let output = command.output().expect("bash runs");
    (
        output.status.success(),
        std::fs::read_to_string(&outputs).expect("read the outputs"),
    )
}

#[test]
fn the_action_scan_step_passes_its_inputs_and_records_the_exit_code() {
    let dir = support::tree(&[
        ("deploy/web.yaml", PRIVILEGED_DEPLOYMENT),
        (
            "other/hardened.yaml",
            &std::fs::read_to_string(workspace().join("examples/kubernetes/hardened.yaml"))
                .expect("read"),
        ),
    ]);
    // Findings: the step itself succeeds (the verdict comes after the SARIF upload), and
    // records palisade's exit code.
    let (ok, outputs) =
        run_action_scan(&[("paths", "deploy other"), ("format", "json")], dir.path());
    assert!(ok);
    assert_eq!(outputs, "exit-code=1\n");
    // The SARIF report the next step uploads is there, with the finding.
    let sarif = std::fs::read_to_string(dir.path().join("palisade.sarif")).expect("the SARIF");
    let sarif: serde_json::Value = serde_json::from_str(&sarif).expect("JSON");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "k8s/privileged-container"),
        "{results:?}"
    );
    // Paths, extra args and the threshold reach palisade.
    let (_, outputs) = run_action_scan(&[("paths", "other"), ("format", "json")], dir.path());
    assert_eq!(outputs, "exit-code=0\n");
    let (_, outputs) = run_action_scan(
        &[
            ("paths", "deploy"),
            ("format", "json"),
            ("args", "--no-default-packs"),
        ],
        dir.path(),
    );
    assert_eq!(outputs, "exit-code=0\n");
    let (_, outputs) = run_action_scan(
        &[
            ("paths", "deploy"),
            ("format", "json"),
            ("fail-on", "nonsense"),
        ],
        dir.path(),
    );
    assert_eq!(outputs, "exit-code=2\n");
}
