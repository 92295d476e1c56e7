//! Revocation across processes: two instances of this service on one PostgreSQL and one Redis, a
//! key verified on both, then revoked by the `apikey` CLI in a third process. With the CLI
//! publishing to the services' Redis, both answer 401 within a second; with Redis unreachable for
//! the CLI, it exits 7 and both still answer 401 within their `cache_ttl`.
//!
//! Needs `APIKEY_TEST_POSTGRES_URL` and `APIKEY_TEST_REDIS_URL` (a failure under `CI=true`, a
//! noted skip elsewhere) and the `apikey` binary beside this crate's (`cargo test --workspace`
//! builds it; alone: `cargo build -p apikey-cli` first).

#![allow(clippy::print_stderr)]

mod common;

use std::time::{Duration, Instant};

use common::{Database, Env, cli, create, service_urls, start, status, until_refused};

const CACHE_TTL: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_revocation_reaches_every_running_instance() {
    let Some((pg, redis)) = service_urls() else {
        return;
    };
    let db = Database::create(&pg).await;
    let env = Env {
        db: db.url.clone(),
        redis: redis.clone(),
        prefix: format!("t{}", uuid::Uuid::new_v4().simple()),
        pepper: "p1=dGhlIHBlcHBlciB0aGVzZSB0ZXN0cyBzaGFyZSwgMzIgYnl0ZXM=".to_owned(),
        cache_ttl: CACHE_TTL,
    };
    // The schema first, so the two instances do not race to create it.
    let out = cli(&env, &redis, &["migrate"]);
    assert!(
        out.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let http = reqwest::Client::new();
    let instances = [start(&env, &http).await, start(&env, &http).await];

    // With fan-out: the CLI publishes the invalidation, both stop within a second.
    let mut published = Vec::new();
    for _ in 0..5 {
        let (id, token) = create(&env);
        for i in &instances {
            assert_eq!(
                status(&http, i, &token).await,
                200,
                "verified and now cached"
            );
        }
        let started = Instant::now();
        let out = cli(&env, &redis, &["revoke", &id, "--reason", "leaked"]);
        assert!(
            out.status.success(),
            "revoke: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let took = until_refused(&http, &instances, &token, started, Duration::from_secs(1)).await;
        published.push(took.into_iter().max().expect("two instances"));
    }
    published.sort();
    eprintln!(
        "CLI revoke -> 401 on both instances, with fan-out (from CLI start, incl. its process): p50 {:?}, max {:?}",
        published[published.len() / 2],
        published[published.len() - 1]
    );

    // Without fan-out: the CLI cannot reach Redis; the change is committed, it exits 7, and both
    // instances refuse once their cache entries expire.
    let (id, token) = create(&env);
    for i in &instances {
        assert_eq!(status(&http, i, &token).await, 200);
    }
    let started = Instant::now();
    let out = cli(&env, "redis://127.0.0.1:1", &["revoke", &id]);
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let took = until_refused(
        &http,
        &instances,
        &token,
        started,
        CACHE_TTL + Duration::from_millis(500),
    )
    .await;
    eprintln!("CLI revoke without fan-out -> 401 on both: {took:?} (cache_ttl {CACHE_TTL:?})");

    drop(instances);
    db.drop_it().await;
}
