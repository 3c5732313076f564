//! Reading registry files from a directory and from real HTTP(S) servers on 127.0.0.1: a
//! server written here answers as a static site would, and as a hostile one would (endless
//! bodies, drip feeds, lying lengths, downgrading redirects), over plain HTTP and over TLS
//! with a CA the test made.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::tls::TestCa;

use palisade::registry::fetch::{FetchError, FetchOptions, Fetcher, RegistryLocation};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const INDEX: &[u8] = b"format = 1\nversion = 7\n";

/// How the test server answers one request.
enum Answer {
    /// A complete answer with an honest `Content-Length`.
    Full {
        status: &'static str,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// `200` announcing `announced` bytes, sending `body`, then closing.
    Lying { announced: u64, body: Vec<u8> },
    /// `200` without a length, then zeros until the client hangs up.
    Endless,
    /// `200` without a length, then one byte every `every`, forever.
    Drip { every: Duration },
    /// `200` without a length, then nothing.
    Stall,
}

impl Answer {
    fn ok(body: &[u8]) -> Answer {
        Answer::status("200 OK", body)
    }

    fn status(status: &'static str, body: &[u8]) -> Answer {
        Answer::Full {
            status,
            headers: Vec::new(),
            body: body.to_vec(),
        }
    }

    fn redirect(location: String) -> Answer {
        Answer::Full {
            status: "302 Found",
            headers: vec![("Location", location)],
            body: Vec::new(),
        }
    }
}

/// A request the server received: its path and `User-Agent`.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    user_agent: Option<String>,
}

/// A server on a loopback port, one thread per connection; lives as long as the test binary.
struct Server {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn start(
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: impl Fn(&str) -> Answer + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler = Arc::new(handler);
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (handler, log, tls) = (handler.clone(), log.clone(), tls.clone());
                std::thread::spawn(move || {
                    stream
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .expect("timeout");
                    match tls {
                        Some(config) => {
                            let Ok(connection) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            let stream = rustls::StreamOwned::new(connection, stream);
                            answer(stream, handler.as_ref(), &log);
                        }
                        None => answer(stream, handler.as_ref(), &log),
                    }
                });
            }
        });
        Server { port, seen }
    }

    fn http(handler: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Server {
        Server::start(None, handler)
    }

    fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}/registry/", self.port)
    }

    fn paths(&self) -> Vec<String> {
        let seen = self.seen.lock().expect("lock");
        seen.iter().map(|s| s.path.clone()).collect()
    }
}

/// Reads one request head and writes the handler's answer (a failed write ends the thread:
/// the client hung up).
fn answer(mut stream: impl Read + Write, handler: &dyn Fn(&str) -> Answer, log: &Mutex<Vec<Seen>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
        // Not a request line (a TLS hello to a plain server): answered as web servers do.
        if !head[0].is_ascii_uppercase() {
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
            return;
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head
        .split(' ')
        .nth(1)
        .unwrap_or("")
        .strip_prefix("/registry/")
        .unwrap_or("")
        .to_owned();
    let user_agent = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("user-agent")
            .then(|| value.trim().to_owned())
    });
    log.lock().expect("lock").push(Seen {
        path: path.clone(),
        user_agent,
    });
    let streaming =
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n";
    let _ = match handler(&path) {
        Answer::Full {
            status,
            headers,
            body,
        } => {
            let mut text = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                text.push_str(&format!("{name}: {value}\r\n"));
            }
            text.push_str("\r\n");
            stream
                .write_all(text.as_bytes())
                .and_then(|()| stream.write_all(&body))
        }
        Answer::Lying { announced, body } => stream
            .write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            )
            .and_then(|()| stream.write_all(&body)),
        Answer::Endless => stream.write_all(streaming.as_bytes()).and_then(|()| {
            let chunk = vec![0u8; 64 * 1024];
            loop {
                stream.write_all(&chunk)?;
            }
        }),
        Answer::Drip { every } => stream.write_all(streaming.as_bytes()).and_then(|()| {
            loop {
                stream.flush()?;
                std::thread::sleep(every);
                stream.write_all(b"x")?;
            }
        }),
        Answer::Stall => stream.write_all(streaming.as_bytes()).and_then(|()| {
            stream.flush()?;
            std::thread::sleep(Duration::from_secs(30));
            Ok(())
        }),
    };
    let _ = stream.flush();
}

fn fetcher(url: &str, options: &FetchOptions) -> Fetcher {
    let location = RegistryLocation::parse(url).expect("a registry URL");
    Fetcher::new(location, options).expect("a fetcher")
}

fn quick() -> FetchOptions {
    FetchOptions {
        ca_cert: None,
        timeout: Duration::from_secs(1),
        deadline: Duration::from_secs(3),
    }
}

#[test]
fn a_site_serves_files_within_their_caps() {
    let server = Server::http(|path| match path {
        "index.toml" => Answer::ok(INDEX),
        "plugins/platform/k8s/1.0.0/k8s.wasm" => Answer::ok(&[7u8; 1000]),
        "broken" => Answer::status("500 Internal Server Error", b"oops"),
        "gone" => Answer::status("410 Gone", b""),
        _ => Answer::status("404 Not Found", b"no such file"),
    });
    let base = server.url("http");
    let fetch = fetcher(&base, &FetchOptions::default());
    assert_eq!(fetch.location().to_string(), base);

    assert_eq!(fetch.get("index.toml", 1024).expect("the index"), INDEX);
    assert_eq!(
        fetch
            .get_exact("index.toml", INDEX.len() as u64)
            .expect("exact"),
        INDEX
    );
    let wasm = "plugins/platform/k8s/1.0.0/k8s.wasm";
    assert_eq!(fetch.get_exact(wasm, 1000).expect("exact").len(), 1000);

    let error = fetch.get_exact(wasm, 999).expect_err("one byte too many");
    assert!(
        matches!(error, FetchError::TooLarge { max: 999, .. }),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        format!("{base}{wasm}: too large: more than 999 bytes")
    );
    let error = fetch.get_exact(wasm, 1001).expect_err("one byte short");
    assert_eq!(
        error.to_string(),
        format!("{base}{wasm}: truncated: 1000 bytes of 1001")
    );
    let error = fetch.get("missing.toml", 1024).expect_err("404");
    assert!(matches!(error, FetchError::NotFound { .. }), "{error}");
    assert_eq!(error.to_string(), format!("{base}missing.toml: not found"));
    let error = fetch.get("gone", 1024).expect_err("410");
    assert!(matches!(error, FetchError::NotFound { .. }), "{error}");
    let error = fetch.get("broken", 1024).expect_err("500");
    assert_eq!(
        error.to_string(),
        format!("{base}broken: HTTP 500 Internal Server Error")
    );

    let agents: Vec<Option<String>> = server
        .seen
        .lock()
        .expect("lock")
        .iter()
        .map(|s| s.user_agent.clone())
        .collect();
    let expected = Some(format!("palisade/{}", env!("CARGO_PKG_VERSION")));
    assert!(agents.iter().all(|a| *a == expected), "{agents:?}");

    // A path that would leave the registry is refused before any request.
    let before = server.paths().len();
    let error = fetch.get("../secret", 1024).expect_err("refused");
    assert!(matches!(error, FetchError::Path { .. }), "{error}");
    assert_eq!(server.paths().len(), before, "{:?}", server.paths());
}

#[test]
fn an_endless_body_is_cut_off_one_byte_past_the_cap() {
    let server = Server::http(|_| Answer::Endless);
    let fetch = fetcher(&server.url("http"), &quick());
    let started = Instant::now();
    let error = fetch.get("index.toml", 256 * 1024).expect_err("endless");
    assert!(
        matches!(error, FetchError::TooLarge { max, .. } if max == 256 * 1024),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    let error = fetch.get_exact("index.toml", 100).expect_err("endless");
    assert!(
        matches!(error, FetchError::TooLarge { max: 100, .. }),
        "{error}"
    );
}

#[test]
fn a_drip_feed_is_stopped_by_the_deadline_and_a_stall_by_the_timeout() {
    let server = Server::http(|path| match path {
        "drip" => Answer::Drip {
            every: Duration::from_millis(100),
        },
        _ => Answer::Stall,
    });
    let base = server.url("http");
    let fetch = fetcher(&base, &quick());

    let started = Instant::now();
    let error = fetch.get("drip", 1 << 20).expect_err("never finishes");
    let took = started.elapsed();
    assert!(matches!(error, FetchError::Timeout { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        format!("{base}drip: deadline exceeded: the download did not finish within 3 s")
    );
    assert!(
        took >= Duration::from_millis(2900) && took < Duration::from_secs(6),
        "took {took:?}"
    );

    let started = Instant::now();
    let error = fetch.get("stall", 1 << 20).expect_err("stalls");
    assert_eq!(
        error.to_string(),
        format!("{base}stall: timed out: the server sent nothing for 1 s")
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_lying_content_length_is_caught() {
    let server = Server::http(|path| match path {
        "short" => Answer::Lying {
            announced: 1000,
            body: vec![b'x'; 10],
        },
        "long" => Answer::Lying {
            announced: 10,
            body: vec![b'x'; 100],
        },
        "huge" => Answer::Lying {
            announced: 10 << 30,
            body: vec![b'x'; 10],
        },
        _ => Answer::status("404 Not Found", b""),
    });
    let base = server.url("http");
    let fetch = fetcher(&base, &quick());

    let error = fetch.get("short", 4096).expect_err("ends early");
    assert!(
        matches!(
            error,
            FetchError::Truncated {
                got: 10,
                expected: 1000,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        format!("{base}short: truncated: 10 bytes of 1000")
    );
    // Only the announced length is read: what follows it is not part of the answer.
    let error = fetch
        .get_exact("long", 100)
        .expect_err("announced too little");
    assert!(
        matches!(
            error,
            FetchError::Truncated {
                got: 10,
                expected: 100,
                ..
            }
        ),
        "{error}"
    );
    // An announced length over the cap is refused unread.
    let error = fetch.get("huge", 4096).expect_err("announced too much");
    assert!(
        matches!(error, FetchError::TooLarge { max: 4096, .. }),
        "{error}"
    );
}

#[test]
fn redirects_are_followed_a_few_times_but_never_from_https_to_plain_http() {
    let plain = Server::http(|path| match path {
        "index.toml" => Answer::ok(INDEX),
        _ => Answer::status("404 Not Found", b""),
    });
    let downgrade_target = format!("{}index.toml", plain.url("http"));
    let looping = Server::http(|path| match path {
        "moved" => Answer::redirect("/registry/index.toml".to_owned()),
        "index.toml" => Answer::ok(INDEX),
        _ => Answer::redirect("/registry/loop".to_owned()),
    });
    let fetch = fetcher(&looping.url("http"), &quick());
    assert_eq!(fetch.get("moved", 1024).expect("followed"), INDEX);
    let error = fetch.get("loop", 1024).expect_err("loops");
    assert!(matches!(error, FetchError::Redirect { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        format!("{}loop: more than 5 redirects", looping.url("http"))
    );
    assert_eq!(
        looping.paths().iter().filter(|p| *p == "loop").count(),
        6,
        "the first request and five redirects"
    );

    let ca = TestCa::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_file = ca.write(dir.path());
    let secure = Server::start(Some(ca.server_config()), move |path| match path {
        "index.toml" => Answer::ok(INDEX),
        _ => Answer::redirect(downgrade_target.clone()),
    });
    let options = FetchOptions {
        ca_cert: Some(ca_file),
        ..quick()
    };
    let fetch = fetcher(&secure.url("https"), &options);
    assert_eq!(fetch.get("index.toml", 1024).expect("over TLS"), INDEX);
    let error = fetch.get("downgrade", 1024).expect_err("a downgrade");
    assert!(matches!(error, FetchError::Redirect { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "{}downgrade: redirected to {}index.toml: refusing to leave HTTPS for plain HTTP",
            secure.url("https"),
            plain.url("http")
        )
    );
    assert_eq!(
        plain.paths(),
        Vec::<String>::new(),
        "the plain server was asked"
    );
}

#[test]
fn https_sites_are_checked_against_the_ca_file_or_the_system_trust_store() {
    let ca = TestCa::new();
    let server = Server::start(Some(ca.server_config()), |path| match path {
        "index.toml" => Answer::ok(INDEX),
        _ => Answer::status("404 Not Found", b""),
    });
    let base = server.url("https");
    let dir = tempfile::tempdir().expect("temp dir");
    let trusted = FetchOptions {
        ca_cert: Some(ca.write(dir.path())),
        ..quick()
    };
    assert_eq!(
        fetcher(&base, &trusted)
            .get("index.toml", 1024)
            .expect("trusted"),
        INDEX
    );

    // Without a CA file: the system's trust store, which has never heard of this CA.
    let error = fetcher(&base, &quick())
        .get("index.toml", 1024)
        .expect_err("untrusted");
    assert!(matches!(error, FetchError::Tls { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{base}index.toml: TLS: "))
            && message.contains("invalid peer certificate: UnknownIssuer (no trusted CA issued"),
        "{message}"
    );

    // Another CA: exactly the CAs in the file are trusted.
    let other_dir = tempfile::tempdir().expect("temp dir");
    let other = FetchOptions {
        ca_cert: Some(TestCa::new().write(other_dir.path())),
        ..quick()
    };
    let error = fetcher(&base, &other)
        .get("index.toml", 1024)
        .expect_err("another CA");
    assert!(matches!(error, FetchError::Tls { .. }), "{error}");

    // Plain HTTP answered to a TLS hello.
    let plain = Server::http(|_| Answer::ok(INDEX));
    let error = fetcher(&plain.url("https"), &quick())
        .get("index.toml", 1024)
        .expect_err("not TLS");
    assert!(matches!(error, FetchError::Tls { .. }), "{error}");
    assert!(
        error.to_string().contains("the server does not speak TLS"),
        "{error}"
    );

    // A CA file that holds no certificate is refused up front.
    let bad = dir.path().join("not-a-ca.pem");
    std::fs::write(&bad, "just text\n").expect("write");
    let location = RegistryLocation::parse(&base).expect("parses");
    let error = Fetcher::new(
        location.clone(),
        &FetchOptions {
            ca_cert: Some(bad.clone()),
            ..quick()
        },
    )
    .expect_err("no certificate");
    assert_eq!(
        error.to_string(),
        format!(
            "CA file {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
            bad.display()
        )
    );
    let missing = dir.path().join("missing.pem");
    let error = Fetcher::new(
        location,
        &FetchOptions {
            ca_cert: Some(missing.clone()),
            ..quick()
        },
    )
    .expect_err("missing");
    assert!(
        error
            .to_string()
            .starts_with(&format!("CA file {}: ", missing.display())),
        "{error}"
    );
}

#[test]
fn an_unreachable_site_is_an_error_that_says_so() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let base = format!("http://127.0.0.1:{port}/");
    let error = fetcher(&base, &quick())
        .get("index.toml", 1024)
        .expect_err("nobody listens");
    assert!(matches!(error, FetchError::Connect { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        format!("{base}index.toml: connection refused")
    );
}

#[test]
fn a_directory_registry_reads_files_within_the_registry() {
    let outside = tempfile::tempdir().expect("temp dir");
    let root = outside.path().join("registry");
    let version = root.join("plugins/platform/k8s/1.0.0");
    std::fs::create_dir_all(&version).expect("mkdir");
    std::fs::write(root.join("index.toml"), INDEX).expect("write");
    std::fs::write(version.join("k8s.wasm"), [7u8; 1000]).expect("write");
    std::fs::write(outside.path().join("secret"), "outside").expect("write");

    let location = RegistryLocation::parse(root.to_str().expect("utf-8")).expect("parses");
    assert!(matches!(location, RegistryLocation::Dir(_)));
    assert_eq!(
        location.key(),
        std::fs::canonicalize(&root)
            .expect("canonical")
            .to_string_lossy()
    );
    let fetch = Fetcher::new(location, &FetchOptions::default()).expect("a fetcher");
    assert_eq!(fetch.get("index.toml", 1024).expect("the index"), INDEX);
    let wasm = "plugins/platform/k8s/1.0.0/k8s.wasm";
    assert_eq!(fetch.get_exact(wasm, 1000).expect("exact").len(), 1000);

    let error = fetch.get("../secret", 1024).expect_err("outside");
    assert!(matches!(error, FetchError::Path { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "registry {}: refusing to read `../secret`: the path has a `..` segment",
            root.display()
        )
    );
    for bad in ["/etc/passwd", "plugins//k8s.wasm", "plugins\\x", ""] {
        assert!(
            matches!(fetch.get(bad, 1024), Err(FetchError::Path { .. })),
            "{bad}"
        );
    }

    let error = fetch
        .get("plugins/missing.toml", 1024)
        .expect_err("missing");
    assert_eq!(
        error.to_string(),
        format!("{}: not found", root.join("plugins/missing.toml").display())
    );
    let error = fetch.get("index.toml/x", 1024).expect_err("under a file");
    assert!(matches!(error, FetchError::NotFound { .. }), "{error}");

    let error = fetch.get(wasm, 999).expect_err("too large");
    assert_eq!(
        error.to_string(),
        format!(
            "{}: too large: more than 999 bytes",
            version.join("k8s.wasm").display()
        )
    );
    let error = fetch.get_exact(wasm, 1001).expect_err("short");
    assert!(
        matches!(
            error,
            FetchError::Truncated {
                got: 1000,
                expected: 1001,
                ..
            }
        ),
        "{error}"
    );
    let error = fetch.get("plugins", 1024).expect_err("a directory");
    assert!(
        error.to_string().ends_with(": not a regular file"),
        "{error}"
    );

    let missing = outside.path().join("no-registry");
    let error = Fetcher::new(
        RegistryLocation::Dir(missing.clone()),
        &FetchOptions::default(),
    )
    .expect_err("no such directory");
    assert_eq!(
        error.to_string(),
        format!("registry `{}`: no such directory", missing.display())
    );
}

impl TestCa {
    /// Writes the CA certificate to `dir/ca.pem` and returns its path.
    fn write(&self, dir: &Path) -> std::path::PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.ca_pem).expect("write CA");
        path
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(self.leaf_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_pkcs8.clone())),
            )
            .expect("server certificate");
        Arc::new(config)
    }
}
