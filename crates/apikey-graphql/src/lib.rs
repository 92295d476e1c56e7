//! async-graphql integration for `apikey`.
//!
//! * [`ScopeGuard`]: a guard for resolvers and single fields (`#[graphql(guard = ...)]`) that checks
//!   the key the HTTP integration verified. It never queries storage.
//! * [`GraphQlAuth`]: the HTTP step. It verifies the key **once per HTTP request** with cost = the
//!   number of operations in the batch (one limiter decision before execution) and puts the
//!   outcome into every operation's data. A request without a key runs anonymously: public fields
//!   resolve, guarded ones answer `UNAUTHENTICATED`.
//! * [`axum::graphql_route`] (feature `axum`) and [`actix::graphql_route`] (feature `actix`): the
//!   wiring for axum and actix-web. Each reads the credential from the request headers and the
//!   client address from the socket peer, verifies once per request (or reuses the key an outer
//!   `apikey-axum` / `apikey-actix` layer already verified), executes the batch and answers `400`
//!   for unreadable bodies and batches over [`GraphQlAuth::max_operations`].
//! * Errors carry `extensions.code` — `UNAUTHENTICATED`, `FORBIDDEN`, `RATE_LIMITED` (and
//!   `UNAVAILABLE`) — and never a secret; see [`error`].
//! * Request checks ([`RequestCheck`](apikey_core::http::RequestCheck): signatures, canaries,
//!   credits) run in an enclosing `apikey-axum` / `apikey-actix` layer, once per HTTP request and
//!   before the route reads the (same) body; [`GraphQlAuth`] on its own runs none.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//!
//! use apikey_core::{ApiKeys, NewKey};
//! use apikey_graphql::{GraphQlAuth, ScopeGuard};
//! use apikey_memory::MemoryStore;
//! use async_graphql::{BatchRequest, EmptyMutation, EmptySubscription, Object, Request, Schema};
//!
//! struct Query;
//!
//! #[Object]
//! impl Query {
//!     async fn version(&self) -> &str { "1" }
//!
//!     #[graphql(guard = "ScopeGuard::new([\"projects:read\"])")]
//!     async fn projects(&self) -> Vec<String> { vec!["p-1".into()] }
//! }
//!
//! let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
//!     .random_peppers_keys_die_at_exit() // in memory: keys die with the process anyway
//!     .build()?;
//! let key = keys.manager().create(NewKey::new("ci").scopes(["projects:read"])?).await?;
//! let schema = Schema::build(Query, EmptyMutation, EmptySubscription).limit_depth(8).finish();
//! let auth = GraphQlAuth::new(keys.verifier().clone());
//!
//! // What an HTTP integration does per request: verify once, then execute.
//! let headers = [("x-api-key", key.token.expose())];
//! let batch = BatchRequest::Single(Request::new("{ version projects }"));
//! let batch = auth.authenticate(&apikey_graphql::HeaderList(&headers), None, batch).await;
//! let response = schema.execute_batch(batch).await;
//! assert!(response.is_ok());
//! # Ok(()) }
//! ```

#[cfg(feature = "actix")]
pub mod actix;
mod auth;
#[cfg(feature = "axum")]
pub mod axum;
pub mod error;
mod guard;
mod headers;

pub use auth::{AuthFailure, GraphQlAuth, operation_count};
pub use error::{FORBIDDEN, RATE_LIMITED, UNAUTHENTICATED, UNAVAILABLE};
pub use guard::ScopeGuard;
pub use headers::HeaderList;
