//! Images pulled from an OCI distribution registry: the pull side of the distribution API
//! (manifests, blobs) with anonymous, Basic and Bearer-token authentication.
//!
//! Only fetching lives here; the shared image code checks every manifest and blob against its
//! digest and size. Manifests are read whole (at most [`MAX_MANIFEST_BYTES`]); blobs are
//! streamed straight into the readers that need them.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use palisade_normalize::image::{Fetched, ImageError, ImageStore, MAX_MANIFEST_BYTES};
use sha2::{Digest, Sha256};
use ureq::http::{Response, StatusCode, Uri};
use ureq::tls::{RootCerts, TlsConfig};
use ureq::{Agent, Body};

use super::auth::{AUTH_ENV, Challenge, Credential, RegistryCredentials};
use super::reference::{Reference, is_loopback_host};
use crate::http::{origin, resolve_location};

/// Largest token-service answer read, in bytes.
pub const MAX_TOKEN_BYTES: u64 = 1024 * 1024;

/// Largest error body read from a registry, in bytes (only its message is shown).
const MAX_ERROR_BYTES: u64 = 64 * 1024;

/// The default for [`RegistryOptions::timeout`]: connecting, and any one read.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Deadline for a whole manifest or token request, redirects and body included (at least
/// four times [`RegistryOptions::timeout`]).
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(120);

/// Deadline for a whole blob download: layers can be gigabytes, so only a stall (see
/// [`RegistryOptions::timeout`]) or this ends one early.
pub const BLOB_DEADLINE: Duration = Duration::from_secs(60 * 60);

/// Redirects followed (registries send blobs to object storage).
const MAX_REDIRECTS: u32 = 5;

/// The manifest types asked for: OCI and Docker v2, single images and multi-platform lists.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// How registries are reached, and with which credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryOptions {
    /// Speak plain HTTP to registries on a loopback address (`localhost`, 127.0.0.0/8, `::1`).
    /// Every other registry is always reached over HTTPS.
    pub insecure_loopback: bool,
    /// Credentials offered when a registry asks for them.
    pub credentials: RegistryCredentials,
    /// Longest wait to connect, and for any one read: a stalled registry fails after this.
    pub timeout: Duration,
}

impl Default for RegistryOptions {
    fn default() -> RegistryOptions {
        RegistryOptions {
            insecure_loopback: false,
            credentials: RegistryCredentials::none(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// An image in a registry, read through the distribution API.
pub struct RegistryStore {
    display: String,
    reference: Reference,
    /// `https://host[:port]` (or `http://` for an insecure loopback registry).
    base: String,
    agent: Agent,
    /// Deadline for a manifest or token request.
    request_deadline: Duration,
    insecure_loopback: bool,
    credential: Option<Credential>,
    /// Why the user may have credentials palisade did not find (a credential helper, …).
    missing_note: Option<String>,
    /// The `Authorization` header that last satisfied the registry.
    authorization: Option<String>,
}

impl RegistryStore {
    /// A store for `reference`, shown as `display` (the text the user gave).
    pub fn new(display: &str, reference: Reference, options: &RegistryOptions) -> RegistryStore {
        let plain = options.insecure_loopback && reference.is_loopback();
        let base = format!(
            "{}://{}",
            if plain { "http" } else { "https" },
            reference.api_host()
        );
        let credentials = &options.credentials;
        RegistryStore {
            display: display.to_owned(),
            credential: credentials.for_registry(&reference.registry).cloned(),
            missing_note: credentials.missing_note(&reference.registry),
            reference,
            base,
            agent: agent(options.timeout),
            request_deadline: REQUEST_DEADLINE.max(options.timeout.saturating_mul(4)),
            insecure_loopback: options.insecure_loopback,
            authorization: None,
        }
    }

    /// `GET base+path`, following redirects and answering one `401` challenge; any other
    /// failure is an error naming the URL and the reason.
    fn get(
        &mut self,
        path: &str,
        accept: Option<&str>,
        deadline: Duration,
    ) -> Result<(String, Response<Body>), ImageError> {
        let url = format!("{}{path}", self.base);
        let mut challenged = false;
        loop {
            let (response, elsewhere) = self.follow(&url, accept, deadline)?;
            let status = response.status();
            if status.is_success() {
                return Ok((url, response));
            }
            let shown = match &elsewhere {
                Some(origin) => format!("{url} (redirected to {origin})"),
                None => url.clone(),
            };
            // Only the registry itself may ask for credentials: a storage host it redirects
            // to gets none.
            if status == StatusCode::UNAUTHORIZED && !challenged && elsewhere.is_none() {
                challenged = true;
                self.authenticate(&url, &response)?;
                continue;
            }
            let mut reason = status_reason(response);
            if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                && elsewhere.is_none()
            {
                reason.push_str(&self.refused_hint(false));
            }
            return Err(ImageError::new(format!("GET {shown}: {reason}")));
        }
    }

    /// `GET url` and the redirects it leads to. The `Authorization` header goes only to the
    /// registry's own origin (scheme, host and port), never to the storage a registry sends
    /// blobs to. Returns the last response and, when it came from elsewhere, that origin
    /// (only the origin: a storage URL may carry a signature).
    fn follow(
        &self,
        url: &str,
        accept: Option<&str>,
        deadline: Duration,
    ) -> Result<(Response<Body>, Option<String>), ImageError> {
        let started = Instant::now();
        let mut current = url.to_owned();
        for _ in 0..=MAX_REDIRECTS {
            let own = current
                .strip_prefix(&self.base)
                .is_some_and(|rest| rest.starts_with('/'));
            let elsewhere = (!own).then(|| origin(&current).to_owned());
            let mut request = self.agent.get(&current);
            if let Some(accept) = accept {
                request = request.header("Accept", accept);
            }
            if own && let Some(authorization) = &self.authorization {
                request = request.header("Authorization", authorization);
            }
            let remaining = deadline.saturating_sub(started.elapsed());
            let response = request
                .config()
                .timeout_global(Some(remaining))
                .build()
                .call()
                .map_err(|e| {
                    let via = elsewhere
                        .as_ref()
                        .map(|o| format!(" (redirected to {o})"))
                        .unwrap_or_default();
                    ImageError::new(format!("GET {url}{via}: {}", self.transport_reason(&e)))
                })?;
            if !response.status().is_redirection() || response.status() == StatusCode::NOT_MODIFIED
            {
                return Ok((response, elsewhere));
            }
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    ImageError::new(format!(
                        "GET {url}: {} redirect without a readable Location",
                        response.status().as_u16()
                    ))
                })?;
            current = resolve_location(&current, location).ok_or_else(|| {
                ImageError::new(format!(
                    "GET {url}: redirect to `{location}`, which is not an http(s) URL"
                ))
            })?;
        }
        Err(ImageError::new(format!(
            "GET {url}: more than {MAX_REDIRECTS} redirects"
        )))
    }

    /// Answers a `401`: Basic credentials, or a token from the challenge's realm.
    fn authenticate(&mut self, url: &str, response: &Response<Body>) -> Result<(), ImageError> {
        let mut challenges = Vec::new();
        for value in response.headers().get_all("www-authenticate") {
            let text = value.to_str().map_err(|_| {
                ImageError::new(format!(
                    "GET {url}: 401 Unauthorized with a WWW-Authenticate header that is not text"
                ))
            })?;
            let challenge = Challenge::parse(text).map_err(|reason| {
                ImageError::new(format!("GET {url}: 401 Unauthorized, and {reason}"))
            })?;
            challenges.push(challenge);
        }
        let bearer = challenges.iter().find_map(|c| match c {
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => Some((realm.clone(), service.clone(), scope.clone())),
            _ => None,
        });
        if let Some((realm, service, scope)) = bearer {
            let token = self.token(url, &realm, service.as_deref(), scope.as_deref())?;
            self.authorization = Some(format!("Bearer {token}"));
            return Ok(());
        }
        if challenges.contains(&Challenge::Basic) {
            let Some(credential) = &self.credential else {
                return Err(ImageError::new(format!(
                    "GET {url}: 401 Unauthorized: the registry asks for a user name and password{}",
                    self.refused_hint(false)
                )));
            };
            self.authorization = Some(credential.basic_header());
            return Ok(());
        }
        let schemes: Vec<String> = challenges
            .iter()
            .filter_map(|c| match c {
                Challenge::Other(scheme) => Some(scheme.clone()),
                _ => None,
            })
            .collect();
        Err(ImageError::new(if schemes.is_empty() {
            format!("GET {url}: 401 Unauthorized without a WWW-Authenticate challenge")
        } else {
            format!(
                "GET {url}: 401 Unauthorized: the registry asks for {} authentication, which \
                 palisade does not support (only Basic and Bearer)",
                schemes.join(", ")
            )
        }))
    }

    /// A token from the distribution token service at `realm`, with Basic credentials when
    /// palisade has them.
    fn token(
        &self,
        url: &str,
        realm: &str,
        service: Option<&str>,
        scope: Option<&str>,
    ) -> Result<String, ImageError> {
        let fail = |reason: String| {
            ImageError::new(format!(
                "GET {url}: 401 Unauthorized; token service {realm}: {reason}"
            ))
        };
        let uri: Uri = realm
            .parse()
            .map_err(|_| fail("the realm is not a URL".to_owned()))?;
        let host = uri.host().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if self.insecure_loopback && is_loopback_host(host) => {}
            Some("http") => {
                return Err(fail(
                    "refusing to ask for a token over plain HTTP (allowed only for loopback \
                     hosts with --insecure-registry)"
                        .to_owned(),
                ));
            }
            _ => return Err(fail("the realm is not an http(s) URL".to_owned())),
        }
        let default_scope = format!("repository:{}:pull", self.reference.repository);
        let mut request = self
            .agent
            .get(realm)
            .query("scope", scope.unwrap_or(&default_scope));
        if let Some(service) = service {
            request = request.query("service", service);
        }
        if let Some(credential) = &self.credential {
            request = request.header("Authorization", credential.basic_header());
        }
        let response = request
            .config()
            .timeout_global(Some(self.request_deadline))
            .build()
            .call()
            .map_err(|e| fail(self.transport_reason(&e)))?;
        let status = response.status();
        if !status.is_success() {
            let mut reason = status_reason(response);
            if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                reason.push_str(&self.refused_hint(true));
            }
            return Err(fail(reason));
        }
        let bytes = read_capped(response, MAX_TOKEN_BYTES).map_err(fail)?;
        let json: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| fail(format!("the answer is not JSON: {e}")))?;
        let token = ["token", "access_token"]
            .iter()
            .find_map(|key| json.get(key)?.as_str().filter(|t| !t.is_empty()))
            .ok_or_else(|| fail("the answer has no `token` or `access_token`".to_owned()))?;
        // The token goes into a header: anything but visible ASCII would corrupt the request.
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(fail("the token is not a valid header value".to_owned()));
        }
        Ok(token.to_owned())
    }

    /// What to tell the user when a registry (or its token service) turns palisade away:
    /// whose credentials it refused, or that there were none (and why there may be none).
    fn refused_hint(&self, by_token_service: bool) -> String {
        match &self.credential {
            Some(credential) if by_token_service => format!(
                "; the credentials of user `{}` (from {}) were refused",
                credential.username, credential.source
            ),
            Some(credential) => format!(
                "; the credentials of user `{}` (from {}) were refused or grant no pull access to \
                 `{}`",
                credential.username, credential.source, self.reference.repository
            ),
            None => {
                let mut hint = format!(
                    "; no credentials for {} (set {AUTH_ENV} or log in with `docker login`)",
                    self.reference.registry
                );
                if let Some(note) = &self.missing_note {
                    hint.push_str("; ");
                    hint.push_str(note);
                }
                hint
            }
        }
    }

    /// A transport failure, with a hint when the registry is probably plain HTTP (rustls
    /// reports a plain-text answer to its TLS hello as `InvalidContentType`).
    fn transport_reason(&self, error: &ureq::Error) -> String {
        let mut reason = error.to_string();
        if self.base.starts_with("https:") && reason.contains("InvalidContentType") {
            if self.reference.is_loopback() {
                reason.push_str(
                    "; if this loopback registry speaks plain HTTP, pass --insecure-registry",
                );
            } else if self.insecure_loopback {
                reason.push_str(
                    " (--insecure-registry allows plain HTTP to loopback registries only; this one \
                     is reached over HTTPS)",
                );
            }
        }
        reason
    }
}

impl ImageStore for RegistryStore {
    fn display(&self) -> &str {
        &self.display
    }

    fn roots(&mut self) -> Result<Vec<Fetched>, ImageError> {
        let path = format!(
            "/v2/{}/manifests/{}",
            self.reference.repository,
            self.reference.manifest_reference()
        );
        let (url, response) = self.get(&path, Some(MANIFEST_ACCEPT), self.request_deadline)?;
        let media_type = content_type(&response);
        let header_digest = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned());
        let bytes = read_capped(response, MAX_MANIFEST_BYTES)
            .map_err(|reason| ImageError::new(format!("GET {url}: {reason}")))?;
        check_schema(&url, media_type.as_deref())?;
        // The digest the bytes must have: the pinned one (and the registry must agree), else
        // the one the registry says the tag points to, else (a registry that does not say)
        // what the bytes hash to.
        let digest = match (&self.reference.digest, header_digest) {
            (Some(pinned), Some(header)) if header.starts_with("sha256:") && &header != pinned => {
                return Err(ImageError::new(format!(
                    "GET {url}: the registry answered manifest {header} for the pinned digest {pinned}"
                )));
            }
            (Some(pinned), _) => pinned.clone(),
            (None, Some(header)) if header.starts_with("sha256:") => header,
            (None, _) => format!("sha256:{:x}", Sha256::digest(&bytes)),
        };
        Ok(vec![Fetched {
            bytes,
            media_type,
            digest: Some(digest),
        }])
    }

    fn manifest(&mut self, digest: &str, size: u64) -> Result<Fetched, ImageError> {
        check_digest(digest)?;
        if size > MAX_MANIFEST_BYTES {
            return Err(ImageError::new(format!(
                "manifest {digest} is {size} bytes, more than the {MAX_MANIFEST_BYTES} read"
            )));
        }
        let path = format!("/v2/{}/manifests/{digest}", self.reference.repository);
        let (url, response) = self.get(&path, Some(MANIFEST_ACCEPT), self.request_deadline)?;
        let media_type = content_type(&response);
        let bytes = read_capped(response, MAX_MANIFEST_BYTES)
            .map_err(|reason| ImageError::new(format!("GET {url}: {reason}")))?;
        check_schema(&url, media_type.as_deref())?;
        Ok(Fetched {
            bytes,
            media_type,
            digest: Some(digest.to_owned()),
        })
    }

    fn blob<'s>(&'s mut self, digest: &str, _size: u64) -> Result<Box<dyn Read + 's>, ImageError> {
        check_digest(digest)?;
        let path = format!("/v2/{}/blobs/{digest}", self.reference.repository);
        let (url, response) = self.get(&path, None, BLOB_DEADLINE)?;
        Ok(Box::new(Download {
            body: response.into_body().into_reader(),
            url,
        }))
    }
}

/// A blob's body as it arrives; read errors name the registry URL (never the storage URL a
/// registry redirected to, which may carry a signature).
struct Download {
    body: ureq::BodyReader<'static>,
    url: String,
}

impl Read for Download {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.body
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), format!("GET {}: {e}", self.url)))
    }
}

/// The agent every request goes through: status codes and redirects handled here, timeouts on
/// connecting and on every read.
fn agent(timeout: Duration) -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        // Redirects are followed by `RegistryStore::follow`, which decides where the
        // credentials go.
        .max_redirects(0)
        .timeout_connect(Some(timeout))
        .timeout_per_read(Some(timeout))
        .user_agent(concat!("palisade/", env!("CARGO_PKG_VERSION")))
        // The system's trust store, so registries behind a company CA work as they do for
        // docker and skopeo (it honours SSL_CERT_FILE).
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::PlatformVerifier)
                .build(),
        )
        .build()
        .new_agent()
}

/// Reads a whole small body, failing when it is larger than `max`.
fn read_capped(response: Response<Body>, max: u64) -> Result<Vec<u8>, String> {
    let announced = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if announced.is_some_and(|length| length > max) {
        return Err(format!("the answer is larger than {max} bytes; not read"));
    }
    palisade_normalize::read_capped(response.into_body().into_reader(), max)
        .map_err(|e| format!("reading the answer: {e}"))?
        .ok_or_else(|| format!("the answer is larger than {max} bytes; not read"))
}

/// `404 Not Found: manifest unknown`: the status, and the first message of the registry's
/// error JSON when it sent one.
fn status_reason(response: Response<Body>) -> String {
    let status = response.status();
    let mut reason = match status.canonical_reason() {
        Some(text) => format!("{} {text}", status.as_u16()),
        None => status.as_u16().to_string(),
    };
    let message = read_capped(response, MAX_ERROR_BYTES)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|json| {
            let first = json.pointer("/errors/0")?;
            let text = first
                .get("message")
                .and_then(serde_json::Value::as_str)
                .filter(|m| !m.is_empty())
                .or_else(|| first.get("code")?.as_str())?;
            Some(text.chars().take(300).collect::<String>())
        });
    if let Some(message) = message {
        reason.push_str(": ");
        reason.push_str(&message);
    }
    reason
}

/// The `Content-Type` without parameters.
fn content_type(response: &Response<Body>) -> Option<String> {
    let value = response.headers().get("content-type")?.to_str().ok()?;
    let media_type = value.split(';').next().unwrap_or(value).trim();
    (!media_type.is_empty()).then(|| media_type.to_owned())
}

/// Docker's schema 1 manifests (deprecated since 2017) carry no config blob to read.
fn check_schema(url: &str, media_type: Option<&str>) -> Result<(), ImageError> {
    match media_type {
        Some(m) if m.starts_with("application/vnd.docker.distribution.manifest.v1") => {
            Err(ImageError::new(format!(
                "GET {url}: the registry answered a Docker schema 1 manifest ({m}), which palisade \
             does not read; push the image again with a current tool"
            )))
        }
        _ => Ok(()),
    }
}

/// A digest from a manifest goes into a URL path: only `sha256:` and 64 hex digits pass.
fn check_digest(digest: &str) -> Result<(), ImageError> {
    let valid = digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    });
    if valid {
        Ok(())
    } else {
        let shown: String = digest.chars().take(80).collect();
        Err(ImageError::new(format!(
            "`{shown}` is not a sha256 digest; not fetched"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_from_manifests_cannot_leave_the_blob_path() {
        assert!(check_digest(&format!("sha256:{}", "a".repeat(64))).is_ok());
        for bad in [
            "sha256:../../../v2/_catalog",
            "sha512:abc",
            &format!("sha256:{}", "A".repeat(64)),
            &format!("sha256:{}/x", "a".repeat(64)),
        ] {
            assert!(check_digest(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_loopback_registries_are_reached_over_plain_http() {
        let options = RegistryOptions {
            insecure_loopback: true,
            ..RegistryOptions::default()
        };
        let store = |text: &str, options: &RegistryOptions| {
            let reference = Reference::parse(text).expect("parses");
            RegistryStore::new(text, reference, options).base
        };
        assert_eq!(
            store("127.0.0.1:5000/app", &options),
            "http://127.0.0.1:5000"
        );
        assert_eq!(store("localhost/app", &options), "http://localhost");
        assert_eq!(store("[::1]:5000/app", &options), "http://[::1]:5000");
        assert_eq!(
            store("registry.example.com/app", &options),
            "https://registry.example.com"
        );
        assert_eq!(store("alpine", &options), "https://registry-1.docker.io");
        let secure = RegistryOptions::default();
        assert_eq!(
            store("127.0.0.1:5000/app", &secure),
            "https://127.0.0.1:5000"
        );
    }
}
