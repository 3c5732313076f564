//! Typed views of Kubernetes resources, so one rule covers every workload kind.
//!
//! Every workload carries a pod template at a kind-specific place (`/spec` for a Pod,
//! `/spec/template/spec` for a Deployment, `/spec/jobTemplate/spec/template/spec` for a CronJob).
//! [`pod_spec`] finds it; [`containers`] yields every container of it, init and ephemeral
//! containers included, each with the JSON pointer a finding should use.

use serde_json::Value;

use crate::{Resource, pointer};

/// The kinds that carry a pod template, as kind patterns for [`Rule::kinds`](crate::Rule::kinds).
pub const WORKLOAD_KINDS: &[&str] = &[
    "kubernetes/Pod",
    "kubernetes/PodTemplate",
    "kubernetes/Deployment",
    "kubernetes/StatefulSet",
    "kubernetes/DaemonSet",
    "kubernetes/ReplicaSet",
    "kubernetes/ReplicationController",
    "kubernetes/Job",
    "kubernetes/CronJob",
];

/// Where the pod spec sits in a workload kind, or `None` for kinds without one.
pub fn pod_spec_pointer(type_name: &str) -> Option<&'static str> {
    Some(match type_name {
        "Pod" => "/spec",
        "PodTemplate" => "/template/spec",
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job" => "/spec/template/spec",
        "CronJob" => "/spec/jobTemplate/spec/template/spec",
        _ => return None,
    })
}

/// The pod spec of a workload.
#[derive(Debug, Clone)]
pub struct PodSpec<'a> {
    /// Pointer to the pod spec object.
    pub pointer: &'static str,
    /// The pod spec object.
    pub value: &'a Value,
}

impl<'a> PodSpec<'a> {
    /// The field at a path of keys below the pod spec.
    pub fn get(&self, path: &[&str]) -> Option<&'a Value> {
        path.iter().try_fold(self.value, |v, key| v.get(key))
    }

    /// The pointer to a path of keys below the pod spec.
    pub fn pointer_to(&self, path: &[&str]) -> String {
        pointer::join(self.pointer, path)
    }

    /// A field of the pod-level `securityContext`.
    pub fn security_context(&self, field: &str) -> Option<&'a Value> {
        self.get(&["securityContext", field])
    }

    /// Every container: init containers, then containers, then ephemeral containers.
    pub fn containers(&self) -> impl Iterator<Item = Container<'a>> + use<'a> {
        let spec = self.value;
        let base = self.pointer;
        ContainerRole::ALL.into_iter().flat_map(move |role| {
            spec.get(role.field())
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
                .filter(|(_, c)| c.is_object())
                .map(move |(index, value)| Container {
                    pod_pointer: base,
                    index,
                    name: value.get("name").and_then(Value::as_str).unwrap_or(""),
                    role,
                    value,
                })
        })
    }

    /// Every volume with its pointer.
    pub fn volumes(&self) -> impl Iterator<Item = (String, &'a Value)> + use<'a> {
        let base = self.pointer;
        self.value
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .map(move |(index, v)| (pointer::join(base, &["volumes", &index.to_string()]), v))
    }
}

/// Which list of the pod spec a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerRole {
    Init,
    App,
    Ephemeral,
}

impl ContainerRole {
    const ALL: [ContainerRole; 3] = [
        ContainerRole::Init,
        ContainerRole::App,
        ContainerRole::Ephemeral,
    ];

    /// The pod spec field holding containers of this role.
    pub fn field(self) -> &'static str {
        match self {
            ContainerRole::Init => "initContainers",
            ContainerRole::App => "containers",
            ContainerRole::Ephemeral => "ephemeralContainers",
        }
    }
}

/// One container of a pod spec.
#[derive(Debug, Clone)]
pub struct Container<'a> {
    /// Pointer to the pod spec holding the container.
    pod_pointer: &'static str,
    /// Position in its role's list.
    index: usize,
    /// The container's name (empty when missing).
    pub name: &'a str,
    pub role: ContainerRole,
    /// The container object.
    pub value: &'a Value,
}

impl<'a> Container<'a> {
    /// The field at a path of keys below the container.
    pub fn get(&self, path: &[&str]) -> Option<&'a Value> {
        path.iter().try_fold(self.value, |v, key| v.get(key))
    }

    /// The pointer to the container object, e.g. `/spec/containers/0`.
    ///
    /// Built on demand: most checks never report, so they never pay for it.
    pub fn pointer(&self) -> String {
        self.pointer_to(&[])
    }

    /// The pointer to a path of keys below the container.
    pub fn pointer_to(&self, path: &[&str]) -> String {
        let mut out = pointer::join(self.pod_pointer, &[self.role.field()]);
        out.push('/');
        out.push_str(&self.index.to_string());
        for token in path {
            pointer::push(&mut out, token);
        }
        out
    }

    /// A field of the container's own `securityContext`.
    pub fn security_context(&self, field: &str) -> Option<&'a Value> {
        self.get(&["securityContext", field])
    }

    /// The container's image reference (empty when missing).
    pub fn image(&self) -> &'a str {
        self.value
            .get("image")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// A `securityContext` field as it takes effect: the container's own value, else the pod's,
    /// with the pointer of whichever was set. Only for fields both levels have (`runAsUser`,
    /// `runAsNonRoot`, `runAsGroup`, `seccompProfile`, …).
    pub fn effective_security_context(
        &self,
        pod: &PodSpec<'a>,
        field: &str,
    ) -> Option<(String, &'a Value)> {
        if let Some(v) = self.security_context(field) {
            return Some((self.pointer_to(&["securityContext", field]), v));
        }
        pod.security_context(field)
            .map(|v| (pod.pointer_to(&["securityContext", field]), v))
    }

    /// A phrase naming the container for messages, e.g. "init container `setup`".
    pub fn describe(&self) -> String {
        let role = match self.role {
            ContainerRole::Init => "init container",
            ContainerRole::App => "container",
            ContainerRole::Ephemeral => "ephemeral container",
        };
        format!("{role} `{}`", self.name)
    }
}

/// The pod spec of a workload resource, if it is one and has a spec object.
pub fn pod_spec(resource: &Resource) -> Option<PodSpec<'_>> {
    let pointer = pod_spec_pointer(resource.type_name())?;
    let value = resource.get(pointer)?;
    value.is_object().then_some(PodSpec { pointer, value })
}

/// Every container of a workload resource (none for other kinds).
pub fn containers(resource: &Resource) -> impl Iterator<Item = Container<'_>> {
    pod_spec(resource)
        .into_iter()
        .flat_map(|pod| pod.containers())
}

/// The resource's `metadata.namespace`, if set.
pub fn namespace(resource: &Resource) -> Option<&str> {
    resource.get("/metadata/namespace").and_then(Value::as_str)
}

/// The resource's `metadata.name` (empty when missing).
pub fn name(resource: &Resource) -> &str {
    resource
        .get("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resource(kind: &str, attributes: Value) -> Resource {
        Resource {
            id: "x".into(),
            kind: format!("kubernetes/{kind}"),
            file: "f.yaml".into(),
            attributes,
        }
    }

    #[test]
    fn finds_containers_of_every_workload_kind() {
        let pod = json!({"containers": [{"name": "a"}], "initContainers": [{"name": "i"}],
                         "ephemeralContainers": [{"name": "e"}]});
        let cases = [
            ("Pod", json!({"spec": pod}), "/spec"),
            (
                "Deployment",
                json!({"spec": {"template": {"spec": pod}}}),
                "/spec/template/spec",
            ),
            (
                "Job",
                json!({"spec": {"template": {"spec": pod}}}),
                "/spec/template/spec",
            ),
            (
                "CronJob",
                json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": pod}}}}}),
                "/spec/jobTemplate/spec/template/spec",
            ),
        ];
        for (kind, attributes, base) in cases {
            let r = resource(kind, attributes);
            let found: Vec<_> = containers(&r)
                .map(|c| (c.name.to_string(), c.pointer()))
                .collect();
            assert_eq!(
                found,
                vec![
                    ("i".to_string(), format!("{base}/initContainers/0")),
                    ("a".to_string(), format!("{base}/containers/0")),
                    ("e".to_string(), format!("{base}/ephemeralContainers/0")),
                ],
                "{kind}"
            );
        }
    }

    #[test]
    fn other_kinds_have_no_containers() {
        let r = resource("Service", json!({"spec": {"containers": [{"name": "a"}]}}));
        assert_eq!(containers(&r).count(), 0);
    }

    #[test]
    fn container_security_context_overrides_pod_level() {
        let r = resource(
            "Pod",
            json!({"spec": {"securityContext": {"runAsUser": 1000},
                            "containers": [{"name": "a", "securityContext": {"runAsUser": 0}},
                                           {"name": "b"}]}}),
        );
        let pod = pod_spec(&r).expect("pod spec");
        let effective: Vec<_> = pod
            .containers()
            .map(|c| c.effective_security_context(&pod, "runAsUser"))
            .collect();
        assert_eq!(
            effective,
            vec![
                Some((
                    "/spec/containers/0/securityContext/runAsUser".to_string(),
                    &json!(0)
                )),
                Some(("/spec/securityContext/runAsUser".to_string(), &json!(1000))),
            ]
        );
    }
}
