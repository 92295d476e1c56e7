//! The bench server's process for `cargo xtask bench-http`: a private directory for its token
//! file, starting it, the readiness probe (which also checks that the guard guards), its CPU time,
//! and stopping it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::wrk::Header;
use crate::{Outcome, run_output};

/// A running bench server, stopped (SIGTERM, then SIGKILL) when dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
}

impl Server {
    pub(crate) fn stop(&mut self) -> Outcome {
        if self.child.try_wait().ok().flatten().is_some() {
            return Ok(());
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!("bench-server exited with {status}"))
                };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Err("bench-server did not stop within 20 s of SIGTERM; killed".to_owned())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Waits until the server answers: `/open` 200, `/guarded` 401 without a key and 200 with one.
pub(crate) fn wait_ready(
    server: &mut Server,
    addr: SocketAddr,
    token_file: &Path,
    header: Header,
) -> Outcome {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(format!(
                "bench-server exited ({status}) before it was ready"
            ));
        }
        if let Ok(tokens) = std::fs::read_to_string(token_file)
            && let Some(token) = tokens.lines().next()
            && let Ok(open) = status(addr, "/open", None)
        {
            let anonymous = status(addr, "/guarded", None)?;
            let keyed = status(addr, "/guarded", Some((header, token)))?;
            // Peers refuse differently (tower_governor answers 500 when its key is missing); what
            // matters is that the guarded route refuses without a key and serves with one.
            return match (open, anonymous, keyed) {
                (200, refused, 200) if !(200..300).contains(&refused) => Ok(()),
                got => Err(format!(
                    "unexpected statuses (open, guarded without key, with key) = {got:?}; \
                     want (200, a refusal, 200)"
                )),
            };
        }
        if Instant::now() > deadline {
            return Err("bench-server not ready after 180 s".to_owned());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The status code of one `GET path` over a fresh connection.
fn status(addr: SocketAddr, path: &str, token: Option<(Header, &str)>) -> Result<u16, String> {
    let io = |e: std::io::Error| format!("GET {path}: {e}");
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(io)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(io)?;
    let key = match token {
        None => String::new(),
        Some((Header::ApiKey, t)) => format!("x-api-key: {t}\r\n"),
        Some((Header::Bearer, t)) => format!("authorization: Bearer {t}\r\n"),
    };
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{key}Connection: close\r\n\r\n"
    )
    .map_err(io)?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).map_err(io)?;
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("GET {path}: not an HTTP/1.1 status line"))
}

/// A port on 127.0.0.1 that was free a moment ago.
pub(crate) fn free_port() -> Result<SocketAddr, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))
}

/// User + system CPU time of process `pid` in clock ticks (every thread).
pub(crate) fn cpu_ticks(pid: u32) -> Result<u64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("cannot read /proc/{pid}/stat: {e}"))?;
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the line; `fields[0]` is field 3 (the state).
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    match (field(11), field(12)) {
        (Some(user), Some(system)) => Ok(user + system),
        _ => Err(format!("cannot parse /proc/{pid}/stat")),
    }
}

pub(crate) fn clock_ticks_per_second() -> f64 {
    let mut cmd = Command::new("getconf");
    cmd.arg("CLK_TCK");
    run_output(cmd)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// A private temporary directory (mode 0700), removed with everything in it when dropped.
pub(crate) struct TempDir {
    pub(crate) path: PathBuf,
}

impl TempDir {
    pub(crate) fn new() -> Result<Self, String> {
        let path = std::env::temp_dir().join(format!("apikey-bench-http-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(Self { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
