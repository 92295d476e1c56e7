//! actix-web integration for `apikey`: the [`ApiKeyAuth`] middleware verifies the API key of every
//! request it wraps, [`RequireScopes`] adds per-resource scope requirements (with `wrap()`: actix's
//! `Guard` only matches routes and would answer 404), and the [`Verified`] extractor hands the
//! verified key to handlers. Refusals are RFC 9457 problem+json with the standard headers (see
//! [`apikey_core::http`]).
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use actix_web::{App, HttpServer, web};
//! use apikey_actix::{ApiKeyAuth, RequireScopes, Verified};
//! use apikey_core::ApiKeys;
//! use apikey_memory::MemoryStore;
//!
//! async fn projects(key: Verified) -> String {
//!     format!("hello, {}", key.record().name)
//! }
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
//!         .random_peppers_keys_die_at_exit() // in memory: keys die with the process anyway
//!         .build()?;
//!     let auth = ApiKeyAuth::new(keys.verifier().clone()).endpoint_limits(true);
//!     HttpServer::new(move || {
//!         App::new().service(
//!             web::scope("/api").wrap(auth.clone()).service(
//!                 web::resource("/projects")
//!                     .wrap(RequireScopes::new(["projects:read"]))
//!                     .route(web::get().to(projects)),
//!             ),
//!         )
//!     })
//!     .bind(("127.0.0.1", 3000))?
//!     .run()
//!     .await?;
//!     Ok(())
//! }
//! ```
//!
//! # Client address
//!
//! The client address is the socket peer ([`peer_addr`](actix_web::dev::ServiceRequest::peer_addr)),
//! never `realip_remote_addr`, which trusts forwarding headers. `X-Forwarded-For` counts only when
//! the peer is a trusted proxy ([`ApiKeyAuth::trusted_proxies`]). Without a peer address, keys with
//! IP rules are refused (403).
//!
//! # Scopes and budgets
//!
//! [`ApiKeyAuth::require`] checks scopes inside the verification, before any rate limit is
//! charged. [`RequireScopes`] (or a second `ApiKeyAuth` with `require`) inside an outer
//! `ApiKeyAuth` checks the key the outer middleware verified without verifying it again; the outer
//! one has then already charged the key's limits.
//!
//! # Endpoint limits
//!
//! With [`ApiKeyAuth::endpoint_limits`] on, the endpoint is `"{METHOD} {pattern}"` with actix's
//! matched resource pattern (`"GET /projects/{id}"`); requests matching no resource have none.

mod extract;
mod future;
mod middleware;
mod response;
mod scopes;

pub use apikey_core::http::CredentialConfig;
pub use extract::{MissingLayer, Verified};
pub use future::ResponseFuture;
pub use middleware::{ApiKeyAuth, ApiKeyMiddleware};
pub use scopes::{RequireScopes, RequireScopesMiddleware};
