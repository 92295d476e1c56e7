//! axum integration for `apikey`: one [`ApiKeyLayer`] verifies the API key of every request it
//! wraps, [`require_scopes`] adds per-route scope requirements, and the [`Verified`] extractor hands
//! the verified key to handlers. Refusals are RFC 9457 problem+json with the standard headers
//! (see [`apikey_core::http`]).
//!
//! ```no_run
//! use std::net::SocketAddr;
//! use std::sync::Arc;
//!
//! use apikey_axum::{ApiKeyLayer, Verified, require_scopes};
//! use apikey_core::ApiKeys;
//! use apikey_memory::MemoryStore;
//! use axum::{Router, routing::get};
//!
//! async fn projects(key: Verified) -> String {
//!     format!("hello, {}", key.record().name)
//! }
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
//!     .random_peppers_keys_die_at_exit() // in memory: keys die with the process anyway
//!     .build()?;
//! let app = Router::new()
//!     .route("/projects", get(projects).layer(require_scopes(["projects:read"])))
//!     .layer(ApiKeyLayer::new(keys.verifier().clone()).endpoint_limits(true))
//!     .route("/open", get(|| async { "no key needed" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! // Connect info gives the layer the socket peer, which IP rules need: without it a key with
//! // IP rules is refused.
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//! # Ok(()) }
//! ```
//!
//! # Client address
//!
//! The client address is the socket peer from [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo)
//! (serve with `into_make_service_with_connect_info::<SocketAddr>()`), passed with every
//! `X-Forwarded-For` line through [`apikey_core::ClientIpResolver`]: forwarding headers count only
//! when the peer is a configured trusted proxy ([`ApiKeyLayer::trusted_proxies`]). Without connect
//! info there is no address, and keys with IP rules are refused (403).
//!
//! # Scopes and budgets
//!
//! [`ApiKeyLayer::require`] checks scopes inside the verification, before any rate limit is
//! charged. [`require_scopes`] (or a second `ApiKeyLayer` with `require`) on a route under an outer
//! `ApiKeyLayer` checks the key the outer layer verified without verifying it again; the outer
//! layer has then already charged the key's limits.
//!
//! # Endpoint limits
//!
//! With [`ApiKeyLayer::endpoint_limits`] on, the endpoint is `"{METHOD} {route}"` where the route is
//! axum's [`MatchedPath`](axum::extract::MatchedPath) (`"GET /projects/{id}"`); it is known when the
//! layer is added with `Router::layer`/`route_layer` or on a route, not around the whole router
//! from outside.
//!
//! # Request checks
//!
//! [`ApiKeyLayer::with_check`] adds a [`RequestCheck`](apikey_core::http::RequestCheck) (request
//! signatures, canary keys, credits, …): after the key has verified, each check says what it
//! wants for this key and request; those that do not skip are called in order with the method,
//! target and headers, and with the body when they asked for it. The first refusal is answered
//! with its problem+json and the handler is not called.
//!
//! A body is buffered only when a check asks for it, up to [`ApiKeyLayer::max_check_body`]
//! (default 1 MiB; a longer one, declared or found while reading, is answered 413), and the
//! handler receives the same bytes (`Body::from(bytes)`; trailers are not kept). Without checks,
//! or when every check skips, a request costs what it did before: one branch. The service
//! therefore needs a body that `http_body_util` can collect and that can be rebuilt from
//! [`Bytes`](axum::body::Bytes), which axum's `Body` is.
//!
//! ```
//! use apikey_axum::ApiKeyLayer;
//! use apikey_core::Verified;
//! use apikey_core::http::{CheckRejection, RequestCheck, RequestHead, Wants};
//! use axum::body::Bytes;
//!
//! /// Refuses writes with an empty body for keys tagged `strict`.
//! #[derive(Debug)]
//! struct NonEmptyWrites;
//!
//! #[async_trait::async_trait]
//! impl RequestCheck for NonEmptyWrites {
//!     fn wants(&self, key: &Verified, head: &RequestHead<'_>) -> Wants {
//!         let strict = key.record().tags.iter().any(|t| t == "strict");
//!         if strict && head.method() == "POST" { Wants::Body } else { Wants::Skip }
//!     }
//!
//!     async fn check(&self, _: &Verified, _: &RequestHead<'_>, body: Option<&Bytes>)
//!         -> Result<(), CheckRejection> {
//!         match body {
//!             Some(b) if !b.is_empty() => Ok(()),
//!             _ => Err(CheckRejection::new(422, "A body is required.").with_code("empty_body")),
//!         }
//!     }
//! }
//!
//! # fn layer(verifier: apikey_core::Verifier) -> ApiKeyLayer {
//! ApiKeyLayer::new(verifier)
//!     .with_check(NonEmptyWrites)
//!     .max_check_body(64 * 1024)
//! # }
//! ```

mod check;
mod extract;
mod future;
mod layer;
mod response;
pub mod routes;
mod scopes;

pub use apikey_core::http::CredentialConfig;
pub use extract::{MissingLayer, Verified};
pub use future::ResponseFuture;
pub use layer::{ApiKeyLayer, ApiKeyService};
pub use routes::Routes;
pub use scopes::{RequireScopes, RequireScopesLayer, require_scopes};
