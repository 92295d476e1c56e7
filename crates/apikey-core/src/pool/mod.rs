//! Shared limit pools and credits in the catalog: what a key is charged against besides its own
//! limits.
//!
//! A pool is a catalog preset of kind [`Pool`](crate::CatalogKind::Pool) whose name says what it
//! applies to (see [`PoolName`]) and whose [`PoolLimits`](crate::limit::PoolLimits) say how
//! much: a rate, a calendar quota, credits. A verification is charged against the key's own
//! limits and every pool it belongs to in one all-or-nothing limiter decision
//! ([`RateLimiter::check_shared`](crate::RateLimiter::check_shared)); the 429 names the pool
//! that refused.
//!
//! - Counters are per tenant and per pool name: `owner:acme`'s count is every request of acme's
//!   keys. A transferred key (or one moved to another group) is charged to its new pools from the
//!   next verification that reads it; what it spent stays counted where it was spent.
//! - Overrides (`<pool>@key:<id>`, `<pool>@owner:<name>`) change the numbers a member is held to,
//!   never the counter.
//! - The verifier reads a tenant's pools when it caches a key and keeps them for the cache's time
//!   to live, so a new or changed pool applies within two cache lifetimes and a hit reads nothing.

mod book;
mod name;
mod resolve;

pub(crate) use book::PoolBook;
pub use name::{PoolMember, PoolName, PoolTarget};
pub use resolve::TenantPools;
