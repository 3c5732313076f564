//! The S3 rules on a large Terraform module, one batch of thousands of buckets each configured
//! by its own separate resources: every bucket is joined to exactly its settings, whatever the
//! size of the batch.

use std::collections::BTreeSet;

use palisade_pack_aws::Aws;
use palisade_sdk::Policy;
use palisade_sdk::testing::{expected_lines, run_text};

const BUCKETS: usize = 2_000;

/// The bucket receiving every other bucket's access logs.
const LOG_BUCKET: &str = r#"
resource "aws_s3_bucket" "logs" {
  bucket = "acme-logs"
}

resource "aws_s3_bucket_acl" "logs" {
  bucket = aws_s3_bucket.logs.id
  acl    = "log-delivery-write"
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}
"#;

/// A module of `count` buckets, each with its own ACL, public-access block, versioning,
/// encryption and logging resources, joined by reference (even `i`) or by literal name (odd
/// `i`). Bucket `i` is misconfigured by `i % 8`, and the lines where a rule must fire carry an
/// `# expect:` marker: 2 suspends versioning; 3 has a public ACL that its public-access block
/// lets through; 4 names a bucket that does not exist in its encryption resource; 5 in its
/// logging resource; 6 has a public-access block leaving a flag out.
fn module(count: usize) -> String {
    let mut tf = String::from(LOG_BUCKET);
    for i in 0..count {
        let variant = i % 8;
        let bucket = if i % 2 == 0 {
            format!("aws_s3_bucket.b{i}.id")
        } else {
            format!("\"acme-b{i}\"")
        };
        let marker = |rule: &str, on: bool| {
            if on {
                format!(" # expect: aws/{rule}")
            } else {
                String::new()
            }
        };
        let bucket_marker = match variant {
            4 => marker("s3-encryption-disabled", true),
            5 => marker("s3-access-logging-disabled", true),
            _ => String::new(),
        };
        let public = variant == 3;
        let acl = if public { "public-read" } else { "private" };
        let blocks_acls = !public;
        let public_marker = marker("s3-public-access", public);
        let block_marker = marker("s3-public-access", variant == 6);
        let restrict = if variant == 6 {
            String::new()
        } else {
            "  restrict_public_buckets = true\n".to_string()
        };
        let status = if variant == 2 { "Suspended" } else { "Enabled" };
        let status_marker = marker("s3-versioning-disabled", variant == 2);
        let encrypted = if variant == 4 {
            format!("\"acme-b{i}-old\"")
        } else {
            bucket.clone()
        };
        let logged = if variant == 5 {
            format!("\"acme-b{i}-old\"")
        } else {
            bucket.clone()
        };
        tf.push_str(&format!(
            r#"
resource "aws_s3_bucket" "b{i}" {{{bucket_marker}
  bucket = "acme-b{i}"
}}

resource "aws_s3_bucket_acl" "b{i}" {{
  bucket = {bucket}
  acl    = "{acl}"{public_marker}
}}

resource "aws_s3_bucket_public_access_block" "b{i}" {{{block_marker}
  bucket                  = {bucket}
  block_public_acls       = {blocks_acls}{public_marker}
  block_public_policy     = true
  ignore_public_acls      = {blocks_acls}{public_marker}
{restrict}}}

resource "aws_s3_bucket_versioning" "b{i}" {{
  bucket = {bucket}

  versioning_configuration {{
    status = "{status}"{status_marker}
  }}
}}

resource "aws_s3_bucket_server_side_encryption_configuration" "b{i}" {{
  bucket = {encrypted}

  rule {{
    apply_server_side_encryption_by_default {{
      sse_algorithm     = "aws:kms"
      kms_master_key_id = "alias/s3"
    }}
  }}
}}

resource "aws_s3_bucket_logging" "b{i}" {{
  bucket        = {logged}
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "b{i}/"
}}
"#
        ));
    }
    tf
}

#[test]
fn thousands_of_buckets_are_each_joined_to_their_own_settings() {
    let text = module(BUCKETS);
    let findings = run_text::<Aws>("main.tf", &text, "{}").unwrap_or_else(|e| panic!("{e}"));
    // Per eight buckets: versioning 1, public access 3 + 1, encryption 1, logging 1.
    assert_eq!(findings.len(), BUCKETS / 8 * 7);
    for rule in Aws::RULES {
        let expected = expected_lines(&text, rule.id);
        let found: Vec<u32> = findings
            .iter()
            .filter(|f| f.rule == rule.id)
            .map(|f| f.line)
            .collect();
        assert_eq!(
            found.len(),
            expected.len(),
            "{}: one finding per marked line",
            rule.id
        );
        assert_eq!(
            found.into_iter().collect::<BTreeSet<_>>(),
            expected,
            "{}",
            rule.id
        );
    }
    let by_rule = |id: &str| findings.iter().filter(|f| f.rule == id).count();
    assert_eq!(by_rule("aws/s3-versioning-disabled"), BUCKETS / 8);
    assert_eq!(by_rule("aws/s3-public-access"), BUCKETS / 8 * 4);
    assert_eq!(by_rule("aws/s3-encryption-disabled"), BUCKETS / 8);
    assert_eq!(by_rule("aws/s3-access-logging-disabled"), BUCKETS / 8);
}
