//! `docker/curl-pipe-shell`: downloaded scripts must not be piped straight into a shell.

use palisade_sdk::dockerfile::Command;
use palisade_sdk::{Report, Resource, Rule, Severity, dockerfile, shell};

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
    let mut scripts: Vec<shell::Command> = Vec::new();
    for instruction in dockerfile::instructions(resource) {
        commands.clear();
        commands.extend(instruction.commands());
        scripts.clear();
        scripts.extend(commands.iter().map(Command::as_shell));
        for download in shell::unchecked_downloads(&scripts) {
            report.finding(commands[download.index].pointer(), download.message());
        }
    }
}
