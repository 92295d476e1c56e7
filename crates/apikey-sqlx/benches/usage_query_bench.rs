//! Usage analytics queries on PostgreSQL over a month of hourly data for 10,000 keys (7.2
//! million hour rows, ten tenants of 1,000 keys, their tenant totals and the days): p50 and p99
//! of a key's month by hour, an owner's (50 keys) month by hour, a tenant's and every tenant's
//! month by hour, the top 10 keys of a tenant by day, and the top 10 of every tenant by day.
//!
//! ```sh
//! APIKEY_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo bench -p apikey-sqlx --features postgres --bench usage_query_bench
//! ```
//!
//! Run by hand, never in CI. The rows are written with `generate_series` in SQL (through the
//! flusher's upserts the seeding alone would take many minutes); the queries are the store's
//! own, through `AnalyticsStore`. The bench makes its own database and drops it.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::str::FromStr;
use std::time::{Duration, Instant};

use apikey_core::analytics::{
    AnalyticsStore, Ranking, Resolution, SeriesQuery, TopQuery, UsageRange, UsageSubject,
};
use apikey_core::{KeyId, TenantId, TenantScope};
use apikey_sqlx::SqlxPostgresStore;
use apikey_sqlx::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use apikey_sqlx::sqlx::{self, ConnectOptions, Executor, Row};
use chrono::{DateTime, TimeDelta, Utc};

type Boxed = Box<dyn std::error::Error>;

const KEYS: i64 = 10_000;
const TENANTS: i64 = 10;
const HOURS: i64 = 30 * 24;
const RUNS: usize = 200;

/// The seed: every key has a row in every hour of the month (counts vary by key and hour), in
/// tenant `t<key % 10>`; the tenant totals and the day rows are summed from them in SQL.
const SEED: &str = "
INSERT INTO apikey_usage_buckets
SELECT 1, 0, k.id, $1::timestamptz + make_interval(hours => h::int), 't' || (k.n % 10),
       (k.n + h) % 50, (k.n * h) % 3, 0, 0, (h % 7 = 0)::int, 0, 0, 0, (k.n + h) % 50
FROM (SELECT n, (lpad(to_hex(n), 8, '0') || '-0000-7000-8000-000000000000')::uuid AS id
      FROM generate_series(0, $2 - 1) n) k,
     generate_series(0, $3 - 1) h;
INSERT INTO apikey_usage_buckets
SELECT 1, 1, '00000000-0000-0000-0000-000000000000', bucket, tenant_key,
       sum(success), sum(scope), sum(ip), sum(state), sum(rate_limited), sum(quota),
       sum(unavailable), sum(invalid), sum(cost)
FROM apikey_usage_buckets WHERE resolution = 1 AND kind = 0 GROUP BY bucket, tenant_key;
INSERT INTO apikey_usage_buckets
SELECT 2, kind, key_id, date_trunc('day', bucket, 'UTC'), tenant_key,
       sum(success), sum(scope), sum(ip), sum(state), sum(rate_limited), sum(quota),
       sum(unavailable), sum(invalid), sum(cost)
FROM apikey_usage_buckets WHERE resolution = 1
GROUP BY kind, key_id, date_trunc('day', bucket, 'UTC'), tenant_key;
ANALYZE apikey_usage_buckets;
";

fn key(n: i64) -> KeyId {
    format!("{n:08x}-0000-7000-8000-000000000000")
        .parse()
        .expect("a key id")
}

fn quantiles(mut d: Vec<Duration>) -> (Duration, Duration) {
    d.sort();
    let at = |q: f64| d[((d.len() as f64 * q) as usize).min(d.len() - 1)];
    (at(0.50), at(0.99))
}

async fn time<F, Fut>(
    label: &str,
    rows: impl Fn(&Fut::Output) -> usize,
    run: F,
) -> Result<(), Boxed>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future,
{
    let mut took = Vec::with_capacity(RUNS);
    let mut n = 0;
    for i in 0..RUNS {
        let start = Instant::now();
        let out = run(i).await;
        took.push(start.elapsed());
        n = rows(&out);
    }
    let (p50, p99) = quantiles(took);
    println!(
        "{label:<44} p50 {:>7.2} ms  p99 {:>7.2} ms  ({n} rows out)",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Boxed> {
    let url = std::env::var("APIKEY_TEST_POSTGRES_URL").map_err(
        |_| "set APIKEY_TEST_POSTGRES_URL, e.g. postgres://postgres@127.0.0.1:5432/postgres",
    )?;
    let admin = PgConnectOptions::from_str(&url)?;
    let db = format!("apikey_usage_bench_{}", std::process::id());
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

    let since: DateTime<Utc> = "2026-11-01T00:00:00Z".parse()?;
    let start = Instant::now();
    let mut seed = pool.acquire().await?;
    for stmt in SEED.split(";\n").filter(|s| !s.trim().is_empty()) {
        let q = sqlx::query(stmt);
        let q = if stmt.contains("$1") {
            q.bind(since).bind(KEYS).bind(HOURS)
        } else {
            q
        };
        q.execute(&mut *seed).await?;
    }
    drop(seed);
    let rows: i64 = sqlx::query("SELECT count(*) AS n FROM apikey_usage_buckets")
        .fetch_one(&pool)
        .await?
        .get("n");
    println!(
        "seeded {rows} rows ({KEYS} keys x {HOURS} hours, totals and days) in {:.1} s",
        start.elapsed().as_secs_f64()
    );

    let month = UsageRange {
        since,
        until: since + TimeDelta::hours(HOURS),
    };
    let all = &TenantScope::All;
    let series = |subject: UsageSubject, resolution: Resolution| SeriesQuery {
        subject,
        resolution,
        range: month,
    };
    let s = &store;
    time("a key's month by hour", Vec::len, |i| {
        let q = series(
            UsageSubject::Key(key((i as i64 * 37) % KEYS)),
            Resolution::Hour,
        );
        async move { s.usage_series(all, &q).await.expect("series") }
    })
    .await?;
    time("an owner's month by hour (50 keys)", Vec::len, |i| {
        let first = (i as i64 * 50) % KEYS;
        let keys = (first..first + 50).map(|n| key(n % KEYS)).collect();
        let q = series(UsageSubject::Keys(keys), Resolution::Hour);
        async move { s.usage_series(all, &q).await.expect("series") }
    })
    .await?;
    time("a tenant's month by hour (1,000 keys)", Vec::len, |i| {
        let t =
            TenantScope::Tenant(TenantId::new(format!("t{}", i as i64 % TENANTS)).expect("tenant"));
        let q = series(UsageSubject::Scope, Resolution::Hour);
        async move { s.usage_series(&t, &q).await.expect("series") }
    })
    .await?;
    time(
        "every tenant's month by hour (10,000 keys)",
        Vec::len,
        |_| {
            let q = series(UsageSubject::Scope, Resolution::Hour);
            async move { s.usage_series(all, &q).await.expect("series") }
        },
    )
    .await?;
    let top = |resolution| TopQuery {
        by: Ranking::Requests,
        resolution,
        range: month,
        limit: 10,
    };
    time(
        "a tenant's top 10 keys of the month by day",
        Vec::len,
        |i| {
            let t = TenantScope::Tenant(
                TenantId::new(format!("t{}", i as i64 % TENANTS)).expect("tenant"),
            );
            let q = top(Resolution::Day);
            async move { s.top_keys(&t, &q).await.expect("top") }
        },
    )
    .await?;
    time(
        "every tenant's top 10 keys of the month by day",
        Vec::len,
        |_| {
            let q = top(Resolution::Day);
            async move { s.top_keys(all, &q).await.expect("top") }
        },
    )
    .await?;
    pool.close().await;
    conn.execute(format!("DROP DATABASE {db} WITH (FORCE)").as_str())
        .await?;
    Ok(())
}
