//! Builds the first-party policy packs as WebAssembly components and embeds them, so
//! `palisade scan` works with no configuration. The packs are built from source on every
//! build that needs them; only their sources are in the repository.

use std::path::{Path, PathBuf};
use std::process::Command;

/// (pack name, crate directory under the workspace, package name).
const PACKS: &[(&str, &str, &str)] = &[
    (
        "kubernetes",
        "plugins/kubernetes",
        "palisade-pack-kubernetes",
    ),
    (
        "dockerfile",
        "plugins/dockerfile",
        "palisade-pack-dockerfile",
    ),
    ("aws", "plugins/aws", "palisade-pack-aws"),
    ("image", "plugins/image", "palisade-pack-image"),
];

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "plugin";

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .expect("the host crate lives inside the workspace")
        .to_path_buf();
    let out_dir = PathBuf::from(env("OUT_DIR"));

    for input in [
        "wit",
        "plugin-sdk/src",
        "plugin-sdk/Cargo.toml",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={}", workspace.join(input).display());
    }
    for (_, dir, _) in PACKS {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(dir).join("src").display()
        );
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(dir).join("Cargo.toml").display()
        );
    }
    println!("cargo:rerun-if-env-changed=PALISADE_PLUGIN_TARGET_DIR");

    ensure_wasm_target();

    // The outer cargo holds the lock on its own target directory; a nested build there would
    // wait forever. The plugins get a directory of their own, shared by every host build.
    let target_dir = std::env::var_os("PALISADE_PLUGIN_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target").join("plugins"));

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&workspace)
        .args(["build", "--quiet", "--target", TARGET, "--profile", PROFILE])
        .arg("--target-dir")
        .arg(&target_dir);
    for (_, _, package) in PACKS {
        command.args(["-p", package]);
    }
    // The host's own flags (coverage, sanitizers, clippy's wrapper) do not apply to wasm guests.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "CLIPPY_ARGS",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        command.env_remove(var);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo to build the policy packs: {e}"));
    if !output.status.success() {
        panic!(
            "building the policy packs for {TARGET} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let packs_dir = out_dir.join("packs");
    std::fs::create_dir_all(&packs_dir).expect("create OUT_DIR/packs");
    let mut generated = String::from(
        "/// The packs built into this binary.\npub const BUILTIN: &[BuiltinPack] = &[\n",
    );
    for (name, _, package) in PACKS {
        let built = target_dir
            .join(TARGET)
            .join(PROFILE)
            .join(format!("{}.wasm", package.replace('-', "_")));
        let embedded = packs_dir.join(format!("{name}.wasm"));
        std::fs::copy(&built, &embedded)
            .unwrap_or_else(|e| panic!("copy {} to {}: {e}", built.display(), embedded.display()));
        generated.push_str(&format!(
            "    BuiltinPack {{ name: {name:?}, wasm: include_bytes!({:?}) }},\n",
            embedded.display().to_string()
        ));
    }
    generated.push_str("];\n");
    std::fs::write(out_dir.join("packs.rs"), generated).expect("write packs.rs");
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("cargo sets {name} for build scripts"))
}

/// Makes sure the wasm32-wasip2 standard library is installed, installing it with rustup when
/// possible (rustup does not always honour `rust-toolchain.toml` targets by itself).
fn ensure_wasm_target() {
    if wasm_target_installed() {
        return;
    }
    let installed = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .is_ok_and(|s| s.success());
    if !installed || !wasm_target_installed() {
        panic!(
            "the {TARGET} target is not installed and could not be added automatically.\n\
             Run `rustup target add {TARGET}` (or `rustup toolchain install` in the repository) and build again."
        );
    }
}

fn wasm_target_installed() -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(output) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_string();
    Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .join("lib")
        .is_dir()
}
