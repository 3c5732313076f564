//! Terraform: HCL configurations (evaluated per module directory) and plan JSON.
//!
//! Both yield the same kinds and ids, so one rule covers both: kind `terraform/<type>` for a
//! `resource` block, `terraform/data.<type>` for `data`, `terraform/module` for a module call,
//! `terraform/provider.<name>` for a provider block; id `aws_s3_bucket.logs`,
//! `data.aws_iam_policy_document.x`, `module.net.aws_security_group.web`, `aws_instance.web[0]`,
//! `aws_instance.web["a"]`, `module.net`, `provider.aws` (or `provider.aws.west` with an alias).
//! Attributes have the shape plan JSON gives them: arguments as values, every nested block type
//! as an array of objects. A value that cannot be known statically is an object
//! `{"$unknown": "<expression or reason>"}`; a reference to another object is
//! `{"$ref": "aws_s3_bucket.logs.id"}`.

pub mod hcl;
pub mod plan;
