//! tonic (gRPC) integration for `apikey`.
//!
//! * Server: [`ApiKeyLayer`], an async tower layer (tonic's `Interceptor` is synchronous and cannot
//!   await a store) that `Server::builder().layer(..)` and a single service both accept. Scopes are
//!   declared per method in a [`MethodScopes`] map; unlisted methods are denied unless a default is
//!   configured; health and reflection are public only when declared so. Handlers read the
//!   [`Verified`](apikey_core::Verified) key with [`RequestVerifiedExt`].
//! * Refusals: gRPC statuses from [`status_for`] — `UNAUTHENTICATED` (one uniform message),
//!   `PERMISSION_DENIED`, `RESOURCE_EXHAUSTED` with retry information (`google.rpc.RetryInfo`
//!   details, `grpc-retry-pushback-ms` and `retry-after` metadata), `UNAVAILABLE`. See [`status`].
//! * Request checks: [`ApiKeyLayer::with_check`] runs core's
//!   [`RequestCheck`](apikey_core::http::RequestCheck)s after the key verified, **head-only**
//!   (method path and metadata; a check asking for the body is given `None`, since a gRPC body is
//!   a stream of messages); a refusal becomes [`status_for_check`].
//! * Client: [`ApiKeyInterceptor`] attaches the key to every outgoing request.
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use apikey_core::ApiKeys;
//! use apikey_memory::MemoryStore;
//! use apikey_tonic::{ApiKeyInterceptor, ApiKeyLayer, MethodScopes};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
//!     .random_peppers_keys_die_at_exit() // in memory: keys die with the process anyway
//!     .build()?;
//! let methods = MethodScopes::new()
//!     .method("/shop.Orders/Get", ["orders:read"])?
//!     .method("/shop.Orders/Create", ["orders:write"])?
//!     .public_health();
//! let layer = ApiKeyLayer::new(keys.verifier().clone(), methods);
//!
//! // Server: every service behind the layer.
//! let server = tonic::transport::Server::builder().layer(layer);
//! // server.add_service(OrdersServer::new(orders)).serve(addr).await?;
//! # let _ = server;
//!
//! // Client: the key on every call.
//! let interceptor = ApiKeyInterceptor::new("sk_live_…")?;
//! // let client = OrdersClient::with_interceptor(channel, interceptor);
//! # let _ = interceptor;
//! # Ok(()) }
//! ```
//!
//! In a handler:
//!
//! ```
//! use apikey_tonic::RequestVerifiedExt;
//!
//! fn owner_of<T>(request: &tonic::Request<T>) -> Result<String, tonic::Status> {
//!     let key = request.require_verified()?;
//!     Ok(key.owner().unwrap_or("unknown").to_owned())
//! }
//! ```
//!
//! # Client address
//!
//! The address is tonic's `remote_addr()`: the [`TcpConnectInfo`](tonic::transport::server::TcpConnectInfo)
//! tonic's server puts in every request's extensions (a custom transport may insert a
//! `std::net::SocketAddr` instead). `x-forwarded-for` metadata counts only when the peer is a
//! trusted proxy ([`ApiKeyLayer::trusted_proxies`]). Without an address, keys with IP rules are
//! refused. Over TLS, tonic records a `TlsConnectInfo` instead, which this crate does not read yet.

mod check;
mod client;
mod descriptors;
#[cfg(feature = "health")]
mod health;
mod layer;
mod metadata;
mod methods;
mod sign;
pub mod status;
mod verified;

pub use apikey_core::http::CredentialConfig;
pub use client::{ApiKeyInterceptor, InvalidCredential};
pub use descriptors::methods_of_descriptors;
#[cfg(feature = "health")]
pub use health::health_service;
pub use layer::{ApiKeyLayer, ApiKeyService, ResponseFuture};
pub use methods::{Access, HEALTH_SERVICE, MethodScopes, REFLECTION_SERVICES};
pub use sign::{Signing, SigningLayer};
pub use status::{UNAUTHENTICATED_MESSAGE, method_denied, status_for, status_for_check};
pub use verified::RequestVerifiedExt;
