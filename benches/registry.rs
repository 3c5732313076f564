//! What every scan with registry packs pays before compiling anything: verifying a lock of 20
//! packs from the cache (`--offline`): the index's root signatures and expiry, the rollback
//! memory, then per pack the lock's digests against the index, the team's signature over the
//! manifest, the manifest itself, and the component's size and sha256.
//!
//! Setup, done once: ssh-keygen makes two root keys and two team keys; 20 distinct packs (the
//! built-in packs, each made unique by a custom section; 4.7 MiB in all) are described,
//! signed by their team, published and signed 2-of-2 through the real binary; `palisade lock`
//! fills the cache.

use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};
use palisade::Config;
use palisade::engine::{Engine, Limits};
use palisade::registry::client::{RegistryClient, cache_dir};
use palisade::registry::{Lockfile, Manifest, ManifestRequest, PLUGIN_NAMESPACE, SigningKey};

const PACKS: usize = 20;

fn palisade(args: &[&str], cwd: &Path, cache: &Path) {
    let output = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .current_dir(cwd)
        .env("PALISADE_CACHE_DIR", cache)
        .args(args)
        .output()
        .expect("palisade runs");
    assert!(output.status.success(), "palisade {args:?}: {output:?}");
}

fn keygen(dir: &Path, name: &str) -> PathBuf {
    let key = dir.join(name);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success());
    key
}

/// A component made unique by a trailing custom section (valid in any component).
fn unique(component: &[u8], n: usize) -> Vec<u8> {
    let name = b"palisade-bench";
    let payload = format!("copy {n}");
    let mut section = vec![name.len() as u8];
    section.extend_from_slice(name);
    section.extend_from_slice(payload.as_bytes());
    let mut bytes = component.to_vec();
    bytes.push(0);
    bytes.push(section.len() as u8);
    bytes.extend_from_slice(&section);
    bytes
}

struct Setup {
    _dir: tempfile::TempDir,
    project: PathBuf,
    cache: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let cache = root.join("cache");
    let keys = root.join("keys");
    std::fs::create_dir_all(&keys).expect("mkdir");
    let roots = [keygen(&keys, "root-1"), keygen(&keys, "root-2")];
    let teams = [keygen(&keys, "platform"), keygen(&keys, "appsec")];
    let registry = root.join("registry");
    let reg = registry.to_str().expect("UTF-8 path");
    let pubs: Vec<String> = roots
        .iter()
        .chain(&teams)
        .map(|k| format!("{}.pub", k.display()))
        .collect();
    palisade(
        &[
            "registry",
            "init",
            reg,
            "--root-key",
            &pubs[0],
            "--root-key",
            &pubs[1],
            "--threshold",
            "2",
        ],
        root,
        &cache,
    );
    for (team, public) in ["platform", "appsec"].iter().zip(&pubs[2..]) {
        palisade(
            &[
                "registry",
                "add-team",
                reg,
                "--team",
                team,
                "--key",
                public,
                "--prefix",
                &format!("{team}/"),
            ],
            root,
            &cache,
        );
    }

    // Described once per built-in pack; each copy's manifest differs only in its pins.
    let engine = Engine::new(None).expect("engine");
    let mut manifests = Vec::new();
    let mut wanted = String::new();
    for n in 0..PACKS {
        let pack = &palisade::packs::BUILTIN[n % palisade::packs::BUILTIN.len()];
        let info = engine
            .load(pack.name, pack.wasm, Limits::default())
            .expect("a built-in pack loads")
            .info()
            .clone();
        let team = ["platform", "appsec"][n % 2];
        let name = format!("{team}/{}-{n}", pack.name);
        let wasm = unique(pack.wasm, n);
        let work = root.join("work").join(n.to_string());
        std::fs::create_dir_all(&work).expect("mkdir");
        std::fs::write(work.join("pack.wasm"), &wasm).expect("write");
        let request = ManifestRequest {
            name: name.clone(),
            version: "1.0.0".to_string(),
            team: team.to_string(),
            description: String::new(),
            data_dir: None,
        };
        let manifest = Manifest::describe(&request, "pack.wasm", &wasm, &info).expect("manifest");
        let text = manifest.to_toml();
        let path = work.join("palisade-plugin.toml");
        std::fs::write(&path, &text).expect("write");
        let key = SigningKey::read(&teams[n % 2]).expect("team key");
        let signature = key.sign(PLUGIN_NAMESPACE, text.as_bytes()).expect("sign");
        std::fs::write(work.join("palisade-plugin.toml.sig"), signature).expect("write");
        manifests.push(path.to_string_lossy().into_owned());
        wanted.push_str(&format!("\"{name}\" = \"1\"\n"));
    }
    let mut args = vec!["registry", "publish", reg];
    args.extend(manifests.iter().map(String::as_str));
    palisade(&args, root, &cache);
    for key in &roots {
        palisade(
            &[
                "registry",
                "sign",
                reg,
                "--key",
                key.to_str().expect("UTF-8"),
            ],
            root,
            &cache,
        );
    }

    let project = root.join("project");
    std::fs::create_dir_all(&project).expect("mkdir");
    let line = |k: &str| std::fs::read_to_string(k).expect("pub").trim().to_string();
    std::fs::write(
        project.join("palisade.toml"),
        format!(
            "[registry]\npath = \"{reg}\"\nroot-keys = [\"{}\", \"{}\"]\nthreshold = 2\n\n\
             [registry.plugins]\n{wanted}",
            line(&pubs[0]),
            line(&pubs[1])
        ),
    )
    .expect("write config");
    palisade(&["lock"], &project, &cache);
    Setup {
        _dir: dir,
        project,
        cache,
    }
}

fn verify_lock_from_cache(setup: &Setup) -> usize {
    let config = Config::load(&setup.project.join("palisade.toml")).expect("config");
    let lock = Lockfile::parse(&std::fs::read_to_string(config.lock_path()).expect("the lock"))
        .expect("a lock");
    let registry = config.registry.as_ref().expect("a registry");
    let client = RegistryClient::open(registry, config.base_dir(), &cache_dir(&setup.cache), true)
        .expect("the registry opens");
    let index = client.index().expect("the cached index verifies");
    lock.plugins
        .iter()
        .map(|locked| {
            client
                .fetch_locked(&index, locked)
                .expect("the pack verifies")
                .wasm
                .len()
        })
        .sum()
}

fn bench(c: &mut Criterion) {
    let setup = setup();
    let bytes = verify_lock_from_cache(&setup);
    eprintln!(
        "{PACKS} packs, {:.1} MiB of components",
        bytes as f64 / (1 << 20) as f64
    );
    let mut group = c.benchmark_group("registry");
    group.sample_size(30);
    group.bench_function("verify a 20-pack lock from the cache", |b| {
        b.iter(|| verify_lock_from_cache(&setup))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
