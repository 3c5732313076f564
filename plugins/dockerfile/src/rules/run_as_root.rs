//! `docker/run-as-root`: the image must not run as root.

use palisade_sdk::{Report, Resource, Rule, Severity, dockerfile};

pub const RULE: Rule = Rule {
    id: "docker/run-as-root",
    title: "Image runs as root",
    severity: Severity::High,
    kinds: dockerfile::STAGE_KINDS,
    description: "A container runs as the last `USER` of its image, and as root when there is \
none, which is the case for most base images. Root in a container is root on the host for \
anything that crosses the boundary: a writable host mount, a kernel bug, a runtime escape, a \
misconfigured capability. This rule judges the final stage only (the image `docker build` \
produces; builder stages often need root to install packages): it fires when the final stage \
sets no `USER`, pointing at its `FROM` line, or when its last `USER` is `root`, `0`, \
`root:<group>` or Windows' `ContainerAdministrator`, pointing at that `USER` line. A stage built \
`FROM` an earlier stage of the same file inherits that stage's `USER`. A `USER` that is still a \
build argument (`USER $APP_UID`) is not judged, and neither is a base image whose tag says it \
runs as non-root (distroless `…:nonroot`).",
    remediation: "Create an unprivileged user and switch to it at the end of the final stage, \
after the steps that need root:\n
```dockerfile
RUN groupadd --system app && useradd --system --gid app --no-create-home app
USER app
```\n
or use a numeric id (`USER 10001:10001`) so Kubernetes' `runAsNonRoot` can verify it.",
    help_uri: Some("https://docs.docker.com/build/building/best-practices/#user"),
    tags: &["cis-docker/4.1", "hadolint/DL3002", "least-privilege"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    if !dockerfile::is_final(resource) {
        return;
    }
    match dockerfile::user(resource) {
        None => {
            if dockerfile::from(resource)
                .tag
                .is_some_and(|tag| tag.ends_with("nonroot"))
            {
                return;
            }
            report.finding(
                dockerfile::FROM_POINTER,
                "the final stage sets no USER, so the container runs as the base image's user, \
                 which is root for most images",
            );
        }
        Some(user) if is_root(user) => report.finding(
            dockerfile::USER_POINTER,
            format!("the final stage runs as `{user}`"),
        ),
        Some(_) => {}
    }
}

/// True for a `USER` value naming the superuser (`root`, `0`, `root:staff`, `0:0`).
fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or("").trim();
    name == "root" || name == "0" || name.eq_ignore_ascii_case("ContainerAdministrator")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_users_are_recognized() {
        for user in ["root", "0", "root:root", "0:0", "ContainerAdministrator"] {
            assert!(is_root(user), "{user}");
        }
        for user in ["app", "1000", "1000:0", "nobody", "rootless", "$UID", "10"] {
            assert!(!is_root(user), "{user}");
        }
    }
}
