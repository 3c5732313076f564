//! `docker/ssh-port-exposed`: images must not expose SSH.

use palisade_sdk::{Report, Resource, Rule, Severity, dockerfile};

pub const RULE: Rule = Rule {
    id: "docker/ssh-port-exposed",
    title: "SSH port exposed",
    severity: Severity::Medium,
    kinds: dockerfile::STAGE_KINDS,
    description: "An image that exposes port 22 is meant to run an SSH daemon: one more \
network service with its own keys, users and CVEs, a way into the container that bypasses the \
orchestrator's access control and audit log, and usually long-lived credentials baked into the \
image. `docker exec` and `kubectl exec` do the same job without any of that. This rule judges \
every stage (any stage can be shipped with `--target`). It fires for each `EXPOSE` of TCP port \
22, alone or inside a range (`EXPOSE 20-30`), pointing at that port; ports that are still build \
arguments are not judged.",
    remediation: "Remove `EXPOSE 22` and the SSH server; use `docker exec` / `kubectl exec` for \
interactive access, and a sidecar or job for file transfer.",
    help_uri: Some("https://docs.docker.com/reference/dockerfile/#expose"),
    tags: &["cis-docker/5.6", "network"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    for instruction in dockerfile::instructions(resource).filter(|i| i.is("EXPOSE")) {
        for (index, port) in instruction.ports() {
            if includes_ssh(port) {
                report.finding(
                    instruction.pointer_to(&["ports", &index.to_string()]),
                    format!("EXPOSE `{port}` publishes the SSH port"),
                );
            }
        }
    }
}

/// True for a TCP port or range (`22/tcp`, `20-30/tcp`) that includes 22.
fn includes_ssh(port: &str) -> bool {
    let (ports, protocol) = port.split_once('/').unwrap_or((port, "tcp"));
    if !protocol.eq_ignore_ascii_case("tcp") {
        return false;
    }
    let (low, high) = ports.split_once('-').unwrap_or((ports, ports));
    match (low.trim().parse::<u32>(), high.trim().parse::<u32>()) {
        (Ok(low), Ok(high)) => (low..=high).contains(&22),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_22_is_found_alone_and_in_ranges() {
        for port in ["22/tcp", "22", "20-30/tcp", "22/TCP"] {
            assert!(includes_ssh(port), "{port}");
        }
        for port in [
            "2222/tcp",
            "22/udp",
            "80/tcp",
            "23-30/tcp",
            "$SSH_PORT/tcp",
            "/tcp",
        ] {
            assert!(!includes_ssh(port), "{port}");
        }
    }
}
