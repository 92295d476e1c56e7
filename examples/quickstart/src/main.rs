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
//! curl -s http://127.0.0.1:3000/openapi.json                              # the scopes of each operation
//! ```
//!
//! Settings (environment): `QUICKSTART_DB` (default `quickstart.db`), `QUICKSTART_ADDR` (default
//! `127.0.0.1:3000`), `QUICKSTART_WORKERS` (tokio worker threads, default: one per core). The
//! HMAC pepper comes from `APIKEY_PEPPER` or the file `<db>.pepper` (mode 0600, readable by you
//! only, or the start is refused), created on the first start only: once the database holds keys a
//! missing pepper file stops the start, since a new pepper would invalidate them. Every later start
//! prints the `apikey` CLI line that makes another key; the CLI reads the same pepper file. The
//! demo key holds `projects:read` only and may make 100 requests a minute.
//!
//! Keys made with `apikey create --signing required` (or `instead-of-token`) must sign their
//! requests (RFC 9421; `apikey-reqwest` signs for you): their signing secrets are sealed under
//! `APIKEY_KEK` or the file `<db>.kek`, made beside the database on the first start.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use apikey_axum::ApiKeyLayer;
use apikey_core::secret_box::KekConfig;
use apikey_core::signing::MemoryNonces;
use apikey_core::{
    ApiKeys, KeyFilter, KeyStore, NewKey, PepperConfig, Rate, SecretBox, SystemClock, TenantScope,
};
use apikey_memory::MemoryLimiter;
use apikey_sqlx::SqlxSqliteStore;
use apikey_sqlx::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The CLI line that makes another key in this database (with the pepper file beside it).
fn cli_create_line(db: &Path) -> String {
    format!(
        "cargo run -p apikey-cli -- --database-url sqlite://{} create --name demo --scopes projects:read",
        db.display()
    )
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

fn main() -> ExitCode {
    // A refused start (a lost pepper file, say) prints its message as written, not Debug output.
    match runtime()
        .map_err(BoxError::from)
        .and_then(|rt| rt.block_on(serve()))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
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
    let options = SqliteConnectOptions::new()
        .filename(&db)
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new().connect_with(options).await?;
    let store = Arc::new(SqlxSqliteStore::new(pool));
    store.migrate().await?;
    let probe = KeyFilter {
        limit: 1,
        ..KeyFilter::default()
    };
    let first_start = store
        .query(&TenantScope::All, &probe)
        .await?
        .items
        .is_empty();
    // APIKEY_PEPPER, else `<db>.pepper`, made here only while the database holds no key.
    let peppers = PepperConfig::from_env()
        .beside_sqlite(&db)
        .create_file_if_no_keys(true)
        .load_or_create(store.as_ref())
        .await?
        .peppers;
    // APIKEY_KEK, else `<db>.kek` (made now if missing): it seals request-signing secrets, so
    // keys made with `apikey create --signing …` are checked here.
    let (keks, _) = KekConfig::from_env().load_beside(&db, true)?;
    let keys = ApiKeys::builder(store)
        .peppers(peppers)
        .limiter(Arc::new(MemoryLimiter::new(Arc::new(SystemClock))))
        .secret_box(SecretBox::new(keks))
        .build()?;
    // One instance: nonces in memory (RedisNonces when several instances share the keys).
    let signatures = keys.signature_check(Arc::new(MemoryNonces::default()))?;

    if first_start {
        let demo = NewKey::new("demo")
            .scopes(["projects:read"])?
            .rate_limit(Rate::new(100, Duration::from_secs(60))?);
        let created = keys.manager().create(demo).await?;
        println!(
            "Demo API key (shown once, keep it): {}",
            created.token.expose()
        );
    } else {
        println!(
            "The demo key was printed on the first start only. To get a key again:\n  {}",
            cli_create_line(&db)
        );
    }

    // Every route declares its scopes (or public): src/lib.rs, checked by tests/routes.rs.
    let routes = quickstart::routes(
        ApiKeyLayer::new(keys.verifier().clone())
            .endpoint_limits(true)
            .with_check(signatures),
    );
    routes.table().log();
    let doc = quickstart::openapi(&routes)?.to_pretty_json()?;
    let app = routes.into_router().with_state(Arc::<str>::from(doc));

    let listener = tokio::net::TcpListener::bind(addr).await?;
    // The bound address: with port 0 the system picked one.
    println!("listening on http://{}", listener.local_addr()?);
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
