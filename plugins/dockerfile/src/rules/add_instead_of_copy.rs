//! `docker/add-instead-of-copy`: local files are copied with `COPY`, not `ADD`.

use palisade_sdk::{Report, Resource, Rule, Severity, dockerfile, secrets};

pub const RULE: Rule = Rule {
    id: "docker/add-instead-of-copy",
    title: "ADD used to copy local files",
    severity: Severity::Low,
    kinds: dockerfile::STAGE_KINDS,
    description: "`ADD` does more than copy: it fetches URLs and unpacks local tar archives. \
Used for plain local files it hides that magic in a place readers expect a copy, and a file \
later renamed to `*.tar.gz` is unpacked instead of copied without anyone changing the \
Dockerfile. This rule judges every stage. It fires once per `ADD` with a local source that is \
not a tar archive (`.tar`, `.tar.gz`/`.tgz`, `.tar.bz2`/`.tbz2`, `.tar.xz`/`.txz`, \
`.tar.zst`); URLs and Git repositories are left to `docker/add-remote-url`, and sources that \
still hold a build argument are not judged.",
    remediation: "Use `COPY`, which takes the same arguments and flags (`--chown`, `--chmod`, \
`--link`, `--from`). Keep `ADD` for unpacking a local archive.",
    help_uri: Some("https://docs.docker.com/build/building/best-practices/#add-or-copy"),
    tags: &["cis-docker/4.9", "hadolint/DL3020"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    for instruction in dockerfile::instructions(resource).filter(|i| i.is("ADD")) {
        let local = instruction.sources().find(|source| {
            let source = source.trim_matches(['"', '\'']);
            !(super::add_remote_url::is_remote(source)
                || is_archive(source)
                || secrets::is_placeholder(source, secrets::References::Shell))
        });
        if let Some(source) = local {
            report.finding(
                instruction.pointer(),
                format!("ADD copies the local `{source}`: COPY does that without ADD's extras"),
            );
        }
    }
}

/// True for names `ADD` unpacks.
fn is_archive(source: &str) -> bool {
    const EXTENSIONS: &[&str] = &[
        ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".tar.zst",
        ".tzst",
    ];
    EXTENSIONS.iter().any(|extension| {
        source.len() >= extension.len()
            && source.as_bytes()[source.len() - extension.len()..]
                .eq_ignore_ascii_case(extension.as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_are_told_by_their_extension() {
        for name in [
            "rootfs.tar",
            "app.TAR.GZ",
            "x.tgz",
            "a.tar.xz",
            "b.tar.zst",
            "*.tar.gz",
        ] {
            assert!(is_archive(name), "{name}");
        }
        for name in ["app.jar", "config.yaml", "tar", "app.zip", "dir/", "."] {
            assert!(!is_archive(name), "{name}");
        }
    }
}
