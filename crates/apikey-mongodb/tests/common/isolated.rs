//! [`Isolated`]: the store on its own database, dropping the database when the test ends.
//!
//! A copy of `apikey_testkit::isolated::Isolated` (feature `isolated-db`) for [`MongoStore`]
//! only: the testkit's wrapper does not forward the audit v2 methods (`append`, `read_after`,
//! `last_position`, cursors) yet, so it no longer compiles. Back to the testkit's once it does.

use std::fmt;

use apikey_core::store::LegacyLookup;
use apikey_core::{
    AuditEvent, AuditFilter, AuditStore, KeyFilter, KeyId, KeyRecord, KeyStore, LookupId, Page,
    ReaderCursor, Result, TenantScope, UsageBatchId, UsageUpdate,
};
use apikey_mongodb::MongoStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A store plus the cleanup of its database, run once on drop.
pub struct Isolated {
    /// The store under test.
    pub store: MongoStore,
    cleanup: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl Isolated {
    /// Wraps `store`; `cleanup` runs when the wrapper is dropped.
    pub fn new(store: MongoStore, cleanup: impl FnOnce() + Send + Sync + 'static) -> Self {
        Self {
            store,
            cleanup: Some(Box::new(cleanup)),
        }
    }
}

impl Drop for Isolated {
    fn drop(&mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            cleanup();
        }
    }
}

impl fmt::Debug for Isolated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Isolated")
            .field("store", &self.store)
            .finish()
    }
}

#[async_trait]
impl KeyStore for Isolated {
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
impl AuditStore for Isolated {
    async fn query(&self, tenant: &TenantScope, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        AuditStore::query(&self.store, tenant, filter).await
    }
    async fn append(&self, event: &AuditEvent) -> Result<bool> {
        self.store.append(event).await
    }
    async fn read_after(&self, after: u64, limit: u32) -> Result<Vec<AuditEvent>> {
        self.store.read_after(after, limit).await
    }
    async fn last_position(&self) -> Result<u64> {
        self.store.last_position().await
    }
    async fn cursors(&self) -> Result<Vec<ReaderCursor>> {
        self.store.cursors().await
    }
    async fn save_cursor(&self, reader: &str, position: u64) -> Result<()> {
        self.store.save_cursor(reader, position).await
    }
    async fn remove_cursor(&self, reader: &str) -> Result<bool> {
        self.store.remove_cursor(reader).await
    }
    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        self.store.purge_before(before).await
    }
}
