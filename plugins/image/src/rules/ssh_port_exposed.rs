//! `image/ssh-port-exposed`: images must not expose SSH.

use palisade_sdk::{Report, Resource, Rule, Severity, image};

pub const RULE: Rule = Rule {
    id: "image/ssh-port-exposed",
    title: "SSH port exposed",
    severity: Severity::Medium,
    kinds: image::CONFIG_KINDS,
    description: "An image that exposes port 22 is meant to run an SSH daemon: one more \
network service with its own keys, users and CVEs, a way into the container that bypasses the \
orchestrator's access control and audit log, and usually long-lived credentials baked into the \
image. `docker exec` and `kubectl exec` do the same job without any of that. This rule judges \
`image/config` and fires for TCP port 22 among the exposed ports (`ExposedPorts` \
`\"22/tcp\": {}`, from `EXPOSE 22` in the Dockerfile or in any base image), pointing at that \
port. UDP 22 is not SSH and is not reported.",
    remediation: "Remove `EXPOSE 22` and the SSH server from the image (and from its base \
image, if it comes from there); use `docker exec` / `kubectl exec` for interactive access, and \
a sidecar or job for file transfer.",
    help_uri: Some("https://docs.docker.com/reference/dockerfile/#expose"),
    tags: &["cis-docker/5.6", "network"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let Some(config) = image::config(resource) else {
        return;
    };
    for port in config.exposed_ports() {
        if port.port == 22 && port.is_tcp() {
            report.finding(
                port.pointer(),
                "exposes the SSH port 22/tcp: remove `EXPOSE 22` and the SSH server, and use \
                 `docker exec` or `kubectl exec` instead",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::pointers;
    use palisade_sdk::serde_json::json;

    const ID: &str = "image/ssh-port-exposed";
    const KIND: &str = "image/config";

    #[test]
    fn tcp_22_is_reported_at_its_port() {
        let config = json!({"exposed_ports": [
            {"port": 80, "protocol": "tcp"}, {"port": 22, "protocol": "tcp"}
        ]});
        assert_eq!(pointers(ID, KIND, config), ["/exposed_ports/1"]);
        let upper = json!({"exposed_ports": [{"port": 22, "protocol": "TCP"}]});
        assert_eq!(pointers(ID, KIND, upper), ["/exposed_ports/0"]);
    }

    #[test]
    fn other_ports_and_protocols_pass() {
        let config = json!({"exposed_ports": [
            {"port": 22, "protocol": "udp"}, {"port": 2222, "protocol": "tcp"},
            {"port": 8080, "protocol": "tcp"}
        ]});
        assert!(pointers(ID, KIND, config).is_empty());
        assert!(pointers(ID, KIND, json!({"exposed_ports": []})).is_empty());
    }
}
