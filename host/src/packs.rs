//! The policy packs built into the `palisade` binary.

/// A first-party pack, embedded as a WebAssembly component.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinPack {
    /// The pack's name, e.g. `kubernetes`.
    pub name: &'static str,
    /// The component.
    pub wasm: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/packs.rs"));

/// The component of a built-in pack, by name.
pub fn builtin(name: &str) -> Option<&'static [u8]> {
    BUILTIN.iter().find(|p| p.name == name).map(|p| p.wasm)
}
