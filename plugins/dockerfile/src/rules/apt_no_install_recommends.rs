//! `docker/apt-no-install-recommends`: `apt-get install` must not pull in recommended packages.

use palisade_sdk::{Report, Resource, Rule, Severity, dockerfile};

pub const RULE: Rule = Rule {
    id: "docker/apt-no-install-recommends",
    title: "apt-get install without --no-install-recommends",
    severity: Severity::Low,
    kinds: dockerfile::STAGE_KINDS,
    description: "By default `apt-get install` also installs every package the requested ones \
merely *recommend*: often dozens of extra packages, each more attack surface, more CVEs for \
scanners to report, and a bigger, slower image. This rule judges every stage (a leaner builder \
builds faster too). It fires for each `apt-get install` or `apt install` command without \
`--no-install-recommends` (or `-o APT::Install-Recommends=false`), pointing at that command's \
own line. Installs that follow a command writing `APT::Install-Recommends` into the apt \
configuration earlier in the stage are not reported.",
    remediation: "Add `--no-install-recommends` and list what you actually need: \
`apt-get install -y --no-install-recommends ca-certificates curl`.",
    help_uri: Some("https://github.com/hadolint/hadolint/wiki/DL3015"),
    tags: &["hadolint/DL3015", "image-size"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let mut configured = false;
    for command in dockerfile::commands(resource) {
        if command.text.contains("APT::Install-Recommends") {
            configured = true;
            continue;
        }
        let Some(install) = super::apt_install(&command) else {
            continue;
        };
        let skips_recommends = install.arguments().any(|argument| {
            argument == "--no-install-recommends"
                || argument.contains("Install-Recommends=false")
                || argument.contains("Install-Recommends=0")
        });
        if !configured && !skips_recommends {
            report.finding(
                command.pointer(),
                format!(
                    "`{} install` without `--no-install-recommends` also installs recommended \
                     packages",
                    install.program
                ),
            );
        }
    }
}
