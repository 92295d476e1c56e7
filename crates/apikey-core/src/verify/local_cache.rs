//! The verifier's first-level cache: a lock-free map from lookup id to a verified entry.
//!
//! A hit reads the map under an epoch guard (no lock, no allocation) and clones one `Arc`.
//! Invalidation writes a tombstone carrying the key's new `version`; a fill is written only when its
//! record is at least that version, so a fill that raced with a revocation cannot resurrect the key.
//! Entries expire a fixed TTL after insertion (never time-to-idle).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::ids::LookupId;
use crate::record::KeyRecord;
use crate::verify::usage::UsageCell;
use crate::verify::validity::Validity;

/// A verified record with the digest of the secret that verified it. `Debug` leaves the digest
/// out: `Verified` prints this, and what derives from a secret stays out of logs.
pub(crate) struct CachedEntry {
    pub(crate) record: Arc<KeyRecord>,
    pub(crate) digest: [u8; 32],
    pub(crate) until_us: i64,
    pub(crate) usage: Arc<UsageCell>,
    pub(crate) validity: Validity,
    /// Cached by a signed request that named the key by `keyid` alone: no secret verified it,
    /// so `digest` matches nothing and a token request treats the entry as a miss.
    pub(crate) signed_only: bool,
    /// The pools the key is charged against (read with the key), if any.
    pub(crate) charges: Option<Arc<[crate::limit::PoolCharge]>>,
    /// Whether the key is an admin key of the key service (tenant [`crate::ADMIN_TENANT`]).
    pub(crate) admin: bool,
}

impl CachedEntry {
    /// An entry for `record`, verified by the secret with `digest`, cached until `until_us`,
    /// under a verifier whose expiry grace is `grace`.
    pub(crate) fn new(
        record: Arc<KeyRecord>,
        digest: [u8; 32],
        until_us: i64,
        usage: Arc<UsageCell>,
        grace: std::time::Duration,
    ) -> Self {
        let admin = record
            .tenant_id
            .as_ref()
            .is_some_and(|t| t.as_str() == crate::ADMIN_TENANT);
        Self {
            validity: Validity::of(&record, grace),
            record,
            digest,
            until_us,
            usage,
            signed_only: false,
            charges: None,
            admin,
        }
    }
}

impl std::fmt::Debug for CachedEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedEntry")
            .field("record", &self.record)
            .field("digest", &"<redacted>")
            .field("until_us", &self.until_us)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
enum Slot {
    Key(Arc<CachedEntry>),
    /// No key has this lookup id (as of `version`-less fetch); answer "unknown" until `until_us`.
    Missing {
        until_us: i64,
    },
    /// Invalidated at `version`: fills of older versions are refused until `until_us`.
    Tombstone {
        version: u64,
        until_us: i64,
    },
}

/// What a lookup found.
#[derive(Debug)]
pub(crate) enum Lookup {
    Hit(Arc<CachedEntry>),
    Unknown,
    /// Nothing usable; `usage` is the cell of an expired entry, so a refill keeps counting into it.
    Miss {
        usage: Option<Arc<UsageCell>>,
    },
}

/// The first-level cache, shared by a [`Verifier`](crate::Verifier) and its
/// [`KeyManager`](crate::KeyManager).
#[derive(Debug)]
pub(crate) struct LocalCache {
    map: papaya::HashMap<LookupId, Slot, foldhash::fast::RandomState>,
    /// Legacy tokens that verified, by the keyed digest of the whole token, to their key's lookup
    /// id. Their 8-character prefix is secret and not unique, so it cannot key anything; the
    /// digest can (it is made with the verifier's random in-process key, so it is useless outside
    /// it). The entry itself lives in `map` under the lookup id like any key's, so invalidating
    /// the key (a tombstone for its lookup id) reaches legacy tokens too.
    legacy: papaya::HashMap<[u8; 32], LookupId, foldhash::fast::RandomState>,
    capacity: usize,
    /// Verified entries are answered from only while the clock is before this (microseconds).
    /// `i64::MAX` unless something that carries invalidations (a revocation listener) says for
    /// how long it can vouch that none was missed; past it, a hit is a miss and the verifier
    /// reads the shared cache or the store, which are current.
    trusted_until: AtomicI64,
}

impl LocalCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            map: papaya::HashMap::with_hasher(foldhash::fast::RandomState::default()),
            legacy: papaya::HashMap::with_hasher(foldhash::fast::RandomState::default()),
            capacity: capacity.max(16),
            trusted_until: AtomicI64::new(i64::MAX),
        }
    }

    /// Answers verified entries only before `until_us` (see `trusted_until`).
    pub(crate) fn trust_until(&self, until_us: i64) {
        self.trusted_until.store(until_us, Ordering::Release);
    }

    pub(crate) fn trusted_until(&self) -> i64 {
        self.trusted_until.load(Ordering::Acquire)
    }

    #[inline]
    pub(crate) fn lookup(&self, id: &LookupId, now_us: i64) -> Lookup {
        let map = self.map.pin();
        match map.get(id) {
            Some(Slot::Key(e)) if e.until_us > now_us && now_us < self.trusted_until() => {
                Lookup::Hit(Arc::clone(e))
            }
            Some(Slot::Missing { until_us }) if *until_us > now_us => Lookup::Unknown,
            Some(Slot::Key(e)) => Lookup::Miss {
                usage: Some(Arc::clone(&e.usage)),
            },
            _ => Lookup::Miss { usage: None },
        }
    }

    /// The verified entry for `id` even past its lifetime, if it expired less than
    /// `max_stale_us` ago and no invalidation replaced it (for serving stale during an outage).
    pub(crate) fn stale(
        &self,
        id: &LookupId,
        now_us: i64,
        max_stale_us: i64,
    ) -> Option<Arc<CachedEntry>> {
        match self.map.pin().get(id) {
            Some(Slot::Key(e))
                if e.until_us.saturating_add(max_stale_us) > now_us && !e.signed_only =>
            {
                Some(Arc::clone(e))
            }
            _ => None,
        }
    }

    /// Writes `entry` unless a newer version (entry or tombstone) is already there.
    pub(crate) fn fill(&self, entry: &Arc<CachedEntry>, now_us: i64) {
        self.make_room(now_us);
        let version = entry.record.version;
        let map = self.map.pin();
        map.compute(entry.record.lookup_id, |existing| {
            let newer_present = match existing.map(|(_, slot)| slot) {
                Some(Slot::Key(e)) => e.record.version > version && e.until_us > now_us,
                Some(Slot::Tombstone {
                    version: v,
                    until_us,
                }) => *v > version && *until_us > now_us,
                Some(Slot::Missing { .. }) | None => false,
            };
            if newer_present {
                papaya::Operation::Abort(())
            } else {
                papaya::Operation::Insert(Slot::Key(Arc::clone(entry)))
            }
        });
    }

    /// Remembers that no key has `id`, unless something else was written meanwhile.
    pub(crate) fn fill_missing(&self, id: LookupId, until_us: i64, now_us: i64) {
        self.make_room(now_us);
        let map = self.map.pin();
        map.compute(id, |existing| match existing.map(|(_, slot)| slot) {
            None | Some(Slot::Missing { .. }) => {
                papaya::Operation::Insert(Slot::Missing { until_us })
            }
            Some(Slot::Tombstone { until_us: t, .. }) if *t <= now_us => {
                papaya::Operation::Insert(Slot::Missing { until_us })
            }
            Some(_) => papaya::Operation::Abort(()),
        });
    }

    /// Drops the entry for `id` and refuses fills older than `version` until `until_us`.
    pub(crate) fn invalidate(&self, id: LookupId, version: u64, until_us: i64) {
        let map = self.map.pin();
        map.compute(id, |existing| {
            let version = match existing.map(|(_, slot)| slot) {
                Some(Slot::Tombstone { version: v, .. }) => version.max(*v),
                _ => version,
            };
            papaya::Operation::<_, ()>::Insert(Slot::Tombstone { version, until_us })
        });
    }

    /// The lookup id of the key a legacy token (by its digest) verified for.
    #[inline]
    pub(crate) fn legacy_lookup(&self, token_digest: &[u8; 32]) -> Option<LookupId> {
        self.legacy.pin().get(token_digest).copied()
    }

    /// Remembers which key a verified legacy token belongs to.
    pub(crate) fn fill_legacy(&self, token_digest: [u8; 32], lookup: LookupId) {
        let legacy = self.legacy.pin();
        if legacy.len() >= self.capacity {
            // Only verified tokens get here, and forgetting one costs one store read: no need
            // for anything smarter than starting over.
            legacy.clear();
        }
        legacy.insert(token_digest, lookup);
    }

    /// Drops every entry (for example after losing the invalidation channel) but the
    /// tombstones: they only ever refuse older fills, and dropping one would let a fill that
    /// raced with its invalidation bring the old version back.
    pub(crate) fn clear(&self) {
        self.map
            .pin()
            .retain(|_, slot| matches!(slot, Slot::Tombstone { .. }));
        self.legacy.pin().clear();
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Keeps the map within capacity: expired slots go first, then arbitrary entries (the store
    /// remains the truth, so dropping an entry only costs a refill).
    fn make_room(&self, now_us: i64) {
        if self.map.len() < self.capacity {
            return;
        }
        let map = self.map.pin();
        map.retain(|_, slot| match slot {
            Slot::Key(e) => e.until_us > now_us,
            Slot::Missing { until_us } | Slot::Tombstone { until_us, .. } => *until_us > now_us,
        });
        let excess = map.len().saturating_sub(self.capacity * 9 / 10);
        if excess > 0 {
            // "Unknown" markers go before verified keys, so a flood of random ids cannot push
            // real keys out; tombstones are kept: dropping one would let a stale fill through.
            let mut victims: Vec<LookupId> = map
                .iter()
                .filter(|(_, slot)| matches!(slot, Slot::Missing { .. }))
                .map(|(k, _)| *k)
                .take(excess)
                .collect();
            if victims.len() < excess {
                victims.extend(
                    map.iter()
                        .filter(|(_, slot)| matches!(slot, Slot::Key(_)))
                        .map(|(k, _)| *k)
                        .take(excess - victims.len()),
                );
            }
            for k in victims {
                map.remove(&k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::test_support::record_with_version;

    fn entry(version: u64, until_us: i64) -> Arc<CachedEntry> {
        Arc::new(CachedEntry::new(
            Arc::new(record_with_version(version)),
            [0; 32],
            until_us,
            Arc::default(),
            std::time::Duration::ZERO,
        ))
    }

    #[test]
    fn tombstone_refuses_older_fill_and_accepts_current() {
        let cache = LocalCache::new(100);
        let stale = entry(1, 1_000);
        let id = stale.record.lookup_id;
        cache.invalidate(id, 2, 500);
        cache.fill(&stale, 0);
        assert!(matches!(cache.lookup(&id, 0), Lookup::Miss { .. }));
        let mut current = record_with_version(2);
        current.lookup_id = id;
        cache.fill(
            &Arc::new(CachedEntry::new(
                Arc::new(current),
                [0; 32],
                1_000,
                Arc::default(),
                std::time::Duration::ZERO,
            )),
            0,
        );
        assert!(matches!(cache.lookup(&id, 0), Lookup::Hit(_)));
        assert!(
            matches!(cache.lookup(&id, 1_000), Lookup::Miss { .. }),
            "expires at insertion + ttl"
        );
    }

    #[test]
    fn missing_marker_does_not_override_a_tombstone() {
        let cache = LocalCache::new(100);
        let id = LookupId::generate();
        cache.invalidate(id, 1, 500);
        cache.fill_missing(id, 400, 0);
        assert!(matches!(cache.lookup(&id, 0), Lookup::Miss { .. }));
        cache.fill_missing(id, 900, 600);
        assert!(matches!(cache.lookup(&id, 600), Lookup::Unknown));
    }

    #[test]
    fn unknown_markers_are_evicted_before_keys() {
        let cache = LocalCache::new(20);
        let kept = entry(1, 1_000);
        cache.fill(&kept, 0);
        for _ in 0..500 {
            cache.fill_missing(LookupId::generate(), 1_000, 0);
        }
        assert!(cache.len() <= 20);
        assert!(matches!(
            cache.lookup(&kept.record.lookup_id, 0),
            Lookup::Hit(_)
        ));
    }

    #[test]
    fn stays_within_capacity() {
        let cache = LocalCache::new(20);
        for _ in 0..200 {
            cache.fill(&entry(1, 1_000), 0);
        }
        assert!(cache.len() <= 20);
    }

    #[test]
    fn an_untrusted_cache_answers_no_hit_until_trusted_again() {
        let cache = LocalCache::new(100);
        let e = entry(1, 1_000);
        let id = e.record.lookup_id;
        cache.fill(&e, 0);
        cache.trust_until(100);
        assert!(matches!(cache.lookup(&id, 99), Lookup::Hit(_)));
        assert!(
            matches!(cache.lookup(&id, 100), Lookup::Miss { usage: Some(_) }),
            "past the trust deadline a hit is a miss that keeps the usage cell"
        );
        cache.trust_until(i64::MAX);
        assert!(matches!(cache.lookup(&id, 100), Lookup::Hit(_)));
    }

    #[test]
    fn clearing_keeps_tombstones_so_a_racing_fill_stays_refused() {
        let cache = LocalCache::new(100);
        let stale = entry(1, 1_000);
        let id = stale.record.lookup_id;
        cache.invalidate(id, 2, 500);
        cache.fill(&entry(1, 1_000), 0);
        cache.clear();
        cache.fill(&stale, 0);
        assert!(matches!(cache.lookup(&id, 0), Lookup::Miss { usage: None }));
        assert_eq!(cache.len(), 1, "the tombstone alone");
    }
}
