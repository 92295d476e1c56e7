//! [`Isolated`] forwards [`AnalyticsStore`] too, so a store on its own database can run the
//! analytics suite and still drop its database when the case ends.

use apikey_core::analytics::{
    AnalyticsStore, KeyUsage, SeriesQuery, TopQuery, UsageCutoffs, UsagePoint, UsageRow,
};
use apikey_core::store::UsageBatchId;
use apikey_core::{KeyId, Result, TenantScope};
use async_trait::async_trait;

use super::Isolated;

#[async_trait]
impl<S: AnalyticsStore> AnalyticsStore for Isolated<S> {
    async fn add_usage(&self, batch: UsageBatchId, rows: &[UsageRow]) -> Result<bool> {
        self.store.add_usage(batch, rows).await
    }

    async fn usage_series(
        &self,
        tenant: &TenantScope,
        query: &SeriesQuery,
    ) -> Result<Vec<UsagePoint>> {
        self.store.usage_series(tenant, query).await
    }

    async fn top_keys(&self, tenant: &TenantScope, query: &TopQuery) -> Result<Vec<KeyUsage>> {
        self.store.top_keys(tenant, query).await
    }

    async fn purge_usage(&self, cutoffs: &UsageCutoffs) -> Result<u64> {
        self.store.purge_usage(cutoffs).await
    }

    async fn purge_usage_scoped(
        &self,
        scope: &apikey_core::audit::PurgeScope,
        cutoffs: &UsageCutoffs,
    ) -> Result<u64> {
        self.store.purge_usage_scoped(scope, cutoffs).await
    }

    async fn erase_usage_of(&self, keys: &[KeyId]) -> Result<u64> {
        self.store.erase_usage_of(keys).await
    }
}
