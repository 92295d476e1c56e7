//! The [`AnalyticsStore`] implementation: `apikey-sql`'s usage analytics flow (migration
//! 0012) over this store's [`Driver`](apikey_sql::Driver) implementation.

use apikey_core::analytics::{
    AnalyticsStore, KeyUsage, SeriesQuery, TopQuery, UsageCutoffs, UsagePoint, UsageRow,
};
use apikey_core::audit::PurgeScope;
use apikey_core::store::UsageBatchId;
use apikey_core::{KeyId, Result, TenantScope};
use apikey_sql::flow::analytics as flow;
use async_trait::async_trait;

use crate::dialect::Dialect;
use crate::store::DieselStore;

#[async_trait]
impl<D: Dialect> AnalyticsStore for DieselStore<D> {
    async fn add_usage(&self, batch: UsageBatchId, rows: &[UsageRow]) -> Result<bool> {
        flow::add(self, batch, rows).await
    }

    async fn usage_series(
        &self,
        tenant: &TenantScope,
        query: &SeriesQuery,
    ) -> Result<Vec<UsagePoint>> {
        flow::series(self, tenant, query).await
    }

    async fn top_keys(&self, tenant: &TenantScope, query: &TopQuery) -> Result<Vec<KeyUsage>> {
        flow::top(self, tenant, query).await
    }

    async fn purge_usage(&self, cutoffs: &UsageCutoffs) -> Result<u64> {
        flow::purge(self, &PurgeScope::AllBut(Vec::new()), cutoffs).await
    }

    async fn purge_usage_scoped(&self, scope: &PurgeScope, cutoffs: &UsageCutoffs) -> Result<u64> {
        flow::purge(self, scope, cutoffs).await
    }

    async fn erase_usage_of(&self, keys: &[KeyId]) -> Result<u64> {
        flow::erase_of(self, keys).await
    }
}
