//! Typed views of Kubernetes resources, so one rule covers every workload kind.
//!
//! Every workload carries a pod template at a kind-specific place (`/spec` for a Pod,
//! `/spec/template/spec` for a Deployment, `/spec/jobTemplate/spec/template/spec` for a CronJob).
//! [`pod_spec`] finds it; [`containers`] yields every container of it, init and ephemeral
//! containers included, each with the JSON pointer a finding should use.

use std::fmt::Write as _;

use crate::{Resource, Value, pointer};

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

/// The pod spec of a workload, with its containers found once.
#[derive(Debug, Clone)]
pub struct PodSpec<'a> {
    /// Pointer to the pod spec object.
    pub pointer: &'static str,
    /// The pod spec object.
    pub value: &'a Value<'a>,
    security_context: &'a Value<'a>,
    containers: Vec<Container<'a>>,
}

impl<'a> PodSpec<'a> {
    fn new(pointer: &'static str, value: &'a Value<'a>) -> Self {
        let mut containers = Vec::new();
        for role in ContainerRole::ALL {
            let Some(list) = value.get(role.field()).as_array() else {
                continue;
            };
            for (index, value) in list.iter().enumerate() {
                if value.is_object() {
                    containers.push(Container {
                        pod_pointer: pointer,
                        index,
                        name: value.get("name").as_str().unwrap_or(""),
                        role,
                        value,
                        security_context: value.get("securityContext"),
                    });
                }
            }
        }
        PodSpec {
            pointer,
            value,
            security_context: value.get("securityContext"),
            containers,
        }
    }

    /// The field at a path of keys below the pod spec (`Value::Null` when missing).
    pub fn get(&self, path: &[&str]) -> &'a Value<'a> {
        pointer::get_path(self.value, path)
    }

    /// The pointer to a path of keys below the pod spec.
    pub fn pointer_to(&self, path: &[&str]) -> String {
        pointer::join(self.pointer, path)
    }

    /// A field of the pod-level `securityContext` (`Value::Null` when missing).
    pub fn security_context(&self, field: &str) -> &'a Value<'a> {
        pointer::get_path(self.security_context, &[field])
    }

    /// Every container: init containers, then containers, then ephemeral containers.
    pub fn containers(&self) -> impl ExactSizeIterator<Item = Container<'a>> + '_ {
        self.containers.iter().copied()
    }

    /// Every volume with its pointer.
    pub fn volumes(&self) -> impl Iterator<Item = (String, &'a Value<'a>)> + use<'a> {
        let base = self.pointer;
        self.value
            .get("volumes")
            .as_array()
            .unwrap_or_default()
            .iter()
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
#[derive(Debug, Clone, Copy)]
pub struct Container<'a> {
    /// Pointer to the pod spec holding the container.
    pod_pointer: &'static str,
    /// Position in its role's list.
    index: usize,
    /// The container's name (empty when missing).
    pub name: &'a str,
    pub role: ContainerRole,
    /// The container object.
    pub value: &'a Value<'a>,
    security_context: &'a Value<'a>,
}

impl<'a> Container<'a> {
    /// The field at a path of keys below the container (`Value::Null` when missing).
    pub fn get(&self, path: &[&str]) -> &'a Value<'a> {
        pointer::get_path(self.value, path)
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
        out.reserve(4 + path.iter().map(|t| t.len() + 1).sum::<usize>());
        let _ = write!(out, "/{}", self.index);
        for token in path {
            pointer::push(&mut out, token);
        }
        out
    }

    /// A field of the container's own `securityContext` (`Value::Null` when missing).
    pub fn security_context(&self, field: &str) -> &'a Value<'a> {
        pointer::get_path(self.security_context, &[field])
    }

    /// The container's image reference (empty when missing).
    pub fn image(&self) -> &'a str {
        self.value.get("image").as_str().unwrap_or("")
    }

    /// A `securityContext` field as it takes effect: the container's own value, else the pod's,
    /// with the pointer of whichever was set (`None` when neither is). Only for fields both
    /// levels have (`runAsUser`, `runAsNonRoot`, `runAsGroup`, `seccompProfile`, …).
    pub fn effective_security_context(
        &self,
        pod: &PodSpec<'a>,
        field: &str,
    ) -> Option<(String, &'a Value<'a>)> {
        let own = self.security_context(field);
        if !own.is_null() {
            return Some((self.pointer_to(&["securityContext", field]), own));
        }
        let inherited = pod.security_context(field);
        (!inherited.is_null()).then(|| (pod.pointer_to(&["securityContext", field]), inherited))
    }

    /// A phrase naming the container for messages, e.g. "init container `setup`" (formatted
    /// where it is used, without an allocation of its own).
    pub fn describe(&self) -> impl std::fmt::Display + use<'a> {
        let (role, name) = (self.role, self.name);
        std::fmt::from_fn(move |f| {
            let role = match role {
                ContainerRole::Init => "init container",
                ContainerRole::App => "container",
                ContainerRole::Ephemeral => "ephemeral container",
            };
            write!(f, "{role} `{name}`")
        })
    }
}

/// The pod spec of a workload resource, if it is one and has a spec object. Found once per
/// resource, whichever rule asks first.
pub fn pod_spec<'r, 'a>(resource: &'r Resource<'a>) -> Option<&'r PodSpec<'a>> {
    resource
        .pod_spec
        .get_or_init(|| {
            let pointer = pod_spec_pointer(resource.type_name())?;
            let value = resource.get(pointer);
            value.is_object().then(|| PodSpec::new(pointer, value))
        })
        .as_ref()
}

/// Every container of a workload resource (none for other kinds).
pub fn containers<'r, 'a>(resource: &'r Resource<'a>) -> impl Iterator<Item = Container<'a>> + 'r {
    pod_spec(resource).into_iter().flat_map(PodSpec::containers)
}

/// The resource's `metadata.namespace`, if set.
pub fn namespace<'a>(resource: &Resource<'a>) -> Option<&'a str> {
    resource.get("/metadata/namespace").as_str()
}

/// The resource's `metadata.name` (empty when missing).
pub fn name<'a>(resource: &Resource<'a>) -> &'a str {
    resource.get("/metadata/name").as_str().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OwnedValue;
    use serde_json::json;

    fn parse(attributes: serde_json::Value) -> OwnedValue {
        OwnedValue::from_string(attributes.to_string()).expect("valid JSON")
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
            let attributes = parse(attributes);
            let kind = format!("kubernetes/{kind}");
            let r = Resource::new("x", &kind, "f.yaml", &attributes);
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
        let attributes = parse(json!({"spec": {"containers": [{"name": "a"}]}}));
        let r = Resource::new("x", "kubernetes/Service", "f.yaml", &attributes);
        assert_eq!(containers(&r).count(), 0);
    }

    #[test]
    fn container_security_context_overrides_pod_level() {
        let attributes = parse(json!({"spec": {"securityContext": {"runAsUser": 1000},
                            "containers": [{"name": "a", "securityContext": {"runAsUser": 0}},
                                           {"name": "b"},
                                           {"name": "c", "securityContext": {"runAsUser": null}}]}}));
        let r = Resource::new("x", "kubernetes/Pod", "f.yaml", &attributes);
        let pod = pod_spec(&r).expect("pod spec");
        let effective: Vec<_> = pod
            .containers()
            .map(|c| {
                c.effective_security_context(pod, "runAsUser")
                    .map(|(pointer, v)| (pointer, v.as_u64()))
            })
            .collect();
        assert_eq!(
            effective,
            vec![
                Some((
                    "/spec/containers/0/securityContext/runAsUser".to_string(),
                    Some(0)
                )),
                Some(("/spec/securityContext/runAsUser".to_string(), Some(1000))),
                Some(("/spec/securityContext/runAsUser".to_string(), Some(1000))),
            ]
        );
    }

    #[test]
    fn the_pod_spec_is_found_once_per_resource() {
        let attributes = parse(json!({"spec": {"containers": [{"name": "a"}]}}));
        let r = Resource::new("x", "kubernetes/Pod", "f.yaml", &attributes);
        let first = pod_spec(&r).expect("pod spec");
        let second = pod_spec(&r).expect("pod spec");
        assert!(std::ptr::eq(first, second));
    }
}
