//! `docker/add-remote-url`: remote files must be fetched with a checksum.

use palisade_sdk::{Report, Resource, Rule, Severity, dockerfile};

pub const RULE: Rule = Rule {
    id: "docker/add-remote-url",
    title: "ADD fetches a URL without a checksum",
    severity: Severity::Medium,
    kinds: dockerfile::STAGE_KINDS,
    description: "`ADD https://…` puts whatever the server returns at build time into the \
image, unchecked: a compromised server, a moved release or a man in the middle (over `http://`) \
changes the image without any change to the Dockerfile, and the build cache hides when it \
happened. This rule judges every stage, since a builder stage's downloads end up in what it \
builds. It fires for an `ADD` with an `http://` or `https://` source and no `--checksum` flag, \
and points at the `ADD`.",
    remediation: "Pin the content: `ADD --checksum=sha256:<digest> https://…/tool.tar.gz /opt/` \
(Dockerfile syntax 1.6 and later), or download in a `RUN` with `curl -fsSLo tool.tgz https://…` \
followed by `echo \"<digest>  tool.tgz\" | sha256sum -c -`.",
    help_uri: Some("https://docs.docker.com/reference/dockerfile/#add---checksum"),
    tags: &["supply-chain", "cis-docker/4.9", "cwe/494"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    for instruction in dockerfile::instructions(resource).filter(|i| i.is("ADD")) {
        if instruction.flag("checksum").is_some() {
            continue;
        }
        let url = instruction.sources().find(|source| {
            let source = source.trim_matches(['"', '\'']);
            starts_with_ignore_case(source, "http://")
                || starts_with_ignore_case(source, "https://")
        });
        if let Some(url) = url {
            report.finding(
                instruction.pointer(),
                format!(
                    "ADD downloads `{url}` without `--checksum`, so whatever the server returns \
                     goes into the image"
                ),
            );
        }
    }
}

/// True for sources `ADD` fetches over the network: URLs and Git repositories.
pub(super) fn is_remote(source: &str) -> bool {
    ["http://", "https://", "git@", "git://", "ssh://"]
        .iter()
        .any(|scheme| starts_with_ignore_case(source, scheme))
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}
