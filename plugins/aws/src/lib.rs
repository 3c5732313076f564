//! Palisade's built-in AWS policy pack, provider-neutral: one rule judges the same
//! misconfiguration whether it is written in Terraform HCL, arrives as Terraform plan JSON or is
//! a CloudFormation resource. The SDK's `aws` views read each format; rules see one shape.
//! One rule per file under `rules/`, each with fixtures in `fixtures/<rule-id>/`.

mod rules;

use palisade_sdk::{Policy, Rule};

/// The AWS pack.
pub struct Aws;

impl Policy for Aws {
    const NAME: &'static str = "aws";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const RULES: &'static [Rule] = rules::ALL;
    // A bucket's public-access block, encryption or logging may be a separate resource.
    const SEES_BATCH: bool = true;
}

palisade_sdk::export_policy!(Aws);
