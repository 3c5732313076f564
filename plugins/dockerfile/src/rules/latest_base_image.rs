//! `docker/latest-base-image`: base images must be pinned to a version or digest.

use palisade_sdk::{Report, Resource, Rule, Severity, dockerfile};

pub const RULE: Rule = Rule {
    id: "docker/latest-base-image",
    title: "Base image is not pinned",
    severity: Severity::Medium,
    kinds: dockerfile::STAGE_KINDS,
    description: "A `FROM` image without a tag, or with the tag `latest`, is whatever the \
registry serves at build time: two builds of the same commit get different bases, a rebuild to \
fix one bug silently pulls in a new major version, and a poisoned push to the registry reaches \
the next build with no change to the Dockerfile. This rule judges every stage, since a builder \
stage's toolchain ends up in the artifacts it builds. It fires when the image has no digest \
and its tag is missing or `latest` (any case), and points at the `FROM` line. `FROM scratch`, \
a `FROM` naming an earlier stage, and a reference that still holds a build argument with no \
default in the file (`FROM ${BASE_IMAGE}`) are not judged; build arguments with a default are \
resolved first (`ARG NODE=22` + `FROM node:${NODE}` is pinned).",
    remediation: "Name a specific version (`FROM python:3.12.7-slim-bookworm`), or better a \
digest (`FROM python:3.12.7-slim-bookworm@sha256:…`, the tag kept for readers), and update it \
deliberately, e.g. with Renovate or Dependabot.",
    help_uri: Some(
        "https://docs.docker.com/build/building/best-practices/#pin-base-image-versions",
    ),
    tags: &["supply-chain", "hadolint/DL3006", "hadolint/DL3007"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let base = dockerfile::from(resource);
    if !base.is_pulled() || base.is_unresolved() || base.image.is_empty() || base.digest.is_some() {
        return;
    }
    let message = match base.tag {
        Some(tag) if !tag.eq_ignore_ascii_case("latest") => return,
        Some(_) => format!(
            "base image `{}` uses the `latest` tag, which can change at any time",
            base.image
        ),
        None => format!(
            "base image `{}` has no tag or digest, so the build pulls whatever `latest` is",
            base.image
        ),
    };
    report.finding(base.pointer_to("image"), message);
}
