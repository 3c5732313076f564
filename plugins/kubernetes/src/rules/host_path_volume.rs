//! `k8s/host-path-volume`: pods must not mount directories of the node.

use palisade_sdk::{Report, Resource, Rule, Severity, kubernetes};

pub const RULE: Rule = Rule {
    id: "k8s/host-path-volume",
    title: "Pod mounts a host path",
    severity: Severity::High,
    kinds: kubernetes::WORKLOAD_KINDS,
    description: "A `hostPath` volume exposes a file or directory of the node to the pod. It \
breaks isolation between the pod and the node and between pods on the same node, it is the \
usual first step of a container escape, and a writable one lets the pod plant files the node \
will execute. Every `hostPath` volume is reported; paths that hand over the node outright are \
reported as **critical**: the root filesystem, `/etc`, `/root`, `/proc`, `/sys`, `/dev`, \
`/boot`, the container runtime's sockets and state (`/var/run/docker.sock`, \
`/run/containerd`, `/var/run/crio`, `/var/lib/docker`, `/var/lib/containerd`), the kubelet's \
state (`/var/lib/kubelet`) and etcd's data, and any directory that contains one of them (such \
as `/var` or `/run`). Paths are compared after resolving `.` and `..` and dropping repeated or \
trailing slashes.",
    remediation: "Use a volume type that does not touch the node: `emptyDir` for scratch \
space, a `persistentVolumeClaim` for data, `configMap`/`secret`/`projected` volumes for \
configuration. Node agents that truly need a host path should mount the narrowest path \
read-only (`volumeMounts[].readOnly: true`) and be waived explicitly.",
    help_uri: Some("https://kubernetes.io/docs/concepts/storage/volumes/#hostpath"),
    tags: &["pod-security/baseline", "cis-k8s/5.2.12"],
    check,
};

/// Host paths whose exposure amounts to control of the node.
const SENSITIVE: &[&str] = &[
    "/etc",
    "/root",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/cri-dockerd.sock",
    "/var/run/containerd",
    "/run/containerd",
    "/var/run/crio",
    "/run/crio",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/lib/kubelet",
    "/var/lib/etcd",
];

fn check(resource: &Resource, report: &mut Report) {
    let Some(pod) = kubernetes::pod_spec(resource) else {
        return;
    };
    for (pointer, volume) in pod.volumes() {
        let host_path = volume.get("hostPath");
        if host_path.is_null() {
            continue;
        }
        let name = volume.get("name").as_str().unwrap_or("");
        let path = host_path.get("path").as_str();
        let pointer = pointer + "/hostPath";
        match path {
            Some(path) if is_sensitive(path) => report.finding_with_severity(
                pointer,
                format!(
                    "volume `{name}` mounts the node's `{path}`, which gives control of the node"
                ),
                Severity::Critical,
            ),
            Some(path) => report.finding(
                pointer,
                format!("volume `{name}` mounts the node's `{path}`"),
            ),
            None => report.finding(
                pointer,
                format!("volume `{name}` mounts a path of the node"),
            ),
        }
    }
}

/// True when `path` is, lies inside, or contains one of the [`SENSITIVE`] paths (the root
/// directory contains them all).
fn is_sensitive(path: &str) -> bool {
    let path = segments(path);
    SENSITIVE.iter().any(|sensitive| {
        // One is a prefix of the other: `zip` stops at the shorter.
        path.iter()
            .zip(sensitive.split('/').filter(|s| !s.is_empty()))
            .all(|(a, b)| *a == b)
    })
}

/// The segments of an absolute path with `.`, `..` and empty segments resolved.
fn segments(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            segment => out.push(segment),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_paths_include_their_parents_and_children() {
        for path in [
            "/",
            "//",
            "/etc",
            "/etc/",
            "/etc/kubernetes/pki",
            "/var",
            "/var/run",
            "/run",
            "/var/run/docker.sock",
            "/run/containerd/containerd.sock",
            "/var/lib/kubelet/pods",
            "/proc",
            "/root/.ssh",
            "/var/log/../lib/kubelet",
            "/./etc",
            "/tmp/../..",
        ] {
            assert!(is_sensitive(path), "{path}");
        }
    }

    #[test]
    fn ordinary_paths_are_not_sensitive() {
        for path in [
            "/var/log",
            "/data",
            "/mnt/disks/ssd0",
            "/var/lib/app",
            "/etcd-backup",
            "/var/run-app",
            "/opt/etc",
            "/tmp",
        ] {
            assert!(!is_sensitive(path), "{path}");
        }
    }
}
