//! API-key authentication for Rust services.
//!
//! Issue keys, store only their hashes, verify them on every request in well under a microsecond
//! when cached, enforce scopes, IP rules, rate limits and quotas, and manage the keys' whole
//! lifecycle. This crate is a facade: it re-exports [`apikey-core`](apikey_core) and, behind
//! Cargo features, the backends and integrations, so an application depends on one crate and picks
//! what it needs.
//!
//! | feature   | brings                                                                 | default |
//! |-----------|------------------------------------------------------------------------|---------|
//! | `memory`  | [`memory`]: in-process key store, audit log, cache and rate limiter     | no      |
//! | `testkit` | [`testkit`]: conformance suites for your own store, cache or limiter   | no      |
//! | `postgres`| [`sql`]: `PgKeyStore` (sqlx), migrations                               | no      |
//! | `mysql`   | [`sql`]: `MySqlKeyStore` (sqlx, MySQL and MariaDB), migrations         | no      |
//! | `sqlite`  | [`sql`]: `SqliteKeyStore` (sqlx), migrations                           | no      |
//!
//! Storage on diesel and MongoDB, Redis, and the axum, actix-web, tonic and async-graphql
//! integrations arrive as their crates land; see the repository README for the status of each.
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
//! use apikey::{ApiKeys, Credential, NewKey, Peppers, RequestContext, Scope, SystemClock, TenantScope};
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
//! keys.manager().revoke(&TenantScope::All, created.record.id, Some("rotated out".into()), None).await?;
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

/// SQL storage on sqlx (features `postgres`, `mysql`, `sqlite`).
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
pub mod sql {
    pub use apikey_sqlx::*;
}

/// Conformance suites (feature `testkit`).
#[cfg(feature = "testkit")]
pub mod testkit {
    pub use apikey_testkit::*;
}
