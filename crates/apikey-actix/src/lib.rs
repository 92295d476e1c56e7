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
//!
//! # Request checks
//!
//! [`ApiKeyAuth::with_check`] adds a [`RequestCheck`](apikey_core::http::RequestCheck) (request
//! signatures, canary keys, credits, …): after the key has verified, each check says what it
//! wants for this key and request; those that do not skip are called in order with the method,
//! target and headers, and with the payload when they asked for it. The first refusal is answered
//! with its problem+json and the handler is not called.
//!
//! The payload is read only when a check asks for it, up to [`ApiKeyAuth::max_check_body`]
//! (default 1 MiB; a longer one, declared or found while reading, is answered 413), and put back
//! (`ServiceRequest::set_payload`) so the handler's extractors read the same bytes. Without
//! checks, or when every check skips, a request costs what it did before: one branch.
//!
//! ```
//! use apikey_actix::ApiKeyAuth;
//! use apikey_core::Verified;
//! use apikey_core::http::{CheckRejection, RequestCheck, RequestHead, Wants};
//! use actix_web::web::Bytes;
//!
//! /// Keys tagged `read-only` may only read.
//! #[derive(Debug)]
//! struct ReadOnly;
//!
//! #[async_trait::async_trait]
//! impl RequestCheck for ReadOnly {
//!     fn wants(&self, key: &Verified, head: &RequestHead<'_>) -> Wants {
//!         let read_only = key.record().tags.iter().any(|t| t == "read-only");
//!         if read_only && !matches!(head.method(), "GET" | "HEAD") { Wants::Head } else { Wants::Skip }
//!     }
//!
//!     async fn check(&self, _: &Verified, _: &RequestHead<'_>, _: Option<&Bytes>)
//!         -> Result<(), CheckRejection> {
//!         Err(CheckRejection::forbidden("This API key may only read.").with_code("read_only_key"))
//!     }
//! }
//!
//! # fn auth(verifier: apikey_core::Verifier) -> ApiKeyAuth {
//! ApiKeyAuth::new(verifier).with_check(ReadOnly)
//! # }
//! ```

mod check;
mod extract;
mod future;
mod middleware;
mod response;
pub mod routes;
mod scopes;

pub use apikey_core::http::CredentialConfig;
pub use extract::{MissingLayer, Verified};
pub use future::ResponseFuture;
pub use middleware::{ApiKeyAuth, ApiKeyMiddleware};
pub use routes::Routes;
pub use scopes::{RequireScopes, RequireScopesMiddleware};
