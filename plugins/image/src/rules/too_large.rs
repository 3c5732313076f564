//! `image/too-large`: the compressed image stays under a size limit.

use palisade_sdk::{Report, Resource, Rule, Severity, image};

use super::human_size;
use crate::settings::Settings;

pub const RULE: Rule = Rule {
    id: "image/too-large",
    title: "Image is too large",
    severity: Severity::Medium,
    kinds: image::MANIFEST_KINDS,
    description: "Every megabyte of an image is pulled by every node that starts it, so a \
large image slows down scaling, rollouts and recovery, costs registry storage and transfer, \
and usually carries compilers, caches and tools the application never uses, each one more \
thing to patch and to exploit. This rule judges `image/manifest` and fires when the compressed \
size (the configuration plus every layer, as pulled) is above the `max-size-mib` setting, \
1024 MiB by default, pointing at the manifest's total size. Images read without a manifest \
(a bare configuration) are not judged.\n
Example: an image built `FROM ubuntu` that installs `build-essential` and keeps the sources it \
compiled.",
    remediation: "Build in one stage and copy only the result into a small final stage \
(`FROM gcr.io/distroless/…`, `-slim`, `alpine`, or `scratch` for static binaries); install \
with `--no-install-recommends`; clean package caches in the `RUN` that fills them; keep build \
inputs out with a `.dockerignore`. If the size is expected, raise `max-size-mib` in the pack's \
settings.",
    help_uri: Some("https://docs.docker.com/build/building/multi-stage/"),
    tags: &["image-size", "hygiene"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let Some(manifest) = image::manifest(resource) else {
        return;
    };
    let settings = Settings::of(report.config());
    let size = manifest.total_size();
    if size <= settings.max_size_bytes() {
        return;
    }
    report.finding(
        image::TOTAL_SIZE_POINTER,
        format!(
            "the image is {} compressed, above the limit of {} MiB: use a multi-stage build \
             with a slim final stage, or raise `max-size-mib`",
            human_size(size),
            settings.max_size_mib
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{findings, findings_with};
    use palisade_sdk::serde_json::json;

    const ID: &str = "image/too-large";
    const KIND: &str = "image/manifest";
    const MIB: u64 = 1024 * 1024;

    #[test]
    fn images_above_the_default_limit_are_reported() {
        let found = findings(ID, KIND, json!({"total_size": 1024 * MIB + 1}));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].pointer, "/total_size");
        assert_eq!(
            found[0].message,
            "the image is 1.0 GiB (1073741825 bytes) compressed, above the limit of 1024 MiB: \
             use a multi-stage build with a slim final stage, or raise `max-size-mib`"
        );
        assert!(findings(ID, KIND, json!({"total_size": 1024 * MIB})).is_empty());
        assert!(findings(ID, KIND, json!({})).is_empty());
    }

    #[test]
    fn the_limit_comes_from_the_settings() {
        let manifest = json!({"total_size": 300 * MIB});
        let strict = findings_with(ID, KIND, manifest.clone(), json!({"max-size-mib": 256}));
        assert_eq!(strict.len(), 1);
        assert!(strict[0].message.contains("above the limit of 256 MiB"));
        assert!(findings_with(ID, KIND, manifest, json!({"max-size-mib": 512})).is_empty());
    }
}
