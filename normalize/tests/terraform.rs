//! The Terraform HCL normalizer over real directory trees (`tests/terraform/<case>/`): a root
//! module with local modules and variable files, modules installed by `terraform init`,
//! module recursion, cycles, and a broken file next to good ones.

use std::path::PathBuf;

use palisade_normalize::terraform::hcl::{ModuleOutput, normalize_directory};
use palisade_normalize::{Limits, Resource};
use serde_json::{Value, json};

fn dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/terraform")
        .join(name)
}

/// Normalizes case `name` as a scan of `tests/` would show it.
fn case(name: &str) -> ModuleOutput {
    normalize_directory(&dir(name), &format!("terraform/{name}"), &Limits::default())
}

fn ids(out: &ModuleOutput) -> Vec<&str> {
    out.normalized
        .resources
        .iter()
        .map(|r| r.id.as_str())
        .collect()
}

fn find<'a>(out: &'a ModuleOutput, id: &str) -> &'a Resource {
    out.normalized
        .resources
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no {id} in {:?}", ids(out)))
}

fn diagnostics(out: &ModuleOutput) -> Vec<(&str, Option<u32>, &str)> {
    out.normalized
        .diagnostics
        .iter()
        .map(|d| (d.file.as_str(), d.line, d.message.as_str()))
        .collect()
}

fn line(resource: &Resource, pointer: &str) -> Option<u32> {
    resource.spans.get(pointer).map(|span| span.line)
}

#[test]
fn a_root_module_with_local_modules_and_variable_files() {
    let out = case("root");
    assert!(out.normalized.recognized);
    assert_eq!(diagnostics(&out), []);
    assert_eq!(
        ids(&out),
        [
            "aws_instance.app[0]",
            "aws_instance.app[1]",
            "aws_iam_policy.read_logs",
            "aws_launch_template.bastion",
            "aws_s3_bucket_public_access_block.assets",
            "provider.aws",
            "module.network",
            "module.network.aws_vpc.this",
            "module.network.aws_subnet.private[0]",
            "module.network.aws_subnet.private[1]",
            "module.network.aws_security_group.app",
            "module.network.aws_flow_log.this",
            "module.network.module.flow_logs",
            "module.network.module.flow_logs.aws_s3_bucket.this",
            "module.network.module.flow_logs.aws_s3_bucket_versioning.this",
            "module.buckets[\"assets\"]",
            "module.buckets[\"logs\"]",
            "module.buckets[\"assets\"].aws_s3_bucket.this",
            "module.buckets[\"assets\"].aws_s3_bucket_versioning.this",
            "module.buckets[\"logs\"].aws_s3_bucket.this",
            "module.buckets[\"logs\"].aws_s3_bucket_versioning.this",
        ]
    );
    // instance_count: 3 in terraform.tfvars, 2 in b.auto.tfvars.json (read last);
    // environment: "staging" in terraform.tfvars, "prod" in a.auto.tfvars.
    let app = find(&out, "aws_instance.app[1]");
    assert_eq!(app.file, "terraform/root/main.tf");
    assert_eq!((app.line, app.end_line), (27, 45));
    assert_eq!(
        app.attributes["subnet_id"],
        json!({"$ref": "module.network.aws_subnet.private[1].id"})
    );
    assert_eq!(
        app.attributes["vpc_security_group_ids"],
        json!([{"$ref": "module.network.aws_security_group.app.id"}])
    );
    assert_eq!(
        app.attributes["metadata_options"],
        json!([{"http_tokens": "required"}])
    );
    // The bucket name comes from another resource: the rendered script is not known.
    assert!(app.attributes["user_data"]["$unknown"].is_string());
    assert_eq!(line(app, "/subnet_id"), Some(31));
    assert_eq!(line(app, "/root_block_device/0"), Some(42));

    let policy = find(&out, "aws_iam_policy.read_logs");
    assert_eq!(policy.attributes["name"], json!("acme-prod-read-logs"));
    let document: Value = serde_json::from_str(policy.attributes["policy"].as_str().unwrap_or(""))
        .unwrap_or_default();
    assert_eq!(document["Statement"][0]["Action"], json!("s3:GetObject"));

    assert_eq!(
        find(&out, "aws_launch_template.bastion").attributes["user_data"],
        json!(
            "#!/bin/bash\necho \"node 0\" > /etc/node\naws s3 cp /etc/node s3://acme-prod-logs/nodes/0\n"
        )
    );
    assert_eq!(
        find(&out, "provider.aws").attributes,
        json!({
            "region": "us-east-1",
            "default_tags": [{"tags": {"Environment": "prod", "ManagedBy": "terraform"}}]
        })
    );
    assert_eq!(
        find(&out, "module.network").attributes,
        json!({
            "source": "./modules/network",
            "name": "acme-prod",
            "cidr_block": "10.20.0.0/16",
            "allowed_cidrs": ["10.0.0.0/8"]
        })
    );

    let sg = find(&out, "module.network.aws_security_group.app");
    assert_eq!(sg.file, "terraform/root/modules/network/main.tf");
    assert_eq!(
        sg.attributes,
        json!({
            "name": "acme-prod-app",
            "vpc_id": {"$ref": "module.network.aws_vpc.this.id"},
            "ingress": [{"from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": ["10.0.0.0/8"]}],
            "egress": [{"from_port": 0, "to_port": 0, "protocol": "-1", "cidr_blocks": ["0.0.0.0/0"]}]
        })
    );
    assert_eq!(line(sg, "/ingress/0"), Some(20));
    assert_eq!(line(sg, "/ingress/0/cidr_blocks"), Some(26));
    assert_eq!(line(sg, "/egress/0/cidr_blocks/0"), Some(34));

    let subnet = find(&out, "module.network.aws_subnet.private[1]");
    assert_eq!(subnet.attributes["availability_zone"], json!("us-east-1b"));
    assert_eq!(subnet.attributes["cidr_block"], json!("10.20.1.0/24"));

    let flow = find(&out, "module.network.aws_flow_log.this");
    assert_eq!(
        flow.attributes["log_destination"],
        json!({"$ref": "module.network.module.flow_logs.aws_s3_bucket.this.arn"})
    );
    let nested = find(&out, "module.network.module.flow_logs.aws_s3_bucket.this");
    assert_eq!(nested.file, "terraform/root/modules/bucket/main.tf");
    assert_eq!(
        nested.attributes,
        json!({
            "bucket": "acme-prod-flow-logs",
            "force_destroy": false,
            "tags": {"Name": "acme-prod-flow-logs"}
        })
    );

    assert_eq!(
        find(
            &out,
            "module.buckets[\"logs\"].aws_s3_bucket_versioning.this"
        )
        .attributes,
        json!({
            "bucket": {"$ref": "module.buckets[\"logs\"].aws_s3_bucket.this.id"},
            "versioning_configuration": [{"status": "Suspended"}]
        })
    );
    assert_eq!(
        find(
            &out,
            "module.buckets[\"assets\"].aws_s3_bucket_versioning.this"
        )
        .attributes["versioning_configuration"],
        json!([{"status": "Enabled"}])
    );

    // An output of one instance of a for_each module, in the module's scope.
    assert_eq!(
        find(&out, "aws_s3_bucket_public_access_block.assets").attributes["bucket"],
        json!({"$ref": "module.buckets[\"assets\"].aws_s3_bucket.this.bucket"})
    );
    // `force_destroy = null` into a variable that is not nullable: its default.
    assert_eq!(
        find(&out, "module.buckets[\"logs\"].aws_s3_bucket.this").attributes["force_destroy"],
        json!(false)
    );

    let root = dir("root").canonicalize().unwrap_or_default();
    assert_eq!(
        out.local_modules,
        [root.join("modules/bucket"), root.join("modules/network")]
    );
}

#[test]
fn modules_installed_by_terraform_init_are_followed() {
    let out = case("registry");
    assert_eq!(diagnostics(&out), []);
    assert_eq!(
        ids(&out),
        [
            "aws_s3_bucket_policy.assets",
            "data.aws_iam_policy_document.assets",
            "module.s3",
            "module.s3.aws_s3_bucket.this",
            "module.s3.aws_s3_bucket_acl.this[0]",
            "module.s3.aws_s3_bucket_server_side_encryption_configuration.this",
            "module.s3.module.kms",
            "module.s3.module.kms.aws_kms_key.this",
            "module.s3.module.kms.aws_kms_alias.this[\"s3/acme-public-assets\"]",
            "module.vpc",
        ]
    );
    let call = find(&out, "module.s3");
    assert_eq!(call.kind, "terraform/module");
    assert_eq!(
        call.attributes,
        json!({
            "source": "terraform-aws-modules/s3-bucket/aws",
            "version": "4.1.2",
            "bucket": "acme-public-assets",
            "acl": "public-read"
        })
    );
    assert_eq!(line(call, "/acl"), Some(6));
    let acl = find(&out, "module.s3.aws_s3_bucket_acl.this[0]");
    assert_eq!(acl.file, "terraform/registry/.terraform/modules/s3/main.tf");
    assert_eq!(
        acl.attributes,
        json!({"bucket": {"$ref": "module.s3.aws_s3_bucket.this.id"}, "acl": "public-read"})
    );
    assert_eq!(
        find(
            &out,
            "module.s3.aws_s3_bucket_server_side_encryption_configuration.this"
        )
        .attributes["rule"][0]["apply_server_side_encryption_by_default"][0]["kms_master_key_id"],
        json!({"$ref": "module.s3.module.kms.aws_kms_key.this.arn"})
    );
    assert_eq!(
        find(&out, "aws_s3_bucket_policy.assets").attributes["bucket"],
        json!({"$ref": "module.s3.aws_s3_bucket.this.id"})
    );
    // A module terraform init did not install is only its call.
    assert_eq!(
        find(&out, "module.vpc").attributes,
        json!({"source": "terraform-aws-modules/vpc/aws", "version": "5.8.1", "cidr": "10.0.0.0/16"})
    );
    let installed = dir("registry")
        .canonicalize()
        .unwrap_or_default()
        .join(".terraform/modules");
    assert_eq!(
        out.local_modules,
        [installed.join("s3"), installed.join("s3.kms")]
    );
}

#[test]
fn a_module_with_an_unknown_count_is_one_instance() {
    let out = case("unknown_count");
    assert_eq!(diagnostics(&out), []);
    assert_eq!(
        ids(&out),
        [
            "aws_sns_topic_subscription.first",
            "module.queue",
            "module.queue.aws_sqs_queue.this"
        ]
    );
    assert_eq!(
        find(&out, "module.queue").attributes,
        json!({"source": "./queue", "index": {"$unknown": "count.index"}})
    );
    assert_eq!(
        find(&out, "module.queue.aws_sqs_queue.this").attributes,
        json!({"name": {"$unknown": "\"jobs-${var.index}\""}, "sqs_managed_sse_enabled": true})
    );
    assert_eq!(
        find(&out, "aws_sns_topic_subscription.first").attributes["endpoint"],
        json!({"$unknown": "module.queue[0].arn"})
    );
}

#[test]
fn module_recursion_is_reported_not_followed() {
    let out = case("recursion");
    assert_eq!(
        ids(&out),
        [
            "module.a",
            "module.a.aws_sns_topic.a",
            "module.a.module.b",
            "module.a.module.b.aws_sns_topic.b",
            "module.a.module.b.module.a",
            "module.itself",
        ]
    );
    assert_eq!(
        diagnostics(&out),
        [
            (
                "terraform/recursion/b/main.tf",
                Some(5),
                "module.a: module recursion (terraform/recursion → terraform/recursion/a → \
                 terraform/recursion/b → terraform/recursion/a); not followed"
            ),
            (
                "terraform/recursion/main.tf",
                Some(5),
                "module.itself: module recursion (terraform/recursion → terraform/recursion); \
                 not followed"
            ),
        ]
    );
}

#[test]
fn cycles_through_locals_and_modules_are_unknown() {
    let out = case("cycles");
    assert_eq!(
        find(&out, "aws_sqs_queue.q").attributes,
        json!({"name": {"$unknown": "local.name"}, "input": {"$unknown": "module.echo.output"}})
    );
    assert_eq!(
        diagnostics(&out),
        [
            (
                "terraform/cycles/main.tf",
                Some(3),
                "local.name refers to itself through local.prefix → local.name; its value is \
                 unknown"
            ),
            (
                "terraform/cycles/echo/main.tf",
                Some(5),
                "module.echo.output.output refers to itself through module.echo.var.input → \
                 module.echo.output.output; its value is unknown"
            ),
        ]
    );
}

#[test]
fn a_broken_file_does_not_hide_the_others() {
    let out = case("malformed");
    assert_eq!(
        ids(&out),
        ["aws_sqs_queue.jobs", "aws_s3_bucket.good", "module.gone"]
    );
    assert_eq!(
        find(&out, "aws_s3_bucket.good").attributes,
        json!({"bucket": "good"})
    );
    let jobs = find(&out, "aws_sqs_queue.jobs");
    assert_eq!(jobs.file, "terraform/malformed/also_good.tf.json");
    assert_eq!(line(jobs, "/sqs_managed_sse_enabled"), Some(6));
    assert_eq!(
        diagnostics(&out),
        [
            (
                "terraform/malformed/broken.tf",
                Some(3),
                "invalid HCL at line 3, column 3: invalid block body; expected `}`, newline or \
                 identifier"
            ),
            (
                "terraform/malformed/good.tf",
                Some(5),
                "aws_s3_bucket.good is declared twice; the first is kept"
            ),
            (
                "terraform/malformed/good.tf",
                Some(9),
                "module.gone: module directory \"terraform/malformed/does-not-exist\" does not \
                 exist; not followed"
            ),
        ]
    );
}

#[test]
fn display_paths_are_relative_to_the_scan_root() {
    let out = normalize_directory(&dir("root"), "", &Limits::default());
    assert_eq!(find(&out, "aws_instance.app[0]").file, "main.tf");
    assert_eq!(
        find(&out, "module.network.aws_vpc.this").file,
        "modules/network/main.tf"
    );
    // `path.module` is the display path; files are still found.
    assert!(find(&out, "aws_iam_policy.read_logs").attributes["policy"].is_string());
    let out = normalize_directory(&dir("root"), "./terraform/x/../root/", &Limits::default());
    assert_eq!(
        find(&out, "module.network.module.flow_logs.aws_s3_bucket.this").file,
        "./terraform/root/modules/bucket/main.tf"
    );
    let out = normalize_directory(&dir("root"), ".", &Limits::default());
    assert_eq!(find(&out, "aws_instance.app[0]").file, "./main.tf");
    assert_eq!(
        find(&out, "module.network.aws_vpc.this").file,
        "./modules/network/main.tf"
    );
    let out = normalize_directory(&dir("root"), "/abs/root", &Limits::default());
    assert_eq!(find(&out, "aws_instance.app[0]").file, "/abs/root/main.tf");
}

#[test]
fn files_outside_the_scanned_tree_are_not_read() {
    // Scanning `tests/terraform/root` itself: `../cycles` is outside.
    let temp = std::env::temp_dir().join(format!("palisade-hcl-{}", std::process::id()));
    let root = temp.join("scan");
    let _ = std::fs::create_dir_all(&root);
    let _ = std::fs::write(temp.join("secret.txt"), "hunter2");
    let _ = std::fs::create_dir_all(temp.join("outside"));
    let _ = std::fs::write(temp.join("outside/main.tf"), "resource \"a\" \"b\" {}\n");
    let _ = std::fs::write(
        root.join("main.tf"),
        "resource \"aws_ssm_parameter\" \"p\" {\n  value = file(\"../secret.txt\")\n}\nmodule \"out\" {\n  source = \"../outside\"\n}\n",
    );
    #[cfg(unix)]
    let _ = std::os::unix::fs::symlink(temp.join("outside/main.tf"), root.join("linked.tf"));
    let out = normalize_directory(&root, "", &Limits::default());
    let _ = std::fs::remove_dir_all(&temp);
    assert_eq!(ids(&out), ["aws_ssm_parameter.p", "module.out"]);
    assert_eq!(
        find(&out, "aws_ssm_parameter.p").attributes["value"],
        json!({"$unknown": "file(\"../secret.txt\")"})
    );
    #[cfg(unix)]
    assert_eq!(
        out.normalized.diagnostics[0].message,
        "links outside the scanned tree; not read"
    );
    let diagnostics: Vec<_> = diagnostics(&out)
        .into_iter()
        .filter(|(file, _, _)| *file == "main.tf")
        .collect();
    assert_eq!(
        diagnostics,
        [
            (
                "main.tf",
                Some(2),
                "file(\"../secret.txt\"): no such file inside the scanned tree; left unknown"
            ),
            (
                "main.tf",
                Some(4),
                "module.out: \"../outside\" is outside the scanned tree; not followed"
            ),
        ]
    );
}

#[test]
fn module_fan_out_is_bounded_by_the_node_limit() {
    let temp = std::env::temp_dir().join(format!("palisade-hcl-fan-{}", std::process::id()));
    let _ = std::fs::create_dir_all(temp.join("a"));
    let _ = std::fs::create_dir_all(temp.join("b"));
    let _ = std::fs::write(
        temp.join("main.tf"),
        "module \"a\" {\n  source = \"./a\"\n  count  = 200\n}\n",
    );
    let _ = std::fs::write(
        temp.join("a/main.tf"),
        "module \"b\" {\n  source = \"../b\"\n  count  = 200\n}\n",
    );
    let _ = std::fs::write(
        temp.join("b/main.tf"),
        "resource \"aws_sqs_queue\" \"q\" {\n  count = 200\n  name  = \"q-${count.index}\"\n}\n",
    );
    let limits = Limits {
        max_nodes: 10_000,
        ..Limits::default()
    };
    let out = normalize_directory(&temp, "", &limits);
    let _ = std::fs::remove_dir_all(&temp);
    assert!(out.normalized.resources.len() < 10_000);
    assert!(
        out.normalized
            .diagnostics
            .iter()
            .any(|d| d.message.contains("more than 10000 values"))
    );
}
