//! `docker/curl-pipe-shell`: downloaded scripts must not be piped straight into a shell.

use palisade_sdk::dockerfile::{Command, Invocation};
use palisade_sdk::{Report, Resource, Rule, Severity, dockerfile};

pub const RULE: Rule = Rule {
    id: "docker/curl-pipe-shell",
    title: "Downloaded script piped into a shell",
    severity: Severity::High,
    kinds: dockerfile::STAGE_KINDS,
    description: "`curl https://… | sh` runs whatever the server sends at build time, with the \
build's privileges, unchecked and unrecorded: a compromised or spoofed server, a changed \
installer or a truncated download (the shell runs the half it got) changes the image without \
any change to the Dockerfile. This rule judges every stage: a builder stage that runs a remote \
script is just as much a supply-chain risk, since its output is copied into the final image. \
It fires for a `curl` or `wget` command whose output is piped, directly or through other \
commands (`| tee log | sudo bash`), into a shell or interpreter (`sh`, `bash`, `zsh`, `ash`, \
`dash`, `ksh`, `fish`, `python`, `perl`, `ruby`, `node`, `php`, `pwsh`), and for a shell run on \
a download's output (`sh -c \"$(curl …)\"`, `bash <(wget -O- …)`), pointing at that command's \
own line in the `RUN`. An interpreter that gets its program from an argument (`python3 -c …`, \
`python3 -m json.tool`, `perl -e …`) only reads the download as data and is not reported.",
    remediation: "Download to a file, verify it against a checksum or signature you pinned, \
then run it:\n
```dockerfile
RUN curl -fsSLo /tmp/install.sh https://example.com/install.sh \\
 && echo \"<sha256>  /tmp/install.sh\" | sha256sum -c - \\
 && sh /tmp/install.sh && rm /tmp/install.sh
```\n
or use `ADD --checksum=sha256:<digest> <url> <dest>`, or a distribution package.",
    help_uri: Some("https://docs.docker.com/reference/dockerfile/#add---checksum"),
    tags: &["supply-chain", "cwe/494"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let mut commands: Vec<Command> = Vec::new();
    for instruction in dockerfile::instructions(resource) {
        commands.clear();
        commands.extend(instruction.commands());
        for (k, command) in commands.iter().enumerate() {
            let Some(invocation) = command.invocation() else {
                continue;
            };
            if is_download(invocation.program) && command.is_piped() {
                // Follow the pipeline to its end.
                let runner = commands[k + 1..]
                    .iter()
                    .scan(true, |piped, next| {
                        let still = std::mem::replace(piped, next.is_piped());
                        still.then_some(next)
                    })
                    .filter_map(Command::invocation)
                    .find(runs_stdin);
                if let Some(runner) = runner {
                    report.finding(
                        command.pointer(),
                        format!(
                            "`{}` output is piped into `{}`, which runs it unchecked",
                            invocation.program, runner.program
                        ),
                    );
                }
            } else if is_interpreter(invocation.program) && runs_download(command.text) {
                report.finding(
                    command.pointer(),
                    format!(
                        "`{}` runs a script downloaded in the same command, unchecked",
                        invocation.program
                    ),
                );
            }
        }
    }
}

fn is_download(program: &str) -> bool {
    matches!(program, "curl" | "wget")
}

/// Shells and script interpreters.
fn is_interpreter(program: &str) -> bool {
    const PROGRAMS: &[&str] = &[
        "sh",
        "bash",
        "zsh",
        "ash",
        "dash",
        "ksh",
        "mksh",
        "fish",
        "busybox",
        "perl",
        "ruby",
        "node",
        "nodejs",
        "php",
        "pwsh",
        "powershell",
    ];
    PROGRAMS.contains(&program) || program.starts_with("python")
}

/// True when an interpreter runs what it reads on standard input, rather than a program given
/// as an argument (`-c`, `-e`, `-m`).
fn runs_stdin(invocation: &Invocation) -> bool {
    is_interpreter(invocation.program)
        && !invocation.arguments().any(|argument| {
            matches!(
                argument,
                "-c" | "-e" | "-E" | "-m" | "-r" | "--eval" | "-Command"
            )
        })
}

/// True when a command's text runs the output of a download: `$(curl …)`, `` `wget …` ``,
/// `<(curl …)`.
fn runs_download(text: &str) -> bool {
    ["$(", "`", "<("].iter().any(|opening| {
        text.match_indices(opening).any(|(at, _)| {
            let inner = text[at + opening.len()..].trim_start();
            let program = inner.split_whitespace().next().unwrap_or("");
            is_download(dockerfile::program_name(program))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_run_by_a_shell_are_recognized() {
        assert!(runs_download(r#"sh -c "$(curl -fsSL https://x)""#));
        assert!(runs_download("bash <(wget -qO- https://x)"));
        assert!(runs_download("sh -c \"` /usr/bin/curl https://x`\""));
        assert!(!runs_download("sh -c \"$(cat /tmp/x)\""));
        assert!(!runs_download("bash /tmp/install.sh"));
    }

    #[test]
    fn interpreters_include_versioned_pythons() {
        for program in ["sh", "bash", "python3", "python3.12", "node", "perl"] {
            assert!(is_interpreter(program), "{program}");
        }
        for program in ["tar", "tee", "jq", "gpg", "sha256sum"] {
            assert!(!is_interpreter(program), "{program}");
        }
    }
}
