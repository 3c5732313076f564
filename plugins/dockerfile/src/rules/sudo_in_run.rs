//! `docker/sudo-in-run`: `RUN` commands must not use `sudo`.

use palisade_sdk::{Report, Resource, Rule, Severity, dockerfile};

pub const RULE: Rule = Rule {
    id: "docker/sudo-in-run",
    title: "sudo in a RUN command",
    severity: Severity::Medium,
    kinds: dockerfile::STAGE_KINDS,
    description: "`sudo` in a Dockerfile means the image ships `sudo` and a user allowed to use \
it, so anything that gets code execution as that user becomes root without a password; its \
TTY and signal handling also make builds and containers behave unpredictably. A `RUN` that \
needs root should simply run as root, before the `USER` switch. This rule judges every stage. \
It fires for each `RUN` command that starts `sudo`, directly or through `env`, `nice` and \
similar wrappers, pointing at that command's own line.",
    remediation: "Order the stage so that steps needing root come before `USER app`, or switch \
briefly with `USER root` … `USER app`; remove `sudo` from the image. If a process must change \
user at run time, use `gosu` or `su-exec` in the entrypoint.",
    help_uri: Some("https://github.com/hadolint/hadolint/wiki/DL3004"),
    tags: &["hadolint/DL3004", "least-privilege"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    for command in dockerfile::commands(resource) {
        let sudo = command.program() == Some("sudo")
            || command
                .invocation()
                .is_some_and(|invocation| invocation.sudo);
        if sudo {
            report.finding(command.pointer(), "RUN command uses `sudo`");
        }
    }
}
