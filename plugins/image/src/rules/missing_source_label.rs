//! `image/missing-source-label`: images should say where their source lives.

use palisade_sdk::{Report, Resource, Rule, Severity, image};

/// The OCI annotation (and label) naming the source repository.
const SOURCE_LABEL: &str = "org.opencontainers.image.source";

pub const RULE: Rule = Rule {
    id: "image/missing-source-label",
    title: "Image has no source label",
    severity: Severity::Low,
    kinds: image::CONFIG_KINDS,
    description: "The `org.opencontainers.image.source` label names the repository the image \
was built from. Without it, whoever finds the image running (an incident responder, a \
vulnerability scanner, a registry UI such as GitHub's, Renovate or Dependabot proposing an \
update) cannot trace it back to its code, its owners or its changelog. This rule judges \
`image/config` and fires when the labels have no `org.opencontainers.image.source`, or an \
empty one, pointing at the labels.\n
Example: an image built with plain `docker build .` carries only its base image's labels.",
    remediation: "Label the image with its repository URL, in the Dockerfile \
(`LABEL org.opencontainers.image.source=https://github.com/acme/app`) or at build time \
(`docker buildx build --label org.opencontainers.image.source=$REPO_URL`, or \
`docker/metadata-action` in GitHub Actions, which sets it for you).",
    help_uri: Some(
        "https://github.com/opencontainers/image-spec/blob/main/annotations.md#pre-defined-annotation-keys",
    ),
    tags: &["provenance", "supply-chain"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let Some(config) = image::config(resource) else {
        return;
    };
    if config
        .label(SOURCE_LABEL)
        .is_some_and(|source| !source.trim().is_empty())
    {
        return;
    }
    report.finding(
        image::LABELS_POINTER,
        format!(
            "the image has no `{SOURCE_LABEL}` label, so it cannot be traced to its source: add \
             `LABEL {SOURCE_LABEL}=<repository URL>` to the Dockerfile"
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_support::pointers;
    use palisade_sdk::serde_json::json;

    const ID: &str = "image/missing-source-label";
    const KIND: &str = "image/config";

    #[test]
    fn a_missing_or_empty_source_is_reported_at_the_labels() {
        assert_eq!(pointers(ID, KIND, json!({"labels": {}})), ["/labels"]);
        assert_eq!(pointers(ID, KIND, json!({})), ["/labels"]);
        let empty = json!({"labels": {"org.opencontainers.image.source": " "}});
        assert_eq!(pointers(ID, KIND, empty), ["/labels"]);
        let other = json!({"labels": {"org.opencontainers.image.url": "https://x"}});
        assert_eq!(pointers(ID, KIND, other), ["/labels"]);
    }

    #[test]
    fn a_source_label_passes() {
        let config =
            json!({"labels": {"org.opencontainers.image.source": "https://github.com/acme/app"}});
        assert!(pointers(ID, KIND, config).is_empty());
    }
}
