//! API-key authentication for Rust services.
//!
//! Issue keys, store only their hashes, verify them on every request in well under a microsecond
//! when cached, enforce scopes, IP rules, rate limits and quotas, and manage the keys' whole
//! lifecycle. This crate is a facade: it re-exports [`apikey-core`](apikey_core) and, behind
//! Cargo features, the backends and integrations, so an application depends on one crate and picks
//! what it needs.
//!
//! Pick the crates you need as features of this one dependency, for example
//! `apikey = { version = "0.1", features = ["postgres", "redis", "axum"] }`:
//!
//! | feature | module | brings |
//! |---|---|---|
//! | (always) | the crate root | [`apikey-core`](apikey_core): tokens, hashing, [`Verifier`], [`KeyManager`], traits |
//! | `memory` | `memory` | in-process key store, audit log, cache and rate limiter |
//! | `sqlite`, `postgres`, `mysql` | `sqlx` | `SqlxSqliteStore`, `SqlxPostgresStore`, `SqlxMySqlStore` (sqlx, MariaDB too), migrations |
//! | `diesel-sqlite`, `diesel-postgres`, `diesel-mysql` | `diesel` | the same storage on diesel-async |
//! | `mongodb` (`mongodb-srv` for `mongodb+srv://`) | `mongodb` | storage on MongoDB, atomic without transactions |
//! | `redis` | `redis` | one-round-trip limits and quotas, shared cache, revocation fan-out |
//! | `axum` | `axum` | tower layer, extractors, per-route scopes, RFC 9457 answers |
//! | `actix` | `actix` | actix-web middleware, extractors, per-resource scopes |
//! | `tonic` | `tonic` | gRPC layer with per-method scopes, client interceptor |
//! | `graphql` | `graphql` | async-graphql scope guards; with `axum` or `actix`, their GraphQL routes |
//! | `reqwest` | `reqwest` | the client side: a reqwest-middleware middleware that sends the key and signs requests |
//! | `testkit` | `testkit` | conformance suites for your own store, cache or limiter |
//!
//! No feature is on by default: the core alone has no I/O client. Each module re-exports its
//! crate whole, so its documentation is that crate's.
//!
//! # Example
//!
//! Create a key, verify it on a request, revoke it, and see the next verification fail
//! (`cargo run -p apikey --example quickstart --features memory` runs the same code):
//!
//! ```
//! # #[cfg(feature = "memory")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> apikey::Result<()> {
//! use std::sync::Arc;
//!
//! use apikey::memory::{MemoryLimiter, MemoryStore};
//! use apikey::{ApiKeys, Change, Credential, NewKey, Peppers, RequestContext, Scope, SystemClock, TenantScope};
//!
//! // In production the pepper comes from your secret store, e.g. `Peppers::from_spec(&env)`.
//! let pepper = Peppers::single("v1", b"an example pepper, 16+ bytes".to_vec())?;
//! let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
//!     .peppers(pepper)
//!     .limiter(Arc::new(MemoryLimiter::new(Arc::new(SystemClock))))
//!     .build()?;
//!
//! // The token is returned exactly once; only its hash is stored.
//! let created = keys.manager().create(NewKey::new("billing").scopes(["invoices:read"])?).await?;
//! let token = created.token.expose();
//!
//! // On each request: the credential, the client address and what the route requires.
//! let required = [Scope::new("invoices:read")?];
//! let ctx = RequestContext::new().scopes(&required);
//! let verified = keys.verifier().verify(Credential::new(token), &ctx).await.expect("valid key");
//! assert_eq!(verified.key_id(), created.record.id);
//!
//! // Revocation takes effect on the very next verification.
//! keys.manager().revoke(&TenantScope::All, created.record.id, Change::new().because("rotated out")).await?;
//! let rejected = keys.verifier().verify(Credential::new(token), &ctx).await.unwrap_err();
//! assert_eq!(rejected.status(), 401);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "memory"))]
//! # fn main() {}
//! ```

pub use apikey_core::*;

/// In-process backends (feature `memory`).
#[cfg(feature = "memory")]
pub mod memory {
    pub use apikey_memory::*;
}

/// SQL storage on sqlx (features `sqlite`, `postgres`, `mysql`).
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
pub mod sqlx {
    pub use apikey_sqlx::*;
}

/// The former name of [`sqlx`](mod@crate::sqlx).
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
#[deprecated(
    since = "0.1.0",
    note = "renamed to `apikey::sqlx`, after the crate it exposes"
)]
pub mod sql {
    pub use apikey_sqlx::*;
}

/// SQL storage on diesel-async (features `diesel-sqlite`, `diesel-postgres`, `diesel-mysql`).
#[cfg(any(
    feature = "diesel-postgres",
    feature = "diesel-mysql",
    feature = "diesel-sqlite"
))]
pub mod diesel {
    pub use apikey_diesel::*;
}

/// Storage on MongoDB (feature `mongodb`).
#[cfg(feature = "mongodb")]
pub mod mongodb {
    pub use apikey_mongodb::*;
}

/// Redis limiter, shared cache and revocation fan-out (feature `redis`).
#[cfg(feature = "redis")]
pub mod redis {
    pub use apikey_redis::*;
}

/// The axum integration (feature `axum`).
#[cfg(feature = "axum")]
pub mod axum {
    pub use apikey_axum::*;
}

/// The actix-web integration (feature `actix`).
#[cfg(feature = "actix")]
pub mod actix {
    pub use apikey_actix::*;
}

/// The tonic (gRPC) integration (feature `tonic`).
#[cfg(feature = "tonic")]
pub mod tonic {
    pub use apikey_tonic::*;
}

/// The async-graphql integration (feature `graphql`).
#[cfg(feature = "graphql")]
pub mod graphql {
    pub use apikey_graphql::*;
}

/// Signed webhooks delivered from the audit log (feature `webhooks`).
#[cfg(feature = "webhooks")]
pub mod webhooks {
    pub use apikey_webhooks::*;
}

/// Usage reports as CSV and PDF with charts (feature `reports`).
#[cfg(feature = "reports")]
pub mod reports {
    pub use apikey_reports::*;
}

/// OpenAPI security schemes and per-operation scopes from the route table (feature `openapi`).
#[cfg(feature = "openapi")]
pub mod openapi {
    pub use apikey_openapi::*;
}

/// The client side: attach a key and sign requests (feature `reqwest`).
#[cfg(feature = "reqwest")]
pub mod reqwest {
    pub use apikey_reqwest::*;
}

/// Conformance suites (feature `testkit`).
#[cfg(feature = "testkit")]
pub mod testkit {
    pub use apikey_testkit::*;
}
