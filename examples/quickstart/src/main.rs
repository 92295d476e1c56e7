//! Quick start: an axum service whose API keys live in a SQLite file.
//!
//! ```sh
//! cargo run -p quickstart            # first start prints a demo key once; keep it
//! KEY=sk_live_...                    # the printed key
//! curl -i http://127.0.0.1:3000/open
//! curl -i http://127.0.0.1:3000/projects                                  # 401
//! curl -i -H "x-api-key: $KEY" http://127.0.0.1:3000/projects             # 200
//! curl -i -H "Authorization: Bearer $KEY" http://127.0.0.1:3000/projects  # 200
//! curl -i -X POST -H "x-api-key: $KEY" http://127.0.0.1:3000/projects     # 403: no projects:write
//! ```
//!
//! Settings (environment): `QUICKSTART_DB` (default `quickstart.db`), `QUICKSTART_ADDR` (default
//! `127.0.0.1:3000`), `QUICKSTART_WORKERS` (tokio worker threads, default: one per core). The
//! HMAC pepper is created on first start in `<db>.pepper` (mode 0600); without it the stored keys
//! no longer verify. The demo key holds `projects:read` only and may make 100 requests a minute.
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use apikey_axum::{ApiKeyLayer, Verified, require_scopes};
use apikey_core::{ApiKeys, NewKey, Peppers, Rate, SystemClock};
use apikey_memory::MemoryLimiter;
use apikey_sqlx::SqliteKeyStore;
use apikey_sqlx::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use axum::Router;
use axum::handler::Handler;
use axum::routing::get;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn list(key: Verified) -> String {
    format!("projects visible to {}\n", key.record().name)
}

async fn create(key: Verified) -> String {
    format!("project created by {}\n", key.record().name)
}

/// Reads the pepper, or creates it on first start.
fn pepper(path: &PathBuf) -> Result<Peppers, BoxError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut b = vec![0u8; 32];
            getrandom::fill(&mut b).map_err(|e| format!("random source: {e}"))?;
            write_private(path, &b)?;
            b
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Peppers::single("qs1", bytes)?)
}

#[cfg(unix)]
fn write_private(path: &PathBuf, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &PathBuf, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = std::env::var("QUICKSTART_WORKERS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        b.worker_threads(n);
    }
    b.enable_all().build()
}

fn main() -> Result<(), BoxError> {
    runtime()?.block_on(serve())
}

async fn serve() -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let db =
        PathBuf::from(std::env::var("QUICKSTART_DB").unwrap_or_else(|_| "quickstart.db".into()));
    let addr: SocketAddr = std::env::var("QUICKSTART_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:3000".into())
        .parse()?;
    let first_start = !db.exists();
    let options = SqliteConnectOptions::new()
        .filename(&db)
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new().connect_with(options).await?;
    let store = SqliteKeyStore::new(pool);
    store.migrate().await?;
    let mut pepper_path = db.clone().into_os_string();
    pepper_path.push(".pepper");
    let keys = ApiKeys::builder(Arc::new(store))
        .peppers(pepper(&PathBuf::from(pepper_path))?)
        .limiter(Arc::new(MemoryLimiter::new(Arc::new(SystemClock))))
        .build()?;

    if first_start {
        let demo = NewKey::new("demo")
            .scopes(["projects:read"])?
            .rate_limit(Rate::new(100, Duration::from_secs(60))?);
        let created = keys.manager().create(demo).await?;
        println!(
            "Demo API key (shown once, keep it): {}",
            created.token.expose()
        );
    }

    let app = Router::new()
        .route(
            "/projects",
            get(list.layer(require_scopes(["projects:read"])))
                .post(create.layer(require_scopes(["projects:write"]))),
        )
        .layer(ApiKeyLayer::new(keys.verifier().clone()).endpoint_limits(true))
        .route("/open", get(|| async { "open to everyone\n" }));

    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{addr}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(apikey_core::shutdown_signal())
    .await?;
    // Usage is written behind; what the last seconds counted is still in memory.
    keys.shutdown(apikey_core::SHUTDOWN_DEADLINE).await;
    Ok(())
}
