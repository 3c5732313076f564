//! Kubernetes manifests (YAML or JSON, one or many objects per file) → resources.
//!
//! Every document that is a mapping with a string `apiVersion` and `kind` is one resource of
//! kind `kubernetes/<Kind>`; `List` objects (`kind: List`, `PodList`...) are split into their
//! items. Files that parse but hold no Kubernetes object are not ours and stay quiet; files that
//! fail to parse are reported, since a broken manifest must not pass a scan unnoticed.

use std::path::Path;
use std::sync::Arc;

use crate::resource::{Diagnostic, Limits, Normalized, Resource, SpanTable};
use crate::yaml::{self, Node, ParseErrorKind, Value};

/// True for names the Kubernetes normalizer reads: `*.yaml`, `*.yml`, `*.json` (any case).
pub fn is_candidate(path: &Path) -> bool {
    path.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| {
            ["yaml", "yml", "json"]
                .iter()
                .any(|known| extension.eq_ignore_ascii_case(known))
        })
}

/// Normalizes the Kubernetes objects of one file; `display` names the file in the results.
pub fn normalize(display: &str, text: &str, limits: &Limits) -> Normalized {
    let json = Path::new(display)
        .extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| extension.eq_ignore_ascii_case("json"));
    let mut normalized = Normalized::default();
    let mut ordinal = 0;
    let resources = &mut normalized.resources;
    let on_document = |document| {
        ordinal += 1;
        collect(display, document, None, &ordinal.to_string(), resources);
    };
    let error = if json {
        yaml::parse_each_json_document(text, limits, on_document)
    } else {
        yaml::parse_each_document(text, limits, on_document)
    };
    // A syntax error is only ours to report when the file is meant to be a manifest: a broken
    // `tsconfig.json` or CI workflow is not a Kubernetes problem. Hostile input (limits) always is.
    let error = error.filter(|e| {
        e.kind == ParseErrorKind::Limit
            || !normalized.resources.is_empty()
            || looks_like_manifest(text)
    });
    if let Some(error) = error {
        let format = if json { "JSON" } else { "YAML" };
        let message = match error.kind {
            ParseErrorKind::Syntax => format!("invalid {format}: {}", error.message),
            ParseErrorKind::Limit => format!("stopped reading {format}: {}", error.message),
        };
        normalized.diagnostics.push(Diagnostic {
            file: display.to_owned(),
            line: Some(error.line),
            message,
        });
        normalized.recognized = true;
    }
    normalized.recognized |= !normalized.resources.is_empty();
    normalized
}

/// True when the text mentions both `apiVersion` and `kind` keys, as every manifest does.
fn looks_like_manifest(text: &str) -> bool {
    let has_key = |key: &str| {
        text.match_indices(key).any(|(at, _)| {
            let rest = text[at + key.len()..].trim_start_matches(['"', '\'', ' ', '\t']);
            rest.starts_with(':')
        })
    };
    has_key("apiVersion") && has_key("kind")
}

/// Adds the resources `node` holds: itself, or the items of a list.
///
/// `list_kind` is the item kind implied by a typed list (`PodList` → `Pod`) for items that
/// leave `kind` out; `ordinal` numbers the node in the file (`3`, or `3.2` for a list's second
/// item) for the ids of unnamed objects.
fn collect(
    display: &str,
    node: Node,
    list_kind: Option<&str>,
    ordinal: &str,
    out: &mut Vec<Resource>,
) {
    if node.as_map().is_none() {
        return;
    }
    let kind = match (node.get("kind"), list_kind) {
        (Some(kind), _) => kind.as_str(),
        (None, implied) => implied,
    };
    let Some(kind) = kind.filter(|kind| !kind.is_empty()).map(str::to_owned) else {
        return;
    };
    // A top-level object needs both; list items often carry neither (typed lists).
    if list_kind.is_none() && node.get("apiVersion").and_then(Node::as_str).is_none() {
        return;
    }

    if kind.ends_with("List") && node.get("items").and_then(Node::as_seq).is_some() {
        let implied = kind
            .strip_suffix("List")
            .filter(|item_kind| !item_kind.is_empty());
        for (index, item) in take_items(node).into_iter().enumerate() {
            let ordinal = format!("{ordinal}.{}", index + 1);
            collect(display, item, implied, &ordinal, out);
        }
        return;
    }
    out.push(resource(display, node, &kind, ordinal));
}

/// Moves the `items` array out of a list object.
fn take_items(node: Node) -> Vec<Node> {
    let Value::Map(entries) = node.value else {
        return Vec::new();
    };
    let items = Arc::unwrap_or_clone(entries)
        .into_iter()
        .find(|entry| entry.key == "items");
    match items.map(|entry| entry.value.value) {
        Some(Value::Seq(items)) => Arc::unwrap_or_clone(items),
        _ => Vec::new(),
    }
}

fn resource(display: &str, node: Node, kind: &str, ordinal: &str) -> Resource {
    let metadata = node.get("metadata");
    let field = |name: &str| {
        metadata
            .and_then(|metadata| metadata.get(name))
            .and_then(text)
    };
    let name = field("name")
        .or_else(|| field("generateName").map(|prefix| format!("{prefix}*")))
        .unwrap_or_else(|| format!("<unnamed-{ordinal}>"));
    let id = if is_cluster_scoped(kind) {
        format!("{kind}/{name}")
    } else {
        let namespace = field("namespace").unwrap_or_else(|| "default".to_owned());
        format!("{kind}/{namespace}/{name}")
    };
    let mut spans = SpanTable::default();
    node.record_spans(&mut String::new(), &mut spans);
    Resource {
        id,
        kind: format!("kubernetes/{kind}"),
        file: display.to_owned(),
        line: node.line,
        end_line: node.end_line.max(node.line),
        attributes: node.into_json(),
        spans,
        details: Default::default(),
    }
}

/// A scalar as the text Kubernetes would see (`name: 123` is the name "123"); empty is none.
fn text(node: &Node) -> Option<String> {
    match &node.value {
        Value::String(s) if s.is_empty() => None,
        Value::String(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) => Some(node.to_text()),
        Value::Null | Value::Seq(_) | Value::Map(_) => None,
    }
}

/// Kinds whose objects live outside any namespace: the built-in ones, and a few widely used
/// custom resources. Anything else is treated as namespaced.
fn is_cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "APIService"
            | "CertificateSigningRequest"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "ClusterTrustBundle"
            | "ComponentStatus"
            | "CSIDriver"
            | "CSINode"
            | "CustomResourceDefinition"
            | "DeviceClass"
            | "FlowSchema"
            | "IngressClass"
            | "IPAddress"
            | "MutatingAdmissionPolicy"
            | "MutatingAdmissionPolicyBinding"
            | "MutatingWebhookConfiguration"
            | "Namespace"
            | "Node"
            | "PersistentVolume"
            | "PodSecurityPolicy"
            | "PriorityClass"
            | "PriorityLevelConfiguration"
            | "ResourceSlice"
            | "RuntimeClass"
            | "SelfSubjectAccessReview"
            | "SelfSubjectReview"
            | "SelfSubjectRulesReview"
            | "ServiceCIDR"
            | "StorageClass"
            | "StorageVersion"
            | "StorageVersionMigration"
            | "SubjectAccessReview"
            | "TokenReview"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding"
            | "ValidatingWebhookConfiguration"
            | "VolumeAttachment"
            | "VolumeAttributesClass"
            // Custom resources: cert-manager, Kyverno, external-secrets, Gateway API, Gatekeeper.
            | "ClusterIssuer"
            | "ClusterPolicy"
            | "ClusterPolicyReport"
            | "ClusterSecretStore"
            | "ClusterExternalSecret"
            | "GatewayClass"
            | "ConstraintTemplate"
    )
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use crate::resource::Span;

    const DEPLOYMENT: &str = "\
# A web deployment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.25
          securityContext:
            privileged: true
        - name: sidecar
          image: envoy
";

    fn run(display: &str, text: &str) -> Normalized {
        normalize(display, text, &Limits::default())
    }

    fn ids(normalized: &Normalized) -> Vec<&str> {
        normalized.resources.iter().map(|r| r.id.as_str()).collect()
    }

    fn line_of(resource: &Resource, pointer: &str) -> Option<u32> {
        resource.spans.get(pointer).map(|span| span.line)
    }

    #[test]
    fn candidates_are_yaml_and_json_by_name() {
        for name in ["a.yaml", "b/c.YML", "d.Json", "deploy.yml"] {
            assert!(is_candidate(Path::new(name)), "{name}");
        }
        for name in ["a.tf", "yaml", "Dockerfile", "a.yaml.bak", "x.jsonl"] {
            assert!(!is_candidate(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn deployment_spans_point_at_exact_lines() {
        let normalized = run("k8s/web.yaml", DEPLOYMENT);
        assert!(normalized.recognized);
        assert!(normalized.diagnostics.is_empty());
        let [deployment] = normalized.resources.as_slice() else {
            panic!("one resource expected, got {:?}", ids(&normalized));
        };
        assert_eq!(deployment.id, "Deployment/prod/web");
        assert_eq!(deployment.kind, "kubernetes/Deployment");
        assert_eq!(deployment.file, "k8s/web.yaml");
        assert_eq!((deployment.line, deployment.end_line), (2, 17));
        assert_eq!(
            deployment.attributes["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"],
            serde_json::json!(true)
        );
        let privileged = "/spec/template/spec/containers/0/securityContext/privileged";
        assert_eq!(line_of(deployment, privileged), Some(15));
        assert_eq!(
            deployment.locate(privileged),
            Span {
                line: 15,
                column: 13
            }
        );
        // A missing field falls back to the container it would belong to: `- name: sidecar`.
        assert_eq!(
            deployment.locate("/spec/template/spec/containers/1/securityContext/privileged"),
            Span {
                line: 16,
                column: 11
            }
        );
        assert_eq!(deployment.locate("/spec/hostNetwork").line, 7);
        assert_eq!(deployment.locate("").line, 2);
    }

    #[test]
    fn a_bad_document_keeps_the_ones_before_it() {
        let text = "\
apiVersion: v1
kind: ConfigMap
metadata: {name: one}
---
apiVersion: v1
kind: Secret
metadata:
  name: two
---
apiVersion: v1
kind: Service
metadata:
  name: three
  labels:
    app: web
   tier: front
---
apiVersion: v1
kind: Service
metadata: {name: four}
";
        let normalized = run("multi.yaml", text);
        assert!(normalized.recognized);
        assert_eq!(
            ids(&normalized),
            ["ConfigMap/default/one", "Secret/default/two"]
        );
        assert_eq!(
            (
                normalized.resources[1].line,
                normalized.resources[1].end_line
            ),
            (5, 8)
        );
        assert_eq!(
            normalized.diagnostics,
            [Diagnostic {
                file: "multi.yaml".into(),
                line: Some(16),
                message: "invalid YAML: while parsing a block mapping, did not find expected key"
                    .into(),
            }]
        );
    }

    #[test]
    fn malformed_manifests_are_reported_even_without_objects() {
        let normalized = run("config.yaml", "apiVersion: v1\nkind: Pod\n b: 2\n");
        assert!(normalized.recognized);
        assert!(normalized.resources.is_empty());
        assert_eq!(normalized.diagnostics.len(), 1);
        assert_eq!(normalized.diagnostics[0].line, Some(3));
        assert_eq!(
            normalized.diagnostics[0].message,
            "invalid YAML: mapping values are not allowed in this context"
        );
        let normalized = run("x.json", "{\"apiVersion\": \"v1\", \"kind\": \"Pod\",,}");
        assert_eq!(
            normalized.diagnostics.len(),
            1,
            "{:?}",
            normalized.diagnostics
        );
    }

    #[test]
    fn malformed_files_of_other_tools_are_not_ours_to_report() {
        for (name, text) in [
            ("tsconfig.json", "{\n  // comment\n  \"strict\": true,\n}\n"),
            ("workflow.yaml", "on: push\n jobs: 2\n"),
        ] {
            let normalized = run(name, text);
            assert!(!normalized.recognized, "{name}");
            assert!(normalized.diagnostics.is_empty(), "{name}");
        }
    }

    #[test]
    fn hostile_input_is_always_reported() {
        let mut bomb = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for (i, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
            .iter()
            .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
        {
            bomb.push_str(&format!("{i}: &{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
        }
        let normalized = run("bomb.yaml", &bomb);
        assert_eq!(normalized.diagnostics.len(), 1);
        assert!(
            normalized.diagnostics[0]
                .message
                .starts_with("stopped reading YAML")
        );
    }

    #[test]
    fn lists_are_split_into_their_items() {
        let text = "\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata:
      name: svc
    spec:
      ports:
        - port: 80
  - not an object
  - apiVersion: apps/v1
    kind: DaemonSet
    metadata:
      name: agent
      namespace: kube-system
    spec:
      template:
        spec:
          hostNetwork: true
";
        let normalized = run("list.yaml", text);
        assert_eq!(
            ids(&normalized),
            ["Service/default/svc", "DaemonSet/kube-system/agent"]
        );
        let service = &normalized.resources[0];
        assert_eq!((service.line, service.end_line), (4, 10));
        assert_eq!(service.attributes["spec"]["ports"][0]["port"], 80);
        assert_eq!(line_of(service, ""), Some(4));
        assert_eq!(line_of(service, "/spec/ports/0"), Some(10));
        assert_eq!(line_of(service, "/items"), None);
        let daemon_set = &normalized.resources[1];
        assert_eq!(
            line_of(daemon_set, "/spec/template/spec/hostNetwork"),
            Some(20)
        );
        assert_eq!((daemon_set.line, daemon_set.end_line), (12, 20));
    }

    #[test]
    fn typed_lists_imply_the_item_kind() {
        let text = r#"{"apiVersion": "v1", "kind": "PodList", "items": [
  {"metadata": {"name": "a"}},
  {"metadata": {"generateName": "job-"}},
  {"metadata": {}}
]}"#;
        let normalized = run("pods.json", text);
        assert_eq!(
            ids(&normalized),
            [
                "Pod/default/a",
                "Pod/default/job-*",
                "Pod/default/<unnamed-1.3>"
            ]
        );
        assert_eq!(normalized.resources[1].kind, "kubernetes/Pod");
        assert_eq!(normalized.resources[2].line, 4);
    }

    #[test]
    fn a_custom_kind_ending_in_list_without_items_is_an_object() {
        let text = "apiVersion: example.com/v1\nkind: AccessList\nmetadata: {name: a}\n";
        assert_eq!(ids(&run("a.yaml", text)), ["AccessList/default/a"]);
    }

    #[test]
    fn json_manifests_have_lines() {
        let text = "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"Pod\",\n\t\"metadata\": {\"name\":\t\"p\"},\n\t\"spec\": {\n\t\t\"containers\": [\n\t\t\t{\"name\": \"c\", \"securityContext\": {\"privileged\": true}}\n\t\t]\n\t}\n}\n";
        let normalized = run("pod.json", text);
        assert!(
            normalized.diagnostics.is_empty(),
            "{:?}",
            normalized.diagnostics
        );
        let [pod] = normalized.resources.as_slice() else {
            panic!("one resource expected");
        };
        assert_eq!(pod.id, "Pod/default/p");
        assert_eq!((pod.line, pod.end_line), (1, 10));
        assert_eq!(
            line_of(pod, "/spec/containers/0/securityContext/privileged"),
            Some(7)
        );
        assert_eq!(line_of(pod, "/metadata/name"), Some(4));

        let minified = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"m"}}"#;
        let normalized = run("min.json", minified);
        assert_eq!(ids(&normalized), ["Pod/default/m"]);
        assert_eq!(
            normalized.resources[0].spans.get("/metadata/name").copied(),
            Some(Span {
                line: 1,
                column: 45
            })
        );
    }

    #[test]
    fn files_without_kubernetes_objects_are_skipped_quietly() {
        for (name, text) in [
            ("config.yaml", "server:\n  port: 8080\nkind: of\n"),
            (
                "package.json",
                r#"{"name": "app", "version": "1.0.0", "kind": "x"}"#,
            ),
            (
                "docker-compose.yml",
                "services:\n  web:\n    image: nginx\n",
            ),
            ("empty.yaml", ""),
            ("separators.yaml", "---\n---\n# nothing\n...\n"),
            ("scalar.yaml", "just text\n"),
            ("list.yaml", "- apiVersion: v1\n  kind: Pod\n"),
            ("kind.yaml", "apiVersion: v1\nkind: 42\n"),
        ] {
            let normalized = run(name, text);
            assert!(!normalized.recognized, "{name}");
            assert!(normalized.resources.is_empty(), "{name}");
            assert!(normalized.diagnostics.is_empty(), "{name}");
        }
    }

    #[test]
    fn empty_documents_and_separators_are_fine() {
        let text =
            "---\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n---\n\n...\n";
        let normalized = run("ns.yaml", text);
        assert_eq!(ids(&normalized), ["Namespace/prod"]);
        assert_eq!(
            (
                normalized.resources[0].line,
                normalized.resources[0].end_line
            ),
            (3, 6)
        );
    }

    #[test]
    fn ids_depend_on_scope_and_naming() {
        let text = "\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: admin, namespace: ignored}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader}
---
apiVersion: batch/v1
kind: Job
metadata: {generateName: migrate-, namespace: ops}
---
apiVersion: v1
kind: ConfigMap
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: 42}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: team}
";
        assert_eq!(
            ids(&run("ids.yaml", text)),
            [
                "ClusterRole/admin",
                "Role/default/reader",
                "Job/ops/migrate-*",
                "ConfigMap/default/<unnamed-4>",
                "PersistentVolume/42",
                "Widget/team/w",
            ]
        );
    }

    #[test]
    fn billion_laughs_gives_a_diagnostic_quickly() {
        let mut text =
            String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n");
        text.push_str("  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for pair in names.windows(2) {
            let aliases = vec![format!("*{}", pair[0]); 9].join(", ");
            writeln!(text, "  {}: &{} [{aliases}]", pair[1], pair[1]).expect("write to String");
        }
        let started = std::time::Instant::now();
        let normalized = run("lol.yaml", &text);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert!(normalized.recognized);
        assert!(normalized.resources.is_empty());
        assert_eq!(
            normalized.diagnostics[0].message,
            "stopped reading YAML: document expands to more than 2000000 nodes (alias expansion)"
        );
        assert_eq!(normalized.diagnostics[0].line, Some(11));
    }

    #[test]
    fn deep_nesting_gives_a_diagnostic_quickly() {
        let mut text = String::from("apiVersion: v1\nkind: ConfigMap\ndata:\n  x: ");
        text.push_str(&"[".repeat(10_000));
        let started = std::time::Instant::now();
        let normalized = run("deep.yaml", &text);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(normalized.diagnostics.len(), 1);
        assert!(
            normalized.diagnostics[0]
                .message
                .ends_with("nesting deeper than 128 levels"),
            "{:?}",
            normalized.diagnostics
        );
    }

    #[test]
    fn anchors_and_merge_keys_are_expanded() {
        let text = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - &base
          name: web
          image: web:1
          securityContext:
            privileged: true
        - <<: *base
          name: worker
";
        let normalized = run("anchors.yaml", text);
        let [deployment] = normalized.resources.as_slice() else {
            panic!("one resource expected");
        };
        let worker = &deployment.attributes["spec"]["template"]["spec"]["containers"][1];
        assert_eq!(
            *worker,
            serde_json::json!({
                "name": "worker", "image": "web:1", "securityContext": {"privileged": true}
            })
        );
        // Merged members point at the anchored definition they come from.
        assert_eq!(
            line_of(
                deployment,
                "/spec/template/spec/containers/1/securityContext/privileged"
            ),
            Some(12)
        );
        assert_eq!(
            line_of(deployment, "/spec/template/spec/containers/1/name"),
            Some(14)
        );
        assert_eq!(
            line_of(deployment, "/spec/template/spec/containers/1"),
            Some(13)
        );
    }

    #[test]
    fn every_kind_is_a_resource() {
        let text = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n\
                    apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\n";
        let kinds: Vec<String> = run("s.yaml", text)
            .resources
            .into_iter()
            .map(|r| r.kind)
            .collect();
        assert_eq!(kinds, ["kubernetes/Service", "kubernetes/Ingress"]);
    }

    #[test]
    fn ten_thousand_workloads() {
        let mut text = String::new();
        for i in 0..10_000 {
            writeln!(
                text,
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{i}\n  \
                 namespace: prod\n  labels: {{app: web, tier: front}}\nspec:\n  replicas: 3\n  \
                 template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      \
                 containers:\n        - name: web\n          image: nginx:1.25\n          \
                 ports:\n            - containerPort: 8080\n          resources:\n            \
                 limits: {{cpu: 500m, memory: 256Mi}}\n          securityContext:\n            \
                 privileged: false\n            runAsNonRoot: true"
            )
            .expect("write to String");
        }
        let started = std::time::Instant::now();
        let normalized = run("many.yaml", &text);
        let elapsed = started.elapsed();
        assert_eq!(normalized.resources.len(), 10_000);
        assert_eq!(normalized.resources[9_999].id, "Deployment/prod/web-9999");
        assert_eq!(normalized.resources[9_999].line, 23 * 9_999 + 2);
        // Release builds take a small fraction of this; the bound only catches quadratic work.
        assert!(
            elapsed < std::time::Duration::from_secs(20),
            "took {elapsed:?}"
        );
    }
}
