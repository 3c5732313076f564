//! A real static web server (Debian's nginx) on 127.0.0.1, serving one directory over HTTP and,
//! with a test CA's certificate, over HTTPS.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::tls::{TestCa, free_port};

/// A running nginx; stopped when dropped.
pub struct Nginx {
    child: Option<Child>,
    /// Holds the config, logs and temp files.
    _state: tempfile::TempDir,
    /// The plain HTTP port.
    pub http_port: u16,
    /// The HTTPS port, when started with a CA.
    pub https_port: Option<u16>,
}

impl Nginx {
    /// Serves `root` (read-only, no directory listings) on a free port, and over HTTPS on another
    /// when `tls` is given.
    pub fn start(root: &Path, tls: Option<&TestCa>) -> Nginx {
        let state = tempfile::tempdir().expect("nginx state dir");
        let dir = state.path();
        let http_port = free_port();
        let https_port = tls.map(|_| free_port());
        let mut https = String::new();
        if let (Some(ca), Some(port)) = (tls, https_port) {
            std::fs::write(dir.join("leaf.pem"), &ca.leaf_pem).expect("write certificate");
            std::fs::write(dir.join("leaf.key"), &ca.leaf_key_pem).expect("write key");
            https = format!(
                "server {{ listen 127.0.0.1:{port} ssl; root {root}; \
                 ssl_certificate {dir}/leaf.pem; ssl_certificate_key {dir}/leaf.key; }}",
                root = root.display(),
                dir = dir.display(),
            );
        }
        let temp = |name: &str| format!("{name}_temp_path {}/{name};", dir.display());
        let config = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {dir}/nginx.pid;\n\
             error_log {dir}/error.log;\nevents {{ worker_connections 64; }}\n\
             http {{\n access_log off;\n {} {} {} {} {}\n\
             types {{ application/wasm wasm; text/plain toml sig lock; }}\n\
             default_type application/octet-stream;\n\
             server {{ listen 127.0.0.1:{http_port}; root {root}; }}\n {https}\n}}\n",
            temp("client_body"),
            temp("proxy"),
            temp("fastcgi"),
            temp("uwsgi"),
            temp("scgi"),
            dir = dir.display(),
            root = root.display(),
        );
        std::fs::write(dir.join("nginx.conf"), config).expect("write nginx.conf");
        let child = Command::new(nginx_binary())
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nginx starts (Debian's nginx-light; .ci/run installs it)");
        let mut nginx = Nginx {
            child: Some(child),
            _state: state,
            http_port,
            https_port,
        };
        for port in [Some(http_port), https_port].into_iter().flatten() {
            nginx.wait_for(port);
        }
        nginx
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.http_port)
    }

    /// `https://127.0.0.1:PORT/`.
    pub fn https_url(&self) -> String {
        format!(
            "https://127.0.0.1:{}/",
            self.https_port.expect("started with a CA")
        )
    }

    /// Stops the server; its ports refuse connections afterwards.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn wait_for(&mut self, port: u16) {
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().expect("nginx status"))
            {
                let log = std::fs::read_to_string(self._state.path().join("error.log"))
                    .unwrap_or_default();
                panic!("nginx exited ({status}) before listening on {port}: {log}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "nginx did not listen on {port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}

/// nginx is in /usr/sbin, which is not on every user's PATH.
fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("nginx"))
}
