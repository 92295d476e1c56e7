//! The HTTP server that `cargo xtask bench-http` loads: `GET /open` (no key) and `GET /guarded`
//! (scope `projects:read`) on axum or actix-web, over one of four backends.
//!
//! ```sh
//! cargo xtask bench-http        # builds this in release, runs every row, prints the table
//! # or by hand (127.0.0.1 only; the tokens go to the file, one per line, mode 0600):
//! cargo run --release -p bench-server -- --framework axum --backend memory \
//!     --addr 127.0.0.1:8080 --token-file /tmp/bench-token
//! curl -H "x-api-key: $(head -1 /tmp/bench-token)" http://127.0.0.1:8080/guarded
//! ```
//!
//! `--guard bearer|governor` (axum only) puts a peer's guard on `/guarded` instead of ours:
//! tower-http's static bearer token check, or `tower_governor` keyed by the `x-api-key` header
//! (see `peer_app.rs`). The backend still creates the keys, so the tokens are the same.
//!
//! Backends: `memory` (`MemoryStore` + `MemoryLimiter`, the cache warm after the first request),
//! `redis` (`MemoryStore` + `RedisLimiter` on `APIKEY_TEST_REDIS_URL`, one script call per
//! request; needs the default `redis` feature), `redis-lease` (the same limiter with local leases,
//! `LeaseConfig::default()`: most decisions make no round trip) and `postgres-cold` (`SqlxPostgresStore` in a fresh
//! database on `APIKEY_TEST_POSTGRES_URL`, `cache_ttl` zero so every request reads the store;
//! the database is dropped on exit). Every key has a rate limit it never reaches, so each guarded
//! request also makes one limiter decision (`--no-rate-limit` leaves it out, for comparison).
//!
//! The server runs `--workers` worker threads (default 1), stops on SIGTERM or Ctrl-C, and in any
//! case after `--max-secs` (default 900), so a crashed driver never leaves it running.

mod actix_app;
mod axum_app;
mod backend;
mod peer_app;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which web framework serves the routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Framework {
    /// axum on a multi-thread tokio runtime with `--workers` workers.
    Axum,
    /// actix-web with `--workers` workers.
    Actix,
}

/// Where keys live and which limiter decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Backend {
    /// `MemoryStore` + `MemoryLimiter`.
    Memory,
    /// `MemoryStore` + `RedisLimiter`.
    Redis,
    /// `MemoryStore` + `RedisLimiter` with local leases (`LeaseConfig::default()`).
    RedisLease,
    /// `SqlxPostgresStore` with the verifier cache off + `MemoryLimiter`.
    PostgresCold,
}

/// Which guard protects `/guarded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Guard {
    /// Ours: `ApiKeyLayer` (axum) or `ApiKeyAuth` (actix-web), requiring `projects:read`.
    Apikey,
    /// Peer, axum only: tower-http's `ValidateRequestHeaderLayer::bearer` with the first token
    /// (send it as `Authorization: Bearer …`).
    Bearer,
    /// Peer, axum only: `tower_governor` keyed by the `x-api-key` header, rate-limit headers on.
    Governor,
}

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "bench-server",
    about = "Load-test target for cargo xtask bench-http"
)]
pub(crate) struct Args {
    /// The web framework.
    #[arg(long, value_enum, default_value_t = Framework::Axum)]
    pub(crate) framework: Framework,
    /// The backend.
    #[arg(long, value_enum, default_value_t = Backend::Memory)]
    pub(crate) backend: Backend,
    /// Listen address (loopback only).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) addr: SocketAddr,
    /// Where to write the tokens (one per line, created with mode 0600).
    #[arg(long)]
    pub(crate) token_file: PathBuf,
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    pub(crate) workers: usize,
    /// How many keys to create (all with scope `projects:read`).
    #[arg(long, default_value_t = 1)]
    pub(crate) keys: usize,
    /// Create keys without a rate limit (no limiter decision, no `RateLimit` headers).
    #[arg(long)]
    pub(crate) no_rate_limit: bool,
    /// Admitted responses without `RateLimit` / `RateLimit-Policy` fields (429s still carry them).
    #[arg(long)]
    pub(crate) no_rate_limit_fields: bool,
    /// The guard on `/guarded` (peers run on axum only).
    #[arg(long, value_enum, default_value_t = Guard::Apikey)]
    pub(crate) guard: Guard,
    /// Log every request (mode full) to a fresh PostgreSQL database on `APIKEY_TEST_POSTGRES_URL`
    /// through the guard's request log; at exit, print its counts (`request-log: queued=…`).
    #[arg(long)]
    pub(crate) request_log: bool,
    /// Exit after this many seconds whatever happens.
    #[arg(long, default_value_t = 900)]
    pub(crate) max_secs: u64,
}

fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    if !args.addr.ip().is_loopback() {
        return Err(format!("refusing to listen on {}: loopback only", args.addr).into());
    }
    if args.workers == 0 || args.keys == 0 {
        return Err("--workers and --keys must be at least 1".into());
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    if args.guard != Guard::Apikey && args.framework != Framework::Axum {
        return Err("the peer guards (--guard bearer|governor) run on axum only".into());
    }
    match args.framework {
        Framework::Axum => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(args.workers)
                .enable_all()
                .build()?;
            match args.guard {
                Guard::Apikey => rt.block_on(axum_app::serve(&args)),
                peer => rt.block_on(peer_app::serve(&args, peer)),
            }
        }
        Framework::Actix => actix_web::rt::System::new().block_on(actix_app::serve(&args)),
    }
}

/// Resolves when the server should stop: SIGTERM, Ctrl-C, or `max` elapsed.
pub(crate) async fn stop_signal(max: Duration) {
    tokio::select! {
        () = apikey_core::shutdown_signal() => {}
        () = tokio::time::sleep(max) => tracing::warn!("--max-secs reached; stopping"),
    }
}
