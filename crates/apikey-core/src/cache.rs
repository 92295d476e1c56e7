//! The shared second-level cache (for example Redis). The verifier's first level is in process and
//! concrete; this trait is only called on a first-level miss.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::Result;
use crate::ids::LookupId;
use crate::record::KeyRecord;

/// A cache of key records by lookup id, with versioned invalidation.
///
/// Contract (checked by the testkit): entries expire `ttl` after insertion (never refreshed by
/// reads); [`invalidate`](Self::invalidate) leaves a tombstone with the new version, and
/// [`put`](Self::put) writes only a record whose version is at least the tombstone's or entry's,
/// so a fill that raced with a revocation cannot bring the old record back.
#[async_trait]
pub trait Cache: Send + Sync + fmt::Debug + 'static {
    /// The cached record, if any and not expired.
    async fn get(&self, lookup: &LookupId) -> Result<Option<KeyRecord>>;

    /// Caches `record` for `ttl` unless a newer version (or tombstone) is there.
    async fn put(&self, record: &KeyRecord, ttl: Duration) -> Result<()>;

    /// Drops the entry and remembers `version` for `ttl`, so older fills are refused.
    async fn invalidate(&self, lookup: &LookupId, version: u64, ttl: Duration) -> Result<()>;
}
