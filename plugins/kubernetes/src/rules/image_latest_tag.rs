//! `k8s/image-latest-tag`: container images must be pinned to a version or digest.

use palisade_sdk::{Report, Resource, Rule, Severity, kubernetes, secrets};

pub const RULE: Rule = Rule {
    id: "k8s/image-latest-tag",
    title: "Image is not pinned",
    severity: Severity::Medium,
    kinds: kubernetes::WORKLOAD_KINDS,
    description: "An image referenced by the `latest` tag, or by no tag at all (which means \
`latest`), changes under the workload's feet: each node may pull a different image, a rollback \
does not restore the old code, and a poisoned push to the registry reaches production on the \
next pod restart without any change to the manifest. An image with a digest \
(`app@sha256:…`) is pinned whatever its tag says. A registry port is not a tag \
(`registry:5000/app` has none). References that are still templates (`${IMAGE}`, \
`{{ .Values.image }}`, `$(IMAGE)`) are left alone.",
    remediation: "Reference a specific version tag (`nginx:1.27.2`), or better a digest \
(`nginx@sha256:…`, optionally with its tag for readers: `nginx:1.27.2@sha256:…`), and update it \
deliberately, e.g. with Renovate or Dependabot.",
    help_uri: Some("https://kubernetes.io/docs/concepts/containers/images/#image-names"),
    tags: &["supply-chain"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    for container in kubernetes::containers(resource) {
        let image = container.image();
        if image.is_empty() || secrets::is_placeholder(image, secrets::References::Enclosed) {
            continue;
        }
        let message = match pin(image) {
            Pin::Digest => continue,
            Pin::Tag(tag) if tag != "latest" => continue,
            Pin::Tag(_) => format!(
                "{} uses image `{image}`, whose `latest` tag can change at any time",
                container.describe()
            ),
            Pin::None => format!(
                "{} uses image `{image}` without a tag or digest, so it pulls whatever `latest` is",
                container.describe()
            ),
        };
        report.finding(container.pointer_to(&["image"]), message);
    }
}

/// What an image reference pins the image to.
#[derive(Debug, PartialEq, Eq)]
enum Pin<'a> {
    /// A content digest (`@sha256:…`): immutable.
    Digest,
    /// A tag, e.g. `1.27` or `latest`.
    Tag(&'a str),
    /// Neither: the runtime pulls `latest`.
    None,
}

/// Parses the tag and digest of an image reference `[host[:port]/]path[:tag][@digest]`.
fn pin(image: &str) -> Pin<'_> {
    let image = image.trim();
    let name = match image.split_once('@') {
        Some((_, digest)) if !digest.is_empty() => return Pin::Digest,
        Some((name, _)) => name,
        None => image,
    };
    // A tag can only follow the last path component; a `:` before a `/` is the registry's port.
    let last = name.rsplit_once('/').map_or(name, |(_, last)| last);
    match last.rsplit_once(':') {
        Some((_, tag)) if !tag.is_empty() => Pin::Tag(tag),
        _ => Pin::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_digests_and_registry_ports_are_told_apart() {
        let cases = [
            ("nginx", Pin::None),
            ("nginx:latest", Pin::Tag("latest")),
            ("nginx:1.27.2", Pin::Tag("1.27.2")),
            ("library/nginx", Pin::None),
            ("docker.io/library/nginx:1.27", Pin::Tag("1.27")),
            ("registry:5000/app", Pin::None),
            ("registry:5000/app:latest", Pin::Tag("latest")),
            ("registry:5000/team/app:v2", Pin::Tag("v2")),
            ("localhost:5000/app", Pin::None),
            ("[::1]:5000/app", Pin::None),
            ("[::1]:5000/app:v1", Pin::Tag("v1")),
            ("registry:5000", Pin::Tag("5000")),
            ("app@sha256:0123abcd", Pin::Digest),
            ("app:latest@sha256:0123abcd", Pin::Digest),
            ("registry:5000/app@sha256:0123abcd", Pin::Digest),
            ("app:", Pin::None),
            ("app@", Pin::None),
            (" nginx:latest ", Pin::Tag("latest")),
            ("", Pin::None),
        ];
        for (image, expected) in cases {
            assert_eq!(pin(image), expected, "{image:?}");
        }
    }
}
