//! [`BreakerStore`]: a [`KeyStore`] whose calls go through a [`Breaker`].

use std::sync::Arc;

use async_trait::async_trait;

use super::{Breaker, BreakerConfig};
use crate::store::{KeyStore, LegacyLookup, Page, UsageBatchId, UsageUpdate};
use crate::{
    AuditEvent, Clock, KeyFilter, KeyId, KeyRecord, LookupId, Result, TenantId, TenantScope,
};

/// A key store behind a circuit breaker. Give it to [`ApiKeys::builder`](crate::ApiKeys::builder)
/// in place of the store; keep the unwrapped store for the other capabilities (audit, tenant
/// settings, …), which are not on the request path.
#[derive(Debug)]
pub struct BreakerStore {
    inner: Arc<dyn KeyStore>,
    breaker: Breaker,
}

impl BreakerStore {
    /// `inner` behind a breaker configured by `config`, on `clock`.
    ///
    /// # Errors
    ///
    /// As [`Breaker::new`].
    pub fn new(
        inner: Arc<dyn KeyStore>,
        config: BreakerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        Ok(Self {
            inner,
            breaker: Breaker::new(config, clock)?,
        })
    }

    /// The breaker, for its state and counts.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    async fn call<T>(&self, f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        let permit = self.breaker.admit()?;
        let result = f.await;
        self.breaker.finish(permit, &result);
        result
    }
}

#[async_trait]
impl KeyStore for BreakerStore {
    async fn insert(&self, record: &KeyRecord, event: &AuditEvent) -> Result<()> {
        self.call(self.inner.insert(record, event)).await
    }

    async fn get(&self, tenant: &TenantScope, id: KeyId) -> Result<Option<KeyRecord>> {
        self.call(self.inner.get(tenant, id)).await
    }

    async fn find_by_lookup_id(&self, lookup: &LookupId) -> Result<Option<KeyRecord>> {
        self.call(self.inner.find_by_lookup_id(lookup)).await
    }

    async fn update(
        &self,
        tenant: &TenantScope,
        expected_version: u64,
        record: &KeyRecord,
        event: &AuditEvent,
    ) -> Result<()> {
        self.call(self.inner.update(tenant, expected_version, record, event))
            .await
    }

    async fn record_usage(&self, batch: UsageBatchId, items: &[UsageUpdate]) -> Result<()> {
        self.call(self.inner.record_usage(batch, items)).await
    }

    async fn query(&self, tenant: &TenantScope, filter: &KeyFilter) -> Result<Page<KeyRecord>> {
        self.call(self.inner.query(tenant, filter)).await
    }

    async fn delete(&self, tenant: &TenantScope, id: KeyId, event: &AuditEvent) -> Result<bool> {
        self.call(self.inner.delete(tenant, id, event)).await
    }

    async fn count(&self, tenant: Option<&TenantId>, filter: &KeyFilter) -> Result<u64> {
        self.call(self.inner.count(tenant, filter)).await
    }

    fn checked(&self) -> Option<&dyn crate::tenant::CheckedInsert> {
        self.inner.checked()
    }

    fn legacy(&self) -> Option<&dyn LegacyLookup> {
        self.inner.legacy()
    }
}
