//! The read behind a cache miss: the shared cache first, then the store, filling the shared
//! cache with what the store had.

use std::sync::Arc;

use super::Verifier;
use super::flight::{Fetched, FetchedRecord};
use crate::LookupId;

impl Verifier {
    /// One store read per lookup id however many requests miss together; the shared cache first.
    #[tracing::instrument(name = "apikey.store.fetch", level = "debug", skip_all, fields(lookup_id = %lookup))]
    pub(super) async fn fetch(&self, lookup: LookupId) -> Fetched {
        let inner = &*self.inner;
        let ttl = inner.config.cache_ttl;
        if let Some(l2) = &inner.l2 {
            match l2.get(&lookup).await {
                Ok(Some(hit)) => {
                    return Ok(Some(FetchedRecord {
                        record: Arc::new(hit.record),
                        life: hit.expires_in.min(ttl),
                    }));
                }
                Ok(None) => {}
                Err(e) => {
                    if let Some(suppressed) = self.log_now(&inner.logs.shared_cache) {
                        tracing::warn!(error = %e, suppressed, "shared cache unavailable; reading the store");
                    }
                }
            }
        }
        let record = inner.store.find_by_lookup_id(&lookup).await.map_err(|e| {
            #[cfg(feature = "metrics")]
            inner.metrics.store_errors.increment(1);
            Arc::new(e)
        })?;
        if let (Some(l2), Some(record)) = (&inner.l2, &record)
            && let Err(e) = l2.put(record, ttl).await
            && let Some(suppressed) = self.log_now(&inner.logs.shared_cache)
        {
            tracing::warn!(error = %e, suppressed, "could not fill the shared cache");
        }
        Ok(record.map(|record| FetchedRecord {
            record: Arc::new(record),
            life: ttl,
        }))
    }
}
