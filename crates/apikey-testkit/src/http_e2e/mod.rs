//! The end-to-end matrix every HTTP integration runs over real HTTP on loopback (feature
//! `http-e2e`).
//!
//! The matrix is framework-neutral: it only needs the integration's test to start a server. The
//! test provides a [`Start`] function that serves these routes on the given listener with the
//! given keys' verifier, trusting `127.0.0.1/32` as a proxy and with endpoint limits on:
//!
//! | route | guard | answers |
//! | --- | --- | --- |
//! | `GET /open` | none | `open` |
//! | `GET /any` | any valid key | the key id (from the `Verified` extractor) |
//! | `GET /projects` | `projects:read` (per-route scope layer) | the key id |
//! | `POST /projects` | `projects:write` | the key id |
//! | `GET /no-layer` | none, but the handler extracts `Verified` | 500 problem |
//!
//! and returns a [`Server`] that stops when dropped. [`run`] then drives every case against it:
//! missing, malformed, bad-checksum, unknown, wrong-secret, revoked and expired tokens (one
//! byte-identical 401 with `WWW-Authenticate`), two credentials at once, suspended and pending
//! keys, per-route scopes and wildcards, the extractor without its layer, IPv4/IPv6/IPv4-mapped
//! peers against allow and deny lists, `X-Forwarded-For` from trusted and untrusted peers, rate,
//! endpoint and quota limits with `Retry-After` and the `RateLimit`/`RateLimit-Policy` fields,
//! hostile header values, a store outage (503), problem+json on every refusal, and a canary secret
//! that must never appear in a response or the logs. [`run_with`] runs the same with a limiter
//! that only answers asynchronously, as a remote one does.
//!
//! ```no_run
//! use std::net::{SocketAddr, TcpListener};
//!
//! use apikey_core::ApiKeys;
//! use apikey_testkit::http_e2e::{self, Server};
//!
//! struct Running(SocketAddr);
//!
//! impl Server for Running {
//!     fn addr(&self) -> SocketAddr {
//!         self.0
//!     }
//! }
//!
//! fn serve(keys: &ApiKeys, listener: TcpListener) -> Box<dyn Server> {
//!     let addr = listener.local_addr().unwrap();
//!     // Spawn your framework's server on `listener` with the routes above, guarded by
//!     // `keys.verifier()`; stop it in `Drop`.
//!     Box::new(Running(addr))
//! }
//!
//! # async fn test() {
//! http_e2e::run(&serve).await;
//! # }
//! ```
//!
//! The run installs a global `tracing` subscriber (to read the logs), so give it a test binary of
//! its own or let it be the only subscriber. Settings that need a differently built server have
//! cases of their own: [`credential_sources`] and [`fields_only_on_refusal`].

pub mod checks;
mod client;
mod fixture;
mod logs;
mod matrix;
mod pools;
pub mod request_log;
pub mod routes;
mod settings;
pub mod signing;

use std::net::{SocketAddr, TcpListener};

use apikey_core::ApiKeys;

pub use fixture::{AsyncOnly, Fixture, LimiterMode, Probe, fixture, fixture_with};
pub use logs::capture_logs;
pub use matrix::{run, run_with};
pub use pools::pools;
pub use settings::{credential_sources, custom_sources, fields_only_on_refusal, one_a_minute};

/// A running server; dropping it stops it.
pub trait Server {
    /// The address it listens on.
    fn addr(&self) -> SocketAddr;
}

/// Serves the matrix routes on the listener with the keys' verifier.
pub type Start<'a> = &'a dyn Fn(&ApiKeys, TcpListener) -> Box<dyn Server>;
