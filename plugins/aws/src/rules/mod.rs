//! The pack's rules, one per file.

/// Every rule of the pack, in the order `palisade rules` lists them.
pub const ALL: &[palisade_sdk::Rule] = &[];
