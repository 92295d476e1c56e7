//! Verification against PostgreSQL: statements per cold verification and latency, cold and warm,
//! with a raw point query and a `SELECT 1` round trip measured in the same run as baselines.
//!
//! ```sh
//! APIKEY_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo bench -p apikey-sqlx --features postgres --bench pg_verify_bench
//! ```
//!
//! Statements are counted on the client: every statement sqlx executes emits one `sqlx::query`
//! tracing event, which a counting layer tallies. The bench makes its own database and drops it.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apikey_core::{ApiKeys, Credential, NewKey, Peppers, RequestContext, VerifierConfig};
use apikey_sqlx::SqlxPostgresStore;
use apikey_sqlx::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use apikey_sqlx::sqlx::{self, ConnectOptions, Connection, Executor};
use apikey_testkit::bench::{next, report};
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

const KEYS: usize = 1_000;
const COLD: usize = 3_000;
const WARM: usize = 50_000;

/// Counts statements sqlx executes.
struct CountStatements(Arc<AtomicU64>);

impl<S: Subscriber> Layer<S> for CountStatements {
    fn on_event(&self, _event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("APIKEY_TEST_POSTGRES_URL").map_err(
        |_| "set APIKEY_TEST_POSTGRES_URL, e.g. postgres://postgres@127.0.0.1:5432/postgres",
    )?;
    let statements = Arc::new(AtomicU64::new(0));
    tracing_subscriber::registry()
        .with(
            CountStatements(statements.clone())
                .with_filter(Targets::new().with_target("sqlx::query", tracing::Level::TRACE)),
        )
        .init();

    let admin = PgConnectOptions::from_str(&url)?;
    let db = format!("apikey_bench_{}", std::process::id());
    let mut conn = admin.connect().await?;
    conn.execute(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)").as_str())
        .await?;
    conn.execute(format!("CREATE DATABASE {db}").as_str())
        .await?;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(admin.clone().database(&db))
        .await?;
    let store = SqlxPostgresStore::new(pool.clone());
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
        t["sk_live_".len().."sk_live_".len() + 12].to_owned()
    };
    println!(
        "PostgreSQL at {}, {KEYS} keys, HMAC-SHA-256, one worker thread",
        admin.get_host()
    );

    // Baselines: one round trip, and the point query a verification issues.
    let mut ping = Vec::with_capacity(COLD);
    let mut point = Vec::with_capacity(COLD);
    for _ in 0..COLD {
        let t = Instant::now();
        sqlx::query("SELECT 1").execute(&pool).await?;
        ping.push(t.elapsed());
        let t = Instant::now();
        sqlx::query("SELECT * FROM apikey_keys WHERE lookup_id = $1")
            .bind(&lookup)
            .fetch_optional(&pool)
            .await?;
        point.push(t.elapsed());
    }
    println!("{:<42} {:>17} {:>19} {:>8}", "", "", "", "× SELECT 1");
    let base = report("baseline: SELECT 1 round trip", ping, None);
    report("baseline: point query by lookup id", point, Some(base));

    let ctx = RequestContext::new();
    let mut rng = 0x9E37_79B9_7F4A_7C15_u64;
    let before = statements.load(Ordering::Relaxed);
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
    let per = (statements.load(Ordering::Relaxed) - before) as f64 / COLD as f64;
    report("verify, cold (cache miss every time)", samples, Some(base));
    println!("  statements per cold verification: {per:.3}");

    for token in &tokens {
        warm.verifier()
            .verify(Credential::new(token.expose()), &ctx)
            .await
            .map_err(|r| format!("rejected: {r}"))?;
    }
    let before = statements.load(Ordering::Relaxed);
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
    let per = (statements.load(Ordering::Relaxed) - before) as f64 / WARM as f64;
    report("verify, warm (cache hit)", samples, Some(base));
    println!("  statements per warm verification: {per:.3}");

    pool.close().await;
    conn.execute(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)").as_str())
        .await?;
    conn.close().await?;
    Ok(())
}
