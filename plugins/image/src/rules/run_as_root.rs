//! `image/run-as-root`: the image must not run its containers as root.

use palisade_sdk::{Report, Resource, Rule, Severity, image};

pub const RULE: Rule = Rule {
    id: "image/run-as-root",
    title: "Image runs as root",
    severity: Severity::High,
    kinds: image::CONFIG_KINDS,
    description: "A container runs as the `User` of its image configuration unless the \
orchestrator overrides it, and as root when the image sets none. Root in a container is root \
on the host for anything that crosses the boundary: a writable host mount, a kernel bug, a \
runtime escape, a misconfigured capability. This rule judges `image/config`, the configuration \
of the built image, whatever produced it (a Dockerfile, Buildpacks, `ko`, Jib, Nix): it fires \
when the user is empty, `root`, `0`, `root:<group>`, `0:<group>` or Windows' \
`ContainerAdministrator`, pointing at the config's `User`.\n
Example: an image built from `FROM debian:12` with no `USER` line has `\"User\": \"\"` and \
runs as root.",
    remediation: "Create an unprivileged user and switch to it at the end of the Dockerfile's \
final stage:\n
```dockerfile
RUN groupadd --system app && useradd --system --gid app --no-create-home app
USER app
```\n
or use a numeric id (`USER 10001:10001`) so Kubernetes' `runAsNonRoot` can verify it without \
reading `/etc/passwd`.",
    help_uri: Some("https://docs.docker.com/build/building/best-practices/#user"),
    tags: &["cis-docker/4.1", "least-privilege"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let Some(config) = image::config(resource) else {
        return;
    };
    if !config.runs_as_root() {
        return;
    }
    let user = config.user().trim();
    let message = if user.split(':').next().unwrap_or("").is_empty() {
        "the image sets no user, so containers run as root: set USER to a non-root user in the \
         Dockerfile"
            .to_owned()
    } else {
        format!("runs as root (`{user}`): set USER to a non-root user in the Dockerfile")
    };
    report.finding(image::USER_POINTER, message);
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{findings, pointers};
    use palisade_sdk::serde_json::json;

    const ID: &str = "image/run-as-root";
    const KIND: &str = "image/config";

    #[test]
    fn root_users_are_reported_at_the_user() {
        for user in [
            "",
            "root",
            "0",
            "0:0",
            "root:staff",
            "ContainerAdministrator",
        ] {
            assert_eq!(
                pointers(ID, KIND, json!({"user": user})),
                ["/user"],
                "{user:?}"
            );
        }
        assert_eq!(pointers(ID, KIND, json!({})), ["/user"], "no user at all");
        let found = findings(ID, KIND, json!({"user": "root:staff"}));
        assert_eq!(
            found[0].message,
            "runs as root (`root:staff`): set USER to a non-root user in the Dockerfile"
        );
        let found = findings(ID, KIND, json!({"user": ""}));
        assert!(found[0].message.starts_with("the image sets no user"));
    }

    #[test]
    fn other_users_pass() {
        for user in ["app", "1000", "1000:0", "nobody", "rootless", "65532:65532"] {
            assert!(
                pointers(ID, KIND, json!({"user": user})).is_empty(),
                "{user}"
            );
        }
    }

    #[test]
    fn other_kinds_are_not_judged() {
        assert!(pointers(ID, "image/manifest", json!({"user": "root"})).is_empty());
    }
}
