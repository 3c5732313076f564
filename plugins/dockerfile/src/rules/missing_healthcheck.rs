//! `docker/missing-healthcheck`: the final image should say how to check its health.

use palisade_sdk::{Report, Resource, Rule, Severity, dockerfile};

pub const RULE: Rule = Rule {
    id: "docker/missing-healthcheck",
    title: "Final stage has no HEALTHCHECK",
    severity: Severity::Low,
    kinds: dockerfile::STAGE_KINDS,
    description: "Without a `HEALTHCHECK`, Docker and Swarm only know whether the main process \
is alive, not whether it works: a deadlocked server or one that lost its database keeps \
receiving traffic and is never restarted. This rule judges the final stage only, the image that \
runs; it fires when that stage has no `HEALTHCHECK` instruction, pointing at its `FROM` line. \
`HEALTHCHECK NONE` counts as a decision, not an omission (for example when Kubernetes probes \
check the container instead), and is not reported. A final stage built `FROM` an earlier stage \
of the file is not judged, since the health check may sit in that stage and a rule sees one \
stage at a time.",
    remediation: "Add a check that exercises the service, with tools the image has: \
`HEALTHCHECK --interval=30s --timeout=3s CMD [\"/app\", \"healthcheck\"]` or \
`HEALTHCHECK CMD curl -fsS http://localhost:8080/healthz || exit 1`. If the orchestrator probes \
the container instead, say so with `HEALTHCHECK NONE`.",
    help_uri: Some("https://docs.docker.com/reference/dockerfile/#healthcheck"),
    tags: &["cis-docker/4.6", "availability"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    if !dockerfile::is_final(resource) || dockerfile::from(resource).stage.is_some() {
        return;
    }
    if dockerfile::instructions(resource).any(|i| i.is("HEALTHCHECK")) {
        return;
    }
    report.finding(
        dockerfile::FROM_POINTER,
        "the final stage has no HEALTHCHECK, so only a crash of the main process is noticed",
    );
}
