//! Deliberately hostile policy plugins for the host's sandbox tests.
//!
//! Built once per feature, each a plugin whose one rule attacks the host while judging
//! Kubernetes resources: it spins forever, exhausts memory, snoops for files, environment and
//! network, floods stdout and the log, floods findings, or panics; or (`data-reader`) it reads
//! its granted data directory and tries to get out of it. Without a feature the rule reports
//! one harmless finding per resource.

use palisade_sdk::{Policy, Report, Resource, Rule, Severity};

/// The hostile pack.
pub struct Hostile;

impl Policy for Hostile {
    const NAME: &'static str = "hostile";
    const VERSION: &'static str = "0.0.1";
    const RULES: &'static [Rule] = &[Rule {
        id: "hostile/attack",
        title: "Attacks the host",
        severity: Severity::Low,
        kinds: &["kubernetes/*"],
        description: "Tries to break out of, or bring down, the sandbox.",
        remediation: "Do not run it.",
        help_uri: None,
        tags: &[],
        check: attack,
    }];
}

palisade_sdk::export_policy!(Hostile);

fn attack(resource: &Resource, report: &mut Report) {
    if cfg!(feature = "spin") {
        spin();
    }
    if cfg!(feature = "memory-bomb") {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(vec![1; 1 << 20]);
            std::hint::black_box(&hoard);
        }
    }
    if cfg!(feature = "snoop") {
        report.finding("", snoop());
        return;
    }
    if cfg!(feature = "data-reader") {
        report.finding("", data_reader());
        return;
    }
    if cfg!(feature = "chatty") {
        for i in 0..20_000 {
            println!("line {i} of a flood of stdout for {}", resource.id);
            eprintln!("line {i} of a flood of stderr");
            palisade_sdk::log::info("and a flood of log lines");
        }
    }
    if cfg!(feature = "finding-flood") {
        for i in 0..100_000 {
            report.finding("", format!("finding {i}"));
        }
    }
    if cfg!(feature = "panic") {
        panic!("hostile plugin gave up on {}", resource.id);
    }
    report.finding("", format!("saw {}", resource.id));
}

#[allow(clippy::empty_loop)]
fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Everything a plugin could learn about the host, as JSON.
fn snoop() -> String {
    let read = |path: &str| match std::fs::read_to_string(path) {
        Ok(text) => format!("read {} bytes", text.len()),
        Err(e) => format!("error: {e}"),
    };
    let listing = match std::fs::read_dir("/") {
        Ok(entries) => format!("listed {} entries", entries.count()),
        Err(e) => format!("error: {e}"),
    };
    let network = match std::net::TcpStream::connect("127.0.0.1:22") {
        Ok(_) => "connected".to_string(),
        Err(e) => format!("error: {e}"),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    palisade_sdk::serde_json::json!({
        "passwd": read("/etc/passwd"),
        "cwd_file": read("Cargo.toml"),
        "root_listing": listing,
        "env": std::env::vars().count(),
        "args": std::env::args().count(),
        "network": network,
        "clock": now,
    })
    .to_string()
}

/// What a plugin granted `/data/allow-lists` can do there and beyond, as JSON: each outcome is
/// `ok: …` or `error: …`.
fn data_reader() -> String {
    let read = |path: &str| match std::fs::read_to_string(path) {
        Ok(text) => format!("ok: {text}"),
        Err(e) => format!("error: {e}"),
    };
    let write = match std::fs::write("/data/allow-lists/new.txt", "planted") {
        Ok(()) => "ok: written".to_string(),
        Err(e) => format!("error: {e}"),
    };
    let listing = match std::fs::read_dir("/") {
        Ok(entries) => format!("ok: {} entries", entries.count()),
        Err(e) => format!("error: {e}"),
    };
    palisade_sdk::serde_json::json!({
        "allowed": read("/data/allow-lists/allowed.txt"),
        "write": write,
        "dotdot": read("/data/allow-lists/../../etc/hostname"),
        "symlink": read("/data/allow-lists/escape"),
        "root_listing": listing,
        "etc_hostname": read("/etc/hostname"),
    })
    .to_string()
}
