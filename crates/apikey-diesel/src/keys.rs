//! The [`KeyStore`] and [`LegacyLookup`] implementations: `apikey-sql`'s flow over this store's
//! [`Driver`](apikey_sql::Driver) implementation.

use apikey_core::store::LegacyLookup;
use apikey_core::{
    AuditEvent, KeyFilter, KeyId, KeyRecord, KeyStore, LookupId, Page, Result, TenantId,
    TenantScope, UsageBatchId, UsageUpdate,
};
use apikey_sql::flow::{read, write};
use async_trait::async_trait;

use crate::dialect::Dialect;
use crate::store::DieselStore;

#[async_trait]
impl<D: Dialect> KeyStore for DieselStore<D> {
    async fn insert(&self, record: &KeyRecord, event: &AuditEvent) -> Result<()> {
        write::insert(self, record, event).await
    }

    async fn get(&self, tenant: &TenantScope, id: KeyId) -> Result<Option<KeyRecord>> {
        read::get(self, tenant, id).await
    }

    async fn find_by_lookup_id(&self, lookup: &LookupId) -> Result<Option<KeyRecord>> {
        read::by_lookup_id(self, lookup).await
    }

    async fn update(
        &self,
        tenant: &TenantScope,
        expected_version: u64,
        record: &KeyRecord,
        event: &AuditEvent,
    ) -> Result<()> {
        write::update(self, tenant, expected_version, record, event).await
    }

    async fn record_usage(&self, batch: UsageBatchId, items: &[UsageUpdate]) -> Result<()> {
        write::usage(self, &batch, items).await
    }

    async fn query(&self, tenant: &TenantScope, filter: &KeyFilter) -> Result<Page<KeyRecord>> {
        read::page(self, tenant, filter).await
    }

    async fn delete(&self, tenant: &TenantScope, id: KeyId, event: &AuditEvent) -> Result<bool> {
        write::delete(self, tenant, id, event).await
    }

    async fn count(&self, tenant: Option<&TenantId>, filter: &KeyFilter) -> Result<u64> {
        // One `SELECT COUNT(*)`, not the default's paging through every record.
        read::count(self, tenant, filter).await
    }

    fn legacy(&self) -> Option<&dyn LegacyLookup> {
        Some(self)
    }

    fn checked(&self) -> Option<&dyn apikey_core::tenant::CheckedInsert> {
        Some(self)
    }

    fn analytics(&self) -> Option<&dyn apikey_core::analytics::AnalyticsStore> {
        Some(self)
    }
}

#[async_trait]
impl<D: Dialect> LegacyLookup for DieselStore<D> {
    async fn find_by_legacy_lookup(&self, prefix: &str) -> Result<Vec<KeyRecord>> {
        read::by_legacy_lookup(self, prefix).await
    }
}
