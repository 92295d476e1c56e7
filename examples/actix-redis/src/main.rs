//! An actix-web service for several instances behind a load balancer: keys in PostgreSQL
//! (`SqlxPostgresStore`), rate limits shared in Redis (`RedisLimiter`), Redis as the second-level cache,
//! and revocations fanned out to every instance over Redis pub/sub (`RevocationListener`).
//!
//! ```sh
//! export DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
//! export REDIS_URL=redis://127.0.0.1:6379
//! export APIKEY_PEPPER="v1=$(openssl rand -base64 32)"   # keep it: keys need it to verify
//! cargo run -p actix-redis -- --create-demo-key   # prints a demo key once; keep it
//! KEY=sk_live_...                                   # the printed key
//! curl -i http://127.0.0.1:3001/open
//! curl -i http://127.0.0.1:3001/projects                                 # 401
//! curl -i -H "x-api-key: $KEY" http://127.0.0.1:3001/projects            # 200, RateLimit headers
//! curl -i -X POST -H "x-api-key: $KEY" http://127.0.0.1:3001/projects    # 403: no projects:write
//! apikey --redis-url "$REDIS_URL" instances                             # every running instance
//! apikey --database-url "$DATABASE_URL" --redis-url "$REDIS_URL" revoke ID --confirm
//!                                  # returns once every instance has stopped accepting the key
//! ```
//!
//! Settings (environment): `DATABASE_URL` and `REDIS_URL` (defaults above), `APIKEY_PEPPER` (the
//! HMAC peppers, `id=base64secret[,…]` with the first current, read exactly as the `apikey` CLI
//! reads it, so `apikey --database-url "$DATABASE_URL" list` manages these keys; without it the
//! service refuses to start, unless `APIKEY_EPHEMERAL_PEPPER_KEYS_DIE_AT_EXIT=1` asks for a random
//! pepper whose keys stop verifying at exit), `APIKEY_REDIS_PREFIX` (default `apikey`) and
//! `APIKEY_CACHE_TTL` (default `60s`), which the CLI's `--redis-prefix`/`--cache-ttl` must match
//! for its changes to reach this service at once, `ACTIX_REDIS_ADDR` (default `127.0.0.1:3001`).
//! Tables are created by `migrate()` at start. If Redis is unreachable, each instance keeps counting in process with half of every rate
//! (`FailurePolicy::LocalFallback`), and quotas fail closed.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer};
use apikey_actix::ApiKeyAuth;
use apikey_core::{ApiKeys, NewKey, PepperConfig, Peppers, Rate, SystemClock, VerifierConfig};
use apikey_memory::MemoryLimiter;
use apikey_redis::{KeyPrefix, RedisCache, RedisConnection, RedisLimiter, RevocationListener};
use apikey_sqlx::SqlxPostgresStore;
use apikey_sqlx::sqlx::postgres::PgPoolOptions;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// `APIKEY_PEPPER` as the `apikey` CLI reads it (one library loader), so the CLI manages this
/// service's keys with the same environment. No pepper stops the start, before any connection and
/// with the loader's message as written, unless the loudly named ephemeral switch asks for a
/// random one.
fn peppers() -> Peppers {
    match PepperConfig::from_env().load() {
        Ok(loaded) => loaded.peppers,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}

#[actix_web::main]
async fn main() -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr: SocketAddr = env_or("ACTIX_REDIS_ADDR", "127.0.0.1:3001").parse()?;
    let database = env_or(
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );
    let redis = env_or("REDIS_URL", "redis://127.0.0.1:6379");
    let prefix = KeyPrefix::new(&env_or("APIKEY_REDIS_PREFIX", "apikey"))?;
    let cache_ttl = humantime::parse_duration(&env_or("APIKEY_CACHE_TTL", "60s"))?;
    let peppers = peppers();

    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(2))
        .connect(&database)
        .await?;
    let store = SqlxPostgresStore::new(pool);
    store.migrate().await?;

    let conn = RedisConnection::connect(&redis).await?;
    let limiter = RedisLimiter::new(conn.clone())
        .with_prefix(prefix.clone())
        .with_local_fallback(0.5, Arc::new(MemoryLimiter::new(Arc::new(SystemClock))))?
        .with_call_budget(Duration::from_millis(50));
    let cache = RedisCache::new(conn.clone(), &peppers).with_prefix(prefix);
    let keys = ApiKeys::builder(Arc::new(store))
        .peppers(peppers)
        .config(VerifierConfig {
            cache_ttl,
            ..VerifierConfig::default()
        })
        .limiter(Arc::new(limiter))
        .shared_cache(Arc::new(cache.clone()))
        .build()?;
    // Revocations made on any instance reach this one's in-process cache, and `apikey revoke
    // --confirm` waits for this instance's acknowledgement; kept alive until exit.
    let listener = RevocationListener::builder(&conn, &cache, keys.verifier().clone())
        .name(format!("actix-redis {addr} pid {}", std::process::id()))
        .spawn()?;

    if std::env::args().any(|a| a == "--create-demo-key") {
        let demo = NewKey::new("demo")
            .scopes(["projects:read"])?
            .rate_limit(Rate::new(100, Duration::from_secs(60))?);
        let created = keys.manager().create(demo).await?;
        println!(
            "Demo API key (shown once, keep it): {}",
            created.token.expose()
        );
    }

    // Every route declares its scopes (or public): src/lib.rs, checked by tests/routes.rs.
    let routes =
        actix_redis::routes(ApiKeyAuth::new(keys.verifier().clone()).endpoint_limits(true));
    routes.table().log();
    println!("listening on http://{addr}");
    HttpServer::new(move || {
        let routes = routes.clone();
        App::new().configure(move |cfg| routes.configure(cfg))
    })
    .bind(addr)?
    .run()
    .await?;
    // Out of the registry at once, so confirmations stop waiting for this instance.
    listener.shutdown().await;
    // actix stops on SIGTERM and Ctrl-C by itself and lets in-flight requests finish; usage is
    // written behind, so what the last seconds counted is still in memory.
    keys.shutdown(apikey_core::SHUTDOWN_DEADLINE).await;
    Ok(())
}
