//! Images pulled from a real registry through the real binary: Debian's `docker-registry`
//! (the CNCF distribution registry) started per test on a free loopback port, images built with
//! `umoci` or blob by blob and pushed with `skopeo`. Authentication is exercised for real:
//! htpasswd (Basic) and the distribution token protocol (Bearer), with a token service run by
//! the test that signs ES256 JWTs the registry checks against a CA the test made.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD as BASE64URL};
use serde_json::{Value, json};
use support::oci::{
    Layout, blob_path, check_platform_choice, errors, findings_of, hardened, multi_platform_layout,
    read_json, risky_umoci_image, rules_of, tool,
};
use support::tls::{TestCa, free_port};

const USER: &str = "alice";
const PASSWORD: &str = "wonderland-7f3a";

/// A `docker-registry` process serving a temporary storage directory; killed on drop.
struct Registry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

/// How a test registry authenticates.
enum Auth {
    Anonymous,
    /// `auth: htpasswd` with one bcrypt-hashed user.
    Htpasswd,
    /// `auth: token` trusting `ca` for tokens from the service on `realm_port`.
    Token {
        ca: Arc<TestCa>,
        realm_port: u16,
    },
}

impl Registry {
    fn start(auth: Auth, tls: Option<&TestCa>) -> Registry {
        Registry::start_redirecting(auth, tls, None)
    }

    /// A registry that, with `storage_port`, answers blob requests with a redirect to
    /// `http://127.0.0.1:<storage_port>/<path in its storage>` (its `redirect` middleware,
    /// as object-storage backends do).
    fn start_redirecting(auth: Auth, tls: Option<&TestCa>, storage_port: Option<u16>) -> Registry {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let storage = dir.path().join("storage");
        let mut config = format!(
            "version: 0.1\n\
             log:\n  level: error\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: palisade-test-secret\n",
            storage.display()
        );
        if let Some(ca) = tls {
            let cert = dir.path().join("server.pem");
            let key = dir.path().join("server.key");
            std::fs::write(&cert, &ca.leaf_pem).expect("write cert");
            std::fs::write(&key, &ca.leaf_key_pem).expect("write key");
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
        }
        if let Some(storage_port) = storage_port {
            config.push_str(&format!(
                "middleware:\n  storage:\n    - name: redirect\n      options:\n        \
                 baseurl: http://127.0.0.1:{storage_port}/\n"
            ));
        }
        match auth {
            Auth::Anonymous => {}
            Auth::Htpasswd => {
                let hash = bcrypt::hash(PASSWORD, 5).expect("bcrypt");
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, format!("{USER}:{hash}\n")).expect("write htpasswd");
                config.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: palisade-test\n    path: {}\n",
                    file.display()
                ));
            }
            Auth::Token { ca, realm_port } => {
                let bundle = dir.path().join("token-ca.pem");
                std::fs::write(&bundle, &ca.ca_pem).expect("write CA");
                config.push_str(&format!(
                    "auth:\n  token:\n    realm: http://127.0.0.1:{realm_port}/token\n    \
                     service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
                    bundle.display()
                ));
            }
        }
        let config_file = dir.path().join("config.yml");
        std::fs::write(&config_file, config).expect("write registry config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log file");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_file)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "`docker-registry` is needed by this test (`.ci/run` installs the Debian \
                     package docker-registry): {e}"
                )
            });
        let mut registry = Registry { child, port, dir };
        registry.wait_until_listening();
        registry
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("docker-registry exited ({status}):\n{}", self.log());
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "docker-registry did not listen within 20 s:\n{}",
            self.log()
        );
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// `127.0.0.1:PORT`.
    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Pushes `oci:LAYOUT:TAG` to `REPO:TAG` with skopeo (every platform of an index) and
    /// returns the pushed manifest's digest.
    fn push(&self, layout: &Path, tag: &str, repo: &str, creds: Option<&str>) -> String {
        let cwd = layout.parent().expect("layout in a dir");
        let digest_file = cwd.join(format!("{}-{tag}.digest", repo.replace('/', "-")));
        let source = format!("oci:{}:{tag}", layout.display());
        let dest = format!("docker://{}/{repo}:{tag}", self.host());
        let digest_arg = digest_file.to_string_lossy().into_owned();
        let mut args = vec![
            "copy",
            "--quiet",
            "--all",
            "--dest-tls-verify=false",
            "--digestfile",
            &digest_arg,
        ];
        if let Some(creds) = creds {
            args.extend(["--dest-creds", creds]);
        }
        args.extend([source.as_str(), dest.as_str()]);
        tool("skopeo", &args, cwd);
        std::fs::read_to_string(&digest_file)
            .expect("skopeo wrote the digest")
            .trim()
            .to_owned()
    }

    /// The directory the registry keeps its repositories and blobs in.
    fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// The file the registry keeps a blob's bytes in.
    fn blob_data(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
        self.storage()
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `palisade scan --format json` with `args` and only the registry credentials `env`
/// gives: `DOCKER_CONFIG` points at an empty directory unless `env` sets it, and
/// `PALISADE_REGISTRY_AUTH` is unset unless `env` sets it. Returns (exit code, report, stderr).
fn scan(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> (i32, Value, String) {
    let (code, stdout, stderr) = scan_raw(args, cwd, env);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}\nstderr:\n{stderr}"));
    (code, report, stderr)
}

/// [`scan`] without parsing: (exit code, stdout, stderr).
fn scan_raw(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let empty = cwd.join("no-docker-config");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let mut cmd = support::palisade();
    cmd.current_dir(cwd)
        .env_remove("PALISADE_REGISTRY_AUTH")
        .env("DOCKER_CONFIG", &empty)
        .arg("scan")
        .args(args)
        .args(["--format", "json"]);
    for (key, value) in env {
        cmd.env(key, value);
    }
    let output = cmd.output().expect("palisade runs");
    (
        output.status.code().expect("exited normally"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The resource ids a report's findings on the image `input` name (its findings' details
/// start with the reference).
fn resources_of(report: &Value, input: &str) -> Vec<String> {
    let prefix = format!("{input} › ");
    let mut ids: Vec<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["detail"].as_str().is_some_and(|d| d.starts_with(&prefix)))
        .map(|f| f["resource"].as_str().expect("resource").to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// A small image with a root user, built blob by blob, tagged `tag` in a new layout under
/// `dir`; a label makes each `variant` a different image.
fn root_image(dir: &Path, tag: &str, variant: &str) -> PathBuf {
    let path = dir.join(format!("layout-{tag}"));
    let mut layout = Layout::new(&path);
    let mut config = hardened();
    config["config"]["User"] = json!("root");
    config["config"]["Labels"]["variant"] = json!(variant);
    let manifest = layout.image(&config, &[]);
    layout.tag(tag, manifest);
    path
}

#[test]
fn an_image_pulled_by_tag_and_by_digest_gives_the_findings_of_its_layout() {
    let registry = Registry::start(Auth::Anonymous, None);
    let dir = tempfile::tempdir().expect("temp dir");
    risky_umoci_image(dir.path());
    let digest = registry.push(&dir.path().join("layout"), "app", "team/app", None);
    let by_tag = format!("{}/team/app:app", registry.host());
    let by_digest = format!("{}/team/app@{digest}", registry.host());
    let (code, report, stderr) = scan(
        &[
            "--insecure-registry",
            "--image",
            "oci:layout:app",
            "--image",
            &by_tag,
            "--image",
            &by_digest,
        ],
        dir.path(),
        &[],
    );
    assert_eq!(errors(&report), [], "{stderr}");
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(report["summary"]["images"], 3);
    let layout = findings_of(&report, "oci:layout:app");
    assert!(
        rules_of(&layout).contains(&"image/secret-in-env"),
        "{layout:#?}"
    );
    assert_eq!(findings_of(&report, &by_tag), layout);
    assert_eq!(findings_of(&report, &by_digest), layout);
    // The same manifest, so the same resource: `image/<manifest digest>`.
    let id = format!("image/{digest}");
    for file in [by_tag.as_str(), &by_digest, "oci:layout:app"] {
        assert_eq!(
            resources_of(&report, file),
            std::slice::from_ref(&id),
            "{file}"
        );
    }
}

#[test]
fn a_multi_platform_index_is_pulled_for_the_platform_asked_for() {
    let registry = Registry::start(Auth::Anonymous, None);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("layout");
    multi_platform_layout(&path);
    registry.push(&path, "multi", "multi", None);
    let reference = format!("{}/multi:multi", registry.host());
    check_platform_choice(&reference, |platform| {
        scan(
            &[
                "--insecure-registry",
                "--image",
                &reference,
                "--platform",
                platform,
            ],
            dir.path(),
            &[],
        )
        .1
    });
}

#[test]
fn basic_auth_takes_credentials_from_the_environment_or_docker_config() {
    let registry = Registry::start(Auth::Htpasswd, None);
    let dir = tempfile::tempdir().expect("temp dir");
    let layout = root_image(dir.path(), "1.0", "basic");
    let creds = format!("{USER}:{PASSWORD}");
    registry.push(&layout, "1.0", "app", Some(&creds));
    let reference = format!("{}/app:1.0", registry.host());
    let args = ["--insecure-registry", "--image", reference.as_str()];

    let keyed = json!({ registry.host(): creds }).to_string();
    for env in [creds.as_str(), keyed.as_str()] {
        let (code, report, stderr) = scan(&args, dir.path(), &[("PALISADE_REGISTRY_AUTH", env)]);
        assert_eq!(errors(&report), [], "{stderr}");
        assert_eq!(
            rules_of(&findings_of(&report, &reference)),
            ["image/run-as-root"]
        );
        assert_eq!(code, 1);
    }

    let docker = dir.path().join("docker");
    std::fs::create_dir_all(&docker).expect("mkdir");
    let config = json!({"auths": {(registry.host()): {"auth": BASE64.encode(&creds)}}});
    std::fs::write(docker.join("config.json"), config.to_string()).expect("write");
    let docker_arg = docker.to_string_lossy().into_owned();
    let (code, report, stderr) = scan(&args, dir.path(), &[("DOCKER_CONFIG", &docker_arg)]);
    assert_eq!(errors(&report), [], "{stderr}");
    assert_eq!(
        rules_of(&findings_of(&report, &reference)),
        ["image/run-as-root"]
    );
    assert_eq!(code, 1);

    // Credentials for another registry are not offered to this one.
    let elsewhere = json!({"registry.example.com": creds}).to_string();
    let (code, report, _) = scan(&args, dir.path(), &[("PALISADE_REGISTRY_AUTH", &elsewhere)]);
    assert_eq!(code, 2);
    let found = errors(&report);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].0, reference);
    assert!(
        found[0].1.contains(&format!(
            "GET http://{}/v2/app/manifests/1.0: 401 Unauthorized: the registry asks for a user \
             name and password; no credentials for {}",
            registry.host(),
            registry.host()
        )),
        "{found:#?}"
    );

    // Docker's config hands this registry to a credential helper: the error says so.
    let helped = dir.path().join("helped");
    std::fs::create_dir_all(&helped).expect("mkdir");
    let config = json!({"auths": {(registry.host()): {}}, "credsStore": "desktop"});
    std::fs::write(helped.join("config.json"), config.to_string()).expect("write");
    let helped_arg = helped.to_string_lossy().into_owned();
    let (code, report, _) = scan(&args, dir.path(), &[("DOCKER_CONFIG", &helped_arg)]);
    assert_eq!(code, 2);
    let found = errors(&report);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].1.contains(&format!(
            "Docker's config hands {} to the credential helper `docker-credential-desktop`; \
             palisade does not run credential helpers, set PALISADE_REGISTRY_AUTH instead",
            registry.host()
        )),
        "{found:#?}"
    );

    let wrong = format!("{USER}:not-the-password");
    let (code, report, stderr) = scan(&args, dir.path(), &[("PALISADE_REGISTRY_AUTH", &wrong)]);
    assert_eq!(code, 2, "{stderr}");
    let found = errors(&report);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].1.contains("401 Unauthorized")
            && found[0].1.contains(
                "the credentials of user `alice` (from PALISADE_REGISTRY_AUTH) were refused"
            ),
        "{found:#?}"
    );
    let everything = format!("{report}{stderr}");
    assert!(
        !everything.contains("not-the-password"),
        "a secret was printed"
    );

    let (code, _, stderr) = scan_raw(&args, dir.path(), &[("PALISADE_REGISTRY_AUTH", "no-colon")]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("PALISADE_REGISTRY_AUTH is not `user:password`"),
        "{stderr}"
    );
}

#[test]
fn bearer_tokens_come_from_the_token_service_the_registry_names() {
    let ca = Arc::new(TestCa::new());
    let tokens = TokenService::start(ca.clone());
    let registry = Registry::start(
        Auth::Token {
            ca: ca.clone(),
            realm_port: tokens.port,
        },
        None,
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let layout = root_image(dir.path(), "1.0", "bearer");
    let creds = format!("{USER}:{PASSWORD}");
    registry.push(&layout, "1.0", "app", Some(&creds));
    tokens.requests.lock().expect("lock").clear();
    let reference = format!("{}/app:1.0", registry.host());
    let args = ["--insecure-registry", "--image", reference.as_str()];

    let (code, report, stderr) = scan(&args, dir.path(), &[("PALISADE_REGISTRY_AUTH", &creds)]);
    assert_eq!(errors(&report), [], "{stderr}\n{}", registry.log());
    assert_eq!(
        rules_of(&findings_of(&report, &reference)),
        ["image/run-as-root"]
    );
    assert_eq!(code, 1);
    let requests = std::mem::take(&mut *tokens.requests.lock().expect("lock"));
    // One token serves the manifest and the config blob.
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].user.as_deref(), Some(USER));
    assert_eq!(requests[0].scopes, ["repository:app:pull"]);
    assert_eq!(requests[0].service.as_deref(), Some(SERVICE));

    // Anonymous: the service hands out a token without access, and the registry says no.
    let (code, report, _) = scan(&args, dir.path(), &[]);
    assert_eq!(code, 2);
    let found = errors(&report);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].1.contains("401 Unauthorized")
            && found[0]
                .1
                .contains(&format!("no credentials for {}", registry.host())),
        "{found:#?}"
    );

    let wrong = format!("{USER}:guess");
    let (code, report, stderr) = scan(&args, dir.path(), &[("PALISADE_REGISTRY_AUTH", &wrong)]);
    assert_eq!(code, 2);
    let found = errors(&report);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].1.contains(&format!(
            "token service http://127.0.0.1:{}/token: 401 Unauthorized: invalid user name or \
             password; the credentials of user `alice` (from PALISADE_REGISTRY_AUTH) were refused",
            tokens.port
        )),
        "{found:#?}"
    );
    assert!(
        !format!("{report}{stderr}").contains("guess"),
        "a secret was printed"
    );
}

#[test]
fn blobs_follow_the_redirect_to_storage_without_the_registry_credentials() {
    // The storage server learns its root once the registry (which needs its port) is up.
    let root: Arc<OnceLock<PathBuf>> = Arc::new(OnceLock::new());
    let seen: Arc<Mutex<Vec<(String, bool)>>> = Arc::new(Mutex::new(Vec::new()));
    let storage_port = {
        let (root, seen) = (root.clone(), seen.clone());
        serve_http(move |request| {
            let path = request.path().trim_start_matches('/').to_owned();
            let credentials = request.header("authorization").is_some();
            seen.lock().expect("lock").push((path.clone(), credentials));
            let file = root.get().expect("root set").join(&path);
            match std::fs::read(&file) {
                Ok(body) if !path.contains("..") => {
                    HttpAnswer::bytes("200 OK", "application/octet-stream", body)
                }
                _ => HttpAnswer::json("404 Not Found", &json!({})),
            }
        })
    };
    let registry = Registry::start_redirecting(Auth::Htpasswd, None, Some(storage_port));
    root.set(registry.storage()).expect("set once");
    let dir = tempfile::tempdir().expect("temp dir");
    let layout = root_image(dir.path(), "1.0", "redirect");
    let creds = format!("{USER}:{PASSWORD}");
    registry.push(&layout, "1.0", "app", Some(&creds));
    seen.lock().expect("lock").clear();
    let reference = format!("{}/app:1.0", registry.host());
    let (code, report, stderr) = scan(
        &["--insecure-registry", "--image", &reference],
        dir.path(),
        &[("PALISADE_REGISTRY_AUTH", &creds)],
    );
    assert_eq!(errors(&report), [], "{stderr}\n{}", registry.log());
    assert_eq!(
        rules_of(&findings_of(&report, &reference)),
        ["image/run-as-root"]
    );
    assert_eq!(code, 1);
    let manifest: Value = read_json(&blob_path(
        &layout,
        read_json(&layout.join("index.json"))["manifests"][0]["digest"]
            .as_str()
            .expect("digest"),
    ));
    let config = manifest["config"]["digest"].as_str().expect("digest");
    let seen = seen.lock().expect("lock").clone();
    let expected = registry
        .blob_data(config)
        .strip_prefix(registry.storage())
        .expect("inside the storage")
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        seen,
        [(expected, false)],
        "the config blob, without credentials"
    );
}

#[test]
fn https_registries_are_checked_against_the_system_trust_store() {
    let ca = TestCa::new();
    let registry = Registry::start(Auth::Anonymous, Some(&ca));
    let dir = tempfile::tempdir().expect("temp dir");
    let layout = root_image(dir.path(), "1.0", "tls");
    registry.push(&layout, "1.0", "app", None);
    let reference = format!("{}/app:1.0", registry.host());
    let trusted = dir.path().join("ca.pem");
    std::fs::write(&trusted, &ca.ca_pem).expect("write CA");
    let trusted_arg = trusted.to_string_lossy().into_owned();
    // No --insecure-registry: HTTPS, verified against the CA SSL_CERT_FILE names.
    let (code, report, stderr) = scan(
        &["--image", &reference],
        dir.path(),
        &[("SSL_CERT_FILE", &trusted_arg)],
    );
    assert_eq!(errors(&report), [], "{stderr}");
    assert_eq!(
        rules_of(&findings_of(&report, &reference)),
        ["image/run-as-root"]
    );
    assert_eq!(code, 1);

    let other = TestCa::new();
    let untrusted = dir.path().join("other.pem");
    std::fs::write(&untrusted, &other.ca_pem).expect("write CA");
    let untrusted_arg = untrusted.to_string_lossy().into_owned();
    let (code, report, _) = scan(
        &["--image", &reference],
        dir.path(),
        &[("SSL_CERT_FILE", &untrusted_arg)],
    );
    assert_eq!(code, 2);
    let found = errors(&report);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].1.starts_with(&format!(
            "GET https://{}/v2/app/manifests/1.0: ",
            registry.host()
        )) && found[0].1.contains("invalid peer certificate"),
        "{found:#?}"
    );
}

#[test]
fn unreachable_and_unknown_images_are_errors_that_name_the_url_and_reason() {
    let registry = Registry::start(Auth::Anonymous, None);
    let dir = tempfile::tempdir().expect("temp dir");
    let layout = root_image(dir.path(), "1.0", "errors");
    registry.push(&layout, "1.0", "app", None);
    let host = registry.host();
    let closed = format!("127.0.0.1:{}", free_port());
    let nowhere = format!("{closed}/app:1.0");
    let missing_tag = format!("{host}/app:2.0");
    let missing_repo = format!("{host}/other:1.0");
    let unknown_digest = format!("{host}/app@sha256:{}", "0".repeat(64));
    let (code, report, _) = scan(
        &[
            "--insecure-registry",
            "--image",
            &nowhere,
            "--image",
            &missing_tag,
            "--image",
            &missing_repo,
            "--image",
            &unknown_digest,
            "--image",
            "Bad/Name",
            "--image",
            "app:-tag",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(code, 2);
    let found = errors(&report);
    let expect = [
        (
            nowhere.as_str(),
            format!("GET http://{closed}/v2/app/manifests/1.0: io: Connection refused"),
        ),
        (
            missing_tag.as_str(),
            format!("GET http://{host}/v2/app/manifests/2.0: 404 Not Found: manifest unknown"),
        ),
        (
            missing_repo.as_str(),
            format!("GET http://{host}/v2/other/manifests/1.0: 404 Not Found: manifest unknown"),
        ),
        (
            unknown_digest.as_str(),
            format!(
                "GET http://{host}/v2/app/manifests/sha256:{}: 404 Not Found",
                "0".repeat(64)
            ),
        ),
        ("Bad/Name", "nor a registry reference".to_owned()),
        ("app:-tag", "`-tag` is not a valid tag".to_owned()),
    ];
    assert_eq!(found.len(), expect.len(), "{found:#?}");
    for (want_file, want) in expect {
        let hit = found.iter().find(|(file, _)| file == want_file);
        let (_, message) = hit.unwrap_or_else(|| panic!("no error for {want_file}: {found:#?}"));
        assert!(message.contains(&want), "{message:?} should say {want:?}");
    }
}

#[test]
fn a_plain_http_registry_needs_insecure_registry() {
    let registry = Registry::start(Auth::Anonymous, None);
    let dir = tempfile::tempdir().expect("temp dir");
    let layout = root_image(dir.path(), "1.0", "http");
    registry.push(&layout, "1.0", "app", None);
    let reference = format!("{}/app:1.0", registry.host());
    let (code, report, _) = scan(&["--image", &reference], dir.path(), &[]);
    assert_eq!(code, 2);
    let found = errors(&report);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].1.starts_with(&format!(
            "GET https://{}/v2/app/manifests/1.0: ",
            registry.host()
        )) && found[0]
            .1
            .ends_with("if this loopback registry speaks plain HTTP, pass --insecure-registry"),
        "{found:#?}"
    );
    let (code, report, _) = scan(
        &["--insecure-registry", "--image", &reference],
        dir.path(),
        &[],
    );
    assert_eq!(errors(&report), []);
    assert_eq!(code, 1);
}

#[test]
fn tampered_blobs_in_the_registry_are_errors_and_the_rest_is_still_scanned() {
    let registry = Registry::start(Auth::Anonymous, None);
    let dir = tempfile::tempdir().expect("temp dir");
    let config_tampered = root_image(dir.path(), "config", "config-tampered");
    let manifest_tampered = root_image(dir.path(), "manifest", "manifest-tampered");
    let good = root_image(dir.path(), "good", "good");
    // A hardened image with one real gzip layer, whose stored bytes are changed where gzip
    // does not look (its header's timestamp): only the digest can tell.
    let layer_path = dir.path().join("layout-layer");
    let mut layout = Layout::new(&layer_path);
    let layer = layout.blob(
        "application/vnd.oci.image.layer.v1.tar+gzip",
        &gzip_tar(&[("app/server.py", b"print('hi')\n")]),
    );
    let mut config = hardened();
    config["rootfs"]["diff_ids"] = json!([format!("sha256:{}", "0".repeat(64))]);
    let manifest = layout.image(&config, std::slice::from_ref(&layer));
    layout.tag("layer", manifest);
    registry.push(&layer_path, "layer", "app", None);
    registry.push(&config_tampered, "config", "app", None);
    let manifest_digest = registry.push(&manifest_tampered, "manifest", "app", None);
    let good_digest = registry.push(&good, "good", "app", None);

    // Same length, other bytes: the registry serves a blob as it is.
    let manifest: Value = read_json(&blob_path(
        &config_tampered,
        read_json(&config_tampered.join("index.json"))["manifests"][0]["digest"]
            .as_str()
            .expect("digest"),
    ));
    let config_data = registry.blob_data(manifest["config"]["digest"].as_str().expect("digest"));
    let text = std::fs::read_to_string(&config_data).expect("config blob");
    std::fs::write(&config_data, text.replace("\"root\"", "\"ROOT\"")).expect("tamper");
    // A manifest the registry still parses (it checks that much), with other bytes.
    let manifest_data = registry.blob_data(&manifest_digest);
    let text = std::fs::read_to_string(&manifest_data).expect("manifest blob");
    std::fs::write(&manifest_data, format!("{text} ")).expect("tamper");
    let layer_data = registry.blob_data(layer["digest"].as_str().expect("digest"));
    let mut bytes = std::fs::read(&layer_data).expect("layer blob");
    bytes[4] ^= 0x01;
    std::fs::write(&layer_data, bytes).expect("tamper");

    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM alpine:3.20\nUSER root\n",
    )
    .expect("Dockerfile");
    let host = registry.host();
    let config_ref = format!("{host}/app:config");
    let manifest_ref = format!("{host}/app:manifest");
    let good_ref = format!("{host}/app@{good_digest}");
    let layer_ref = format!("{host}/app:layer");
    let (code, report, stderr) = scan(
        &[
            "Dockerfile",
            "--insecure-registry",
            "--image",
            &layer_ref,
            "--image",
            &config_ref,
            "--image",
            &manifest_ref,
            "--image",
            &good_ref,
        ],
        dir.path(),
        &[],
    );
    assert_eq!(code, 2, "{stderr}");
    let found = errors(&report);
    assert_eq!(found.len(), 3, "{found:#?}");
    let error_of = |reference: &str| {
        found
            .iter()
            .find(|(file, _)| file == reference)
            .map(|(_, message)| message.clone())
            .unwrap_or_else(|| panic!("no error for {reference}: {found:#?}"))
    };
    for (reference, blob) in [
        (&config_ref, "config sha256:"),
        (
            &manifest_ref,
            &format!("manifest {}", &manifest_digest[..19]),
        ),
        (&layer_ref, &layer["digest"].as_str().expect("digest")[..19]),
    ] {
        let message = error_of(reference);
        assert!(
            message.contains(blob) && message.contains("does not match its digest"),
            "{reference}: {message}"
        );
    }
    assert_eq!(findings_of(&report, &config_ref), []);
    assert_eq!(findings_of(&report, &manifest_ref), []);
    assert_eq!(
        rules_of(&findings_of(&report, &good_ref)),
        ["image/run-as-root"]
    );
    let dockerfile = findings_of(&report, "Dockerfile");
    assert!(
        dockerfile.contains(&("docker/run-as-root".to_owned(), "line 2".to_owned())),
        "{dockerfile:#?}"
    );
}

/// A gzip-compressed tar of regular files.
fn gzip_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_size(data.len() as u64);
        builder
            .append_data(&mut header, path, *data)
            .expect("writing to memory");
    }
    let tar = builder.into_inner().expect("writing to memory");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&tar).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

#[test]
fn a_hostile_registry_is_cut_off_with_errors_that_say_why() {
    const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    let port: Arc<OnceLock<u16>> = Arc::new(OnceLock::new());
    let paths: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let pinned = format!("sha256:{}", "a".repeat(64));
    let other = format!("sha256:{}", "b".repeat(64));
    let fake = {
        let (port, paths, pinned, other) =
            (port.clone(), paths.clone(), pinned.clone(), other.clone());
        serve_http(move |request| {
            let path = request.path().to_owned();
            paths.lock().expect("lock").push(path.clone());
            let own = format!("http://127.0.0.1:{}", port.get().expect("port set"));
            match path.as_str() {
                "/v2/big/manifests/1" => {
                    HttpAnswer::bytes("200 OK", OCI_MANIFEST, vec![b' '; 9 * 1024 * 1024])
                }
                "/v2/slow/manifests/1" => {
                    std::thread::sleep(Duration::from_secs(4));
                    HttpAnswer::json("404 Not Found", &json!({}))
                }
                "/v2/loop/manifests/1" => HttpAnswer::bytes("302 Found", "text/plain", Vec::new())
                    .header("Location", "/v2/loop/manifests/1"),
                "/v2/token/manifests/1" => HttpAnswer::json("401 Unauthorized", &json!({})).header(
                    "WWW-Authenticate",
                    format!(r#"Bearer realm="{own}/huge-token""#),
                ),
                // An OAuth2-style token service: only `access_token`, which must come back.
                "/v2/oauth/manifests/1" => match request.header("authorization") {
                    Some("Bearer oauth-abc") => HttpAnswer::json(
                        "404 Not Found",
                        &json!({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}),
                    ),
                    _ => HttpAnswer::json("401 Unauthorized", &json!({})).header(
                        "WWW-Authenticate",
                        format!(r#"Bearer realm="{own}/oauth-token""#),
                    ),
                },
                "/oauth-token" => HttpAnswer::json("200 OK", &json!({"access_token": "oauth-abc"})),
                "/huge-token" => {
                    HttpAnswer::bytes("200 OK", "application/json", vec![b' '; 2 * 1024 * 1024])
                }
                "/v2/leak/manifests/1" => HttpAnswer::json("401 Unauthorized", &json!({})).header(
                    "WWW-Authenticate",
                    r#"Bearer realm="http://registry.example.com/token",service="x""#,
                ),
                "/v2/traversal/manifests/1" => {
                    let manifest = json!({
                        "schemaVersion": 2,
                        "mediaType": OCI_MANIFEST,
                        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                   "digest": "sha256:../../../../v2/_catalog", "size": 10},
                        "layers": [],
                    });
                    HttpAnswer::bytes("200 OK", OCI_MANIFEST, manifest.to_string().into_bytes())
                }
                "/v2/schema1/manifests/1" => HttpAnswer::bytes(
                    "200 OK",
                    "application/vnd.docker.distribution.manifest.v1+prettyjws",
                    b"{}".to_vec(),
                ),
                p if p == format!("/v2/pinned/manifests/{pinned}") => {
                    HttpAnswer::bytes("200 OK", OCI_MANIFEST, b"{}".to_vec())
                        .header("Docker-Content-Digest", other.clone())
                }
                _ => HttpAnswer::bytes("500 Internal Server Error", "text/plain", b"oops".to_vec()),
            }
        })
    };
    port.set(fake).expect("set once");
    let host = format!("127.0.0.1:{fake}");
    let dir = tempfile::tempdir().expect("temp dir");
    let reference = |name: &str| format!("{host}/{name}:1");
    let images: Vec<String> = [
        "big",
        "slow",
        "loop",
        "token",
        "leak",
        "traversal",
        "schema1",
        "broken",
        "oauth",
    ]
    .iter()
    .map(|name| reference(name))
    .chain([format!("{host}/pinned@{pinned}")])
    .collect();
    let mut args = vec!["--insecure-registry", "--registry-timeout", "1"];
    for image in &images {
        args.extend(["--image", image.as_str()]);
    }
    let started = Instant::now();
    let (code, report, stderr) = scan(
        &args,
        dir.path(),
        &[("PALISADE_REGISTRY_AUTH", "u:secret-pw")],
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the stalled registry was waited for"
    );
    assert_eq!(code, 2, "{stderr}");
    let found = errors(&report);
    let url = |name: &str| format!("GET http://{host}/v2/{name}/manifests/1");
    let expect = [
        (
            reference("big"),
            format!(
                "{}: the answer is larger than 8388608 bytes; not read",
                url("big")
            ),
        ),
        (
            reference("slow"),
            format!("{}: timeout: per read", url("slow")),
        ),
        (
            reference("loop"),
            format!("{}: more than 5 redirects", url("loop")),
        ),
        (
            reference("token"),
            format!(
                "token service http://{host}/huge-token: the answer is larger than 1048576 bytes"
            ),
        ),
        (
            reference("leak"),
            "token service http://registry.example.com/token: refusing to ask for a token over \
             plain HTTP"
                .to_owned(),
        ),
        (
            reference("traversal"),
            "`sha256:../../../../v2/_catalog` is not a sha256 digest; not fetched".to_owned(),
        ),
        (
            reference("schema1"),
            "a Docker schema 1 manifest".to_owned(),
        ),
        (
            reference("broken"),
            format!("{}: 500 Internal Server Error", url("broken")),
        ),
        // The `access_token` was fetched and sent: the registry got past authentication.
        (
            reference("oauth"),
            format!("{}: 404 Not Found: manifest unknown", url("oauth")),
        ),
        (
            format!("{host}/pinned@{pinned}"),
            format!("the registry answered manifest {other} for the pinned digest {pinned}"),
        ),
    ];
    assert_eq!(found.len(), expect.len(), "{found:#?}");
    for (file, want) in expect {
        let message = found
            .iter()
            .find(|(f, _)| *f == file)
            .map(|(_, m)| m.as_str())
            .unwrap_or_else(|| panic!("no error for {file}: {found:#?}"));
        assert!(
            message.contains(&want),
            "{file}: {message:?} should say {want:?}"
        );
    }
    assert!(
        !format!("{report}{stderr}").contains("secret-pw"),
        "a secret was printed"
    );
    let paths = paths.lock().expect("lock");
    assert!(
        !paths
            .iter()
            .any(|p| p.contains("..") || p.contains("_catalog")),
        "{paths:#?}"
    );
}

const SERVICE: &str = "palisade-test-registry";
const ISSUER: &str = "palisade-test-issuer";

impl TestCa {
    /// An ES256 JWT over `claims`, with the leaf certificate in `x5c`.
    fn jwt(&self, claims: &Value) -> String {
        use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let rng = ring::rand::SystemRandom::new();
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &self.leaf_pkcs8, &rng)
                .expect("leaf key");
        let header = json!({"typ": "JWT", "alg": "ES256", "x5c": [BASE64.encode(&self.leaf_der)]});
        let input = format!(
            "{}.{}",
            BASE64URL.encode(header.to_string()),
            BASE64URL.encode(claims.to_string())
        );
        let signature = key.sign(&rng, input.as_bytes()).expect("sign");
        format!("{input}.{}", BASE64URL.encode(signature.as_ref()))
    }
}

/// What the token service was asked.
#[derive(Debug, Clone)]
struct TokenRequest {
    /// The Basic user name, when credentials came (right or wrong).
    user: Option<String>,
    service: Option<String>,
    scopes: Vec<String>,
}

/// A distribution token service on a loopback port: Basic `alice` gets the access each scope
/// asks for, no credentials get a token without access, anything else a 401.
struct TokenService {
    port: u16,
    requests: Arc<Mutex<Vec<TokenRequest>>>,
}

impl TokenService {
    fn start(ca: Arc<TestCa>) -> TokenService {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let port = serve_http(move |request| {
            let answer = token_answer(request, &ca);
            log.lock().expect("lock").push(answer.0);
            answer.1
        });
        TokenService { port, requests }
    }
}

fn token_answer(request: &HttpRequest, ca: &TestCa) -> (TokenRequest, HttpAnswer) {
    let mut asked = TokenRequest {
        user: None,
        service: None,
        scopes: Vec::new(),
    };
    for (key, value) in request.query() {
        match key.as_str() {
            "scope" => asked.scopes.push(value),
            "service" => asked.service = Some(value),
            _ => {}
        }
    }
    let basic = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("Basic "))
        .and_then(|b| BASE64.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    asked.user = basic
        .as_deref()
        .map(|b| b.split_once(':').map_or(b, |(u, _)| u).to_owned());
    if let Some(pair) = &basic
        && *pair != format!("{USER}:{PASSWORD}")
    {
        let body = json!({"errors": [{"code": "UNAUTHORIZED", "message": "invalid user name or password"}]});
        return (asked, HttpAnswer::json("401 Unauthorized", &body));
    }
    let access: Vec<Value> = if basic.is_some() {
        asked
            .scopes
            .iter()
            .filter_map(|scope| {
                let mut parts = scope.splitn(3, ':');
                let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                let actions: Vec<&str> = actions.split(',').collect();
                Some(json!({"type": kind, "name": name, "actions": actions}))
            })
            .collect()
    } else {
        Vec::new()
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let token = ca.jwt(&json!({
        "iss": ISSUER,
        "sub": asked.user.clone().unwrap_or_default(),
        "aud": SERVICE,
        "exp": now + 300,
        "nbf": now - 10,
        "iat": now,
        "jti": format!("{now}-{}", asked.scopes.join(" ")),
        "access": access,
    }));
    let body = json!({"token": token, "expires_in": 300});
    (asked, HttpAnswer::json("200 OK", &body))
}

/// One request a test server received.
struct HttpRequest {
    target: String,
    /// Header names lower-cased.
    headers: Vec<(String, String)>,
}

impl HttpRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    fn query(&self) -> Vec<(String, String)> {
        let query = self.target.split_once('?').map_or("", |(_, q)| q);
        query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(key), percent_decode(value))
            })
            .collect()
    }
}

/// What a test server answers.
struct HttpAnswer {
    status: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    /// More headers, e.g. `Location`, `WWW-Authenticate`.
    headers: Vec<(&'static str, String)>,
}

impl HttpAnswer {
    fn json(status: &'static str, body: &Value) -> HttpAnswer {
        HttpAnswer::bytes(status, "application/json", body.to_string().into_bytes())
    }

    fn bytes(status: &'static str, content_type: &'static str, body: Vec<u8>) -> HttpAnswer {
        HttpAnswer {
            status,
            content_type,
            body,
            headers: Vec::new(),
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> HttpAnswer {
        self.headers.push((name, value.into()));
        self
    }
}

/// Serves HTTP/1.1 on a loopback port, one connection per request, each answered by
/// `handler` on its own thread; returns the port. The server lives as long as the test binary.
fn serve_http(handler: impl Fn(&HttpRequest) -> HttpAnswer + Send + Sync + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let handler = handler.clone();
            std::thread::spawn(move || answer_http(stream, handler.as_ref()));
        }
    });
    port
}

fn answer_http(stream: TcpStream, handler: &dyn Fn(&HttpRequest) -> HttpAnswer) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let request = HttpRequest {
        target: request_line.split(' ').nth(1).unwrap_or("").to_owned(),
        headers,
    };
    let answer = handler(&request);
    let mut stream = reader.into_inner();
    let mut head = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        answer.status,
        answer.content_type,
        answer.body.len()
    );
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&answer.body);
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
