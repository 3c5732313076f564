//! Terraform at scale: a generated tree of 2,000 files (200 root modules of ten files, each
//! calling one shared local module; see `terraform_tree.py`).
//!
//! - `normalize`: every root module normalized on one core, modules followed, as bytes of HCL
//!   per second (the shared module counts once per root that reads it);
//! - `normalize in memory`: the same `.tf` texts already read, each as a module of its own:
//!   parsing and evaluation without the file system;
//! - `scan`: the `palisade` binary scanning the whole tree with the built-in packs and a warm
//!   compile cache, a new process each time, as a pipeline runs it.
//!
//! Run with `cargo bench -p palisade --bench terraform`. `compare_checkov.py` runs checkov on
//! the same tree.

use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palisade_normalize::Limits;
use palisade_normalize::terraform::hcl::normalize_directory;

fn bench(c: &mut Criterion) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace");
    let dir = tempfile::tempdir().expect("temp dir");
    let tree = dir.path().join("tree");
    let status = Command::new("python3")
        .arg(workspace.join("benches/terraform_tree.py"))
        .arg(&tree)
        .args(["--files", "2000"])
        .status()
        .expect("python3 runs the generator");
    assert!(status.success(), "the generator failed");

    // Each root with its display path relative to the tree, as a scan of the tree shows it.
    let mut roots: Vec<(PathBuf, String)> = std::fs::read_dir(tree.join("services"))
        .expect("services/")
        .map(|e| {
            let path = e.expect("entry").path();
            let name = path.file_name().expect("name").to_string_lossy();
            let display = format!("services/{name}");
            (path, display)
        })
        .collect();
    roots.sort();
    let module_bytes = dir_bytes(&tree.join("modules/bucket"));
    let bytes: u64 = roots
        .iter()
        .map(|(root, _)| dir_bytes(root) + module_bytes)
        .sum();
    let limits = Limits::default();
    let normalize_all = || {
        let mut resources = 0;
        for (root, display) in &roots {
            let output = normalize_directory(root, display, &limits);
            assert_eq!(output.normalized.diagnostics, []);
            resources += output.normalized.resources.len();
        }
        resources
    };
    let resources = normalize_all();

    let mut group = c.benchmark_group("terraform 2,000 files");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function(
        format!(
            "normalize ({} KiB, {resources} resources, one core)",
            bytes >> 10
        ),
        |b| b.iter(normalize_all),
    );

    // The same files already in memory, each read as a module of its own (no module calls
    // followed): parsing and evaluation alone, without the file system.
    let texts: Vec<(String, String)> = roots
        .iter()
        .flat_map(|(root, display)| {
            let mut files: Vec<PathBuf> = std::fs::read_dir(root)
                .expect("root")
                .map(|e| e.expect("entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "tf"))
                .collect();
            files.sort();
            files.into_iter().map(move |p| {
                let name = p.file_name().expect("name").to_string_lossy().into_owned();
                let text = std::fs::read_to_string(&p).expect("read");
                (format!("{display}/{name}"), text)
            })
        })
        .collect();
    let text_bytes: usize = texts.iter().map(|(_, t)| t.len()).sum();
    group.throughput(Throughput::Bytes(text_bytes as u64));
    group.bench_function(
        format!(
            "normalize in memory ({} KiB of .tf, file by file, one core)",
            text_bytes >> 10
        ),
        |b| {
            b.iter(|| {
                texts
                    .iter()
                    .map(|(display, text)| {
                        palisade_normalize::terraform::hcl::normalize_file(
                            display, text, false, &limits,
                        )
                        .resources
                        .len()
                    })
                    .sum::<usize>()
            })
        },
    );

    let cache = dir.path().join("cache");
    let scan = || {
        let output = Command::new(env!("CARGO_BIN_EXE_palisade"))
            .arg("scan")
            .arg(&tree)
            .args(["--format", "json"])
            .env("PALISADE_CACHE_DIR", &cache)
            .output()
            .expect("palisade runs");
        assert_eq!(output.status.code(), Some(1), "the tree has findings");
        output
    };
    scan(); // warm the compile cache
    group.throughput(Throughput::Elements(2000));
    group.bench_function("palisade scan (new process, warm cache)", |b| b.iter(scan));
    group.finish();
}

/// Bytes of the Terraform files directly in `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| palisade_normalize::terraform::hcl::is_candidate(p))
        .map(|p| std::fs::metadata(p).expect("metadata").len())
        .sum()
}

criterion_group!(benches, bench);
criterion_main!(benches);
