//! A quick-start process stopped with SIGTERM (what `docker stop` and Kubernetes send) has
//! written every request it counted: the usage held in memory is flushed on graceful shutdown.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apikey_sqlx::sqlx::sqlite::SqlitePoolOptions;

/// Kills the service if the test fails before it stopped it.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// Starts the quick start on a fresh database; returns it and the demo key it printed.
fn start(db: &Path, addr: SocketAddr) -> (Service, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .env("QUICKSTART_DB", db)
        .env("QUICKSTART_ADDR", addr.to_string())
        .env("QUICKSTART_WORKERS", "2")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the quick start");
    let stdout = child.stdout.take().expect("piped stdout");
    let service = Service(child);
    let mut key = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read stdout");
        if let Some(k) = line.split_whitespace().find(|w| w.starts_with("sk_")) {
            key = Some(k.to_owned());
        }
        if line.starts_with("listening on") {
            break;
        }
    }
    (service, key.expect("the first start prints a demo key"))
}

fn get_projects(addr: SocketAddr, key: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET /projects HTTP/1.1\r\nHost: {addr}\r\nx-api-key: {key}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    s.read_to_string(&mut response).expect("response");
    response
}

fn stored_usage(db: &Path) -> Vec<i64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let url = format!("sqlite://{}?mode=ro", db.display());
        let pool = SqlitePoolOptions::new()
            .connect(&url)
            .await
            .expect("open the database");
        apikey_sqlx::sqlx::query_scalar("SELECT usage_count FROM apikey_keys")
            .fetch_all(&pool)
            .await
            .expect("read usage")
    })
}

#[test]
fn sigterm_writes_every_counted_request() {
    const N: i64 = 25;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("quickstart.db");
    let addr = free_addr();
    let (mut service, key) = start(&db, addr);
    for i in 0..N {
        let response = get_projects(addr, &key);
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "request {i}: {response}"
        );
    }

    let pid = service.0.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(sent.success(), "SIGTERM sent");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = service.0.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the service did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "graceful exit, not killed: {status}");
    assert_eq!(stored_usage(&db), [N], "every guarded request was written");
}
