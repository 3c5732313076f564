//! The `palisade` command line: parses flags and calls the library.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use palisade::image::{RegistryCredentials, RegistryOptions};
use palisade::normalize::image::PlatformChoice;
use palisade::report::{self, Format, Style};
use palisade::{Scan, ScanReport, Severity};

/// Policy checks for infrastructure code, with rules as sandboxed WebAssembly plugins.
///
/// Exit codes: 0 no findings at or above the threshold, 1 findings, 2 errors (bad input, bad
/// config, plugin failure). Errors win over findings.
#[derive(Parser)]
#[command(name = "palisade", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan files and directories (default: the current directory).
    Scan(ScanArgs),
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

    /// Report format.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    format: String,

    /// Write the report to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,

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

    /// Print what plugins logged to stderr.
    #[arg(long, short)]
    verbose: bool,

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
        scan
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Scan(args) => scan(args),
        Command::Rules(args) => rules(&args),
        Command::Explain { rule, plugins } => explain(&rule, &plugins),
        Command::Plugin(command) => plugin(command),
        Command::Registry(command) => registry(command),
        Command::Lock(args) => lock(&args),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}

fn fail(message: impl std::fmt::Display) -> i32 {
    eprintln!("error: {message}");
    2
}

fn scan(args: ScanArgs) -> i32 {
    let format: Format = match args.format.parse() {
        Ok(f) => f,
        Err(e) => return fail(e),
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
    if let Some(rev) = &args.diff_base {
        scan = scan.diff_base(rev);
    }
    let report = match scan.run() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if args.verbose {
        for line in &report.logs {
            eprintln!("[{}] {}: {}", line.plugin, line.level, line.message);
        }
    }
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let rendered = render(&report, format, to_terminal);
    let written = match &args.output {
        Some(path) => std::fs::write(path, rendered)
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => std::io::stdout()
            .write_all(rendered.as_bytes())
            .map_err(|e| format!("cannot write the report: {e}")),
    };
    match written {
        Ok(()) => report.exit_code(),
        Err(e) => fail(e),
    }
}

fn plugin(command: PluginCommand) -> i32 {
    use palisade::registry::{self, ManifestRequest, SigningKey, TrustedKey};
    match command {
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
                verify_site(&registry, ca_cert, trusted, now)
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
                eprintln!("error: registry {registry}: {refused}");
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

/// `registry verify` of a registry served over HTTP(S): the same checks as for a directory,
/// every file read through the capped, timed fetcher.
fn verify_site(
    url: &str,
    ca_cert: Option<PathBuf>,
    trusted: Option<palisade::registry::TrustedRoot>,
    now: time::OffsetDateTime,
) -> Result<
    (
        palisade::registry::Trust,
        palisade::registry::RegistryVerification,
    ),
    String,
> {
    use palisade::registry::fetch::{FetchOptions, Fetcher, RegistryLocation};
    use palisade::registry::index::{MAX_INDEX_BYTES, MAX_INDEX_SIGNATURES_BYTES};
    use palisade::registry::{
        INDEX_FILE, INDEX_SIGNATURES_FILE, Index, Trust, TrustedRoot, verify_registry,
    };
    let location = RegistryLocation::parse(url).map_err(|e| e.to_string())?;
    let options = FetchOptions {
        ca_cert,
        ..FetchOptions::default()
    };
    let fetcher = Fetcher::new(location, &options).map_err(|e| e.to_string())?;
    let index = fetcher
        .get(INDEX_FILE, MAX_INDEX_BYTES)
        .map_err(|e| e.to_string())?;
    let signatures = fetcher
        .get(INDEX_SIGNATURES_FILE, MAX_INDEX_SIGNATURES_BYTES)
        .map_err(|e| e.to_string())?;
    let signatures = String::from_utf8(signatures)
        .map_err(|_| format!("registry {url}: {INDEX_SIGNATURES_FILE} is not UTF-8 text"))?;
    let trust = match trusted {
        Some(root) => Trust::Pinned(root),
        None => {
            let parsed = std::str::from_utf8(&index)
                .map_err(|_| format!("registry {url}: {INDEX_FILE} is not UTF-8 text"))
                .and_then(|text| Index::parse(text).map_err(|e| format!("registry {url}: {e}")))?;
            let root = TrustedRoot::from_root_keys(&parsed.root)
                .map_err(|e| format!("registry {url}: {e}"))?;
            Trust::IndexRoot(root)
        }
    };
    let report = verify_registry(&index, &signatures, trust.root(), now, |path, max| {
        fetcher.get(path, max).map_err(|e| e.to_string())
    })
    .map_err(|e| format!("registry {url}: {e}"))?;
    Ok((trust, report))
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
                eprintln!("error: {e}");
            }
            2
        }
    }
}

fn render(report: &ScanReport, format: Format, to_terminal: bool) -> String {
    match format {
        Format::Json => report::json(report),
        Format::Text => {
            let color = to_terminal && std::env::var_os("NO_COLOR").is_none();
            let style = if color { Style::Color } else { Style::Plain };
            report::text(report, style, |file| std::fs::read_to_string(file).ok())
        }
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
        eprintln!("error: {place}{}", e.message);
    }
    if session.errors().is_empty() { 0 } else { 2 }
}
