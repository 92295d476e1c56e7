//! Conformance suites for the storage traits of `apikey`: every
//! [`KeyStore`](apikey_core::KeyStore) + [`AuditStore`](apikey_core::AuditStore),
//! [`Cache`](apikey_core::Cache), [`RateLimiter`](apikey_core::RateLimiter) and
//! [`LeaseStore`](apikey_core::jobs::LeaseStore) implementation —
//! the bundled memory, SQL, MongoDB and Redis backends, and your own — runs the same cases, so
//! backends cannot drift apart on the rules of the architecture: millisecond timestamps,
//! case-sensitive lookup ids and tags, keyset pagination on (created_at, id), a change and its
//! audit event committed together, tenant isolation, TTL from insertion with versioned
//! invalidation, exact GCRA and calendar-quota arithmetic, one live job lease with fenced
//! takeover.
//!
//! # Running the suites against your store
//!
//! Add the crate as a dev-dependency and call one macro per trait in an integration test
//! (`tests/conformance.rs`). Each macro expands to a module of `#[test]` functions, one per
//! case, so `cargo test` reports every case by name; the tests bring their own tokio runtime.
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use apikey_core::ManualClock;
//! use apikey_memory::{MemoryCache, MemoryLimiter, MemoryStore};
//!
//! // A store suite takes an async expression, evaluated afresh for every case: give each case an
//! // empty store (a SQL backend creates a fresh database or schema here).
//! apikey_testkit::key_store_suite!(async { MemoryStore::new() }, legacy);
//! apikey_testkit::audit_store_suite!(async { MemoryStore::new() });
//!
//! // Cache and limiter suites take a closure that receives the case's `ManualClock` and returns a
//! // future of the implementation built on that clock: the suites move time, never sleep.
//! apikey_testkit::cache_suite!(|clock: ManualClock| async move {
//!     MemoryCache::new(Arc::new(clock), 10_000)
//! });
//! apikey_testkit::limiter_suite!(|clock: ManualClock| async move {
//!     MemoryLimiter::new(Arc::new(clock))
//! });
//! # fn main() {}
//! ```
//!
//! - `key_store_suite!(factory)` runs the [`store`] cases; add `, legacy` if your store
//!   implements [`LegacyLookup`](apikey_core::store::LegacyLookup) (`legacy()` returns `Some`).
//! - `audit_store_suite!(factory)` runs the [`audit`] cases on the same kind of store.
//! - `lease_store_suite!(factory)` runs the [`leases`] cases on a
//!   [`LeaseStore`](apikey_core::jobs::LeaseStore), taking a factory like the store suites.
//! - `tenant_settings_suite!(factory)` runs the [`tenant_settings`] cases on a store implementing
//!   [`TenantSettingsStore`](apikey_core::TenantSettingsStore) and `AuditStore`.
//! - `webhook_store_suite!(factory)` runs the [`webhooks`] cases on a
//!   [`WebhookStore`](apikey_core::webhook::WebhookStore).
//! - `cache_suite!(factory)` runs the [`cache`] cases; `limiter_suite!(factory)` the [`limiter`]
//!   cases (the two concurrency cases on a two-worker multi-thread runtime).
//! - `scheduler_suite!(connect)` runs the [`scheduler`] cases: three
//!   [`Scheduler`](apikey_core::jobs::Scheduler)s over one lease backend (`connect` returns a new
//!   handle to it on every call) run a counting job for 100 periods, and a killed holder is taken
//!   over within one lease TTL.
//!
//! Each case is also a plain `pub async fn` taking the store (`&S`) or the factory, so you can
//! call single cases from your own tests, and [`fixtures`] builds valid records and events.
//!
//! Requirements on the implementation under test: a store from the factory is empty and not
//! shared with other cases (the cases run in parallel); a cache or limiter takes every "now"
//! from the clock it was given.
//!
//! # Features
//!
//! The conformance suites need nothing beyond the default build. Test scaffolding that several
//! of the workspace's crates share sits behind features, so a custom store's tests pull none of
//! its dependencies:
//!
//! | Feature | Module | What it gives | Adds |
//! | --- | --- | --- | --- |
//! | *(none)* | [`store`], [`audit`], [`cache`], [`limiter`], [`fixtures`], … | the conformance suites and their fixtures | — |
//! | `http-e2e` | `http_e2e` | the end-to-end matrix an HTTP integration runs over real HTTP, against a server its test starts | reqwest, tracing-subscriber, apikey-memory |
//! | `isolated-db` | `isolated` | a database per test without a driver: service URLs (fail in CI, skip elsewhere), unique names, URL rewriting, SQLite temp files, a store wrapper that cleans up on drop | async-trait |

mod macros;

pub use routes::assert_routes_declared;

pub mod analytics;
pub mod analytics_flush;
pub mod audit;
pub mod audit_chain;
pub mod audit_stream;
pub mod bench;
pub mod cache;
pub mod expiry;
pub mod fixtures;
#[cfg(feature = "http-e2e")]
pub mod http_e2e;
#[cfg(feature = "isolated-db")]
pub mod isolated;
pub mod key_programme;
pub mod leases;
pub mod limiter;
pub mod requests;
pub mod rewrite;
pub mod routes;
pub mod scheduler;
pub mod sql_policy;
pub mod store;
pub mod tenant_settings;
pub mod webhooks;

#[doc(hidden)]
pub mod __private;
