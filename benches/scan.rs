//! End to end: the `palisade` binary scanning `examples/` with a warm compile cache, as a
//! pipeline runs it (a new process each time).
//!
//! Run with `cargo bench -p palisade --bench scan`.

use std::path::Path;
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace");
    let cache = tempfile::tempdir().expect("temp dir");
    let scan = || {
        let output = Command::new(env!("CARGO_BIN_EXE_palisade"))
            .current_dir(workspace)
            .args(["scan", "examples/", "--format", "json"])
            .env("PALISADE_CACHE_DIR", cache.path())
            .output()
            .expect("palisade runs");
        assert_eq!(output.status.code(), Some(1), "examples have findings");
        output
    };
    scan(); // warm the compile cache

    let mut group = c.benchmark_group("palisade scan");
    group.sample_size(30);
    group.bench_function("examples/ (new process, warm cache)", |b| b.iter(scan));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
