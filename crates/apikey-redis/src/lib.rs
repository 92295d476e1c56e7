//! Redis backends for `apikey`: a shared [`RateLimiter`](apikey_core::RateLimiter)
//! ([`RedisLimiter`]), a shared second-level [`Cache`](apikey_core::Cache) ([`RedisCache`]) and
//! the revocation fan-out ([`RevocationListener`]), on one Redis server or a Redis Cluster.
//!
//! Several instances of a service pointed at one Redis share every key's rate, endpoint rates and
//! quota, and see a revocation made on any of them within the time pub/sub takes to deliver it.
//!
//! # Why the `redis` crate
//!
//! It is the maintained Rust driver with a tokio multiplexed connection that reconnects by itself
//! (`ConnectionManager`), a cluster client that follows `MOVED`/`ASK` (`cluster-async`), script
//! helpers that send `EVALSHA` and load the script on `NOSCRIPT`, and async pub/sub.
//!
//! # Key layout
//!
//! See [`KeyPrefix`]: every limiter key of one rotation lineage carries the lineage id as its hash
//! tag (`apikey:{<lineage>}:rate:<key>`, `…:ep:<key>:=<endpoint>`, `…:quota:<period>:<window>`),
//! so in a cluster one script touches one slot; cache entries are tagged by lookup id. Every key
//! has a TTL: a rate until its bucket is full again, a quota until an hour after its window resets,
//! a cache entry or tombstone for its `ttl`.
//!
//! # Failure policies
//!
//! Each [`RedisLimiter`] has a [`FailurePolicy`](apikey_core::limit::FailurePolicy), a time budget
//! per call and a circuit breaker. `FailClosed` returns an `Unavailable` error (the verifier answers
//! 503); `FailOpen` admits uncounted; `LocalFallback { share }` counts in process with `share` of
//! each rate, while a policy with a quota fails closed under it (a share of a monthly quota means
//! nothing). Every fallback is logged with `tracing` and counted ([`RedisLimiterStats`]). Errors
//! that are not about reachability (a script error, a wrong-type key) are returned, never absorbed.
//! The key store stays authoritative for revocation: the shared cache only saves store reads.
//!
//! # Cluster notes
//!
//! Use [`RedisConnection::connect_cluster`]. Limiter decisions touch one slot (the lineage's);
//! a tenant-wide limit would be a separate decision on another slot. Invalidations are published
//! with `PUBLISH`, which a cluster delivers to subscribers on every node.

mod cache;
mod conn;
mod error;
mod keys;
mod limiter;
mod listener;

pub use cache::RedisCache;
pub use conn::RedisConnection;
pub use keys::KeyPrefix;
pub use limiter::{DEFAULT_CALL_BUDGET, RedisLimiter, RedisLimiterStats};
pub use listener::RevocationListener;
