//! `image/no-healthcheck`: the image should say how to check its health.

use palisade_sdk::{Report, Resource, Rule, Severity, image};

pub const RULE: Rule = Rule {
    id: "image/no-healthcheck",
    title: "Image has no health check",
    severity: Severity::Low,
    kinds: image::CONFIG_KINDS,
    description: "Without a health check, Docker and Swarm only know whether the main process \
is alive, not whether it works: a deadlocked server or one that lost its database keeps \
receiving traffic and is never restarted. This rule judges `image/config`, the built image with \
whatever its base images contributed, and fires when the configuration has no `Healthcheck`, \
or one whose test is `[\"NONE\"]` (an explicit `HEALTHCHECK NONE`, which also switches off a \
check inherited from the base image) or empty, pointing at the health check.\n
Example: `FROM nginx:1.27` with no `HEALTHCHECK` line builds an image with no health check. \
When Kubernetes probes the container instead, disable this rule for those images.",
    remediation: "Add a check that exercises the service, with tools the image has: \
`HEALTHCHECK --interval=30s --timeout=3s CMD [\"/app\", \"healthcheck\"]` or \
`HEALTHCHECK CMD curl -fsS http://localhost:8080/healthz || exit 1`.",
    help_uri: Some("https://docs.docker.com/reference/dockerfile/#healthcheck"),
    tags: &["cis-docker/4.6", "availability"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let Some(config) = image::config(resource) else {
        return;
    };
    let message = match config.healthcheck() {
        None => {
            "the image has no health check, so only a crash of the main process is noticed: \
             add a HEALTHCHECK to the Dockerfile"
        }
        Some(healthcheck) if healthcheck.is_disabled() => {
            "the image's health check is disabled (`NONE`), so only a crash of the main process \
             is noticed: add a HEALTHCHECK that exercises the service"
        }
        Some(_) => return,
    };
    report.finding(image::HEALTHCHECK_POINTER, message);
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{findings, pointers};
    use palisade_sdk::serde_json::json;

    const ID: &str = "image/no-healthcheck";
    const KIND: &str = "image/config";

    #[test]
    fn missing_and_disabled_checks_are_reported() {
        assert_eq!(
            pointers(ID, KIND, json!({"healthcheck": null})),
            ["/healthcheck"]
        );
        assert_eq!(pointers(ID, KIND, json!({})), ["/healthcheck"]);
        let disabled = findings(ID, KIND, json!({"healthcheck": {"test": ["NONE"]}}));
        assert_eq!(disabled.len(), 1);
        assert!(
            disabled[0].message.contains("disabled"),
            "{}",
            disabled[0].message
        );
        assert_eq!(
            pointers(ID, KIND, json!({"healthcheck": {"test": []}})),
            ["/healthcheck"]
        );
    }

    #[test]
    fn a_real_check_passes() {
        let config = json!({"healthcheck": {"test": ["CMD-SHELL", "curl -f http://localhost/"],
                                            "interval_ns": 0, "timeout_ns": 0, "retries": 0}});
        assert!(pointers(ID, KIND, config).is_empty());
    }
}
