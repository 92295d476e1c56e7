//! Redis backends for `apikey`: a shared [`RateLimiter`](apikey_core::RateLimiter)
//! ([`RedisLimiter`]), a shared second-level [`Cache`](apikey_core::Cache) ([`RedisCache`]), the
//! revocation fan-out ([`RevocationListener`]) and the scheduler's job leases
//! ([`LeaseStore`](apikey_core::jobs::LeaseStore), [`RedisLeases`]), on one Redis server or a
//! Redis Cluster.
//!
//! Several instances of a service pointed at one Redis share every key's rate, endpoint rates and
//! quota, and see a revocation made on any of them within the time pub/sub takes to deliver it.
//! Each listener keeps its instance in a registry ([`RedisInstances`]) and acknowledges the
//! confirmation requests of [`RedisConfirmer`], so `KeyManager::revoke_confirmed` can return
//! once every live instance has applied a revocation (see *Confirmed revocation* below).
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
//! a cache entry or tombstone for its `ttl` — except job leases, which keep each job's history
//! (all under the tag `{leases}`, one slot).
//!
//! # Failure policies
//!
//! Each [`RedisLimiter`] has a [`FailurePolicy`](apikey_core::limit::FailurePolicy), a time budget
//! per call and a circuit breaker. `FailClosed` returns an `Unavailable` error (the verifier answers
//! 503); `FailOpen` admits uncounted; `LocalFallback { share }` (set with
//! [`RedisLimiter::with_local_fallback`], which takes any in-process limiter) counts in process
//! with `share` of each rate, while a policy with a quota fails closed under it (a share of a monthly quota means
//! nothing). Every fallback is logged with `tracing` and counted ([`RedisLimiterStats`]). Errors
//! that are not about reachability (a script error, a wrong-type key) are returned, never absorbed.
//! The key store stays authoritative for revocation: the shared cache only saves store reads.
//!
//! # Lease mode (opt-in)
//!
//! By default the limiter is exact: one `EVALSHA` per decision (a Redis round trip is ≈ 50 µs on the
//! reference machine). [`RedisLimiter::with_leases`] trades exactness at the margin for throughput:
//! a decision that reaches Redis charges a *lease* of up to [`LeaseConfig::max_units`] units
//! (adaptive, starting at 1, capped at `burst / 8` and `quota / 64`), and the instance then answers
//! that subject's next requests from the lease in [`check_now`](apikey_core::RateLimiter::check_now)
//! — no round trip, no lock, no allocation — until it is spent or `max_age` passes. Limits are
//! never exceeded in total; the price is under-admission of at most one lease per (instance,
//! subject), approximate `remaining` values, and units handed out up to `max_age` after they were
//! charged (see [`LeaseConfig`]). While Redis is down a live lease keeps serving; once it is spent
//! the failure policy answers as in exact mode.
//!
//! The lease table is a `papaya` lock-free map hashed with `foldhash` — the same two crates
//! `apikey-core` and `apikey-memory` already use — because the hot path must read it from every
//! worker thread without a lock or an allocation.
//!
//! # Confirmed revocation
//!
//! Wire a [`RedisConfirmer`] with `ApiKeysBuilder::confirmer` and call
//! `KeyManager::revoke_confirmed(…, timeout)`. After the commit it snapshots the instances live in
//! the registry, records the request as pending and publishes it; each listener applies the
//! invalidation and then acknowledges. The call returns when every instance asked has
//! acknowledged or has let its presence run out (then it cannot be answering from its cache:
//! its trust window is shorter than its presence TTL), or at the timeout with the instances that
//! did not answer. Presence and acknowledgements live under the hash tag `{instances}`.
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
mod leases;
mod limiter;
mod listener;
mod nonces;
mod presence;
mod threats;

pub use cache::RedisCache;
pub use conn::RedisConnection;
pub use keys::KeyPrefix;
pub use leases::RedisLeases;
pub use limiter::{
    DEFAULT_CALL_BUDGET, LEASE_BURST_DIVISOR, LEASE_QUOTA_DIVISOR, LeaseConfig,
    OUTAGE_LOG_INTERVAL, RedisLimiter, RedisLimiterStats,
};
pub use listener::{
    DEFAULT_PRESENCE_TTL, DEFAULT_TRUST_WINDOW, ListenerBuilder, RevocationListener,
};
pub use nonces::RedisNonces;
pub use presence::{RedisConfirmer, RedisInstances};
pub use threats::RedisThreatShare;
