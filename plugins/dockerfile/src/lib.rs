//! Palisade's built-in Dockerfile policy pack: who the image runs as, what it is built from,
//! how it fetches code, and what it leaves behind. One rule per file under `rules/`, each with
//! its doc and fixtures in `fixtures/<rule-id>/{fail,pass}.Dockerfile`.

mod rules;

use palisade_sdk::{Policy, Rule};

/// The Dockerfile pack.
pub struct Dockerfile;

impl Policy for Dockerfile {
    const NAME: &'static str = "dockerfile";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const RULES: &'static [Rule] = rules::ALL;
}

palisade_sdk::export_policy!(Dockerfile);
