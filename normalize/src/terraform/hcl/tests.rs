use serde_json::{Value as Json, json};

use super::*;
use crate::resource::Span;

fn run(text: &str) -> Normalized {
    normalize_file("infra/main.tf", text, false, &Limits::default())
}

/// Normalizes and insists on no diagnostics.
fn clean(text: &str) -> Normalized {
    let out = run(text);
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    out
}

fn ids(normalized: &Normalized) -> Vec<&str> {
    normalized.resources.iter().map(|r| r.id.as_str()).collect()
}

fn find<'a>(normalized: &'a Normalized, id: &str) -> &'a Resource {
    normalized
        .resources
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no {id} in {:?}", ids(normalized)))
}

fn attrs<'a>(normalized: &'a Normalized, id: &str) -> &'a Json {
    &find(normalized, id).attributes
}

fn line(resource: &Resource, pointer: &str) -> Option<u32> {
    resource.spans.get(pointer).map(|span| span.line)
}

fn messages(normalized: &Normalized) -> Vec<(Option<u32>, &str)> {
    normalized
        .diagnostics
        .iter()
        .map(|d| (d.line, d.message.as_str()))
        .collect()
}

/// Evaluates `expr` as the attribute `v` of a resource after `prelude`.
fn value_of(prelude: &str, expr: &str) -> Json {
    let text = format!("{prelude}\nresource \"null_resource\" \"x\" {{\n  v = {expr}\n}}\n");
    let out = run(&text);
    attrs(&out, "null_resource.x")["v"].clone()
}

fn value(expr: &str) -> Json {
    value_of("", expr)
}

fn unknown(text: &str) -> Json {
    json!({ "$unknown": text })
}

const BUCKET: &str = r#"terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

provider "aws" {
  region = "eu-west-1"
}

provider "aws" {
  alias  = "us"
  region = "us-east-1"
}

resource "aws_s3_bucket" "logs" {
  bucket        = "acme-logs"
  force_destroy = false
  tags = {
    Team = "platform"
  }

  versioning {
    enabled = true
  }

  server_side_encryption_configuration {
    rule {
      apply_server_side_encryption_by_default {
        sse_algorithm     = "aws:kms"
        kms_master_key_id = aws_kms_key.logs.arn
      }
    }
  }

  lifecycle {
    prevent_destroy = true
  }
  depends_on = [aws_kms_key.logs]
  provider   = aws.us
}

data "aws_iam_policy_document" "read" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.logs.arn}/*"]
  }
}

module "net" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.1.0"
  cidr    = "10.0.0.0/16"
  providers = {
    aws = aws.us
  }
}
"#;

#[test]
fn blocks_become_resources_shaped_like_plan_values() {
    let out = clean(BUCKET);
    assert_eq!(
        ids(&out),
        [
            "aws_s3_bucket.logs",
            "data.aws_iam_policy_document.read",
            "provider.aws",
            "provider.aws.us",
            "module.net"
        ]
    );
    let bucket = find(&out, "aws_s3_bucket.logs");
    assert_eq!(bucket.kind, "terraform/aws_s3_bucket");
    assert_eq!(bucket.file, "infra/main.tf");
    assert_eq!((bucket.line, bucket.end_line), (16, 41));
    assert_eq!(
        bucket.attributes,
        json!({
            "bucket": "acme-logs",
            "force_destroy": false,
            "tags": {"Team": "platform"},
            "versioning": [{"enabled": true}],
            "server_side_encryption_configuration": [{
                "rule": [{
                    "apply_server_side_encryption_by_default": [{
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": {"$ref": "aws_kms_key.logs.arn"}
                    }]
                }]
            }]
        })
    );
    let data = find(&out, "data.aws_iam_policy_document.read");
    assert_eq!(data.kind, "terraform/data.aws_iam_policy_document");
    assert_eq!(
        data.attributes,
        json!({"statement": [{
            "actions": ["s3:GetObject"],
            "resources": [unknown("\"${aws_s3_bucket.logs.arn}/*\"")]
        }]})
    );
    assert_eq!(find(&out, "provider.aws").kind, "terraform/provider.aws");
    assert_eq!(
        attrs(&out, "provider.aws.us"),
        &json!({"alias": "us", "region": "us-east-1"})
    );
    let module = find(&out, "module.net");
    assert_eq!(module.kind, "terraform/module");
    assert_eq!(
        module.attributes,
        json!({"source": "terraform-aws-modules/vpc/aws", "version": "5.1.0", "cidr": "10.0.0.0/16"})
    );
}

#[test]
fn spans_point_at_attributes_blocks_and_elements() {
    let out = clean(BUCKET);
    let bucket = find(&out, "aws_s3_bucket.logs");
    assert_eq!(line(bucket, ""), Some(16));
    assert_eq!(line(bucket, "/bucket"), Some(17));
    assert_eq!(line(bucket, "/tags/Team"), Some(20));
    assert_eq!(line(bucket, "/versioning/0"), Some(23));
    assert_eq!(line(bucket, "/versioning/0/enabled"), Some(24));
    assert_eq!(
        line(
            bucket,
            "/server_side_encryption_configuration/0/rule/0/apply_server_side_encryption_by_default/0/sse_algorithm"
        ),
        Some(30)
    );
    assert_eq!(bucket.spans.get("/bucket").map(|s| s.column), Some(3));
    let data = find(&out, "data.aws_iam_policy_document.read");
    assert_eq!(line(data, "/statement/0/actions/0"), Some(45));
    // A missing attribute is reported where its parent is.
    assert_eq!(bucket.locate("/versioning/0/mfa_delete").line, 23);
    assert_eq!(bucket.locate("/logging").line, 16);
}

#[test]
fn computed_values_point_where_the_resource_uses_them() {
    let out = clean(
        r#"variable "acl" {
  default = "public-read"
}
locals {
  ports = [22, 443]
}
resource "aws_s3_bucket_acl" "logs" {
  acl = var.acl
  ports = local.ports
  list = [
    "a",
    var.acl,
  ]
}
"#,
    );
    let acl = find(&out, "aws_s3_bucket_acl.logs");
    assert_eq!(acl.attributes["acl"], json!("public-read"));
    assert_eq!(line(acl, "/acl"), Some(8));
    assert_eq!(acl.locate("/ports/1").line, 9);
    assert_eq!(line(acl, "/list/1"), Some(12));
}

#[test]
fn variables_locals_and_tfvars_order() {
    let out = clean(
        r#"locals {
  full = "${local.prefix}-${var.env}"
  prefix = upper(var.team)
}
variable "team" {
  type    = string
  default = "data"
}
variable "env" {
  default = "prod"
}
variable "unset" {}
variable "nothing" {
  default = null
}
resource "aws_s3_bucket" "b" {
  bucket  = local.full
  unset   = var.unset
  derived = "${var.unset}-x"
  nothing = var.nothing
  ws      = terraform.workspace
  where   = path.module
}
"#,
    );
    assert_eq!(
        attrs(&out, "aws_s3_bucket.b"),
        &json!({
            "bucket": "DATA-prod",
            "unset": unknown("var.unset"),
            "derived": unknown("\"${var.unset}-x\""),
            "nothing": null,
            "ws": "default",
            "where": "infra"
        })
    );
}

#[test]
fn templates_directives_and_heredocs() {
    let prelude = r#"variable "names" {
  default = ["a", "b"]
}
variable "on" {
  default = true
}"#;
    assert_eq!(
        value_of(prelude, r#""%{ if var.on }yes%{ else }no%{ endif }""#),
        json!("yes")
    );
    assert_eq!(
        value_of(prelude, r#""%{ for n in var.names }[${n}]%{ endfor }""#),
        json!("[a][b]")
    );
    assert_eq!(
        value_of(
            prelude,
            "<<-EOT\n    hello ${var.names[1]}\n      indented\n    EOT"
        ),
        json!("hello b\n  indented\n")
    );
    assert_eq!(
        value_of(
            prelude,
            "<<EOT\n%{ for i, n in var.names ~}\n${i}=${n}\n%{ endfor ~}\nEOT"
        ),
        json!("0=a\n1=b\n")
    );
    assert_eq!(value(r#""$${literal} %%{x}""#), json!("${literal} %{x}"));
    // A lone interpolation is the value itself, not its text.
    assert_eq!(value_of(prelude, r#""${var.names}""#), json!(["a", "b"]));
}

#[test]
fn operators_conditionals_for_and_splats() {
    assert_eq!(value("1 + 2 * 3 - 4 / 2"), json!(5));
    assert_eq!(value("7 % 3"), json!(1));
    assert_eq!(value("1.5 * 2"), json!(3));
    assert_eq!(value("0.5 + 0.25"), json!(0.75));
    assert_eq!(value(r#""2" + 1"#), json!(3));
    assert_eq!(value("!(1 < 2) || 3 >= 3"), json!(true));
    assert_eq!(value("-(2)"), json!(-2));
    assert_eq!(value(r#"1 == "1""#), json!(false));
    assert_eq!(value(r#"[1, "a"] == [1, "a"]"#), json!(true));
    assert_eq!(value(r#"true ? "a" : "b""#), json!("a"));
    assert_eq!(
        value("[for x in [1, 2, 3] : x * 2 if x != 2]"),
        json!([2, 6])
    );
    assert_eq!(
        value(r#"{for k, v in {a = 1, b = 2} : upper(k) => v + 1}"#),
        json!({"A": 2, "B": 3})
    );
    assert_eq!(
        value(r#"{for s in ["x1", "x2", "y1"] : substr(s, 0, 1) => s...}"#),
        json!({"x": ["x1", "x2"], "y": ["y1"]})
    );
    assert_eq!(value(r#"[{a = 1}, {a = 2}][*].a"#), json!([1, 2]));
    assert_eq!(value(r#"[{a = {b = 1}}].*.a"#), json!([{"b": 1}]));
    assert_eq!(value(r#"{a = [10, 20]}.a[1]"#), json!(20));
    assert_eq!(value(r#"{a = [10, 20]}["a"].0"#), json!(10));
}

#[test]
fn functions() {
    let cases: &[(&str, Json)] = &[
        (
            r#"merge({a = 1, b = 2}, {b = 3}, null)"#,
            json!({"a": 1, "b": 3}),
        ),
        (r#"concat(["a"], [], ["b", "c"])"#, json!(["a", "b", "c"])),
        (r#"lookup({a = "x"}, "b", "dflt")"#, json!("dflt")),
        (
            r#"format("%s-%03d-%.2f-%t-%v", "x", 7, 1.5, true, 3)"#,
            json!("x-007-1.50-true-3"),
        ),
        (
            r#"formatlist("%s=%s", ["a", "b"], "v")"#,
            json!(["a=v", "b=v"]),
        ),
        (
            r#"jsonencode({b = [1, true], a = "x"})"#,
            json!(r#"{"a":"x","b":[1,true]}"#),
        ),
        (
            r#"jsondecode("{\"Statement\": [{\"Effect\": \"Allow\"}]}")"#,
            json!({"Statement": [{"Effect": "Allow"}]}),
        ),
        (r#"toset(["b", "a", "b"])"#, json!(["a", "b"])),
        (r#"tolist(["a"])"#, json!(["a"])),
        (r#"tomap({a = 1})"#, json!({"a": 1})),
        (r#"tostring(12)"#, json!("12")),
        (r#"tonumber("42")"#, json!(42)),
        (r#"tobool("true")"#, json!(true)),
        (
            r#"length("héllo") + length([1, 2]) + length({a = 1})"#,
            json!(8),
        ),
        (r#"lower("AbC")"#, json!("abc")),
        (r#"upper("abc")"#, json!("ABC")),
        (r#"title("hello world")"#, json!("Hello World")),
        (r#"join(",", ["a", "b"], ["c"])"#, json!("a,b,c")),
        (r#"split(",", "a,b,,c")"#, json!(["a", "b", "", "c"])),
        (r#"replace("a-b-c", "-", "_")"#, json!("a_b_c")),
        (r#"trimspace("  x \n")"#, json!("x")),
        (r#"trim("?!hello?!", "!?")"#, json!("hello")),
        (r#"trimprefix("helloworld", "hello")"#, json!("world")),
        (r#"trimsuffix("helloworld", "world")"#, json!("hello")),
        (r#"coalesce(null, "", "b")"#, json!("b")),
        (r#"coalescelist([], ["x"])"#, json!(["x"])),
        (
            r#"try(var.missing, {a = 1}.b, "fallback")"#,
            json!("fallback"),
        ),
        (r#"can({a = 1}.b)"#, json!(false)),
        (r#"can({a = 1}.a)"#, json!(true)),
        (r#"element(["a", "b"], 3)"#, json!("b")),
        (
            r#"flatten([["a", ["b"]], [], "c"])"#,
            json!(["a", "b", "c"]),
        ),
        (r#"keys({b = 1, a = 2})"#, json!(["a", "b"])),
        (r#"values({b = 1, a = 2})"#, json!([2, 1])),
        (r#"contains(["a", "b"], "b")"#, json!(true)),
        (r#"distinct(["a", "b", "a"])"#, json!(["a", "b"])),
        (r#"compact(["a", "", null, "b"])"#, json!(["a", "b"])),
        (r#"zipmap(["a", "b"], [1, 2])"#, json!({"a": 1, "b": 2})),
        (r#"range(3)"#, json!([0, 1, 2])),
        (r#"range(1, 10, 4)"#, json!([1, 5, 9])),
        (r#"max(1, 5, 3)"#, json!(5)),
        (r#"min([4, 2]...)"#, json!(2)),
        (r#"abs(-3) + ceil(1.2) + floor(1.8)"#, json!(6)),
        (r#"substr("hello", 1, 3)"#, json!("ell")),
        (r#"substr("hello", -3, -1)"#, json!("llo")),
        (r#"startswith("arn:aws", "arn:")"#, json!(true)),
        (r#"endswith("x.json", ".yaml")"#, json!(false)),
        (r#"strcontains("0.0.0.0/0", "0/0")"#, json!(true)),
        (r#"one(["x"])"#, json!("x")),
        (r#"one([])"#, json!(null)),
        (r#"sum([1, 2, 3])"#, json!(6)),
        (r#"reverse([1, 2])"#, json!([2, 1])),
        (r#"slice(["a", "b", "c"], 1, 3)"#, json!(["b", "c"])),
        (r#"setunion(["b"], ["a", "b"])"#, json!(["a", "b"])),
        (
            r#"setintersection(["a", "b", "c"], ["c", "b"])"#,
            json!(["b", "c"]),
        ),
        (r#"setsubtract(["a", "b", "c"], ["b"])"#, json!(["a", "c"])),
        (
            r#"distinct([1, 2, 1, {a = 1}, {a = 1}])"#,
            json!([1, 2, {"a": 1}]),
        ),
        (r#"length(toset(range(200000)))"#, json!(200000)),
        (r#"sort(["b", "a"])"#, json!(["a", "b"])),
        (r#"base64encode("hi!")"#, json!("aGkh")),
        (r#"indent(2, "a\nb")"#, json!("a\n  b")),
        (r#"basename("a/b/c.json")"#, json!("c.json")),
        (r#"cidrsubnet("10.0.0.0/16", 8, 2)"#, json!("10.0.2.0/24")),
        (r#"cidrsubnet("10.1.2.3/8", 4, 15)"#, json!("10.240.0.0/12")),
        (r#"cidrhost("10.0.1.0/24", 5)"#, json!("10.0.1.5")),
        (r#"cidrhost("10.0.1.0/24", -1)"#, json!("10.0.1.255")),
        (r#"cidrnetmask("172.16.0.0/12")"#, json!("255.240.0.0")),
        (r#"parseint("ff", 16)"#, json!(255)),
    ];
    for (expr, expected) in cases {
        assert_eq!(&value(expr), expected, "{expr}");
    }
}

#[test]
fn what_cannot_be_known_is_unknown_never_a_guess() {
    let prelude = r#"variable "unset" {}
variable "password" {
  sensitive = true
  default   = "hunter2"
}"#;
    let cases: &[(&str, Json)] = &[
        (
            r#"merge({a = 1}, var.unset)"#,
            unknown("merge({a = 1}, var.unset)"),
        ),
        (
            r#"merge({a = 1}, {b = var.unset})"#,
            json!({"a": 1, "b": unknown("var.unset")}),
        ),
        (
            r#"var.unset ? "a" : "b""#,
            unknown(r#"var.unset ? "a" : "b""#),
        ),
        (r#"var.unset == "x""#, unknown(r#"var.unset == "x""#)),
        (
            r#"jsonencode({Resource = aws_s3_bucket.b.arn})"#,
            unknown("jsonencode({Resource = aws_s3_bucket.b.arn})"),
        ),
        (r#"length([var.unset, 1])"#, json!(2)),
        (
            r#"contains([var.unset], "a")"#,
            unknown(r#"contains([var.unset], "a")"#),
        ),
        (r#"contains([var.unset, "a"], "a")"#, json!(true)),
        (
            r#"regex("[a-z]+", "abc")"#,
            unknown(r#"regex("[a-z]+", "abc")"#),
        ),
        (
            r#"replace("abc", "/b/", "x")"#,
            unknown(r#"replace("abc", "/b/", "x")"#),
        ),
        (
            r#"cidrsubnet("fd00::/8", 8, 1)"#,
            unknown(r#"cidrsubnet("fd00::/8", 8, 1)"#),
        ),
        (r#"parseint("zz", 62)"#, unknown(r#"parseint("zz", 62)"#)),
        (
            r#"provider::aws::arn_parse("x")"#,
            unknown(r#"provider::aws::arn_parse("x")"#),
        ),
        (r#"timestamp()"#, unknown("timestamp()")),
        (r#"self.id"#, unknown("self.id")),
        (r#"var.password"#, unknown("var.password")),
        (r#"false && var.unset"#, json!(false)),
        (r#"true || var.unset"#, json!(true)),
        (r#"true && var.unset"#, unknown("true && var.unset")),
        (
            r#"[for x in var.unset : x]"#,
            unknown("[for x in var.unset : x]"),
        ),
        (
            r#"try(var.unset.a, "d")"#,
            unknown(r#"try(var.unset.a, "d")"#),
        ),
        (r#"can(var.unset.a)"#, unknown("can(var.unset.a)")),
        (r#"file("x.txt")"#, unknown(r#"file("x.txt")"#)),
        (
            r#"tostring(aws_s3_bucket.b.id)"#,
            json!({"$ref": "aws_s3_bucket.b.id"}),
        ),
        (
            r#"coalesce(var.unset, "x")"#,
            unknown(r#"coalesce(var.unset, "x")"#),
        ),
    ];
    for (expr, expected) in cases {
        assert_eq!(&value_of(prelude, expr), expected, "{expr}");
    }
}

#[test]
fn references_are_kept_as_plan_addresses() {
    let prelude = r#"variable "i" {
  default = 1
}
locals {
  key = "a"
}"#;
    let cases: &[(&str, Json)] = &[
        (
            "aws_s3_bucket.logs.id",
            json!({"$ref": "aws_s3_bucket.logs.id"}),
        ),
        (
            "aws_s3_bucket.logs.bucket",
            json!({"$ref": "aws_s3_bucket.logs.bucket"}),
        ),
        (
            "aws_instance.web[0].id",
            json!({"$ref": "aws_instance.web[0].id"}),
        ),
        (
            "aws_instance.web[var.i].id",
            json!({"$ref": "aws_instance.web[1].id"}),
        ),
        (
            "aws_iam_user.u[local.key].arn",
            json!({"$ref": "aws_iam_user.u[\"a\"].arn"}),
        ),
        (
            "data.aws_iam_policy_document.x.json",
            json!({"$ref": "data.aws_iam_policy_document.x.json"}),
        ),
        ("aws_s3_bucket.logs", json!({"$ref": "aws_s3_bucket.logs"})),
        (
            "[aws_security_group.a.id, \"sg-1\"]",
            json!([{"$ref": "aws_security_group.a.id"}, "sg-1"]),
        ),
        ("aws_instance.web[*].id", unknown("aws_instance.web[*].id")),
        (
            "aws_instance.web[var.unset].id",
            unknown("aws_instance.web[var.unset].id"),
        ),
    ];
    for (expr, expected) in cases {
        assert_eq!(&value_of(prelude, expr), expected, "{expr}");
    }
}

#[test]
fn references_to_expanded_resources_follow_their_instances() {
    let out = clean(
        r#"resource "aws_subnet" "private" {
  count      = 2
  cidr_block = "10.0.${count.index}.0/24"
}
resource "aws_iam_user" "u" {
  for_each = toset(["a", "b"])
  name     = each.key
}
resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}
resource "null_resource" "x" {
  ids    = aws_subnet.private[*].id
  first  = aws_subnet.private[0].id
  arns   = [for u in aws_iam_user.u : u.arn]
  b      = aws_iam_user.u["b"].name
  vpcs   = aws_vpc.main[*].id
  values = values(aws_iam_user.u)[*].id
}
"#,
    );
    assert_eq!(
        attrs(&out, "null_resource.x"),
        &json!({
            "ids": [{"$ref": "aws_subnet.private[0].id"}, {"$ref": "aws_subnet.private[1].id"}],
            "first": {"$ref": "aws_subnet.private[0].id"},
            "arns": [{"$ref": "aws_iam_user.u[\"a\"].arn"}, {"$ref": "aws_iam_user.u[\"b\"].arn"}],
            "b": {"$ref": "aws_iam_user.u[\"b\"].name"},
            "vpcs": [{"$ref": "aws_vpc.main.id"}],
            "values": [{"$ref": "aws_iam_user.u[\"a\"].id"}, {"$ref": "aws_iam_user.u[\"b\"].id"}]
        })
    );
}

#[test]
fn count_and_for_each_expand_instances() {
    let out = clean(
        r#"variable "users" {
  default = {
    alice = "admin"
    bob   = "dev"
  }
}
variable "unset" {}
resource "aws_instance" "web" {
  count = 2
  ami   = "ami-${count.index}"
  tags  = { Name = "web-${count.index + 1}" }
}
resource "aws_iam_user" "u" {
  for_each = var.users
  name     = each.key
  path     = "/${each.value}/"
}
resource "aws_iam_group" "g" {
  for_each = toset(["ops", "dev"])
  name     = each.value
}
resource "aws_eip" "none" {
  count = 0
}
resource "aws_eip" "text" {
  count = "1"
}
resource "aws_eip" "empty" {
  for_each = {}
}
resource "aws_eip" "maybe" {
  count  = var.unset ? 1 : 0
  domain = "vpc-${count.index}"
}
resource "aws_eip" "each" {
  for_each = var.unset
  domain   = each.key
}
"#,
    );
    assert_eq!(
        ids(&out),
        [
            "aws_instance.web[0]",
            "aws_instance.web[1]",
            "aws_iam_user.u[\"alice\"]",
            "aws_iam_user.u[\"bob\"]",
            "aws_iam_group.g[\"dev\"]",
            "aws_iam_group.g[\"ops\"]",
            "aws_eip.text[0]",
            "aws_eip.maybe",
            "aws_eip.each"
        ]
    );
    assert_eq!(
        attrs(&out, "aws_instance.web[1]"),
        &json!({"ami": "ami-1", "tags": {"Name": "web-2"}})
    );
    assert_eq!(
        attrs(&out, "aws_iam_user.u[\"bob\"]"),
        &json!({"name": "bob", "path": "/dev/"})
    );
    assert_eq!(
        attrs(&out, "aws_iam_group.g[\"ops\"]"),
        &json!({"name": "ops"})
    );
    assert_eq!(
        attrs(&out, "aws_eip.maybe"),
        &json!({"domain": unknown("\"vpc-${count.index}\"")})
    );
    assert_eq!(
        attrs(&out, "aws_eip.each"),
        &json!({"domain": unknown("each.key")})
    );
}

#[test]
fn dynamic_blocks_expand_into_nested_blocks() {
    let out = clean(
        r#"variable "ports" {
  default = [80, 443]
}
variable "unset" {}
resource "aws_security_group" "web" {
  name = "web"
  ingress {
    from_port = 22
    to_port   = 22
  }
  dynamic "ingress" {
    for_each = var.ports
    content {
      from_port   = ingress.value
      to_port     = ingress.value
      cidr_blocks = ["0.0.0.0/0"]
      description = "rule ${ingress.key}"
    }
  }
  dynamic "egress" {
    for_each = { all = "-1" }
    iterator = rule
    content {
      protocol = rule.value
    }
  }
  dynamic "tag" {
    for_each = var.unset
    content {
      key = tag.key
    }
  }
}
"#,
    );
    let sg = find(&out, "aws_security_group.web");
    assert_eq!(
        sg.attributes,
        json!({
            "name": "web",
            "ingress": [
                {"from_port": 22, "to_port": 22},
                {"from_port": 80, "to_port": 80, "cidr_blocks": ["0.0.0.0/0"], "description": "rule 0"},
                {"from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"], "description": "rule 1"}
            ],
            "egress": [{"protocol": "-1"}],
            "tag": [unknown("dynamic \"tag\" over var.unset")]
        })
    );
    assert_eq!(line(sg, "/ingress/0"), Some(7));
    assert_eq!(line(sg, "/ingress/2"), Some(11));
    assert_eq!(line(sg, "/ingress/2/cidr_blocks"), Some(16));
    assert_eq!(line(sg, "/tag/0"), Some(27));
}

#[test]
fn cycles_are_reported_and_unknown() {
    let out = run(r#"locals {
  a = local.b
  b = "${local.a}-x"
  self = [local.self]
  ok = 1
}
resource "null_resource" "x" {
  a    = local.a
  self = local.self
  ok   = local.ok
}
"#);
    assert_eq!(
        attrs(&out, "null_resource.x"),
        &json!({"a": unknown("local.a"), "self": unknown("local.self"), "ok": 1})
    );
    assert_eq!(
        messages(&out),
        [
            (
                Some(2),
                "local.a refers to itself through local.b → local.a; its value is unknown"
            ),
            (Some(4), "local.self refers to itself; its value is unknown"),
        ]
    );
}

#[test]
fn duplicates_and_malformed_blocks_are_reported() {
    let out = run(r#"resource "aws_s3_bucket" "b" {
  bucket = "first"
}
resource "aws_s3_bucket" "b" {
  bucket = "second"
}
resource "aws_s3_bucket" {
}
"#);
    assert_eq!(attrs(&out, "aws_s3_bucket.b"), &json!({"bucket": "first"}));
    assert_eq!(
        messages(&out),
        [
            (
                Some(7),
                "`resource` block with the wrong number of labels; skipped"
            ),
            (
                Some(4),
                "aws_s3_bucket.b is declared twice; the first is kept"
            ),
        ]
    );
    let bad = run("resource \"a\" \"b\" {\n  x = \n}\n");
    assert!(bad.recognized);
    assert!(bad.resources.is_empty());
    assert_eq!(bad.diagnostics.len(), 1);
    assert_eq!(bad.diagnostics[0].file, "infra/main.tf");
    assert_eq!(bad.diagnostics[0].line, Some(2));
    assert!(
        bad.diagnostics[0]
            .message
            .starts_with("invalid HCL at line 2")
    );
}

#[test]
fn limits_end_in_diagnostics() {
    let out = run(r#"resource "aws_instance" "many" {
  count = 100000000
  ami   = "ami-${count.index}"
}
resource "null_resource" "r" {
  v = range(1000000000)
}
"#);
    assert_eq!(ids(&out), ["aws_instance.many", "null_resource.r"]);
    assert_eq!(
        attrs(&out, "aws_instance.many"),
        &json!({"ami": unknown("\"ami-${count.index}\"")})
    );
    assert_eq!(
        attrs(&out, "null_resource.r"),
        &json!({"v": unknown("range(1000000000)")})
    );
    assert_eq!(out.diagnostics.len(), 1);
    assert!(
        out.diagnostics[0]
            .message
            .contains("count of 100000000 exceeds")
    );

    // Exponential growth through locals is charged at every use.
    let mut text = String::from("locals {\n  l0 = [\"xxxxxxxx\", \"yyyyyyyy\"]\n");
    for i in 1..40 {
        text.push_str(&format!("  l{i} = [local.l{}, local.l{}]\n", i - 1, i - 1));
    }
    text.push_str("}\nresource \"null_resource\" \"big\" {\n  v = local.l39\n}\n");
    let out = run(&text);
    assert_eq!(
        attrs(&out, "null_resource.big")["v"],
        unknown("exceeds the evaluation limits")
    );
    assert!(
        out.diagnostics[0]
            .message
            .contains("more than 2000000 values")
    );

    // A long chain of locals ends at the depth limit, not in a stack overflow.
    let mut text = String::from("locals {\n  c0 = 1\n");
    for i in 1..5000 {
        text.push_str(&format!("  c{i} = local.c{} + 1\n", i - 1));
    }
    text.push_str(
        "}\nresource \"null_resource\" \"deep\" {\n  v = local.c4999\n  w = local.c10\n}\n",
    );
    let out = run(&text);
    assert_eq!(
        attrs(&out, "null_resource.deep")["v"],
        unknown("exceeds the evaluation limits")
    );
    assert_eq!(attrs(&out, "null_resource.deep")["w"], json!(11));
    assert!(
        out.diagnostics[0]
            .message
            .contains("deeper than 128 levels")
    );

    let limits = Limits {
        max_file_bytes: 10,
        ..Limits::default()
    };
    let out = normalize_file("big.tf", BUCKET, false, &limits);
    assert!(out.resources.is_empty());
    assert_eq!(
        out.diagnostics[0].message,
        "file is larger than 10 bytes; not read"
    );
}

#[test]
fn json_syntax_gives_the_same_resources() {
    let text = r#"{
  "variable": {
    "env": {"default": "prod", "type": "string"}
  },
  "locals": {
    "name": "${var.env}-logs"
  },
  "resource": {
    "aws_s3_bucket": {
      "logs": {
        "bucket": "${local.name}",
        "tags": {"Env": "${var.env}"},
        "versioning": {"enabled": true},
        "lifecycle_rule": [
          {"id": "a", "enabled": true},
          {"id": "b", "enabled": false}
        ],
        "count": 1,
        "kms": "${aws_kms_key.k.arn}",
        "dynamic": {
          "grant": {
            "for_each": "${[\"r\", \"w\"]}",
            "content": {"permission": "${grant.value}"}
          }
        }
      }
    }
  },
  "data": {
    "aws_caller_identity": {"current": {}}
  },
  "provider": {
    "aws": [{"region": "eu-west-1"}, {"alias": "us", "region": "us-east-1"}]
  },
  "module": {
    "net": {"source": "./net", "cidr": "10.0.0.0/16"}
  }
}
"#;
    let out = normalize_file("main.tf.json", text, true, &Limits::default());
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    assert_eq!(
        ids(&out),
        [
            "aws_s3_bucket.logs[0]",
            "data.aws_caller_identity.current",
            "provider.aws",
            "provider.aws.us",
            "module.net"
        ]
    );
    let bucket = find(&out, "aws_s3_bucket.logs[0]");
    assert_eq!(
        bucket.attributes,
        json!({
            "bucket": "prod-logs",
            "tags": {"Env": "prod"},
            "versioning": [{"enabled": true}],
            "lifecycle_rule": [{"id": "a", "enabled": true}, {"id": "b", "enabled": false}],
            "kms": {"$ref": "aws_kms_key.k.arn"},
            "grant": [{"permission": "r"}, {"permission": "w"}]
        })
    );
    assert_eq!((bucket.line, bucket.end_line), (10, 26));
    assert_eq!(line(bucket, "/bucket"), Some(11));
    assert_eq!(line(bucket, "/tags/Env"), Some(12));
    assert_eq!(line(bucket, "/versioning/0"), Some(13));
    assert_eq!(line(bucket, "/lifecycle_rule/1"), Some(16));
    assert_eq!(line(bucket, "/lifecycle_rule/1/enabled"), Some(16));
    assert_eq!(
        attrs(&out, "module.net"),
        &json!({"source": "./net", "cidr": "10.0.0.0/16"})
    );
}

#[test]
fn json_syntax_errors_are_reported() {
    let out = normalize_file("bad.tf.json", "{\"resource\": [", true, &Limits::default());
    assert!(out.recognized);
    assert!(out.resources.is_empty());
    assert_eq!(out.diagnostics.len(), 1);
    assert!(
        out.diagnostics[0]
            .message
            .starts_with("invalid JSON in Terraform file")
    );
    let out = normalize_file(
        "bad.tf.json",
        "{\"resource\": {\"a\": {\"b\": {\"x\": \"${1 +}\"}}}}",
        true,
        &Limits::default(),
    );
    assert_eq!(attrs(&out, "a.b"), &json!({"x": unknown("${1 +}")}));
    assert!(
        out.diagnostics[0]
            .message
            .starts_with("invalid template string")
    );
}

#[test]
fn modules_in_a_single_file_are_calls_only() {
    let out = clean(
        r#"module "buckets" {
  source   = "./modules/bucket"
  for_each = toset(["a", "b"])
  name     = "logs-${each.key}"
}
resource "null_resource" "x" {
  v = module.buckets["a"].arn
}
"#,
    );
    assert_eq!(
        ids(&out),
        [
            "null_resource.x",
            "module.buckets[\"a\"]",
            "module.buckets[\"b\"]"
        ]
    );
    assert_eq!(
        attrs(&out, "module.buckets[\"b\"]"),
        &json!({"source": "./modules/bucket", "name": "logs-b"})
    );
    assert_eq!(
        attrs(&out, "null_resource.x"),
        &json!({"v": unknown("module.buckets[\"a\"].arn")})
    );
}

#[test]
fn routed_by_file_name() {
    let limits = Limits::default();
    let tf = crate::normalize_file("a/main.tf", Path::new("a/main.tf"), BUCKET, &limits);
    assert_eq!(tf.resources.len(), 5);
    let json = crate::normalize_file(
        "a/main.tf.json",
        Path::new("a/main.tf.json"),
        r#"{"resource": {"aws_s3_bucket": {"b": {"bucket": "x"}}}}"#,
        &limits,
    );
    assert_eq!(json.resources[0].id, "aws_s3_bucket.b");
    let vars = crate::normalize_file(
        "a/terraform.tfvars",
        Path::new("a/terraform.tfvars"),
        "x = 1",
        &limits,
    );
    assert!(vars.recognized && vars.resources.is_empty() && vars.diagnostics.is_empty());
    for name in ["main.tf", "x.tf.json", "prod.tfvars", "prod.tfvars.json"] {
        assert!(crate::is_candidate(Path::new(name)), "{name}");
    }
    for name in ["tf", "main.tfstate", "x.json.tf.bak", ".tf"] {
        assert!(!is_candidate(Path::new(name)), "{name}");
    }
}

#[test]
fn mutated_configurations_never_panic() {
    let limits = Limits::default();
    let mut cut = 0;
    while cut < BUCKET.len() {
        if BUCKET.is_char_boundary(cut) {
            let _ = normalize_file("m.tf", &BUCKET[..cut], false, &limits);
            let mangled = format!("{}{{{}", &BUCKET[..cut], &BUCKET[cut..]);
            let _ = normalize_file("m.tf", &mangled, false, &limits);
        }
        cut += 7;
    }
    for text in [
        "x = [for a in b : a]",
        "resource \"a\" \"b\" { v = [for x in local.l : x] }",
        "resource \"a\" \"b\" { v = 1 / 0 }",
        "resource \"a\" \"b\" { count = -1 }",
        "resource \"a\" \"b\" { for_each = 3 }",
        "resource \"a\" \"b\" { v = substr(\"x\", 5, 1) }",
        "resource \"a\" \"b\" { v = format(\"%d %\", 1) }",
        "resource \"a\" \"b\" { v = [1][5] }",
        "resource \"a\" \"b\" { v = element([], 0) }",
        "resource \"a\" \"b\" { v = \"${[1]}\" }",
        "resource \"a\" \"b\" { v = { (null) = 1 } }",
        "module \"m\" { count = module.m.x\n source = \"./m\" }",
        "locals { a = module.m.x }\nmodule \"m\" { source = \"./m\"\n count = length(local.a) }",
    ] {
        let _ = normalize_file("m.tf", text, false, &limits);
        let _ = normalize_file("m.tf.json", text, true, &limits);
    }
}

/// Parses `text` with both parsers; the fast one must accept it and agree with hcl-edit.
fn same_parse(text: &str) {
    let lines = LineIndex::new(text);
    let fast =
        parser::parse(text, &lines).unwrap_or_else(|| panic!("fast parser gave up on:\n{text}"));
    let reference = hcl_edit::parser::parse_body(text).expect("hcl-edit parses");
    let reference = Lower::new(text, &lines).body(&reference);
    assert_eq!(fast, reference, "{text}");
}

#[test]
fn the_fast_parser_agrees_with_hcl_edit() {
    same_parse(BUCKET);
    for snippet in [
        "a = 1\nb = \"x\"\nc = true\nd = null\ne = 1.5e3\n",
        "a = -1\nb = !true\nc = 1 + 2 * 3 - 4 / 5 % 6\nd = a || b && c == d != e < f > g <= h >= i\n",
        "a = x ? y : z ? 1 : 2\nb = (1 + 2) * 3\n",
        "a = var.x.y[0][\"k\"].z\nb = list.0.name\nc = a[*].b.c\nd = a.*.b\ne = foo-bar\n",
        "a = [for x in xs : x.id if x != null]\nb = {for k, v in m : k => v...}\nc = [\n  1,\n  2,\n]\n",
        "a = {\n  b = 1\n  \"c\" = 2, d: 3\n  (var.k) = 4\n  e = { f = [] }\n}\n",
        "a = merge(x, y)\nb = f()\nc = concat([1],\n  [2],\n)\nd = max(xs...)\ne = provider::aws::arn_parse(x)\n",
        "a = \"plain \\\"quoted\\\" \\n\\t \\u00e9 $${x} %%{y} $ % end\"\nb = \"${x}\"\nc = \"a${x}b${y ~}  c\"\n",
        "a = \"%{ if x }yes%{ else }no%{ endif }\"\nb = \"%{ for k, v in m ~} ${k}=${v} %{~ endfor }\"\n",
        "a = <<EOT\nline ${x}\n  two\nEOT\nb = <<-EOT\n    indented ${y}\n      more\n    EOT\n",
        "a = <<EOT\n%{ for i in xs ~}\n${i}\n%{ endfor ~}\nEOT\nb = 1\n",
        "# comment\n// another\n/* block */ a = 1 # trailing\nresource \"x\" \"y\" { # c\n  b = 2 /* c */\n}\n",
        "block {}\nblock \"l\" {\n}\nblock l1 \"l2\" { a = 1 }\nnested {\n  inner {\n    deeper { x = [1] }\n  }\n}\n",
        "a = {}\nb = []\nc = { for x in xs : x => x }\nd = [for i, v in xs : \"${i}:${v}\"]\n",
        "dynamic \"ingress\" {\n  for_each = var.ports\n  iterator = port\n  content {\n    from_port = port.value\n  }\n}\n",
        "a = jsonencode({\n  Version = \"2012-10-17\"\n  Statement = [{\n    Effect = \"Allow\"\n    Action = [\"s3:*\"]\n  }]\n})\n",
        "a = 1\r\nb = \"x\"\r\nc {\r\n  d = 2\r\n}\r\n",
        "a = x == \"y\" ? [] : [1]\nb = try(a.b, null)\nc = length(var.x) > 0\n",
    ] {
        same_parse(snippet);
    }
    for file in [
        "root/main.tf",
        "root/variables.tf",
        "root/versions.tf",
        "root/terraform.tfvars",
        "root/a.auto.tfvars",
        "root/modules/network/main.tf",
        "root/modules/network/variables.tf",
        "root/modules/network/outputs.tf",
        "root/modules/bucket/main.tf",
        "registry/main.tf",
        "registry/.terraform/modules/s3/main.tf",
        "registry/.terraform/modules/s3.kms/main.tf",
        "cycles/main.tf",
        "recursion/a/main.tf",
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/terraform")
            .join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        same_parse(&text);
    }
}

#[test]
fn a_long_single_line_is_read_in_linear_time() {
    let mut text = String::from("locals { l = [");
    for i in 0..100_000 {
        text.push_str(&format!("{{a = {i}, b = \"x\"}}, "));
    }
    text.push_str("] }\nresource \"null_resource\" \"x\" {\n  n = length(local.l)\n}\n");
    let start = std::time::Instant::now();
    let out = clean(&text);
    assert_eq!(attrs(&out, "null_resource.x"), &json!({"n": 100000}));
    // Quadratic column counting would take minutes here.
    assert!(start.elapsed().as_secs() < 30);
    let lines = LineIndex::new("ab\ncdé f\n");
    let text = "ab\ncdé f\n";
    assert_eq!(lines.span(text, 0), Span { line: 1, column: 1 });
    assert_eq!(lines.span(text, 4), Span { line: 2, column: 2 });
    assert_eq!(lines.span(text, 7), Span { line: 2, column: 4 });
    assert_eq!(lines.span(text, 8), Span { line: 2, column: 5 });
    assert_eq!(lines.span(text, 1), Span { line: 1, column: 2 });
    assert_eq!(lines.span(text, 9), Span { line: 2, column: 6 });
}

#[test]
fn files_the_fast_parser_leaves_are_read_by_hcl_edit() {
    let out = clean(
        "resource \"aws_sqs_queue\" \"q\" {\n  name = /* a comment\n  over lines */ \"jobs\"\n  délai = 5\n}\n",
    );
    assert_eq!(
        attrs(&out, "aws_sqs_queue.q"),
        &json!({"name": "jobs", "délai": 5})
    );
    assert_eq!(line(find(&out, "aws_sqs_queue.q"), "/délai"), Some(4));
}

#[test]
fn the_fast_parser_leaves_what_it_does_not_know_to_hcl_edit() {
    for text in [
        "a = 1 +\n",
        "résumé = 1\n",
        "a = \"unterminated\n",
        "a = <<EOT\nno end\n",
        "a = \"%{ if x }no endif\"\n",
        "a = /* multi\nline */ 1\n",
        "a = b c\n",
        "resource \"a\" \"b\" {\n  x = 1 }\n",
        "a = 1 b = 2\n",
        "a = [1 2]\n",
        "a = {b = 1 c = 2}\n",
        "a = f(1 2)\n",
        "block { a = 1\n b = 2 }\n",
        "a = x ? y\n",
        "a = \"${x\"\n",
        "a = 1\n}\n",
    ] {
        let lines = LineIndex::new(text);
        if let Some(fast) = parser::parse(text, &lines) {
            let reference = hcl_edit::parser::parse_body(text)
                .unwrap_or_else(|e| panic!("accepted what hcl-edit rejects: {text}\n{e}"));
            assert_eq!(fast, Lower::new(text, &lines).body(&reference), "{text}");
        }
    }
    let mut long: String = (0..40).map(|i| format!("a{i} = {i}\n")).collect();
    assert!(parser::parse(&long, &LineIndex::new(&long)).is_some());
    long.push_str("a7 = 1\n");
    assert!(parser::parse(&long, &LineIndex::new(&long)).is_none());
    let deep = format!("a = {}1{}\n", "[".repeat(100), "]".repeat(100));
    assert!(parser::parse(&deep, &LineIndex::new(&deep)).is_none());
}

/// Mutated inputs: whatever the fast parser accepts, hcl-edit accepts with the same tree.
#[test]
fn the_fast_parser_never_accepts_more_than_hcl_edit() {
    let texts = [
        BUCKET.to_owned(),
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/terraform/root/main.tf"),
        )
        .unwrap_or_default(),
        "a = \"x${b}y%{ if c }d%{ endif }\"\nb = <<-EOT\n  ${x}\n  y\n  EOT\nc = [for k, v in m : v if k != \"\"]\n"
            .to_owned(),
    ];
    let pieces = [
        "", " ", "\n", "{", "}", "[", "]", "(", ")", "\"", "=", ",", ":", "?", ".", "*", "-", "!",
        "${", "%{", "~", "#", "/*", "*/", "<<EOT\n", "EOT", "for ", " in ", " if ", "=>", "...",
        "\\", "\r\n", "é",
    ];
    let mut state: u64 = std::env::var("MUTATION_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15);
    let mut next = |bound: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize % bound.max(1)
    };
    let mut accepted = 0;
    for round in 0..10000 {
        let text = &texts[round % texts.len()];
        let mut at = next(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let mut end = (at + next(4)).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let piece = pieces[next(pieces.len())];
        let mutated = format!("{}{piece}{}", &text[..at], &text[end.max(at)..]);
        let lines = LineIndex::new(&mutated);
        if let Some(fast) = parser::parse(&mutated, &lines) {
            accepted += 1;
            let reference = hcl_edit::parser::parse_body(&mutated)
                .unwrap_or_else(|e| panic!("accepted what hcl-edit rejects:\n{mutated}\n{e}"));
            // In a `<<-` heredoc whose lines are not all indented, hcl-edit strips the other
            // lines' indentation from the unindented ones too, eating their first characters;
            // this parser strips nothing there, as Terraform does.
            if !mutated.contains("<<-") {
                assert_eq!(
                    fast,
                    Lower::new(&mutated, &lines).body(&reference),
                    "{mutated}"
                );
            }
        }
    }
    // Most single edits still parse: the comparison is not vacuous.
    assert!(accepted > 500, "{accepted}");
}
