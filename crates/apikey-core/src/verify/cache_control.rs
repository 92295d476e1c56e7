//! What carries invalidations to a [`Verifier`] controls its in-process cache through these:
//! drop it, invalidate one key, and bound how long it may be answered from.

use super::{Verifier, micros};
use crate::clock::Clock;
use crate::ids::LookupId;

impl Verifier {
    /// Drops every in-process cache entry (for example after the invalidation channel was lost),
    /// keeping the tombstones of invalidations, which only ever refuse older fills.
    pub fn clear_cache(&self) {
        self.inner.cache.clear();
    }

    /// Answers from the in-process cache only before `until` (by this verifier's clock); past
    /// it, every verification reads the shared cache or the store, which are current.
    ///
    /// For what carries invalidations to this instance (a revocation listener): it renews the
    /// deadline while it can vouch that no invalidation was missed, so an instance cut off from
    /// them (a network partition, a paused process) stops answering from what may be stale. A
    /// listener that lets the deadline pass must [`clear_cache`](Self::clear_cache) before
    /// renewing it. Without a call the cache is trusted for its entries' TTL, as before.
    pub fn trust_cache_until(&self, until: chrono::DateTime<chrono::Utc>) {
        self.inner.cache.trust_until(until.timestamp_micros());
    }

    /// Stops answering from the in-process cache until [`trust_cache_until`](Self::trust_cache_until)
    /// is called again (a listener that lost its channel, or has not yet subscribed).
    pub fn distrust_cache(&self) {
        self.inner.cache.trust_until(i64::MIN);
    }

    /// The deadline [`trust_cache_until`](Self::trust_cache_until) set; `None` if none was set
    /// (the cache is trusted for its entries' TTL).
    pub fn cache_trusted_until(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        match self.inner.cache.trusted_until() {
            i64::MAX => None,
            i64::MIN => Some(chrono::DateTime::<chrono::Utc>::MIN_UTC),
            us => chrono::DateTime::from_timestamp_micros(us),
        }
    }

    /// This verifier's clock (listeners time the cache's trust with it).
    pub fn clock(&self) -> &std::sync::Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Invalidates `lookup` at `version` in process, for invalidations that arrive from other
    /// instances (pub/sub).
    pub fn invalidate(&self, lookup: LookupId, version: u64) {
        let until = self.inner.clock.now().timestamp_micros() + micros(self.inner.config.cache_ttl);
        self.inner.cache.invalidate(lookup, version, until);
    }
}
