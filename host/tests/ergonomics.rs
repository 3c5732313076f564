//! What people see around the report: colours (`--color`, `NO_COLOR`), no progress bar where
//! output is read by programs, `--quiet`, the `--verbose` timing summary, and reports that are
//! the same bytes on every run.

mod support;

use std::process::{Command, Output};

use support::{PRIVILEGED_DEPLOYMENT, palisade, tree, workspace};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `palisade scan ARGS` in the workspace, with `NO_COLOR` and `CI` as given (unset when `None`).
fn scan(args: &[&str], no_color: Option<&str>, ci: Option<&str>) -> Output {
    let mut cmd = palisade();
    cmd.current_dir(workspace()).arg("scan").args(args);
    cmd.env_remove("NO_COLOR").env_remove("CI");
    if let Some(value) = no_color {
        cmd.env("NO_COLOR", value);
    }
    if let Some(value) = ci {
        cmd.env("CI", value);
    }
    cmd.output().expect("palisade runs")
}

const ESC: char = '\x1b';

#[test]
fn piped_output_has_no_colour_and_no_progress() {
    let output = scan(&["examples/"], None, None);
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("k8s/privileged-container"), "{stdout}");
    assert!(!stdout.contains(ESC), "colour in piped output:\n{stdout:?}");
    assert_eq!(
        text(&output.stderr),
        "",
        "nothing (no progress bar) on a piped stderr"
    );
}

#[test]
fn color_always_colours_piped_output_even_with_no_color_and_never_does_not() {
    let always = scan(&["examples/", "--color", "always"], Some("1"), None);
    let stdout = text(&always.stdout);
    assert!(
        stdout.contains("\x1b[1;35mcritical\x1b[0m"),
        "no colour:\n{stdout:?}"
    );
    let never = scan(&["examples/", "--color", "never"], None, None);
    assert!(!text(&never.stdout).contains(ESC));
    // Colour changes nothing but the escape codes.
    assert_eq!(strip_ansi(&stdout), text(&never.stdout));

    let bad = scan(&["examples/", "--color", "sometimes"], None, None);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("possible values: auto, always, never"));
}

/// Runs `palisade scan ARGS` in the workspace on a pseudo-terminal (util-linux `script`), so
/// stdout and stderr are terminals; returns everything it printed.
fn scan_on_a_terminal(args: &str, env: &[(&str, &str)]) -> String {
    let binary = env!("CARGO_BIN_EXE_palisade");
    let mut cmd = Command::new("script");
    cmd.current_dir(workspace())
        .args(["-qec", &format!("{binary} scan {args}"), "/dev/null"])
        .env("PALISADE_CACHE_DIR", support::cache_dir())
        .env_remove("NO_COLOR")
        .env_remove("CI");
    for (key, value) in env {
        cmd.env(key, value);
    }
    let output = cmd
        .output()
        .expect("`script` (util-linux) runs: it gives the scan a terminal");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    text(&output.stdout).replace("\r\n", "\n")
}

#[test]
fn auto_colours_a_terminal_unless_no_color_is_set_and_not_empty() {
    let piped = text(&scan(&["examples/"], None, None).stdout);

    let coloured = scan_on_a_terminal("examples/", &[("CI", "true")]);
    assert!(
        coloured.contains("\x1b[1;35mcritical\x1b[0m"),
        "{coloured:?}"
    );
    assert_eq!(strip_ansi(&coloured), piped);

    // An empty NO_COLOR is no request (no-color.org).
    let empty = scan_on_a_terminal("examples/", &[("CI", "true"), ("NO_COLOR", "")]);
    assert!(empty.contains(ESC));

    // In CI with NO_COLOR, a terminal gets not one escape code: no colour and no progress bar.
    let plain = scan_on_a_terminal("examples/", &[("CI", "true"), ("NO_COLOR", "1")]);
    assert!(!plain.contains(ESC), "{plain:?}");
    assert_eq!(plain, piped);

    // Outside CI the bar may be drawn on a long scan, but it is cleared before the report,
    // which comes out whole at the end.
    let interactive = scan_on_a_terminal("examples/", &[("NO_COLOR", "1")]);
    assert!(
        interactive.ends_with(&piped),
        "the report is garbled:\n{interactive:?}"
    );
}

#[test]
fn quiet_prints_only_errors_and_keeps_the_exit_code() {
    let output = scan(&["examples/", "--quiet"], None, None);
    assert_eq!(output.status.code(), Some(1), "findings still fail");
    assert_eq!(text(&output.stdout), "");
    assert_eq!(text(&output.stderr), "");

    // A report written to a file is still written.
    let dir = tree(&[
        ("web.yaml", PRIVILEGED_DEPLOYMENT),
        (
            "broken.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   namespace: y\n",
        ),
    ]);
    let report = dir.path().join("report.json");
    let output = palisade()
        .current_dir(dir.path())
        .args(["scan", ".", "-q", "--format", "json", "--output"])
        .arg(&report)
        .output()
        .expect("palisade runs");
    assert_eq!(output.status.code(), Some(2), "errors win over findings");
    assert_eq!(text(&output.stdout), "");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("written")).expect("JSON");
    assert!(
        json["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["rule"] == "k8s/privileged-container"),
        "{json}"
    );
    // The errors are the one thing quiet prints.
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("error: ./broken.yaml:5: invalid YAML"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let both = scan(&["examples/", "-q", "-v"], None, None);
    assert_eq!(both.status.code(), Some(2));
    assert!(
        text(&both.stderr).contains("'--quiet' cannot be used with '--verbose'"),
        "{}",
        text(&both.stderr)
    );
}

#[test]
fn verbose_prints_a_timing_summary_on_stderr_only() {
    let output = scan(&["examples/", "--verbose", "--format", "json"], None, None);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    let summary = &stderr[stderr.find("timings:\n").expect("a timing summary")..];
    let stages: Vec<&str> = summary
        .lines()
        .skip(1)
        .map(|line| {
            let (took, stage) = line
                .trim_start()
                .split_once(" ms  ")
                .expect("`N ms  stage`");
            took.parse::<f64>().expect("a duration in ms");
            stage.trim_start()
        })
        .collect();
    let expected_start = [
        "config",
        "plugin loading",
        "discovery",
        "normalization",
        "evaluation (4 plugins in parallel)",
    ];
    for (stage, expected) in stages.iter().zip(expected_start) {
        assert!(
            stage.starts_with(expected),
            "{stage} is not {expected}:\n{summary}"
        );
    }
    for pack in palisade::packs::BUILTIN {
        assert!(
            stages.contains(&pack.name),
            "no time for {}:\n{summary}",
            pack.name
        );
    }
    assert_eq!(
        stages[stages.len() - 3..],
        ["findings", "reporting", "total"]
    );

    // Timings are for people: the JSON report stays the same bytes without them.
    let quiet = scan(&["examples/", "--format", "json"], None, None);
    assert_eq!(text(&output.stdout), text(&quiet.stdout));
    assert!(!text(&output.stdout).contains("timings"));
}

#[test]
fn reports_are_the_same_bytes_on_every_run() {
    for format in ["text", "json"] {
        let runs: Vec<String> = (0..2)
            .map(|_| text(&scan(&["examples/", "--format", format], None, None).stdout))
            .collect();
        assert!(runs[0].contains("k8s/privileged-container"));
        assert_eq!(runs[0], runs[1], "{format} differs between runs");
    }
}

/// `text` without ANSI colour codes (`ESC [ … m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == ESC {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn strip_ansi_removes_only_colour_codes() {
    assert_eq!(strip_ansi("\x1b[1;31merror\x1b[0m: x"), "error: x");
}

#[test]
fn a_long_scan_on_a_terminal_shows_a_progress_bar_and_clears_it_before_the_report() {
    let piped = text(&scan(&["examples/"], Some("1"), None).stdout);
    // Compiling every pack afresh makes the scan long enough for the bar.
    let interactive = scan_on_a_terminal("examples/ --no-cache", &[("NO_COLOR", "1")]);
    assert!(
        interactive.contains("loading plugins ["),
        "no progress bar:\n{interactive:?}"
    );
    assert!(interactive.contains("\x1b[2K"), "the bar is never cleared");
    assert!(
        interactive.ends_with(&piped),
        "the report is garbled:\n{interactive:?}"
    );
    let report_at = interactive.len() - piped.len();
    assert!(
        !interactive[report_at..].contains(ESC),
        "the bar is drawn over the report"
    );

    // The same scan in CI: not a byte of the bar.
    let ci = scan_on_a_terminal("examples/ --no-cache", &[("NO_COLOR", "1"), ("CI", "true")]);
    assert_eq!(ci, piped);
}

#[test]
fn a_reader_that_stops_early_ends_the_output_quietly() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    // A SARIF report of the examples is far larger than a pipe's buffer, so palisade is still
    // writing when the reader goes away.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .current_dir(workspace())
        .args(["scan", "examples", "--format", "sarif"])
        .env("PALISADE_CACHE_DIR", support::cache_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("palisade runs");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).expect("the report starts");
    drop(stdout);
    let output = child.wait_with_output().expect("palisade ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr, "",
        "no error and no panic, as `head` expects of a writer"
    );
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGPIPE),
        "{:?}",
        output.status
    );
}
