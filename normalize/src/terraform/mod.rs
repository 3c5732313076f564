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
//! `{"$ref": "aws_s3_bucket.logs.id"}`, with the target's full address (module prefix and
//! instance key: `{"$ref": "module.net.aws_subnet.private[0].id"}`).
//!
//! [`hcl`] evaluates a root module directory statically: variables (defaults and tfvars files,
//! never the environment), locals, module outputs, expressions and functions, `count`,
//! `for_each` and `dynamic` blocks, following local modules and those `terraform init`
//! installed. [`plan`] reads what Terraform itself computed. A rule written against one sees
//! the same shape from the other; where HCL cannot know a value that a plan would, it is
//! unknown, never guessed.

pub mod hcl;
pub mod plan;
