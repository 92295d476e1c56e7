//! The shared second-level cache (for example Redis). The verifier's first level is in process and
//! concrete; this trait is only called on a first-level miss.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::Result;
use crate::ids::LookupId;
use crate::record::KeyRecord;

/// A record read from a [`Cache`], with the time its entry has left.
///
/// The verifier's first-level entry made from it never outlives it: a revocation that reached the
/// shared cache but not this process stops verifying within the shared entry's TTL, not twice it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CachedRecord {
    /// The record.
    pub record: KeyRecord,
    /// How long until the entry expires (never zero for an entry that is returned).
    pub expires_in: Duration,
}

impl CachedRecord {
    /// A record whose entry expires in `expires_in`.
    pub fn new(record: KeyRecord, expires_in: Duration) -> Self {
        Self { record, expires_in }
    }
}

/// A cache of key records by lookup id, with versioned invalidation.
///
/// Contract (checked by the testkit): entries expire `ttl` after insertion (never refreshed by
/// reads) and [`get`](Self::get) reports the time left; [`invalidate`](Self::invalidate) leaves a
/// tombstone with the new version, and [`put`](Self::put) writes only a record whose version is at
/// least the tombstone's or entry's, so a fill that raced with a revocation cannot bring the old
/// record back.
#[async_trait]
pub trait Cache: Send + Sync + fmt::Debug + 'static {
    /// The cached record and its remaining lifetime, if any and not expired.
    async fn get(&self, lookup: &LookupId) -> Result<Option<CachedRecord>>;

    /// Caches `record` for `ttl` unless a newer version (or tombstone) is there.
    async fn put(&self, record: &KeyRecord, ttl: Duration) -> Result<()>;

    /// Drops the entry and remembers `version` for `ttl`, so older fills are refused.
    async fn invalidate(&self, lookup: &LookupId, version: u64, ttl: Duration) -> Result<()>;
}
