//! Legacy (nest-api-key-auth) tokens: found by their secret 8-character prefix among candidates,
//! verified with the slow hash the import brought, then cached like any key under its lookup id,
//! indexed by the keyed digest of the whole token.

use std::sync::Arc;

use tracing::Instrument;

use crate::error::ErrorKind;
use crate::token::LegacyToken;
use crate::verify::failures::FailSubject;
use crate::verify::local_cache::{CachedEntry, Lookup};
use crate::verify::{
    Rejection, RejectionKind, RequestContext, Verified, Verifier, micros, observe, rehash,
};

impl Verifier {
    /// The first-level entry a legacy token verified for before, if it is still there and this
    /// is the same token. A wrong legacy token never finds one (the index is keyed by the whole
    /// token's digest), so failures always take the counted path below.
    #[inline]
    pub(super) fn cached_legacy(
        &self,
        t: &LegacyToken<'_>,
        now_us: i64,
    ) -> Option<Arc<CachedEntry>> {
        let inner = &*self.inner;
        let digest = inner.digest.digest(t.secret());
        let lookup = inner.cache.legacy_lookup(&digest)?;
        match inner.cache.lookup(&lookup, now_us) {
            Lookup::Hit(entry) if inner.digest.matches(t.secret(), &entry.digest) => Some(entry),
            _ => None,
        }
    }

    pub(super) async fn verify_legacy(
        &self,
        t: LegacyToken<'_>,
        ctx: &RequestContext<'_>,
    ) -> Result<Verified, Rejection> {
        let inner = &*self.inner;
        let now_us = inner.clock.now_micros();
        if let Some(entry) = self.cached_legacy(&t, now_us) {
            return self.authorize(entry, ctx, now_us).await;
        }
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(t.lookup_prefix().as_bytes());
        let subject = FailSubject::Legacy(prefix);
        let Some(legacy) = inner.store.legacy() else {
            return Err(self.failed(RejectionKind::Unknown, ctx, subject, now_us));
        };
        if let Some(wait) = inner
            .failures
            .blocked(ctx.failure_ip(), subject, now_us / 1000)
        {
            return Err(Rejection::new(RejectionKind::TooManyFailures).retry_after(wait));
        }
        let candidates = legacy
            .find_by_legacy_lookup(t.lookup_prefix())
            .instrument(observe::legacy_fetch())
            .await
            .map_err(|e| {
                if let Some(suppressed) = self.log_now(&inner.logs.store) {
                    tracing::error!(error = %e, suppressed, "key store unavailable during legacy verification");
                }
                Rejection::new(RejectionKind::Unavailable)
            })?;
        for record in candidates
            .into_iter()
            .take(inner.config.max_legacy_candidates)
        {
            let hashed = inner.hasher.verify(t.secret(), &record.hash);
            let v = hashed.instrument(observe::slow_hash(&record)).await.map_err(|e| {
                if e.kind() != ErrorKind::Unavailable
                    && let Some(suppressed) = self.log_now(&inner.logs.hash)
                {
                    tracing::error!(error = %e, key = %record.id, suppressed, "legacy hash verification failed");
                }
                Rejection::new(RejectionKind::Unavailable)
            })?;
            if v.matched {
                let record = Arc::new(record);
                if v.rehash {
                    rehash::spawn(self.clone(), Arc::clone(&record), t.secret());
                }
                let digest = inner.digest.digest(t.secret());
                let lookup = record.lookup_id;
                let usage = inner.usage.cell(record.id, record.tenant_id.as_ref());
                let charges = self.pool_charges(&record, now_us).await?;
                let mut entry = CachedEntry::new(
                    record,
                    digest,
                    now_us + micros(inner.config.cache_ttl),
                    usage,
                    inner.config.expiry_grace,
                );
                entry.charges = charges;
                let entry = Arc::new(entry);
                inner.cache.fill(&entry, now_us);
                inner.cache.fill_legacy(digest, lookup);
                return self.authorize(entry, ctx, now_us).await;
            }
        }
        Err(self.failed(RejectionKind::WrongSecret, ctx, subject, now_us))
    }
}
