//! [`MemoryCache`]: a bounded in-process [`Cache`] with insertion-time TTL and versioned
//! tombstones, timed by the injected [`Clock`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::{Cache, CachedRecord, Clock, KeyRecord, LookupId, Result};
use async_trait::async_trait;
use moka::ops::compute::Op;

/// What one lookup id maps to. Deadlines are microseconds of the injected clock: moka's own
/// expiry runs on real time, which tests with a manual clock could not move.
#[derive(Clone)]
enum Slot {
    /// A cached record until `deadline`.
    Live {
        record: Arc<KeyRecord>,
        deadline: i64,
    },
    /// An invalidation: fills older than `version` are refused until `deadline`.
    Tombstone { version: u64, deadline: i64 },
}

impl Slot {
    fn deadline(&self) -> i64 {
        match self {
            Self::Live { deadline, .. } | Self::Tombstone { deadline, .. } => *deadline,
        }
    }

    fn version(&self) -> u64 {
        match self {
            Self::Live { record, .. } => record.version,
            Self::Tombstone { version, .. } => *version,
        }
    }

    fn expired(&self, now: i64) -> bool {
        now >= self.deadline()
    }
}

/// A second-level [`Cache`] held in this process, for tests and single-node deployments.
///
/// Entries expire `ttl` after insertion and are never refreshed by reads, so a key in steady use
/// still leaves the cache; [`invalidate`](Cache::invalidate) leaves a tombstone so a fill that
/// raced with a revocation cannot bring the old record back. At most `max_entries` lookup ids
/// (records and tombstones together) are kept; beyond that moka evicts the least useful ones.
/// Clones share the same entries.
#[derive(Clone)]
pub struct MemoryCache {
    clock: Arc<dyn Clock>,
    entries: moka::sync::Cache<LookupId, Slot>,
}

impl MemoryCache {
    /// A cache holding at most `max_entries` lookup ids, timed by `clock`.
    pub fn new(clock: Arc<dyn Clock>, max_entries: u64) -> Self {
        Self {
            clock,
            entries: moka::sync::Cache::builder()
                .max_capacity(max_entries)
                .build(),
        }
    }

    fn now(&self) -> i64 {
        self.clock.now_micros()
    }
}

fn deadline(now: i64, ttl: Duration) -> i64 {
    now.saturating_add(i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX))
}

impl fmt::Debug for MemoryCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryCache")
            .field("entries", &self.entries.entry_count())
            .field("max_entries", &self.entries.policy().max_capacity())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, lookup: &LookupId) -> Result<Option<CachedRecord>> {
        let now = self.now();
        match self.entries.get(lookup) {
            Some(Slot::Live { record, deadline }) if now < deadline => {
                let left = u64::try_from(deadline - now).unwrap_or(0);
                Ok(Some(CachedRecord::new(
                    KeyRecord::clone(&record),
                    Duration::from_micros(left),
                )))
            }
            Some(slot) if slot.expired(now) => {
                // Free the slot now rather than at eviction; re-checked under moka's per-key lock
                // because a fresh put may have replaced it since the read.
                self.entries
                    .entry_by_ref(lookup)
                    .and_compute_with(|cur| match cur {
                        Some(e) if e.value().expired(now) => Op::Remove,
                        _ => Op::Nop,
                    });
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    async fn put(&self, record: &KeyRecord, ttl: Duration) -> Result<()> {
        let now = self.now();
        let slot = Slot::Live {
            record: Arc::new(record.clone()),
            deadline: deadline(now, ttl),
        };
        let version = record.version;
        self.entries
            .entry(record.lookup_id)
            .and_compute_with(|cur| {
                let floor = cur
                    .map(|e| e.into_value())
                    .filter(|s| !s.expired(now))
                    .map(|s| s.version());
                if floor.is_some_and(|v| version < v) {
                    Op::Nop
                } else {
                    Op::Put(slot)
                }
            });
        Ok(())
    }

    async fn invalidate(&self, lookup: &LookupId, version: u64, ttl: Duration) -> Result<()> {
        let now = self.now();
        let until = deadline(now, ttl);
        self.entries.entry(*lookup).and_compute_with(|cur| {
            let cur = cur.map(|e| e.into_value()).filter(|s| !s.expired(now));
            // Never lower the floor: an invalidation delivered late must not admit a fill older
            // than what is already known.
            let floor = cur.as_ref().map_or(version, |s| s.version().max(version));
            let until = match cur {
                Some(Slot::Tombstone { deadline, .. }) => deadline.max(until),
                _ => until,
            };
            Op::Put(Slot::Tombstone {
                version: floor,
                deadline: until,
            })
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::record;
    use apikey_core::ManualClock;

    const TTL: Duration = Duration::from_secs(60);

    fn cache() -> (ManualClock, MemoryCache) {
        let clock = ManualClock::fixed();
        (clock.clone(), MemoryCache::new(Arc::new(clock), 1000))
    }

    #[tokio::test]
    async fn entries_expire_ttl_after_insertion_even_when_read() {
        let (clock, cache) = cache();
        let r = record(None, 0);
        cache.put(&r, TTL).await.unwrap();
        for _ in 0..5 {
            clock.advance(chrono::Duration::seconds(11));
            assert_eq!(
                cache.get(&r.lookup_id).await.unwrap().map(|h| h.record),
                Some(r.clone())
            );
        }
        clock.advance(chrono::Duration::seconds(5));
        assert_eq!(
            cache.get(&r.lookup_id).await.unwrap().map(|h| h.record),
            None
        );
        assert_eq!(cache.get(&LookupId::generate()).await.unwrap(), None);
    }

    #[tokio::test]
    async fn tombstone_refuses_older_fills_until_it_expires() {
        let (clock, cache) = cache();
        let v1 = record(None, 0);
        cache.put(&v1, TTL).await.unwrap();
        cache.invalidate(&v1.lookup_id, 2, TTL).await.unwrap();
        assert_eq!(
            cache.get(&v1.lookup_id).await.unwrap().map(|h| h.record),
            None
        );

        // The fill that read version 1 before the revocation committed arrives late.
        cache.put(&v1, TTL).await.unwrap();
        assert_eq!(
            cache.get(&v1.lookup_id).await.unwrap().map(|h| h.record),
            None
        );

        let mut v2 = v1.clone();
        v2.version = 2;
        cache.put(&v2, TTL).await.unwrap();
        assert_eq!(
            cache.get(&v1.lookup_id).await.unwrap().map(|h| h.record),
            Some(v2.clone())
        );

        // Once the tombstone has expired nothing remembers version 2 any more.
        cache.invalidate(&v1.lookup_id, 2, TTL).await.unwrap();
        clock.advance(chrono::Duration::seconds(61));
        cache.put(&v1, TTL).await.unwrap();
        assert_eq!(
            cache.get(&v1.lookup_id).await.unwrap().map(|h| h.record),
            Some(v1)
        );
    }

    #[tokio::test]
    async fn put_never_replaces_a_newer_entry_and_late_invalidations_keep_the_floor() {
        let (_clock, cache) = cache();
        let v1 = record(None, 0);
        let mut v3 = v1.clone();
        v3.version = 3;
        cache.put(&v3, TTL).await.unwrap();
        cache.put(&v1, TTL).await.unwrap();
        assert_eq!(
            cache.get(&v1.lookup_id).await.unwrap().map(|h| h.record),
            Some(v3.clone())
        );

        cache.invalidate(&v1.lookup_id, 2, TTL).await.unwrap();
        let mut v2 = v1.clone();
        v2.version = 2;
        cache.put(&v2, TTL).await.unwrap();
        assert_eq!(
            cache.get(&v1.lookup_id).await.unwrap().map(|h| h.record),
            None
        );
        cache.put(&v3, TTL).await.unwrap();
        assert_eq!(
            cache.get(&v1.lookup_id).await.unwrap().map(|h| h.record),
            Some(v3)
        );
    }

    #[tokio::test]
    async fn size_is_bounded() {
        let clock = ManualClock::fixed();
        let cache = MemoryCache::new(Arc::new(clock), 10);
        for i in 0..200 {
            cache.put(&record(None, i), TTL).await.unwrap();
        }
        cache.entries.run_pending_tasks();
        assert!(cache.entries.entry_count() <= 10);
    }
}
