//! The backends of the bench: building `ApiKeys`, creating the keys, writing their tokens to
//! the token file, and dropping the PostgreSQL database afterwards.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::request_log::{RequestLog, RequestLogConfig, RequestLogMode, RequestLogSettings};
use apikey_core::{
    ApiKeys, KeyStore, NewKey, Peppers, Rate, RateLimiter, SystemClock, Token, VerifierConfig,
};
use apikey_memory::{MemoryLimiter, MemoryStore};
use apikey_sqlx::SqlxPostgresStore;
use apikey_sqlx::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use apikey_sqlx::sqlx::{ConnectOptions, Connection, Executor};

use crate::{Args, Backend, BoxError};

/// What a running server holds besides its routes.
#[derive(Debug)]
pub(crate) struct Setup {
    /// The verifier and manager.
    pub(crate) keys: ApiKeys,
    /// A database to drop on exit (postgres-cold only).
    cleanup: Option<PgDatabase>,
    /// The first key's token, for the peer guards' static configuration (a `Token`: no
    /// `Debug` output, zeroed on drop).
    pub(crate) first_token: Option<Token>,
    /// Full request logging into a PostgreSQL database of its own (`--request-log`).
    pub(crate) request_log: Option<RequestLog>,
    /// The request log's database, dropped on exit after its rows are counted.
    log_db: Option<(PgDatabase, apikey_sqlx::sqlx::PgPool)>,
}

/// A database created for this run.
#[derive(Debug)]
struct PgDatabase {
    admin: PgConnectOptions,
    name: String,
}

/// A rate no bench reaches (10⁶/s with a burst of 10⁹): every guarded request still makes one
/// limiter decision.
fn unreachable_rate() -> Result<Rate, BoxError> {
    Ok(Rate::with_burst(
        1_000_000,
        Duration::from_secs(1),
        1_000_000_000,
    )?)
}

fn memory_limiter() -> Arc<dyn RateLimiter> {
    Arc::new(MemoryLimiter::new(Arc::new(SystemClock)))
}

fn env_url(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Builds the backend of `args`, creates `args.keys` keys and writes their tokens to
/// `args.token_file`.
pub(crate) async fn setup(args: &Args) -> Result<Setup, BoxError> {
    let mut cleanup = None;
    let mut config = VerifierConfig::default();
    let (store, limiter): (Arc<dyn KeyStore>, Arc<dyn RateLimiter>) = match args.backend {
        Backend::Memory => (Arc::new(MemoryStore::new()), memory_limiter()),
        Backend::Redis => (Arc::new(MemoryStore::new()), redis_limiter(false).await?),
        Backend::RedisLease => (Arc::new(MemoryStore::new()), redis_limiter(true).await?),
        Backend::PostgresCold => {
            let url = env_url(
                "APIKEY_TEST_POSTGRES_URL",
                "postgres://postgres@127.0.0.1:5432/postgres",
            );
            let db = PgDatabase::create(&url, "apikey_bench_http").await?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .connect_with(db.admin.clone().database(&db.name))
                .await?;
            let store = SqlxPostgresStore::new(pool);
            store.migrate().await?;
            cleanup = Some(db);
            // A fill is already expired (`until_us > now_us` never holds): every request misses
            // the verifier's cache and reads the store.
            config.cache_ttl = Duration::ZERO;
            (Arc::new(store), memory_limiter())
        }
    };
    let keys = ApiKeys::builder(store)
        .peppers(Peppers::random())
        .limiter(limiter)
        .config(config)
        .build()?;
    let mut tokens = String::new();
    let mut first_token = None;
    for i in 0..args.keys {
        let mut new = NewKey::new(format!("bench {i}")).scopes(["projects:read"])?;
        if !args.no_rate_limit {
            new = new.rate_limit(unreachable_rate()?);
        }
        let created = keys.manager().create(new).await?;
        tokens.push_str(created.token.expose());
        tokens.push('\n');
        if i == 0 {
            first_token = Some(created.token);
        }
    }
    write_private(&args.token_file, tokens.as_bytes())?;
    let (request_log, log_db) = if args.request_log {
        let (log, db, pool) = request_log().await?;
        (Some(log), Some((db, pool)))
    } else {
        (None, None)
    };
    Ok(Setup {
        keys,
        cleanup,
        first_token,
        request_log,
        log_db,
    })
}

/// A request log with every request kept (mode full), written to a fresh PostgreSQL database on
/// `APIKEY_TEST_POSTGRES_URL` with the default queue (10,000 records, batches of 500).
async fn request_log() -> Result<(RequestLog, PgDatabase, apikey_sqlx::sqlx::PgPool), BoxError> {
    let url = env_url(
        "APIKEY_TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );
    let db = PgDatabase::create(&url, "apikey_bench_reqlog").await?;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(db.admin.clone().database(&db.name))
        .await?;
    let store = SqlxPostgresStore::new(pool.clone());
    store.migrate().await?;
    let log = RequestLog::spawn(
        Arc::new(store),
        None,
        Arc::new(SystemClock),
        RequestLogConfig::default(),
    )?;
    log.set_default(RequestLogSettings {
        mode: RequestLogMode::Full,
        ..RequestLogSettings::default()
    })?;
    Ok((log, db, pool))
}

#[cfg(feature = "redis")]
async fn redis_limiter(leases: bool) -> Result<Arc<dyn RateLimiter>, BoxError> {
    let url = env_url("APIKEY_TEST_REDIS_URL", "redis://127.0.0.1:6379");
    let conn = apikey_redis::RedisConnection::connect(&url).await?;
    let limiter = apikey_redis::RedisLimiter::new(conn);
    Ok(Arc::new(if leases {
        limiter.with_leases(apikey_redis::LeaseConfig::default())?
    } else {
        limiter
    }))
}

#[cfg(not(feature = "redis"))]
async fn redis_limiter(_leases: bool) -> Result<Arc<dyn RateLimiter>, BoxError> {
    Err("this bench-server was built without the `redis` feature".into())
}

impl Setup {
    /// Flushes usage and drops the run's database, if any; with a request log, drains it and
    /// prints its counts on stdout, where the load script reads them.
    #[allow(clippy::print_stdout)]
    pub(crate) async fn finish(self) -> Result<(), BoxError> {
        self.keys.shutdown(apikey_core::SHUTDOWN_DEADLINE).await;
        if let Some(log) = &self.request_log {
            log.shutdown(Duration::from_secs(30)).await;
            let s = log.stats();
            let rows: i64 = match &self.log_db {
                Some((_, pool)) => {
                    apikey_sqlx::sqlx::query_scalar("SELECT count(*) FROM apikey_requests")
                        .fetch_one(pool)
                        .await?
                }
                None => 0,
            };
            println!(
                "request-log: queued={} written={} dropped={} failed_writes={} lost_at_shutdown={} rows={rows}",
                s.queued, s.written, s.dropped, s.failed_writes, s.lost_at_shutdown
            );
        }
        if let Some((db, pool)) = self.log_db {
            pool.close().await;
            db.drop_database().await?;
        }
        if let Some(db) = self.cleanup {
            drop(self.keys);
            db.drop_database().await?;
        }
        Ok(())
    }
}

impl PgDatabase {
    async fn create(url: &str, prefix: &str) -> Result<Self, BoxError> {
        let admin: PgConnectOptions = url.parse()?;
        let name = format!("{prefix}_{}", std::process::id());
        let mut conn = admin.connect().await?;
        conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await?;
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        conn.close().await?;
        Ok(Self { admin, name })
    }

    async fn drop_database(self) -> Result<(), BoxError> {
        let mut conn = self.admin.connect().await?;
        conn.execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await?;
        conn.close().await?;
        Ok(())
    }
}

/// Writes `bytes` to `path` readable by the owner only: written beside it, then renamed, so a
/// reader never sees a partial file.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = std::path::PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
