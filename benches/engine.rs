//! The engine's costs: loading a plugin from the precompiled cache, a fresh sandbox per run,
//! and evaluation throughput of the Kubernetes pack on 10,000 generated workloads.
//!
//! Run with `cargo bench -p palisade --bench engine`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palisade::engine::{CompileCache, Engine, Input, Limits};
use palisade::normalize::{Limits as InputLimits, Resource, normalize_file};
use palisade::packs::builtin;

fn kubernetes_pack() -> &'static [u8] {
    builtin("kubernetes").expect("the Kubernetes pack is built in")
}

/// `n` realistic workloads, cycling through a Deployment, a CronJob and a bare Pod, some
/// hardened and some not, as one multi-document YAML file.
pub fn workloads(n: usize) -> String {
    let mut yaml = String::new();
    for i in 0..n {
        let privileged = i % 3 == 0;
        let container = format!(
            "        - name: app-{i}
          image: registry.example.com/team/app:{}
          ports:
            - containerPort: 8080
          env:
            - name: LOG_LEVEL
              value: info
            - name: API_TOKEN
              value: {}
          resources:
            limits:
              cpu: 500m
              memory: 256Mi
          securityContext:
            privileged: {privileged}
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: [ALL]
",
            if i % 4 == 0 { "latest" } else { "1.2.3" },
            if i % 5 == 0 { "s3cr3t" } else { "\"\"" },
        );
        let pod = format!(
            "      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
      containers:
{container}"
        );
        match i % 3 {
            0 => yaml.push_str(&format!(
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{i}\n  namespace: shop\nspec:\n  replicas: 2\n  template:\n    metadata:\n      labels:\n        app: web-{i}\n    spec:\n{pod}"
            )),
            1 => yaml.push_str(&format!(
                "---\napiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: job-{i}\n  namespace: ops\nspec:\n  schedule: \"0 3 * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n{}",
                pod.lines().map(|l| format!("    {l}\n")).collect::<String>()
            )),
            _ => yaml.push_str(&format!(
                "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-{i}\nspec:\n{}",
                pod.lines().map(|l| format!("{}\n", &l[4..])).collect::<String>()
            )),
        }
    }
    yaml
}

fn normalized(n: usize) -> Vec<Resource> {
    let text = workloads(n);
    let limits = InputLimits {
        max_file_bytes: 1 << 30,
        max_nodes: usize::MAX,
        ..InputLimits::default()
    };
    let out = normalize_file(
        "workloads.yaml",
        Path::new("workloads.yaml"),
        &text,
        &limits,
    );
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    assert_eq!(out.resources.len(), n);
    out.resources
}

fn bench(c: &mut Criterion) {
    let cache_dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::new(Some(CompileCache::new(cache_dir.path()))).expect("engine");
    // Warm the cache: every load below deserializes precompiled code.
    let plugin = engine
        .load("kubernetes", kubernetes_pack(), Limits::default())
        .expect("the pack loads");

    c.bench_function("load from the precompiled cache", |b| {
        b.iter(|| {
            let fresh = Engine::new(Some(CompileCache::new(cache_dir.path()))).expect("engine");
            black_box(
                fresh
                    .load("kubernetes", kubernetes_pack(), Limits::default())
                    .expect("loads"),
            )
        })
    });

    c.bench_function("fresh sandbox (instantiate + configure)", |b| {
        b.iter(|| black_box(engine.run(&plugin, "{}", &[]).result.expect("runs")))
    });

    let resources = normalized(10_000);
    let attributes: Vec<String> = resources
        .iter()
        .map(|r| serde_json::to_string(&r.attributes).expect("serializes"))
        .collect();
    let inputs: Vec<Input<'_>> = resources
        .iter()
        .zip(&attributes)
        .map(|(r, a)| Input {
            id: &r.id,
            kind: &r.kind,
            file: &r.file,
            attributes: a,
            unit: None,
        })
        .collect();

    let mut group = c.benchmark_group("kubernetes pack");
    group.sample_size(20);
    group.throughput(Throughput::Elements(inputs.len() as u64));
    group.bench_function("evaluate 10,000 workloads", |b| {
        b.iter(|| {
            let findings = engine.run(&plugin, "{}", &inputs).result.expect("runs");
            assert!(findings.len() > 10_000);
            black_box(findings)
        })
    });
    group.finish();

    let text = workloads(10_000);
    let mut group = c.benchmark_group("kubernetes normalizer");
    group.sample_size(10);
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("normalize 10,000 workloads", |b| {
        let limits = InputLimits {
            max_file_bytes: 1 << 30,
            max_nodes: usize::MAX,
            ..InputLimits::default()
        };
        b.iter(|| {
            black_box(normalize_file(
                "w.yaml",
                Path::new("w.yaml"),
                &text,
                &limits,
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
