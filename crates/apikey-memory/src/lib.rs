//! In-process backends for `apikey`: a [`MemoryStore`] (key records, audit log, legacy lookup,
//! job leases, tenant settings),
//! a [`MemoryCache`] (bounded second-level cache) and a [`MemoryLimiter`] (rate limits, endpoint
//! limits and quotas).
//!
//! Everything lives in this process and is lost when it exits. Use these for tests, examples,
//! command-line tools and single-process services whose keys can be re-created; use a database
//! store (`apikey-sqlx`, `apikey-diesel`, `apikey-mongodb`) and `apikey-redis` when keys must
//! survive restarts or several instances must share budgets.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> apikey_core::Result<()> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use apikey_core::{Clock, KeyId, LimitPolicy, Rate, RateLimiter, Subject, SystemClock};
//! use apikey_memory::{MemoryCache, MemoryLimiter, MemoryStore};
//!
//! let clock: Arc<dyn Clock> = Arc::new(SystemClock);
//! let _store = MemoryStore::new();
//! let _cache = MemoryCache::new(clock.clone(), 10_000);
//! let limiter = MemoryLimiter::new(clock).with_max_subjects(50_000);
//!
//! let key = KeyId::new();
//! let subject = Subject { key, lineage: key, endpoint: None };
//! let policy = LimitPolicy { rate: Some(Rate::new(2, Duration::from_secs(1))?), ..LimitPolicy::default() };
//! assert!(limiter.check(&subject, &policy, 1).await?.is_allowed());
//! assert!(limiter.check(&subject, &policy, 1).await?.is_allowed());
//! assert!(!limiter.check(&subject, &policy, 1).await?.is_allowed());
//! # Ok(()) }
//! ```
//!
//! Dependencies: `parking_lot` for the store's lock and the limiter's per-lineage mutex (small,
//! fast, no poisoning to handle); `papaya` for the limiter's map of lineages (lock-free reads, so
//! deciding for a known subject takes no global lock); `moka` for the cache (a bounded concurrent
//! cache with a good eviction policy, whose per-key compute makes versioned puts atomic);
//! `uuid` and `chrono` because audit events and records are keyed by them.

mod cache;
mod limiter;
mod store;

#[cfg(test)]
mod fixtures;

pub use cache::MemoryCache;
pub use limiter::{DEFAULT_MAX_SUBJECTS, MemoryLimiter};
pub use store::MemoryStore;
