//! `docker/package-cache-not-cleaned`: package manager caches must not stay in the image.

use palisade_sdk::dockerfile::{Command, Instruction};
use palisade_sdk::{Report, Resource, Rule, Severity, dockerfile};

pub const RULE: Rule = Rule {
    id: "docker/package-cache-not-cleaned",
    title: "Package manager cache left in the image",
    severity: Severity::Low,
    kinds: dockerfile::STAGE_KINDS,
    description: "Package indexes and downloaded packages left behind by `apt-get`, `apk`, \
`yum` or `dnf` add tens of megabytes to a layer, and stale indexes make a later `install` in a \
derived image pick outdated, vulnerable versions. A cache removed in a *later* `RUN` is still \
in the earlier layer, so the cleanup must happen in the same `RUN`. This rule judges every \
stage (builder caches are exported and pushed with `--cache-to` too). It fires, at the install \
command's own line, for `apt-get install`/`apt install` without `rm -rf /var/lib/apt/lists/*` \
in the same `RUN`; `apk add` without `--no-cache` (or `rm -rf /var/cache/apk/*`); and \
`yum`/`dnf`/`microdnf`/`tdnf install` without `<tool> clean all` (or removing \
`/var/cache/yum` or `/var/cache/dnf`) in the same `RUN`. A `RUN` with a cache mount \
(`--mount=type=cache`) keeps its cache outside the image and is not reported.",
    remediation: "Clean up in the same `RUN`: `apt-get update && apt-get install -y … && rm -rf \
/var/lib/apt/lists/*`; `apk add --no-cache …`; `dnf install -y … && dnf clean all`. Or use a \
BuildKit cache mount: `RUN --mount=type=cache,target=/var/cache/apt \
--mount=type=cache,target=/var/lib/apt apt-get update && apt-get install -y …`.",
    help_uri: Some("https://docs.docker.com/build/building/best-practices/#apt-get"),
    tags: &[
        "hadolint/DL3009",
        "hadolint/DL3019",
        "hadolint/DL3032",
        "hadolint/DL3040",
        "image-size",
    ],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let mut commands: Vec<Command> = Vec::new();
    for instruction in dockerfile::instructions(resource) {
        if !instruction.is("RUN") || has_cache_mount(&instruction) {
            continue;
        }
        commands.clear();
        commands.extend(instruction.commands());
        for command in &commands {
            let Some(invocation) = command.invocation() else {
                continue;
            };
            let problem = if super::apt_install(command).is_some() {
                (!removes(&commands, "/var/lib/apt/lists"))
                    .then_some("leaves the apt lists: add `rm -rf /var/lib/apt/lists/*`")
            } else if invocation.program == "apk" && invocation.subcommand() == Some("add") {
                (!invocation.has_argument("--no-cache") && !removes(&commands, "/var/cache/apk"))
                    .then_some("keeps the apk index: use `apk add --no-cache`")
            } else if matches!(invocation.program, "yum" | "dnf" | "microdnf" | "tdnf")
                && matches!(
                    invocation.subcommand(),
                    Some("install" | "groupinstall" | "localinstall")
                )
            {
                (!cleans_all(&commands)
                    && !removes(&commands, "/var/cache/yum")
                    && !removes(&commands, "/var/cache/dnf"))
                .then_some("keeps the package cache: add `clean all`")
            } else {
                None
            };
            if let Some(problem) = problem {
                report.finding(
                    command.pointer(),
                    format!("`{}` in this RUN {problem}", invocation.program),
                );
            }
        }
    }
}

/// True when the `RUN` mounts a BuildKit cache.
fn has_cache_mount(instruction: &Instruction) -> bool {
    instruction
        .flags("mount")
        .any(|mount| mount.split(',').any(|option| option == "type=cache"))
}

/// True when one of the commands is an `rm` of something under `path`.
fn removes(commands: &[Command], path: &str) -> bool {
    commands.iter().any(|command| {
        command.invocation().is_some_and(|invocation| {
            invocation.program == "rm"
                && invocation
                    .arguments()
                    .any(|argument| argument.trim_matches(['"', '\'']).starts_with(path))
        })
    })
}

/// True when one of the commands is `yum clean all` (or `dnf`, `microdnf`, `tdnf`).
fn cleans_all(commands: &[Command]) -> bool {
    commands.iter().any(|command| {
        command.invocation().is_some_and(|invocation| {
            matches!(invocation.program, "yum" | "dnf" | "microdnf" | "tdnf")
                && invocation.subcommand() == Some("clean")
                && invocation.has_argument("all")
        })
    })
}
