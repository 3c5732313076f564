//! The `palisade` command line: parses flags and calls the library.

mod terminal;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use palisade::findings::baseline::Baseline;
use palisade::image::{RegistryCredentials, RegistryOptions};
use palisade::normalize::image::PlatformChoice;
use palisade::report::{self, Context, Format, Style};
use palisade::{Scan, ScanReport, Severity};
use terminal::{ColorChoice, ProgressLine};

/// Policy checks for infrastructure code, with rules as sandboxed WebAssembly plugins.
///
/// Exit codes: 0 no findings at or above the threshold, 1 findings, 2 errors (bad input, bad
/// config, plugin failure). Errors win over findings.
#[derive(Parser)]
#[command(name = "palisade", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Colour the report and messages: auto (when writing to a terminal and `NO_COLOR` is
    /// unset or empty), always (even piped, even with `NO_COLOR`), or never.
    #[arg(long, value_enum, default_value_t, global = true, value_name = "WHEN")]
    color: ColorChoice,
}

#[derive(Subcommand)]
enum Command {
    /// Scan files and directories (default: the current directory).
    Scan(Box<ScanArgs>),
    /// List the loaded rules.
    Rules(PluginArgs),
    /// Print what a rule checks, why, and how to fix it.
    Explain {
        /// The rule id, e.g. `k8s/privileged-container`.
        rule: String,
        #[command(flatten)]
        plugins: PluginArgs,
    },
    /// Make, sign and verify signed plugin artifacts (component, manifest, signature).
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Maintain and verify a signed plugin registry: index, root signatures, plugins.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Pin the config's registry packs in `palisade.lock`.
    ///
    /// Fetches and verifies the registry's index, resolves each pack in `[registry.plugins]` to
    /// the highest published, unrevoked version its requirement accepts, downloads and verifies
    /// each (root → index → team key → manifest → component digest) into the cache, then writes
    /// `palisade.lock` beside `palisade.toml`. Commit the lock: scans run exactly what it pins.
    Lock(PluginArgs),
    /// Record today's findings so later scans (`scan --baseline FILE`) report only new ones.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Write a commented `palisade.toml` and, on request, CI configs that run palisade.
    ///
    /// The config lists every setting, every built-in pack and rule, waivers and the signed
    /// registry, all commented out. `--github` writes `.github/workflows/palisade.yml` (the
    /// palisade action: annotations, job summary, SARIF uploaded to code scanning), `--gitlab`
    /// writes `.gitlab/palisade.yml` (Code Quality and JUnit reports; include it from
    /// `.gitlab-ci.yml`), `--pre-commit` adds the palisade hook to `.pre-commit-config.yaml`.
    Init(InitArgs),
    /// Scaffold a ready-to-build plugin project: a sample rule, fixtures, a test and a README.
    New(NewArgs),
    /// Check a plugin against fixture files whose expected findings are written beside them.
    ///
    /// Every file under FIXTURES_DIR that palisade reads is normalized and evaluated by the
    /// plugin alone (no built-in packs, no `palisade.toml` unless `--config`), then its findings
    /// are compared with the expected ones: `# expect: RULE-ID` comments on the lines where
    /// findings must be (a comment alone on its line names the next line), or, for formats
    /// without comments (JSON), a sidecar `FILE.expect` of `<line>: <rule-id>` lines. A file
    /// without expectations must produce no finding. A file in a directory named after one of
    /// the plugin's rules (`k8s/run-as-root/fail.yaml`) checks that rule only; `config.json`
    /// beside fixtures holds the pack settings for them. Exit 0 all match, 1 a mismatch (shown
    /// as a diff: `- LINE RULE` expected, not found; `+ LINE RULE` found, not expected), 2 an
    /// error.
    Test(TestArgs),
}

#[derive(Args)]
struct TestArgs {
    /// The plugin component, built in any language.
    #[arg(value_name = "PLUGIN.wasm")]
    wasm: PathBuf,
    /// The directory of fixture files.
    #[arg(value_name = "FIXTURES_DIR")]
    fixtures: PathBuf,
    /// Take the pack settings and limits for the plugin from this `palisade.toml`.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = PlainFormat::Text)]
    format: PlainFormat,
    /// Keep compiled plugins here.
    #[arg(long, value_name = "DIR", env = "PALISADE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
}

#[derive(Args)]
struct NewArgs {
    /// The plugin's name: lowercase letters, digits and `-` (also its rule-id prefix).
    name: String,
    /// The plugin's language (only `rust` can be scaffolded so far).
    #[arg(long, value_enum, default_value_t = NewLang::Rust)]
    lang: NewLang,
    /// Create the project here instead of `./NAME`; must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Depend on this local `plugin-sdk` directory instead of the project's git repository.
    #[arg(long, value_name = "PATH")]
    sdk_path: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum NewLang {
    Rust,
    Python,
    Js,
    C,
}

/// Output of the commands that report on one plugin.
#[derive(Clone, Copy, clap::ValueEnum)]
enum PlainFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum BaselineCommand {
    /// Scan, then write the findings that count as a baseline.
    ///
    /// The baseline is a versioned JSON document listing each finding's fingerprint (a hash of
    /// its rule, file, resource and attribute, not its line, so it survives lines moving), rule,
    /// file, resource and message, sorted. Findings already suppressed inline or waived are not
    /// recorded. Run `scan --baseline FILE` from the same directory with the same paths, so
    /// files are named the same way. Nothing is written when the scan has errors (exit 2).
    Create {
        /// Files and directories to scan (default: the current directory).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Where to write the baseline.
        #[arg(long, short, value_name = "FILE", default_value = palisade::findings::baseline::DEFAULT_FILE)]
        output: PathBuf,
        #[command(flatten)]
        plugins: PluginArgs,
    },
}

#[derive(Args)]
struct InitArgs {
    /// The repository's directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Replace files that already exist.
    #[arg(long)]
    force: bool,
    /// Also write a GitHub Actions workflow.
    #[arg(long)]
    github: bool,
    /// Also write a GitLab CI job.
    #[arg(long)]
    gitlab: bool,
    /// Also add the pre-commit hook to `.pre-commit-config.yaml` (created if missing).
    #[arg(long)]
    pre_commit: bool,
    /// Keep compiled plugins here.
    #[arg(long, value_name = "DIR", env = "PALISADE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

/// A registry is a directory (served as is by any static web server):
///
/// - `index.toml`: every plugin version with its digests, the teams with their keys and the
///   name prefixes each may publish, revocations, a version and an expiry;
///
/// - `index.toml.sig`: the root keys' SSH signatures of it (namespace `palisade-registry`);
///
/// - `plugins/<team>/<pack>/<version>/`: each published artifact (manifest, its `.sig`, the
///   component).
///
/// Every change after a signature starts a new index version, which the root keys sign again.
#[derive(Subcommand)]
enum RegistryCommand {
    /// Create a registry: version 1, these root keys, no teams or plugins, unsigned.
    Init {
        /// The registry directory (created if missing; must not hold an index).
        dir: PathBuf,
        /// A root public key that signs the index (repeatable).
        #[arg(long = "root-key", value_name = "PUBLIC_KEY", required = true)]
        root_keys: Vec<PathBuf>,
        /// How many distinct root keys must sign each index version.
        #[arg(long, value_name = "K", default_value_t = 1)]
        threshold: usize,
    },
    /// Add a team, or replace the keys and name prefixes of an existing one.
    ///
    /// A key may not be dropped while it signed a published, non-revoked plugin of the team.
    AddTeam {
        /// The registry directory.
        dir: PathBuf,
        /// The team's name: lowercase letters, digits and `-`.
        #[arg(long)]
        team: String,
        /// A public key that may sign the team's manifests (repeatable).
        #[arg(long = "key", value_name = "PUBLIC_KEY", required = true)]
        keys: Vec<PathBuf>,
        /// Names the team publishes start with this, e.g. `platform/` (repeatable).
        #[arg(long = "prefix", value_name = "PREFIX", required = true)]
        prefixes: Vec<String>,
    },
    /// Publish signed plugin artifacts into the registry.
    ///
    /// Each must verify on its own (as `plugin verify`), be signed by a key of the manifest's
    /// team, be named within the team's prefixes, and not be a revoked version or a published
    /// version with other bytes (publishing the same bytes again changes nothing).
    Publish {
        /// The registry directory.
        dir: PathBuf,
        /// A manifest (its `.sig` and component beside it), or a directory holding
        /// `palisade-plugin.toml`.
        #[arg(value_name = "MANIFEST", required = true)]
        manifests: Vec<PathBuf>,
    },
    /// Revoke a published version: every verification refuses it from the next signed index.
    Revoke {
        /// The registry directory.
        dir: PathBuf,
        /// The version to revoke: `NAME@VERSION`, e.g. `platform/k8s@1.2.0`.
        #[arg(value_name = "NAME@VERSION")]
        plugin: String,
        /// Why, shown to everyone whose scans refuse it.
        #[arg(long)]
        reason: String,
    },
    /// Replace the root keys.
    ///
    /// The current root becomes `previous-root`: the next index version must be signed by the
    /// threshold of both, so consumers trusting the old keys accept the new ones. They must
    /// verify that index before any later one (which drops `previous-root`).
    RotateRoot {
        /// The registry directory.
        dir: PathBuf,
        /// A new root public key (repeatable).
        #[arg(long = "root-key", value_name = "PUBLIC_KEY", required = true)]
        root_keys: Vec<PathBuf>,
        /// How many distinct new root keys must sign.
        #[arg(long, value_name = "K", default_value_t = 1)]
        threshold: usize,
    },
    /// Sign the index with a root key, appending to `index.toml.sig`.
    ///
    /// The first signature of a version sets `expires`; later signers must not change it. Each
    /// signature is what `ssh-keygen` writes, so a root key holder may also sign an index whose
    /// `expires` is already set without palisade:
    /// `ssh-keygen -Y sign -n palisade-registry -f KEY < index.toml >> index.toml.sig`.
    Sign {
        /// The registry directory.
        dir: PathBuf,
        /// The root private key (OpenSSH, without passphrase).
        #[arg(long, value_name = "PRIVATE_KEY")]
        key: PathBuf,
        /// When this version expires: days (`30d`), hours (`12h`) or an RFC 3339 date-time.
        /// Only the first signature sets it [default: 30d].
        #[arg(long, value_name = "WHEN")]
        expires: Option<palisade::registry::Expiry>,
    },
    /// Verify the registry: root signatures, expiry, and every published plugin.
    ///
    /// Exit 0 verified, 2 refused (each error on stderr). Without `--root-key` the index's own
    /// root keys are trusted, which shows it is consistently signed, not who signed it.
    Verify {
        /// The registry: a directory, or the `http://` / `https://` URL of a site serving one.
        #[arg(value_name = "DIR|URL")]
        registry: String,
        /// For an HTTPS registry: trust only the CA certificate(s) in this PEM file.
        #[arg(long, value_name = "PEM")]
        ca_cert: Option<PathBuf>,
        /// A trusted root public key (repeatable).
        #[arg(long = "root-key", value_name = "PUBLIC_KEY")]
        root_keys: Vec<PathBuf>,
        /// How many distinct trusted root keys must sign. Pinned keys and threshold must be
        /// the index's root, or its `previous-root` (a rotation).
        #[arg(long, value_name = "K", default_value_t = 1, requires = "root_keys")]
        threshold: usize,
    },
}

/// A signed plugin artifact is three files side by side: the component (`NAME.wasm`), its
/// manifest (`palisade-plugin.toml`) and the manifest's SSH signature
/// (`palisade-plugin.toml.sig`, namespace `palisade-plugin`).
#[derive(Subcommand)]
enum PluginCommand {
    /// Show what a plugin component is: name, version, rules, imports, exports, digest, size.
    ///
    /// Imports are grouped by provider: the palisade host (`palisade:policy/*`) and WASI
    /// (`wasi:*`). A plugin that imports no WASI is pure and runs without any WASI linked.
    Inspect {
        /// The plugin component.
        #[arg(value_name = "PLUGIN.wasm")]
        wasm: PathBuf,
        /// Report format.
        #[arg(long, value_enum, default_value_t = PlainFormat::Text)]
        format: PlainFormat,
        /// Keep compiled plugins here.
        #[arg(long, value_name = "DIR", env = "PALISADE_CACHE_DIR")]
        cache_dir: Option<PathBuf>,
    },
    /// Write the manifest of a plugin component.
    ///
    /// The rules and kinds are taken from the component's own `describe`; its sha256 and size
    /// pin it. Same input, same bytes.
    Manifest {
        /// The plugin component.
        #[arg(value_name = "PLUGIN.wasm")]
        wasm: PathBuf,
        /// The plugin's name: `team/pack`, lowercase letters, digits and `-`.
        #[arg(long)]
        name: String,
        /// The plugin's semver version, e.g. `1.2.0`.
        #[arg(long, value_name = "VERSION")]
        version: String,
        /// The owning team.
        #[arg(long)]
        team: String,
        /// One paragraph describing the plugin.
        #[arg(long, default_value = "")]
        description: String,
        /// Request read-only access to the data directory of this name.
        #[arg(long, value_name = "NAME")]
        data_dir: Option<String>,
        /// Where to write the manifest (default: `palisade-plugin.toml` beside the component).
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Sign a manifest with an OpenSSH private key, writing `MANIFEST.sig`.
    ///
    /// The signature is the same bytes as `ssh-keygen -Y sign -n palisade-plugin -f KEY
    /// MANIFEST` for ed25519 and RSA keys (ECDSA signatures are randomized by design). The key
    /// must not have a passphrase; for such a key, sign with `ssh-keygen` itself.
    Sign {
        /// The manifest to sign.
        #[arg(value_name = "MANIFEST")]
        manifest: PathBuf,
        /// The OpenSSH private key (ed25519, ecdsa-sha2-nistp256 or rsa).
        #[arg(long, value_name = "PRIVATE_KEY")]
        key: PathBuf,
    },
    /// Verify a signed artifact: signature, namespace, manifest, component digest.
    ///
    /// Checks that `MANIFEST.sig` was made by the given key in the `palisade-plugin` namespace
    /// over the manifest's exact bytes, that the manifest is valid, and that the component has
    /// the size and sha256 the manifest pins. Exit 0 verified, 2 refused (the error names the
    /// file and the reason).
    Verify {
        /// The manifest; its signature is read from `MANIFEST.sig`.
        #[arg(value_name = "MANIFEST")]
        manifest: PathBuf,
        /// The signer's public key (a `.pub` file or an `authorized_keys` line).
        #[arg(long, value_name = "PUBLIC_KEY")]
        key: PathBuf,
        /// The component (default: the file the manifest's `wasm.file` names, beside it).
        #[arg(long, value_name = "PLUGIN.wasm")]
        wasm: Option<PathBuf>,
    },
}

#[derive(Args)]
struct PluginArgs {
    /// Also run this plugin component (repeatable).
    #[arg(long = "plugin", value_name = "FILE.wasm")]
    plugins: Vec<PathBuf>,

    /// Do not run the packs built into palisade.
    #[arg(long)]
    no_default_packs: bool,

    /// Read this config instead of the `palisade.toml` found above the scan root.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Keep compiled plugins here.
    #[arg(long, value_name = "DIR", env = "PALISADE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,

    /// Compile plugins afresh and keep nothing on disk.
    #[arg(long)]
    no_cache: bool,

    /// Download nothing: registry packs and the registry's index come from the cache, where
    /// `palisade lock` or an earlier scan put them. The cached index must still verify and must
    /// not have expired.
    #[arg(long)]
    offline: bool,
}

#[derive(Args)]
struct ScanArgs {
    /// Files and directories to scan (default: the current directory, unless images are given).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Scan a container image (repeatable): `oci:DIR[:TAG]` (an OCI image layout),
    /// `docker-archive:FILE.tar` (`docker save` output), an image config or manifest JSON
    /// file, or an image in a registry: `[HOST[:PORT]/]REPO[:TAG][@sha256:DIGEST]`.
    ///
    /// Registry images are pulled over HTTPS (`alpine:3.20` and `acme/app` are on Docker Hub;
    /// the tag defaults to `latest`; `@sha256:…` pins the manifest, which is then checked).
    /// When a registry asks for credentials, palisade answers with the first of:
    ///
    /// - `PALISADE_REGISTRY_AUTH`: either `user:password` (offered to every registry that
    ///   asks) or a JSON object of registry to `user:password`, e.g.
    ///   `{"registry.example.com": "ci:s3cret", "docker.io": "me:token"}`;
    ///
    /// - Docker's `config.json` (`$DOCKER_CONFIG/config.json`, else
    ///   `~/.docker/config.json`): `auths.<registry>.auth` as `docker login` writes it (Docker
    ///   Hub under `https://index.docker.io/v1/`). Credential helpers (`credsStore`,
    ///   `credHelpers`) are not run.
    ///
    /// Basic and Bearer-token authentication are supported. Secrets are never printed.
    #[arg(long = "image", value_name = "REF")]
    images: Vec<String>,

    /// Pull from registries on a loopback address (localhost, 127.0.0.1, ::1) over plain
    /// HTTP. Every other registry is always reached over HTTPS.
    #[arg(long)]
    insecure_registry: bool,

    /// Seconds to wait for a registry to connect or to send more data before giving up.
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    registry_timeout: u64,

    /// The platform to scan in multi-platform images: os/arch[/variant], or `all`.
    #[arg(long, value_name = "PLATFORM", default_value = "linux/amd64")]
    platform: PlatformChoice,

    /// Report format (repeatable): text, json, sarif, junit, github, gitlab or markdown
    /// [default: text].
    ///
    /// Formats go to stdout, one after the other, unless an `--output FORMAT=FILE` names them;
    /// at most one of json, sarif, junit and gitlab may share stdout (or the plain `--output
    /// FILE`) with text, github and markdown.
    #[arg(long = "format", value_name = "FORMAT")]
    formats: Vec<Format>,

    /// Write a report to a file (repeatable). `FORMAT=FILE` writes that format to FILE, so one
    /// run writes several (`--output sarif=palisade.sarif --output junit=junit.xml`); a plain
    /// `FILE` takes what would go to stdout.
    #[arg(long = "output", short, value_name = "[FORMAT=]FILE")]
    outputs: Vec<OutputTarget>,

    /// The repository root that SARIF and GitLab paths are relative to [default: the git work
    /// tree holding the first PATH, else the current directory].
    #[arg(long, value_name = "DIR")]
    source_root: Option<PathBuf>,

    /// Lowest severity that fails the scan (exit 1): info, low, medium, high or critical.
    #[arg(long, value_name = "SEVERITY")]
    fail_on: Option<Severity>,

    /// Override a soft-mandatory rule for this run (repeatable, each with a --reason): its
    /// findings are reported but do not fail the scan, and every report records the override.
    /// Hard-mandatory rules cannot be overridden.
    #[arg(long = "override", value_name = "RULE")]
    overrides: Vec<String>,

    /// Why the rule of the matching --override (same position) is overridden.
    #[arg(long = "reason", value_name = "TEXT")]
    reasons: Vec<String>,

    /// Report the findings listed in this baseline (see `palisade baseline create`) as
    /// suppressed, so only new findings count. A missing or malformed file is an error.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,

    /// Report only findings on files and lines changed since this git revision: a commit,
    /// branch or tag of the repository holding the first PATH (e.g. `origin/main`, `HEAD~1`).
    ///
    /// REF's tree is compared with the working tree, so uncommitted edits count. Changed are:
    /// added and modified lines, the lines either side of a deletion, and every line of a file
    /// REF lacks (new, untracked, or renamed with edits; a file moved unchanged has none).
    /// Every resource is still evaluated; findings elsewhere are counted as `outside_diff`.
    /// Image findings are always reported.
    #[arg(long, value_name = "REF")]
    diff_base: Option<String>,

    /// Print what plugins logged, and how long each stage of the scan took, to stderr.
    #[arg(long, short)]
    verbose: bool,

    /// Print nothing but errors: no report on stdout (a report written with --output is still
    /// written), no progress bar. The exit code is unchanged.
    #[arg(long, short, conflicts_with = "verbose")]
    quiet: bool,

    #[command(flatten)]
    plugins: PluginArgs,
}

impl PluginArgs {
    fn scan(&self, paths: Vec<PathBuf>) -> Scan {
        let mut scan = Scan::new(paths);
        for plugin in &self.plugins {
            scan = scan.plugin(plugin);
        }
        if self.no_default_packs {
            scan = scan.default_packs(false);
        }
        if let Some(config) = &self.config {
            scan = scan.config(config);
        }
        if let Some(dir) = &self.cache_dir {
            scan = scan.cache_dir(dir);
        }
        if self.no_cache {
            scan = scan.no_cache();
        }
        scan = scan.offline(self.offline);
        scan.today(time::OffsetDateTime::now_utc().date())
    }
}

fn main() -> ExitCode {
    // Output piped into a reader that stops early (`palisade rules | head`) ends the process
    // quietly, as other command-line tools do, instead of failing every later write.
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    terminal::set_color(cli.color);
    let code = match cli.command {
        Command::Scan(args) => scan(*args, cli.color),
        Command::Init(args) => init(&args),
        Command::New(args) => new(&args),
        Command::Rules(args) => rules(&args),
        Command::Explain { rule, plugins } => explain(&rule, &plugins),
        Command::Plugin(command) => plugin(command),
        Command::Registry(command) => registry(command),
        Command::Lock(args) => lock(&args),
        Command::Baseline(command) => baseline(command),
        Command::Test(args) => test(&args),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}

/// Compiles and describes one plugin file alone; also returns the engine and its size in bytes.
fn load_plugin_file(
    wasm: &Path,
    cache_dir: Option<PathBuf>,
    limits: palisade::engine::Limits,
) -> Result<(palisade::engine::Engine, palisade::engine::Plugin, u64), String> {
    let bytes = std::fs::read(wasm).map_err(|e| format!("cannot read {}: {e}", wasm.display()))?;
    let cache = cache_dir
        .or_else(palisade::engine::CompileCache::default_dir)
        .map(palisade::engine::CompileCache::new);
    let engine = palisade::engine::Engine::new(cache).map_err(|e| format!("{e:#}"))?;
    let label = wasm.display().to_string();
    let plugin = engine
        .load(&label, &bytes, limits)
        .map_err(|e| e.to_string())?;
    Ok((engine, plugin, bytes.len() as u64))
}

fn test(args: &TestArgs) -> i32 {
    let config = match &args.config {
        Some(path) => match palisade::Config::load(path) {
            Ok(config) => Some(config),
            Err(e) => return fail(e),
        },
        None => None,
    };
    let limits = config
        .as_ref()
        .map(palisade::Config::limits)
        .unwrap_or_default();
    let (engine, mut plugin, _) = match load_plugin_file(&args.wasm, args.cache_dir.clone(), limits)
    {
        Ok(loaded) => loaded,
        Err(e) => return fail(e),
    };
    let name = plugin.info().name.clone();
    let settings = match &config {
        Some(config) => {
            plugin.set_limits(config.pack_limits(&name));
            config.pack_settings(&name)
        }
        None => "{}".to_string(),
    };
    let file_limits = palisade::normalize::Limits {
        max_file_bytes: config
            .as_ref()
            .map(palisade::Config::max_file_bytes)
            .unwrap_or(palisade::normalize::Limits::default().max_file_bytes),
        ..palisade::normalize::Limits::default()
    };
    let report = match palisade::fixtures::check(
        &engine,
        &plugin,
        &args.fixtures,
        &settings,
        &file_limits,
    ) {
        Ok(report) => report,
        Err(e) => return fail(e),
    };
    match args.format {
        PlainFormat::Text => print!("{}", report.to_text()),
        PlainFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("a fixture report serializes")
        ),
    }
    report.exit_code()
}

fn fail(message: impl std::fmt::Display) -> i32 {
    eprintln!("{} {message}", terminal::label("1;31", "error:"));
    2
}

fn scan(args: ScanArgs, color: ColorChoice) -> i32 {
    let quiet = args.quiet;
    let destinations = match destinations(&args.formats, &args.outputs) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let cwd = match std::env::current_dir() {
        Ok(dir) => dir,
        Err(e) => return fail(format!("cannot read the current directory: {e}")),
    };
    let mut scan = args.plugins.scan(args.paths.clone());
    for image in &args.images {
        scan = scan.image(image);
    }
    scan = scan.platform(args.platform.clone());
    if !args.images.is_empty() {
        let credentials = match RegistryCredentials::from_env() {
            Ok(credentials) => credentials,
            Err(e) => return fail(e),
        };
        scan = scan.registry(RegistryOptions {
            insecure_loopback: args.insecure_registry,
            credentials,
            timeout: std::time::Duration::from_secs(args.registry_timeout),
        });
    }
    if let Some(severity) = args.fail_on {
        scan = scan.fail_on(severity);
    }
    if args.overrides.len() != args.reasons.len() {
        return fail(format!(
            "{} --override but {} --reason: give each override its reason",
            args.overrides.len(),
            args.reasons.len()
        ));
    }
    for (rule, reason) in args.overrides.iter().zip(&args.reasons) {
        scan = scan.override_rule(rule, reason);
    }
    if let Some(path) = &args.baseline {
        match Baseline::read(path) {
            Ok(baseline) => scan = scan.baseline(baseline),
            Err(e) => return fail(e),
        }
    }
    if let Some(rev) = &args.diff_base {
        scan = scan.diff_base(rev);
    }
    let started = time::OffsetDateTime::now_utc();
    let clock = std::time::Instant::now();
    let progress = terminal::progress_wanted(quiet).then(|| Arc::new(ProgressLine::new()));
    if let Some(bar) = &progress {
        scan = scan.progress(bar.clone());
    }
    let report = scan.run();
    // The bar goes before anything else is printed, so it never garbles the report.
    if let Some(bar) = &progress {
        bar.clear();
    }
    let mut report = match report {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let source_root = match &args.source_root {
        Some(root) => cwd.join(root),
        None => {
            let first = args.paths.first().map_or(cwd.clone(), |p| cwd.join(p));
            repository_root(&first, &cwd)
        }
    };
    let context = Context::new(&cwd)
        .source_root(source_root)
        .timing(started, clock.elapsed());
    if args.verbose {
        for line in &report.logs {
            eprintln!("[{}] {}: {}", line.plugin, line.level, line.message);
        }
    }
    let reporting = Instant::now();
    let mut code = report.exit_code();
    for (file, formats) in &destinations {
        // Quiet: the report on stdout is the one thing left out; the exit code still tells.
        if file.is_none() && quiet {
            continue;
        }
        let style = color.style(file.is_none() && std::io::stdout().is_terminal());
        let rendered: String = formats
            .iter()
            .map(|format| render(&report, *format, &context, style))
            .collect();
        let written = match file {
            Some(path) => std::fs::write(path, rendered)
                .map_err(|e| format!("cannot write {}: {e}", path.display())),
            None => std::io::stdout()
                .write_all(rendered.as_bytes())
                .map_err(|e| format!("cannot write the report: {e}")),
        };
        if let Err(e) = written {
            code = fail(e);
        }
    }
    if quiet {
        // The report is not shown, so its errors are: quiet leaves out everything but them.
        for e in &report.errors {
            let place = e.place();
            eprintln!("{} {place}{}", terminal::label("1;31", "error:"), e.message);
        }
    }
    // In a GitHub Actions step, the annotations come with a job summary.
    let github = destinations
        .iter()
        .any(|(_, formats)| formats.contains(&Format::Github));
    if let Some(summary) =
        std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| github && !s.is_empty())
    {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .and_then(|mut file| file.write_all(report::markdown(&report).as_bytes()));
        if let Err(e) = appended {
            code = fail(format!(
                "cannot append the job summary to {} ($GITHUB_STEP_SUMMARY): {e}",
                Path::new(&summary).display()
            ));
        }
    }
    if args.verbose {
        report.timings.add_reporting(reporting.elapsed());
        eprint!("{}", report.timings);
    }
    code
}

fn plugin(command: PluginCommand) -> i32 {
    use palisade::registry::{self, ManifestRequest, SigningKey, TrustedKey};
    match command {
        PluginCommand::Inspect {
            wasm,
            format,
            cache_dir,
        } => {
            let limits = palisade::engine::Limits::default();
            let (_, plugin, size) = match load_plugin_file(&wasm, cache_dir, limits) {
                Ok(loaded) => loaded,
                Err(e) => return fail(e),
            };
            let inspection = palisade::inspect::inspect(&plugin, size);
            match format {
                PlainFormat::Text => print!("{}", inspection.to_text()),
                PlainFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&inspection).expect("an inspection serializes")
                ),
            }
            0
        }
        PluginCommand::Manifest {
            wasm,
            name,
            version,
            team,
            description,
            data_dir,
            output,
        } => {
            let request = ManifestRequest {
                name,
                version,
                team,
                description,
                data_dir,
            };
            let cache = palisade::engine::CompileCache::default_dir()
                .map(palisade::engine::CompileCache::new);
            let engine = match palisade::engine::Engine::new(cache) {
                Ok(engine) => engine,
                Err(e) => return fail(format!("{e:#}")),
            };
            match registry::write_manifest(&engine, &wasm, &request, output.as_deref()) {
                Ok((manifest, path)) => {
                    println!(
                        "wrote {} for {} ({} rules)",
                        path.display(),
                        manifest.id(),
                        manifest.rules.len()
                    );
                    0
                }
                Err(e) => fail(e),
            }
        }
        PluginCommand::Sign { manifest, key } => {
            let signed = SigningKey::read(&key)
                .map_err(registry::ArtifactError::from)
                .and_then(|key| registry::sign_manifest(&manifest, &key));
            match signed {
                Ok(path) => {
                    println!("wrote {}", path.display());
                    0
                }
                Err(e) => fail(e),
            }
        }
        PluginCommand::Verify {
            manifest,
            key,
            wasm,
        } => {
            let verified = TrustedKey::read(&key)
                .map_err(registry::ArtifactError::from)
                .and_then(|key| registry::verify_artifact(&manifest, &key, wasm.as_deref()));
            match verified {
                Ok(artifact) => {
                    println!(
                        "verified {}: manifest {} signed by {}, component {} matches",
                        artifact.manifest.id(),
                        manifest.display(),
                        artifact.signer,
                        artifact.wasm.display()
                    );
                    0
                }
                Err(e) => fail(e),
            }
        }
    }
}

fn registry(command: RegistryCommand) -> i32 {
    use palisade::registry::index::parse_plugin_id;
    use palisade::registry::{
        Published, RegistryDir, RegistryDirError, SigningKey, Trust, read_key_line, read_root_keys,
        read_trusted_root,
    };
    let now = time::OffsetDateTime::now_utc();
    match command {
        RegistryCommand::Init {
            dir,
            root_keys,
            threshold,
        } => {
            let created = read_root_keys(&root_keys, threshold)
                .map_err(RegistryDirError::from)
                .and_then(|root| RegistryDir::init(&dir, root));
            match created {
                Ok(_) => {
                    println!(
                        "created registry {} (index version 1, {threshold} of {} root keys); add \
                         teams, publish plugins, then sign it",
                        dir.display(),
                        root_keys.len()
                    );
                    0
                }
                Err(e) => fail(e),
            }
        }
        RegistryCommand::AddTeam {
            dir,
            team,
            keys,
            prefixes,
        } => {
            let keys = match keys.iter().map(|k| read_key_line(k)).collect() {
                Ok(keys) => keys,
                Err(e) => return fail(e),
            };
            match RegistryDir::open(&dir).add_team(&team, keys, prefixes) {
                Ok(version) => {
                    println!(
                        "team `{team}` set in {} (index version {version})",
                        dir.display()
                    );
                    0
                }
                Err(e) => fail(e),
            }
        }
        RegistryCommand::Publish { dir, manifests } => {
            let registry = RegistryDir::open(&dir);
            let mut code = 0;
            for manifest in &manifests {
                match registry.publish(manifest) {
                    Ok(Published::Added { entry, version }) => println!(
                        "published {} into {} (index version {version})",
                        entry.id(),
                        dir.display()
                    ),
                    Ok(Published::Unchanged(entry)) => println!(
                        "{} is already published with the same bytes; nothing changed",
                        entry.id()
                    ),
                    Err(e) => code = fail(e),
                }
            }
            code
        }
        RegistryCommand::Revoke {
            dir,
            plugin,
            reason,
        } => {
            let (name, version) = match parse_plugin_id(&plugin) {
                Ok(id) => id,
                Err(e) => return fail(e),
            };
            match RegistryDir::open(&dir).revoke(&name, &version, &reason) {
                Ok(index_version) => {
                    println!("revoked {plugin} (index version {index_version})");
                    0
                }
                Err(e) => fail(e),
            }
        }
        RegistryCommand::RotateRoot {
            dir,
            root_keys,
            threshold,
        } => {
            let rotated = read_root_keys(&root_keys, threshold)
                .map_err(RegistryDirError::from)
                .and_then(|root| RegistryDir::open(&dir).rotate_root(root));
            match rotated {
                Ok(version) => {
                    println!(
                        "root keys replaced in {} (index version {version}); the previous and \
                         the new root keys must both sign it",
                        dir.display()
                    );
                    0
                }
                Err(e) => fail(e),
            }
        }
        RegistryCommand::Sign { dir, key, expires } => {
            let signed = SigningKey::read(&key)
                .map_err(RegistryDirError::from)
                .and_then(|signing| RegistryDir::open(&dir).sign(&signing, &key, expires, now));
            match signed {
                Ok(signed) => {
                    let previous = signed
                        .previous_root
                        .map(|(n, k)| format!(", {n} of {k} required previous root keys"))
                        .unwrap_or_default();
                    println!(
                        "signed index version {} (expires {}) with {}: {} of {} required root \
                         keys{previous}",
                        signed.version, signed.expires, signed.signer, signed.root.0, signed.root.1
                    );
                    0
                }
                Err(e) => fail(e),
            }
        }
        RegistryCommand::Verify {
            registry,
            ca_cert,
            root_keys,
            threshold,
        } => {
            let trusted = if root_keys.is_empty() {
                None
            } else {
                match read_trusted_root(&root_keys, threshold) {
                    Ok(root) => Some(root),
                    Err(e) => return fail(e),
                }
            };
            let verified = if registry.starts_with("http://") || registry.starts_with("https://") {
                let options = palisade::registry::fetch::FetchOptions {
                    ca_cert,
                    ..Default::default()
                };
                palisade::registry::client::verify_site(&registry, &options, trusted, now)
            } else {
                RegistryDir::open(&registry)
                    .verify(trusted, now)
                    .map_err(|e| e.to_string())
            };
            let (trust, report) = match verified {
                Ok(verified) => verified,
                Err(e) => return fail(e),
            };
            match &trust {
                Trust::Pinned(root) => {
                    println!("trusting the given root keys ({})", root.describe())
                }
                Trust::IndexRoot(root) => println!(
                    "trusting the index's own root keys ({}): this shows the index is \
                     consistently signed, not by whom; pass --root-key to pin them",
                    root.describe()
                ),
            }
            let index = &report.signed.index;
            println!(
                "index version {}, expires {}, signed by {}",
                index.version,
                index.expires,
                report.signed.signers.join(", ")
            );
            for revocation in &report.revoked {
                println!(
                    "revoked {}@{}: {}",
                    revocation.name, revocation.version, revocation.reason
                );
            }
            for refused in &report.refused {
                eprintln!(
                    "{} registry {registry}: {refused}",
                    terminal::label("1;31", "error:")
                );
            }
            println!(
                "verified {} of {} plugins ({} revoked)",
                report.verified.len(),
                index.plugins.len() - report.revoked.len(),
                report.revoked.len()
            );
            if report.refused.is_empty() { 0 } else { 2 }
        }
    }
}

fn baseline(command: BaselineCommand) -> i32 {
    let BaselineCommand::Create {
        paths,
        output,
        plugins,
    } = command;
    let report = match plugins.scan(paths).run() {
        Ok(report) => report,
        Err(e) => return fail(e),
    };
    for w in &report.warnings {
        eprintln!("warning: {}{}", place(w.file.as_deref(), w.line), w.message);
    }
    if !report.errors.is_empty() {
        for e in &report.errors {
            let place = match (&e.file, &e.plugin) {
                (Some(_), _) => place(e.file.as_deref(), e.line),
                (None, Some(plugin)) => format!("plugin `{plugin}`: "),
                (None, None) => String::new(),
            };
            eprintln!("error: {place}{}", e.message);
        }
        return fail(format!(
            "not writing {}: the scan is incomplete ({} above); fix {}, or the findings it \
             missed would later be reported as new",
            output.display(),
            match report.errors.len() {
                1 => "1 error".to_string(),
                n => format!("{n} errors"),
            },
            if report.errors.len() == 1 {
                "it"
            } else {
                "them"
            }
        ));
    }
    let baseline = Baseline::from_findings(&report.findings);
    match baseline.write(&output) {
        Ok(()) => {
            let suppressed = match report.summary.suppressed {
                0 => String::new(),
                n => format!("; {n} suppressed or waived not included"),
            };
            println!(
                "wrote {} ({} findings{suppressed})",
                output.display(),
                baseline.entries().len()
            );
            0
        }
        Err(e) => fail(e),
    }
}

/// `file:line: `, `file: ` or nothing.
fn place(file: Option<&str>, line: Option<u32>) -> String {
    match (file, line) {
        (Some(file), Some(line)) => format!("{file}:{line}: "),
        (Some(file), None) => format!("{file}: "),
        (None, _) => String::new(),
    }
}

fn new(args: &NewArgs) -> i32 {
    use palisade::new::{Lang, NewOptions, SdkSource};
    let lang = match args.lang {
        NewLang::Rust => Lang::Rust,
        NewLang::Python => Lang::Python,
        NewLang::Js => Lang::Js,
        NewLang::C => Lang::C,
    };
    let sdk = match &args.sdk_path {
        // Relative to where the command runs, not to the new project.
        Some(path) => match std::path::absolute(path) {
            Ok(path) => SdkSource::Path(path),
            Err(e) => return fail(format!("cannot resolve {}: {e}", path.display())),
        },
        None => SdkSource::upstream(),
    };
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    let options = NewOptions {
        name: args.name.clone(),
        lang,
        dir: dir.clone(),
        sdk,
    };
    match palisade::new::scaffold(&options) {
        Ok(files) => {
            for file in files {
                println!("created {}", dir.join(file).display());
            }
            println!(
                "next: cd {} && cargo test && cargo build --release --target wasm32-wasip2",
                dir.display()
            );
            0
        }
        Err(e) => fail(e),
    }
}

fn init(args: &InitArgs) -> i32 {
    use palisade::init::{self, InitOptions, Outcome};
    let cache = args
        .cache_dir
        .clone()
        .or_else(palisade::engine::CompileCache::default_dir)
        .map(palisade::engine::CompileCache::new);
    let packs = match init::builtin_rules(cache) {
        Ok(packs) => packs,
        Err(e) => return fail(e),
    };
    let options = InitOptions {
        force: args.force,
        github: args.github,
        gitlab: args.gitlab,
        pre_commit: args.pre_commit,
    };
    let written = match init::init(&args.dir, &packs, options) {
        Ok(written) => written,
        Err(e) => return fail(e),
    };
    if args.quiet {
        return 0;
    }
    for file in &written {
        let what = match file.outcome {
            Outcome::Created => "wrote",
            Outcome::Replaced => "replaced",
            Outcome::Extended => "added the palisade hook to",
            Outcome::Unchanged => "already runs palisade:",
        };
        let path = file.path.strip_prefix(".").unwrap_or(&file.path);
        println!("{what} {}", path.display());
    }
    let gitlab_ci = args.dir.join(".gitlab-ci.yml");
    if args.gitlab {
        let include = format!("include:\n  - local: {}", init::GITLAB_JOB);
        let included =
            std::fs::read_to_string(&gitlab_ci).is_ok_and(|text| text.contains(init::GITLAB_JOB));
        if !included {
            println!("\nto run it, add to {}:\n{include}", gitlab_ci.display());
        }
    }
    if args.pre_commit {
        println!("\nto run the hook before each commit: pre-commit install");
    }
    0
}

fn lock(args: &PluginArgs) -> i32 {
    match args.scan(Vec::new()).lock() {
        Ok((path, lock)) => {
            for plugin in &lock.plugins {
                println!("locked {}", plugin.id());
            }
            println!(
                "wrote {} ({} packs, registry index version {})",
                path.display(),
                lock.plugins.len(),
                lock.index_version
            );
            0
        }
        Err(errors) => {
            for e in errors {
                eprintln!("{} {e}", terminal::label("1;31", "error:"));
            }
            2
        }
    }
}

/// Where `--output` sends a report.
#[derive(Debug, Clone)]
enum OutputTarget {
    /// `FILE`: what would go to stdout.
    Replace(PathBuf),
    /// `FORMAT=FILE`.
    Format(Format, PathBuf),
}

impl std::str::FromStr for OutputTarget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some((name, file)) = s.split_once('=')
            && let Ok(format) = name.parse::<Format>()
        {
            if file.is_empty() {
                return Err(format!("`{s}` names no file after `{name}=`"));
            }
            return Ok(OutputTarget::Format(format, PathBuf::from(file)));
        }
        if s.is_empty() {
            return Err("an empty file name".to_string());
        }
        Ok(OutputTarget::Replace(PathBuf::from(s)))
    }
}

/// Where reports go (`None`: stdout) and the formats each gets, in the order given.
type Destinations = Vec<(Option<PathBuf>, Vec<Format>)>;

/// Sorts the formats asked for into their destinations.
fn destinations(formats: &[Format], outputs: &[OutputTarget]) -> Result<Destinations, String> {
    let mut files: Destinations = Vec::new();
    let mut replace = None;
    for output in outputs {
        match output {
            OutputTarget::Format(format, file) => {
                files.push((Some(file.clone()), vec![*format]));
            }
            OutputTarget::Replace(file) => {
                if let Some(first) = replace.replace(file.clone()) {
                    return Err(format!(
                        "--output {} and --output {}: only one plain --output FILE; name the \
                         format of the others with --output FORMAT=FILE",
                        first.display(),
                        file.display()
                    ));
                }
            }
        }
    }
    let mut main: Vec<Format> = Vec::new();
    for format in formats {
        let to_file = files.iter().any(|(_, f)| f.contains(format));
        if !to_file && !main.contains(format) {
            main.push(*format);
        }
    }
    if formats.is_empty() {
        main.push(Format::Text);
    }
    let documents: Vec<&str> = main
        .iter()
        .filter(|f| f.is_document())
        .map(|f| f.as_str())
        .collect();
    if documents.len() > 1 {
        let place = replace
            .as_ref()
            .map_or("stdout".to_string(), |f| f.display().to_string());
        return Err(format!(
            "{} would share {place}, where only one document fits; write the others with \
             --output FORMAT=FILE",
            main.iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !main.is_empty() {
        files.insert(0, (replace, main));
    }
    Ok(files)
}

/// The repository root: the nearest directory above `start` holding `.git`, else `fallback`.
fn repository_root(start: &Path, fallback: &Path) -> PathBuf {
    start
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .map_or_else(|| fallback.to_path_buf(), Path::to_path_buf)
}

fn render(report: &ScanReport, format: Format, context: &Context, style: Style) -> String {
    let source = |file: &str| std::fs::read_to_string(file).ok();
    match format {
        Format::Json => report::json(report),
        Format::Text => report::text(report, style, source),
        Format::Sarif => report::sarif(report, context, source),
        Format::Junit => report::junit(report, context),
        Format::Github => report::github(report),
        Format::Gitlab => report::gitlab(report, context),
        Format::Markdown => report::markdown(report),
    }
}

/// The kinds a rule judges, shortened for a table: the first two and how many more
/// (`palisade explain` lists them all).
fn kinds_summary(kinds: &[String]) -> String {
    match kinds {
        [] => "-".to_string(),
        [one] => one.clone(),
        [a, b] => format!("{a}, {b}"),
        [a, b, rest @ ..] => format!("{a}, {b}, +{} more", rest.len()),
    }
}

fn rules(args: &PluginArgs) -> i32 {
    let session = match args.scan(Vec::new()).load() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let rules = session.rules();
    let id_width = rules.keys().map(String::len).max().unwrap_or(4).max(4);
    let plugin_width = rules
        .values()
        .map(|r| r.plugin.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let title_width = rules
        .values()
        .map(|r| r.rule.title.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "{:<id_width$}  {:<8}  {:<14}  {:<plugin_width$}  {:<title_width$}  KINDS",
        "RULE", "SEVERITY", "ENFORCEMENT", "PLUGIN", "TITLE"
    );
    for (id, rule) in &rules {
        let severity = if rule.enabled {
            rule.effective_severity.to_string()
        } else {
            "off".to_string()
        };
        println!(
            "{id:<id_width$}  {severity:<8}  {:<14}  {:<plugin_width$}  {:<title_width$}  {}",
            rule.enforcement,
            rule.plugin,
            rule.rule.title,
            kinds_summary(&rule.rule.kinds)
        );
    }
    report_load_errors(&session)
}

fn explain(id: &str, args: &PluginArgs) -> i32 {
    let session = match args.scan(Vec::new()).load() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let rules = session.rules();
    let Some(rule) = rules.get(id) else {
        return fail(format!(
            "no loaded rule is called `{id}` (see `palisade rules`)"
        ));
    };
    let r = &rule.rule;
    println!("{} — {}\n", r.id, r.title);
    println!(
        "severity: {}   enforcement: {}   pack: {}   kinds: {}",
        rule.effective_severity,
        rule.enforcement,
        rule.plugin,
        r.kinds.join(", ")
    );
    if !r.tags.is_empty() {
        println!("tags: {}", r.tags.join(", "));
    }
    println!("\n{}\n\nHow to fix:\n{}", r.description, r.remediation);
    if let Some(uri) = &r.help_uri {
        println!("\nMore: {uri}");
    }
    report_load_errors(&session)
}

fn report_load_errors(session: &palisade::Session) -> i32 {
    for e in session.errors() {
        let place = e
            .plugin
            .as_deref()
            .map(|p| format!("plugin `{p}`: "))
            .unwrap_or_default();
        eprintln!("{} {place}{}", terminal::label("1;31", "error:"), e.message);
    }
    if session.errors().is_empty() { 0 } else { 2 }
}
