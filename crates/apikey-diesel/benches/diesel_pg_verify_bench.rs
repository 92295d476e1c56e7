//! Verification against PostgreSQL through `apikey-diesel`: statements per cold verification and
//! latency, cold and warm, with a `SELECT 1` round trip and the store's point query measured in
//! the same run as baselines.
//!
//! ```sh
//! APIKEY_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo bench -p apikey-diesel --features postgres --bench diesel_pg_verify_bench
//! ```
//!
//! Statements are counted on the client with diesel's `Instrumentation` API: a default
//! instrumentation (installed before any connection opens, so every pooled connection carries
//! it) counts `StartQuery` events — one per statement diesel-async sends (`BENCH_TRACE=1` prints
//! them). The pool is diesel-async's deadpool with `RecyclingMethod::Fast` (no query on
//! checkout); one more cold run uses diesel-async's default, `RecyclingMethod::Verified`, which
//! sends `SELECT 1` on every checkout.
//! The bench makes its own database and drops it.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apikey_core::{
    ApiKeys, Credential, KeyStore, LookupId, NewKey, Peppers, RequestContext, VerifierConfig,
};
use apikey_diesel::DieselPostgresStore;
use apikey_diesel::diesel;
use apikey_diesel::diesel::connection::{
    Instrumentation, InstrumentationEvent, set_default_instrumentation,
};
use apikey_diesel::diesel_async::pooled_connection::deadpool::Pool;
use apikey_diesel::diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use apikey_diesel::diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use apikey_testkit::bench::{next, report};

const KEYS: usize = 1_000;
const COLD: usize = 3_000;
const WARM: usize = 50_000;

/// Statements started on any connection.
static STATEMENTS: AtomicU64 = AtomicU64::new(0);

/// Counts `StartQuery` events.
struct CountStatements;

impl Instrumentation for CountStatements {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            STATEMENTS.fetch_add(1, Ordering::Relaxed);
            if std::env::var_os("BENCH_TRACE").is_some() {
                eprintln!(
                    "statement: {}",
                    query.to_string().chars().take(80).collect::<String>()
                );
            }
        }
    }
}

fn counting() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(CountStatements))
}

/// `url` with its database replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let host_end = url[scheme_end..]
        .find('/')
        .map_or(url.len(), |i| scheme_end + i);
    format!("{}/{db}", &url[..host_end])
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("APIKEY_TEST_POSTGRES_URL").map_err(
        |_| "set APIKEY_TEST_POSTGRES_URL, e.g. postgres://postgres@127.0.0.1:5432/postgres",
    )?;
    set_default_instrumentation(counting)?;

    let db = format!("apikey_diesel_bench_{}", std::process::id());
    let mut admin = AsyncPgConnection::establish(&url).await?;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await?;
    let db_url = with_database(&url, &db);
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(&db_url, config);
    let pool = Pool::builder(manager).max_size(4).build()?;
    // diesel-async's default recycling (`Verified`) pings on every checkout.
    let verified = Pool::builder(AsyncDieselConnectionManager::<AsyncPgConnection>::new(
        &db_url,
    ))
    .max_size(4)
    .build()?;
    let store = DieselPostgresStore::new(pool.clone());
    store.migrate().await?;

    let peppers = Peppers::single("bench", b"a benchmark pepper of enough length".to_vec())?;
    let quiet = VerifierConfig {
        usage_flush_interval: Duration::from_secs(3600),
        ..Default::default()
    };
    let cold = ApiKeys::builder(Arc::new(store.clone()))
        .peppers(peppers.clone())
        .config(VerifierConfig {
            cache_ttl: Duration::ZERO,
            ..quiet.clone()
        })
        .build()?;
    let warm = ApiKeys::builder(Arc::new(store.clone()))
        .peppers(peppers)
        .config(quiet)
        .build()?;

    let mut tokens = Vec::with_capacity(KEYS);
    for i in 0..KEYS {
        let new = NewKey::new(format!("bench {i}"))
            .scopes(["projects:read"])?
            .tags(["bench"]);
        tokens.push(cold.manager().create(new).await?.token);
    }
    let lookup = {
        let t = tokens[0].expose();
        LookupId::parse(&t["sk_live_".len().."sk_live_".len() + 12])?
    };
    println!("PostgreSQL via diesel-async, {KEYS} keys, HMAC-SHA-256, one worker thread");

    // Baselines: one round trip, and the point query a verification issues.
    let mut ping = Vec::with_capacity(COLD);
    let mut point = Vec::with_capacity(COLD);
    for _ in 0..COLD {
        let t = Instant::now();
        let mut conn = pool.get().await?;
        apikey_diesel::diesel_async::RunQueryDsl::execute(diesel::sql_query("SELECT 1"), &mut conn)
            .await?;
        drop(conn);
        ping.push(t.elapsed());
        let t = Instant::now();
        store.find_by_lookup_id(&lookup).await?;
        point.push(t.elapsed());
    }
    println!("{:<42} {:>17} {:>19} {:>8}", "", "", "", "× SELECT 1");
    let base = report("baseline: SELECT 1 round trip", ping, None);
    report(
        "baseline: store point query by lookup id",
        point,
        Some(base),
    );

    let ctx = RequestContext::new();
    let mut rng = 0x9E37_79B9_7F4A_7C15_u64;
    let before = STATEMENTS.load(Ordering::Relaxed);
    let mut samples = Vec::with_capacity(COLD);
    for _ in 0..COLD {
        let token = tokens[next(&mut rng, KEYS)].expose();
        let t = Instant::now();
        cold.verifier()
            .verify(Credential::new(token), &ctx)
            .await
            .map_err(|r| format!("rejected: {r}"))?;
        samples.push(t.elapsed());
    }
    let per = (STATEMENTS.load(Ordering::Relaxed) - before) as f64 / COLD as f64;
    report("verify, cold (cache miss every time)", samples, Some(base));
    println!("  statements per cold verification: {per:.3}");

    let cold_verified = ApiKeys::builder(Arc::new(DieselPostgresStore::new(verified.clone())))
        .peppers(Peppers::single(
            "bench",
            b"a benchmark pepper of enough length".to_vec(),
        )?)
        .config(VerifierConfig {
            cache_ttl: Duration::ZERO,
            usage_flush_interval: Duration::from_secs(3600),
            ..Default::default()
        })
        .build()?;
    let before = STATEMENTS.load(Ordering::Relaxed);
    let mut samples = Vec::with_capacity(COLD);
    for _ in 0..COLD {
        let token = tokens[next(&mut rng, KEYS)].expose();
        let t = Instant::now();
        cold_verified
            .verifier()
            .verify(Credential::new(token), &ctx)
            .await
            .map_err(|r| format!("rejected: {r}"))?;
        samples.push(t.elapsed());
    }
    let per = (STATEMENTS.load(Ordering::Relaxed) - before) as f64 / COLD as f64;
    report(
        "verify, cold, pool RecyclingMethod::Verified",
        samples,
        Some(base),
    );
    println!("  statements per cold verification: {per:.3}");
    drop(cold_verified);
    verified.close();

    for token in &tokens {
        warm.verifier()
            .verify(Credential::new(token.expose()), &ctx)
            .await
            .map_err(|r| format!("rejected: {r}"))?;
    }
    let before = STATEMENTS.load(Ordering::Relaxed);
    let mut samples = Vec::with_capacity(WARM);
    for _ in 0..WARM {
        let token = tokens[next(&mut rng, KEYS)].expose();
        let t = Instant::now();
        warm.verifier()
            .verify(Credential::new(token), &ctx)
            .await
            .map_err(|r| format!("rejected: {r}"))?;
        samples.push(t.elapsed());
    }
    let per = (STATEMENTS.load(Ordering::Relaxed) - before) as f64 / WARM as f64;
    report("verify, warm (cache hit)", samples, Some(base));
    println!("  statements per warm verification: {per:.3}");

    drop((cold, warm, store));
    pool.close();
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await?;
    Ok(())
}
