//! Bulk creation against single creations, on SQLite (a file, WAL) and PostgreSQL, in one run:
//! 10,000 keys with `KeyManager::bulk_create` (per-row mode: chunks of 500 inserted in one
//! transaction each) and 10,000 with a loop of `create` (one transaction per key).
//!
//! ```sh
//! APIKEY_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo bench -p apikey-sqlx --features postgres,sqlite --bench bulk_create_bench
//! ```
//!
//! Run by hand, never in CI. The bench makes its own databases and drops them.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apikey_core::{ApiKeys, BulkOptions, Change, KeyStore, NewKey, Peppers, VerifierConfig};
use apikey_sqlx::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use apikey_sqlx::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use apikey_sqlx::sqlx::{ConnectOptions, Executor};
use apikey_sqlx::{SqlxPostgresStore, SqlxSqliteStore};

const KEYS: usize = 10_000;

type Boxed = Box<dyn std::error::Error>;

fn rows(prefix: &str) -> Vec<NewKey> {
    (0..KEYS)
        .map(|i| {
            NewKey::new(format!("{prefix} {i}"))
                .owner(format!("owner-{}", i % 100))
                .tags(["bulk"])
                .scopes(["projects:read"])
                .expect("scopes")
        })
        .collect()
}

fn keys(store: Arc<dyn KeyStore>) -> Result<ApiKeys, Boxed> {
    let peppers = Peppers::single("bench", b"a benchmark pepper of enough length".to_vec())?;
    Ok(ApiKeys::builder(store)
        .peppers(peppers)
        .config(VerifierConfig {
            usage_flush_interval: Duration::from_secs(3600),
            ..VerifierConfig::default()
        })
        .build()?)
}

/// Times a bulk creation and a loop of single creations of [`KEYS`] keys each; prints keys/s.
async fn measure(backend: &str, keys: &ApiKeys) -> Result<(), Boxed> {
    let m = keys.manager();
    let start = Instant::now();
    let out = m
        .bulk_create(rows("bulk"), &BulkOptions::default(), Change::by("bench"))
        .await?;
    let bulk = start.elapsed();
    assert_eq!(out.created(), KEYS, "every row created");
    drop(out);

    let start = Instant::now();
    for new in rows("single") {
        m.create(new).await?;
    }
    let single = start.elapsed();
    let rate = |d: Duration| KEYS as f64 / d.as_secs_f64();
    println!(
        "{backend:<10} bulk_create {KEYS}: {:>8.2} s {:>9.0} keys/s | loop of create: {:>8.2} s {:>9.0} keys/s | bulk is {:.1}x",
        bulk.as_secs_f64(),
        rate(bulk),
        single.as_secs_f64(),
        rate(single),
        single.as_secs_f64() / bulk.as_secs_f64()
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Boxed> {
    let dir = std::env::temp_dir().join(format!("apikey-bulk-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let opts = SqliteConnectOptions::new()
        .filename(dir.join("bench.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await?;
    let sqlite = SqlxSqliteStore::new(pool);
    sqlite.migrate().await?;
    measure("SQLite", &keys(Arc::new(sqlite))?).await?;
    std::fs::remove_dir_all(&dir)?;

    let url = std::env::var("APIKEY_TEST_POSTGRES_URL").map_err(
        |_| "set APIKEY_TEST_POSTGRES_URL, e.g. postgres://postgres@127.0.0.1:5432/postgres",
    )?;
    let admin = PgConnectOptions::from_str(&url)?;
    let db = format!("apikey_bulk_bench_{}", std::process::id());
    let mut conn = admin.connect().await?;
    conn.execute(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)").as_str())
        .await?;
    conn.execute(format!("CREATE DATABASE {db}").as_str())
        .await?;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(admin.clone().database(&db))
        .await?;
    let pg = SqlxPostgresStore::new(pool.clone());
    pg.migrate().await?;
    measure("PostgreSQL", &keys(Arc::new(pg))?).await?;
    pool.close().await;
    conn.execute(format!("DROP DATABASE {db} WITH (FORCE)").as_str())
        .await?;
    Ok(())
}
