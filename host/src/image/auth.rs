//! Registry credentials (from `PALISADE_REGISTRY_AUTH` and Docker's `config.json`) and the
//! `WWW-Authenticate` challenges that ask for them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::reference::DOCKER_HUB;

/// The environment variable that holds registry credentials.
pub const AUTH_ENV: &str = "PALISADE_REGISTRY_AUTH";

/// Largest Docker `config.json` read, in bytes.
const MAX_DOCKER_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// A user name and password for a registry. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    password: String,
    /// Where it came from (`PALISADE_REGISTRY_AUTH`, a `config.json` path), for error messages.
    pub source: String,
}

impl Credential {
    /// A credential read from `source`.
    pub fn new(
        username: impl Into<String>,
        password: impl Into<String>,
        source: impl Into<String>,
    ) -> Credential {
        Credential {
            username: username.into(),
            password: password.into(),
            source: source.into(),
        }
    }

    /// The `Authorization` header value for HTTP Basic authentication.
    pub(crate) fn basic_header(&self) -> String {
        format!(
            "Basic {}",
            BASE64.encode(format!("{}:{}", self.username, self.password))
        )
    }

    /// `user:password` → a credential; `None` without a `:` or with an empty user name.
    fn from_pair(pair: &str, source: &str) -> Option<Credential> {
        let (username, password) = pair.split_once(':')?;
        (!username.is_empty()).then(|| Credential::new(username, password, source))
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("source", &self.source)
            .finish()
    }
}

/// The credentials a scan may present to registries, by registry (`host[:port]`, Docker Hub
/// as `docker.io`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryCredentials {
    /// From `PALISADE_REGISTRY_AUTH=user:password`: offered to every registry that asks.
    any: Option<Credential>,
    /// From `PALISADE_REGISTRY_AUTH` as JSON, then Docker's `config.json` (the first wins).
    by_registry: BTreeMap<String, Credential>,
    /// Registries Docker's config hands to a credential helper, which palisade does not run.
    helpers: BTreeMap<String, String>,
    /// Why Docker's config was not read, when it exists but could not be.
    docker_config_problem: Option<String>,
}

impl RegistryCredentials {
    /// No credentials: every registry is asked anonymously.
    pub fn none() -> RegistryCredentials {
        RegistryCredentials::default()
    }

    /// Reads `PALISADE_REGISTRY_AUTH` and Docker's `config.json` (`$DOCKER_CONFIG/config.json`,
    /// else `~/.docker/config.json`). A malformed `PALISADE_REGISTRY_AUTH` is an error; an
    /// unreadable Docker config is only mentioned when a registry turns palisade away.
    pub fn from_env() -> Result<RegistryCredentials, String> {
        let env = std::env::var(AUTH_ENV).ok();
        let docker_config = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| dirs::home_dir().map(|home| home.join(".docker")))
            .map(|dir| dir.join("config.json"));
        RegistryCredentials::from_sources(env.as_deref(), docker_config.as_deref())
    }

    /// Reads credentials from a `PALISADE_REGISTRY_AUTH` value and a Docker `config.json`.
    ///
    /// The value is either `user:password` (offered to every registry that asks; use the JSON
    /// form when images come from more than one registry) or a JSON object mapping registries
    /// to `user:password`, e.g. `{"registry.example.com": "ci:s3cret", "docker.io": "me:tok"}`.
    pub fn from_sources(
        env: Option<&str>,
        docker_config: Option<&Path>,
    ) -> Result<RegistryCredentials, String> {
        let mut credentials = RegistryCredentials::default();
        if let Some(value) = env.map(str::trim).filter(|v| !v.is_empty()) {
            credentials.read_env(value)?;
        }
        if let Some(path) = docker_config
            && path.exists()
            && let Err(problem) = credentials.read_docker_config(path)
        {
            credentials.docker_config_problem =
                Some(format!("{} was not read: {problem}", path.display()));
        }
        Ok(credentials)
    }

    fn read_env(&mut self, value: &str) -> Result<(), String> {
        if !value.starts_with('{') {
            self.any = Some(Credential::from_pair(value, AUTH_ENV).ok_or_else(|| {
                format!(
                    "{AUTH_ENV} is not `user:password` nor a JSON object of registry → \
                     `user:password` (it has no `:` or an empty user name)"
                )
            })?);
            return Ok(());
        }
        // Parsed as a `Value` first: serde's type errors quote the offending value, which
        // here would be a password.
        let json: serde_json::Value = serde_json::from_str(value)
            .map_err(|e| format!("{AUTH_ENV} is not valid JSON: {e}"))?;
        let object = json
            .as_object()
            .ok_or_else(|| format!("{AUTH_ENV} is not a JSON object"))?;
        for (key, pair) in object {
            let credential = pair
                .as_str()
                .and_then(|pair| Credential::from_pair(pair, AUTH_ENV))
                .ok_or_else(|| {
                    format!("{AUTH_ENV}: the value for `{key}` is not a `user:password` string")
                })?;
            self.by_registry
                .entry(registry_key(key))
                .or_insert(credential);
        }
        Ok(())
    }

    fn read_docker_config(&mut self, path: &Path) -> Result<(), String> {
        use std::io::Read;
        let source = path.display().to_string();
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|file| {
                file.take(MAX_DOCKER_CONFIG_BYTES + 1)
                    .read_to_string(&mut text)
            })
            .map_err(|e| format!("cannot read it: {e}"))?;
        if text.len() as u64 > MAX_DOCKER_CONFIG_BYTES {
            return Err(format!("it is larger than {MAX_DOCKER_CONFIG_BYTES} bytes"));
        }
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("it is not valid JSON: {e}"))?;
        if let Some(auths) = json.get("auths").and_then(serde_json::Value::as_object) {
            for (key, entry) in auths {
                if let Some(credential) = docker_auth(entry, &source) {
                    self.by_registry
                        .entry(registry_key(key))
                        .or_insert(credential);
                }
            }
        }
        if let Some(store) = json.get("credsStore").and_then(serde_json::Value::as_str) {
            // `credsStore` holds the secrets of every registry `auths` lists without them.
            if let Some(auths) = json.get("auths").and_then(serde_json::Value::as_object) {
                for key in auths.keys() {
                    self.helpers
                        .entry(registry_key(key))
                        .or_insert_with(|| store.to_owned());
                }
            }
            self.helpers
                .entry("*".to_owned())
                .or_insert_with(|| store.to_owned());
        }
        if let Some(helpers) = json
            .get("credHelpers")
            .and_then(serde_json::Value::as_object)
        {
            for (key, helper) in helpers {
                if let Some(helper) = helper.as_str() {
                    self.helpers.insert(registry_key(key), helper.to_owned());
                }
            }
        }
        Ok(())
    }

    /// The credential for `registry` (`host[:port]`, Docker Hub as `docker.io`), if any.
    pub fn for_registry(&self, registry: &str) -> Option<&Credential> {
        self.by_registry
            .get(&registry_key(registry))
            .or(self.any.as_ref())
    }

    /// Why no credentials may be known for `registry` although the user has some: a credential
    /// helper palisade does not run, or a Docker config it could not read.
    pub fn missing_note(&self, registry: &str) -> Option<String> {
        let key = registry_key(registry);
        if let Some(helper) = self.helpers.get(&key).or_else(|| self.helpers.get("*")) {
            return Some(format!(
                "Docker's config hands {key} to the credential helper `docker-credential-{helper}`; \
                 palisade does not run credential helpers, set {AUTH_ENV} instead"
            ));
        }
        self.docker_config_problem.clone()
    }
}

/// A Docker `auths` entry: `auth` (base64 `user:password`) or `username` and `password`.
fn docker_auth(entry: &serde_json::Value, source: &str) -> Option<Credential> {
    if let Some(auth) = entry
        .get("auth")
        .and_then(serde_json::Value::as_str)
        .filter(|a| !a.is_empty())
    {
        let decoded = BASE64.decode(auth.trim()).ok()?;
        return Credential::from_pair(std::str::from_utf8(&decoded).ok()?, source);
    }
    let username = entry.get("username")?.as_str()?;
    let password = entry.get("password")?.as_str()?;
    (!username.is_empty()).then(|| Credential::new(username, password, source))
}

/// A credential key (`https://index.docker.io/v1/`, `HOST:PORT`, `http://host/v2/`) → the
/// registry it is for, as [`Reference::registry`](super::reference::Reference) names it.
fn registry_key(key: &str) -> String {
    let key = key.trim();
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = key.split('/').next().unwrap_or(key).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB.to_owned()
        }
        _ => host,
    }
}

/// What a `WWW-Authenticate` header asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// HTTP Basic authentication.
    Basic,
    /// A token from `realm`, for `service` and `scope` (the distribution token protocol).
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
    /// A scheme palisade does not speak.
    Other(String),
}

impl Challenge {
    /// Parses one `WWW-Authenticate` value: `Scheme key="value", key=token, …`.
    pub fn parse(header: &str) -> Result<Challenge, String> {
        let header = header.trim();
        let (scheme, params) = header.split_once(' ').unwrap_or((header, ""));
        let params = parse_params(params)?;
        if scheme.eq_ignore_ascii_case("basic") {
            return Ok(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Ok(Challenge::Other(scheme.to_owned()));
        }
        let realm = params
            .get("realm")
            .cloned()
            .ok_or_else(|| "its Bearer challenge has no realm".to_owned())?;
        Ok(Challenge::Bearer {
            realm,
            service: params.get("service").cloned(),
            scope: params.get("scope").cloned(),
        })
    }
}

/// `key="quoted, with \"escapes\"", key=token` → keys (lower-cased) and values.
fn parse_params(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut params = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(params);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(format!("its challenge parameter `{key}` has no value"));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(c) => value.push(c),
                        None => return Err("its challenge ends inside a quoted value".to_owned()),
                    },
                    Some(c) => value.push(c),
                    None => return Err("its challenge ends inside a quoted value".to_owned()),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        params.insert(key.to_ascii_lowercase(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_keep_quoted_commas() {
        let challenge = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push""#,
        );
        assert_eq!(
            challenge,
            Ok(Challenge::Bearer {
                realm: "https://auth.docker.io/token".to_owned(),
                service: Some("registry.docker.io".to_owned()),
                scope: Some("repository:library/alpine:pull,push".to_owned()),
            })
        );
        assert_eq!(
            Challenge::parse(r#"bearer Realm=http://127.0.0.1:1/t , scope="a\"b""#),
            Ok(Challenge::Bearer {
                realm: "http://127.0.0.1:1/t".to_owned(),
                service: None,
                scope: Some("a\"b".to_owned()),
            })
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry""#),
            Ok(Challenge::Basic)
        );
        assert_eq!(
            Challenge::parse("Negotiate"),
            Ok(Challenge::Other("Negotiate".to_owned()))
        );
        assert!(Challenge::parse(r#"Bearer service="x""#).is_err());
        assert!(Challenge::parse(r#"Bearer realm="x"#).is_err());
        assert!(Challenge::parse("Bearer realm").is_err());
    }

    #[test]
    fn the_env_value_is_a_pair_for_every_registry_or_json_by_registry() {
        let any = RegistryCredentials::from_sources(Some("ci:pa:ss"), None).expect("parses");
        let credential = any
            .for_registry("example.com")
            .expect("offered to any registry");
        assert_eq!(
            (credential.username.as_str(), credential.password.as_str()),
            ("ci", "pa:ss")
        );
        assert_eq!(
            credential.basic_header(),
            format!("Basic {}", BASE64.encode("ci:pa:ss"))
        );

        let json = RegistryCredentials::from_sources(
            Some(r#"{"https://index.docker.io/v1/": "hub:a", "LOCALHOST:5000": "local:b"}"#),
            None,
        )
        .expect("parses");
        assert_eq!(
            json.for_registry("docker.io").map(|c| c.username.as_str()),
            Some("hub")
        );
        assert_eq!(
            json.for_registry("localhost:5000")
                .map(|c| c.username.as_str()),
            Some("local")
        );
        assert_eq!(json.for_registry("example.com"), None);
    }

    #[test]
    fn malformed_env_values_are_errors_that_do_not_show_the_secret() {
        for value in [
            "nocolon",
            ":empty-user",
            "{not json",
            "[1]",
            r#"{"h": 5}"#,
            r#"{"h": "s3cretnocolon"}"#,
        ] {
            let error = RegistryCredentials::from_sources(Some(value), None).expect_err(value);
            assert!(error.starts_with(AUTH_ENV), "{error}");
            assert!(
                !error.contains("s3cret") && !error.contains("nocolon\""),
                "{error}"
            );
        }
        assert_eq!(
            RegistryCredentials::from_sources(Some("  "), None),
            Ok(RegistryCredentials::none())
        );
    }

    #[test]
    fn docker_config_auths_helpers_and_problems() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("config.json");
        let config = serde_json::json!({
            "auths": {
                "https://index.docker.io/v1/": {"auth": BASE64.encode("hubuser:hubpass")},
                "registry.example.com": {"username": "u", "password": "p"},
                "helped.example.com": {},
            },
            "credsStore": "desktop",
            "credHelpers": {"gcr.io": "gcloud"},
        });
        std::fs::write(&path, config.to_string()).expect("write");
        let credentials = RegistryCredentials::from_sources(
            Some(r#"{"registry.example.com": "env:wins"}"#),
            Some(&path),
        )
        .expect("reads");
        let hub = credentials
            .for_registry("docker.io")
            .expect("hub credential");
        assert_eq!(
            (hub.username.as_str(), hub.password.as_str()),
            ("hubuser", "hubpass")
        );
        assert_eq!(hub.source, path.display().to_string());
        let env_first = credentials
            .for_registry("registry.example.com")
            .expect("credential");
        assert_eq!(
            (env_first.username.as_str(), env_first.source.as_str()),
            ("env", AUTH_ENV)
        );
        assert!(credentials.for_registry("helped.example.com").is_none());
        let note = credentials.missing_note("gcr.io").expect("a note");
        assert!(note.contains("docker-credential-gcloud"), "{note}");
        let note = credentials
            .missing_note("helped.example.com")
            .expect("a note");
        assert!(note.contains("docker-credential-desktop"), "{note}");

        std::fs::write(&path, "{broken").expect("write");
        let broken = RegistryCredentials::from_sources(None, Some(&path)).expect("not fatal");
        assert!(broken.for_registry("docker.io").is_none());
        let note = broken.missing_note("docker.io").expect("a note");
        assert!(
            note.contains("was not read: it is not valid JSON"),
            "{note}"
        );
        assert_eq!(
            RegistryCredentials::from_sources(None, Some(&dir.path().join("missing.json"))),
            Ok(RegistryCredentials::none())
        );
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let credential = Credential::new("user", "hunter2", AUTH_ENV);
        assert!(!format!("{credential:?}").contains("hunter2"));
        let credentials =
            RegistryCredentials::from_sources(Some("user:hunter2"), None).expect("parses");
        assert!(!format!("{credentials:?}").contains("hunter2"));
    }
}
