//! [`Isolated`]: a store on its own database that drops the database, then lets the next test
//! run, when it is dropped.

use std::fmt;

use apikey_core::store::LegacyLookup;
use apikey_core::{
    AuditEvent, AuditFilter, AuditStore, KeyFilter, KeyId, KeyRecord, KeyStore, LookupId, Page,
    Result, TenantScope, UsageBatchId, UsageUpdate,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::OwnedMutexGuard;

/// A store plus its database's cleanup and the serial guard, released in that order.
pub struct Isolated<S> {
    pub store: S,
    database: Option<(String, String)>,
    _serial: OwnedMutexGuard<()>,
}

impl<S> Isolated<S> {
    pub fn new(store: S, serial: OwnedMutexGuard<()>, url: String, database: String) -> Self {
        Self {
            store,
            database: Some((url, database)),
            _serial: serial,
        }
    }
}

impl<S> Drop for Isolated<S> {
    fn drop(&mut self) {
        if let Some((url, name)) = self.database.take() {
            super::drop_database(url, name);
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for Isolated<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Isolated")
            .field("store", &self.store)
            .finish()
    }
}

#[async_trait]
impl<S: KeyStore + AuditStore> KeyStore for Isolated<S> {
    async fn insert(&self, record: &KeyRecord, event: &AuditEvent) -> Result<()> {
        self.store.insert(record, event).await
    }
    async fn get(&self, tenant: &TenantScope, id: KeyId) -> Result<Option<KeyRecord>> {
        self.store.get(tenant, id).await
    }
    async fn find_by_lookup_id(&self, lookup: &LookupId) -> Result<Option<KeyRecord>> {
        self.store.find_by_lookup_id(lookup).await
    }
    async fn update(
        &self,
        tenant: &TenantScope,
        expected_version: u64,
        record: &KeyRecord,
        event: &AuditEvent,
    ) -> Result<()> {
        self.store
            .update(tenant, expected_version, record, event)
            .await
    }
    async fn record_usage(&self, batch: UsageBatchId, items: &[UsageUpdate]) -> Result<()> {
        self.store.record_usage(batch, items).await
    }
    async fn query(&self, tenant: &TenantScope, filter: &KeyFilter) -> Result<Page<KeyRecord>> {
        KeyStore::query(&self.store, tenant, filter).await
    }
    async fn delete(&self, tenant: &TenantScope, id: KeyId, event: &AuditEvent) -> Result<bool> {
        self.store.delete(tenant, id, event).await
    }
    fn legacy(&self) -> Option<&dyn LegacyLookup> {
        self.store.legacy()
    }
}

#[async_trait]
impl<S: KeyStore + AuditStore> AuditStore for Isolated<S> {
    async fn query(&self, tenant: &TenantScope, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        AuditStore::query(&self.store, tenant, filter).await
    }
    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        self.store.purge_before(before).await
    }
}
