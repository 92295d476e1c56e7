//! The delivery job as real processes on one real PostgreSQL: three `apikey webhooks run`
//! workers deliver every event exactly once between them; a worker killed with SIGKILL in the
//! middle of a batch loses nothing (the next run delivers the rest, and only what was in flight
//! is sent twice). Needs `APIKEY_TEST_POSTGRES_URL` (`source .ci/services.sh`; CI fails without).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apikey_sqlx::sqlx::{self, Connection as _};
use apikey_testkit::isolated::{service_url, unique_name, with_database};
use common::receiver::{Got, distinct_ids, receiver, slow_receiver};
use common::{PEPPER, apikey};

const KEK: &str = "k1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A fresh PostgreSQL database for one test (dropped at the end).
struct Pg {
    admin: String,
    name: String,
    url: String,
}

impl Pg {
    /// `None` (after a note) without `APIKEY_TEST_POSTGRES_URL`, except in CI, which fails.
    fn fresh() -> Option<Self> {
        let admin = service_url("APIKEY_TEST_POSTGRES_URL", "PostgreSQL")?;
        let name = unique_name();
        block_on(async {
            let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut c)
                .await
                .unwrap();
            c.close().await.unwrap();
        });
        let url = with_database(&admin, &name);
        Some(Self { admin, name, url })
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        block_on(async move {
            if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut c)
                    .await;
                let _ = c.close().await;
            }
        });
    }
}

fn env() -> [(&'static str, &'static str); 2] {
    [("APIKEY_PEPPER", PEPPER), ("APIKEY_KEK", KEK)]
}

fn cli(dir: &Path, db: &Pg, args: &[&str]) -> common::Run {
    let mut all = vec!["--database-url", db.url.as_str()];
    all.extend_from_slice(args);
    apikey(dir, &all, &env())
}

/// A long-running `apikey webhooks run` (the scheduler, under the job's lease).
fn worker(dir: &Path, db: &Pg) -> Child {
    Command::new(env!("CARGO_BIN_EXE_apikey"))
        .current_dir(dir)
        .args(["--database-url", &db.url, "webhooks", "run"])
        .envs(env())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the apikey binary runs")
}

/// A migrated database with one subscription to `got`'s receiver and `n` new keys (n
/// `key.created` events after the subscription).
fn setup(dir: &Path, db: &Pg, addr: std::net::SocketAddr, n: usize) {
    cli(dir, db, &["migrate"]).expect(0);
    let url = format!("http://{addr}/hook");
    cli(
        dir,
        db,
        &[
            "webhooks",
            "create",
            "--url",
            &url,
            "--allow-http",
            "--allow-private-network",
        ],
    )
    .expect(0);
    let mut csv = String::from("name\n");
    for i in 0..n {
        csv.push_str(&format!("k{i}\n"));
    }
    std::fs::write(dir.join("keys.csv"), csv).unwrap();
    cli(dir, db, &["bulk", "create", "keys.csv", "--json"]).expect(0);
}

fn wait_for(got: &Got, n: usize, within: Duration) {
    let start = Instant::now();
    while distinct_ids(got).0 < n && start.elapsed() < within {
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn three_workers_deliver_every_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = Pg::fresh() else { return };
    let (addr, got) = receiver();
    setup(dir.path(), &db, addr, 300);
    let started = Instant::now();
    let mut workers: Vec<Child> = (0..3).map(|_| worker(dir.path(), &db)).collect();
    wait_for(&got, 300, Duration::from_secs(60));
    let took = started.elapsed();
    // A moment more, so a duplicate would have arrived.
    std::thread::sleep(Duration::from_millis(1500));
    for w in &mut workers {
        w.kill().unwrap();
        w.wait().unwrap();
    }
    let (distinct, total) = distinct_ids(&got);
    assert_eq!(distinct, 300, "every event delivered");
    assert_eq!(total, 300, "none twice: no worker died mid-delivery");
    eprintln!("three workers: 300 deliveries in {took:?}");
    let status = cli(
        dir.path(),
        &db,
        &["webhooks", "deliveries", "--limit", "1000", "--json"],
    )
    .expect(0);
    let all = status.json();
    assert_eq!(all.as_array().unwrap().len(), 300);
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|d| d["state"] == "delivered")
    );
}

#[test]
fn a_worker_killed_mid_batch_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = Pg::fresh() else { return };
    let (addr, got) = slow_receiver(Duration::from_millis(100));
    setup(dir.path(), &db, addr, 200);
    let mut w = worker(dir.path(), &db);
    wait_for(&got, 40, Duration::from_secs(60));
    w.kill().unwrap(); // SIGKILL: no shutdown, no lease release, attempts in flight unrecorded
    w.wait().unwrap();
    let (before, _) = distinct_ids(&got);
    assert!(before < 200, "killed mid-run ({before} delivered)");

    let restarted = Instant::now();
    let run = cli(
        dir.path(),
        &db,
        &["webhooks", "run", "--until-idle", "--json"],
    )
    .expect(0);
    let recovery = restarted.elapsed();
    assert_eq!(run.json()["waiting"], 0, "{}", run.stdout);
    let (distinct, total) = distinct_ids(&got);
    assert_eq!(distinct, 200, "every event delivered after the restart");
    assert!(
        total - distinct <= 16,
        "only the attempts in flight (at most the concurrency) were sent twice: {} duplicates",
        total - distinct
    );
    eprintln!(
        "killed after {before} deliveries; {} duplicates; the rest ({}) delivered in {recovery:?} after the restart",
        total - distinct,
        200 - before
    );
}
