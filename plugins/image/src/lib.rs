//! Palisade's built-in container image policy pack: who the image runs as, what its
//! configuration gives away, what its file tree holds (setuid programs, writable files, key
//! files, package caches) and how it was built. One rule per file under `rules/`, each with its
//! doc; the configuration rules have fixtures in `fixtures/<rule-id>/{fail,pass}.config.json`.
//!
//! Settings (`[packs.image] settings = { … }` in `palisade.toml`) are described in
//! [`settings`].

mod rules;
pub mod settings;

use palisade_sdk::{Policy, Rule, Value};

/// The image pack.
pub struct Image;

impl Policy for Image {
    const NAME: &'static str = "image";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const RULES: &'static [Rule] = rules::ALL;

    fn configure(config: &Value<'_>) -> Result<(), String> {
        settings::Settings::parse(config).map(|_| ())
    }
}

palisade_sdk::export_policy!(Image);
