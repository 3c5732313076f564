//! Palisade's built-in Kubernetes policy pack: pod security for every workload kind, plus
//! namespace, service-account and RBAC hygiene. One rule per file under `rules/`, each with its
//! doc and fixtures in `fixtures/<rule-id>/{fail,pass}.yaml`.

mod rules;

use palisade_sdk::{Policy, Rule};

/// The Kubernetes pack.
pub struct Kubernetes;

impl Policy for Kubernetes {
    const NAME: &'static str = "kubernetes";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const RULES: &'static [Rule] = rules::ALL;
}

palisade_sdk::export_policy!(Kubernetes);
