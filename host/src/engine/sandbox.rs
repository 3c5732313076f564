//! The per-run store state: a WASI context with nothing in it but a granted data directory,
//! resource caps and the plugin log.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};
use wasmtime_wasi::{FsPerms, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use super::DataDir;
use super::bindings::palisade::policy::host::Host;
use super::bindings::palisade::policy::types::LogLevel;

/// Everything one plugin run can touch.
pub(crate) struct Sandbox {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: Limiter,
    pub(crate) log: Arc<Mutex<PluginLog>>,
}

impl Sandbox {
    /// A deny-all sandbox: no files, no environment, no arguments, no network; fixed clocks and
    /// randomness so equal inputs give equal findings; stdout and stderr go to the capped log.
    ///
    /// With `data_dir`, that one directory is preopened read-only at `/data/<name>`: wasmtime
    /// holds it as an open directory and resolves every path beneath it itself (cap-std), so
    /// neither `..` nor a symlink leads out, and nothing in it can be created, written, renamed
    /// or deleted. Fails only when that directory cannot be opened.
    pub(crate) fn new(
        memory_bytes: usize,
        log_bytes: usize,
        data_dir: Option<&DataDir>,
    ) -> Result<Sandbox, String> {
        let log = Arc::new(Mutex::new(PluginLog::new(log_bytes)));
        let mut builder = WasiCtx::builder();
        builder
            .stdout(LogStream {
                log: log.clone(),
                stream: "stdout",
            })
            .stderr(LogStream {
                log: log.clone(),
                stream: "stderr",
            })
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .secure_random(wasmtime_wasi::Deterministic::new(vec![
                0x5a, 0xa5, 0x3c, 0xc3,
            ]))
            .insecure_random(wasmtime_wasi::Deterministic::new(vec![0x42, 0x24]))
            .insecure_random_seed(0)
            .wall_clock(FixedWallClock)
            .monotonic_clock(SteppingClock::default());
        if let Some(dir) = data_dir {
            // Runs are synchronous: file reads may block this thread instead of hopping to a
            // blocking pool. Set before the preopen, which takes the setting with it.
            builder.allow_blocking_current_thread(true);
            builder
                .preopened_dir(&dir.host_path, dir.guest_path(), FsPerms::ReadOnly)
                .map_err(|e| format!("{e:#}"))?;
        }
        Ok(Sandbox {
            wasi: builder.build(),
            table: ResourceTable::new(),
            limiter: Limiter {
                memory_bytes,
                exceeded: None,
            },
            log,
        })
    }
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl super::bindings::palisade::policy::types::Host for Sandbox {}

impl Host for Sandbox {
    fn log(&mut self, level: LogLevel, message: String) {
        let level = match level {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        };
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(level, &message);
    }
}

/// The lines a plugin wrote during one run, capped in size.
#[derive(Debug, Default)]
pub struct PluginLog {
    /// `(level, line)` pairs in the order written; `stdout`/`stderr` are levels of their own.
    pub lines: Vec<(&'static str, String)>,
    /// Bytes dropped after the cap was reached.
    pub dropped_bytes: u64,
    bytes: usize,
    cap: usize,
    /// A partial stdout/stderr line waiting for its newline.
    pending: Vec<(&'static str, Vec<u8>)>,
}

impl PluginLog {
    fn new(cap: usize) -> PluginLog {
        PluginLog {
            cap,
            ..PluginLog::default()
        }
    }

    fn push(&mut self, level: &'static str, message: &str) {
        if self.bytes + message.len() > self.cap {
            self.dropped_bytes += message.len() as u64;
            return;
        }
        self.bytes += message.len();
        self.lines.push((level, message.to_string()));
    }

    fn write_stream(&mut self, stream: &'static str, bytes: &[u8]) {
        let room = self.cap.saturating_sub(self.bytes);
        let (kept, dropped) = bytes.split_at(bytes.len().min(room));
        self.dropped_bytes += dropped.len() as u64;
        self.bytes += kept.len();
        let buffer = match self.pending.iter().position(|(s, _)| *s == stream) {
            Some(i) => &mut self.pending[i].1,
            None => {
                self.pending.push((stream, Vec::new()));
                &mut self.pending.last_mut().expect("just pushed").1
            }
        };
        buffer.extend_from_slice(kept);
        let mut complete = Vec::new();
        while let Some(newline) = buffer.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=newline).collect();
            complete.push(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned());
        }
        self.lines.extend(complete.into_iter().map(|l| (stream, l)));
    }

    /// Moves unterminated stdout/stderr output into `lines`.
    pub(crate) fn finish(&mut self) {
        for (stream, bytes) in std::mem::take(&mut self.pending) {
            if !bytes.is_empty() {
                self.lines
                    .push((stream, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
}

/// A plugin's stdout or stderr: appended to its log, silently truncated at the cap so a chatty
/// plugin cannot exhaust host memory and does not fail because of it.
struct LogStream {
    log: Arc<Mutex<PluginLog>>,
    stream: &'static str,
}

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(LogStream {
            log: self.log.clone(),
            stream: self.stream,
        })
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(LogStream {
            log: self.log.clone(),
            stream: self.stream,
        })
    }
}

/// The largest single write a plugin is offered; it can always write again.
const WRITE_PERMIT: usize = 64 * 1024;

#[wasmtime_wasi::async_trait]
impl OutputStream for LogStream {
    fn write(&mut self, bytes: bytes::Bytes) -> Result<(), StreamError> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write_stream(self.stream, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(WRITE_PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogStream {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for LogStream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write_stream(self.stream, buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// The wall clock a plugin sees: always 2000-01-01T00:00:00Z, so findings cannot depend on
/// when the scan ran.
struct FixedWallClock;

impl HostWallClock for FixedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::from_secs(946_684_800)
    }
}

/// A monotonic clock that advances one microsecond per reading: deterministic, yet a plugin
/// measuring elapsed time still sees time pass.
#[derive(Default)]
struct SteppingClock {
    ticks: std::sync::atomic::AtomicU64,
}

impl HostMonotonicClock for SteppingClock {
    fn resolution(&self) -> u64 {
        1_000
    }

    fn now(&self) -> u64 {
        1_000
            * self
                .ticks
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

/// Caps a run's linear memory and tables; remembers a cap hit so the error can say so.
pub(crate) struct Limiter {
    memory_bytes: usize,
    pub(crate) exceeded: Option<usize>,
}

/// Tables hold function references; a few hundred thousand entries is far beyond any real plugin.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.exceeded = Some(desired);
            return Err(wasmtime::Error::msg(format!(
                "memory limit of {} MiB exceeded (wanted {} MiB)",
                self.memory_bytes >> 20,
                desired >> 20
            )));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            return Err(wasmtime::Error::msg(format!(
                "table limit of {MAX_TABLE_ELEMENTS} elements exceeded"
            )));
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_output_is_split_into_lines_and_capped() {
        let mut log = PluginLog::new(16);
        log.write_stream("stdout", b"hello\nwor");
        log.write_stream("stdout", b"ld\n0123456789");
        log.finish();
        assert_eq!(
            log.lines,
            vec![
                ("stdout", "hello".to_string()),
                ("stdout", "world".to_string()),
                ("stdout", "0123".to_string())
            ]
        );
        assert_eq!(log.dropped_bytes, 6);
    }
}
