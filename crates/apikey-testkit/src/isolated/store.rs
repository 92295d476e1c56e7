//! [`Isolated`]: a store on its own database that removes the database when dropped.
//!
//! The suites take a store by value and drop it when the case ends, so the store itself must carry
//! the cleanup; this wrapper does, and forwards every trait call unchanged.

use std::fmt;
use std::sync::Arc;

use apikey_core::store::LegacyLookup;
use apikey_core::tenant::CheckedInsert;
use apikey_core::{
    AuditEvent, AuditFilter, AuditStore, CatalogKind, CatalogStore, KeyFilter, KeyId, KeyRecord,
    KeyStore, LookupId, Page, Preset, ReaderCursor, Result, StoredPreset, StoredSettings, TenantId,
    TenantScope, TenantSettings, TenantSettingsStore, UsageBatchId, UsageUpdate,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A store plus the cleanup of its database, run when the last clone is dropped (before that
/// clone's store is dropped, so a pool can still be open: drop the database with a statement that
/// ends other sessions, such as PostgreSQL's `DROP DATABASE … WITH (FORCE)`). Clones share the
/// store's database, as the stores' own clones share their pool.
pub struct Isolated<S> {
    // Declared first so it is dropped first.
    cleanup: Arc<Cleanup>,
    /// The store under test.
    pub store: S,
}

struct Cleanup(Option<Box<dyn FnOnce() + Send + Sync>>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(cleanup) = self.0.take() {
            cleanup();
        }
    }
}

impl<S> Isolated<S> {
    /// Wraps `store`; `cleanup` runs once, when the last clone of the wrapper is dropped.
    pub fn new(store: S, cleanup: impl FnOnce() + Send + Sync + 'static) -> Self {
        Self {
            cleanup: Arc::new(Cleanup(Some(Box::new(cleanup)))),
            store,
        }
    }
}

impl<S: Clone> Clone for Isolated<S> {
    fn clone(&self) -> Self {
        Self {
            cleanup: Arc::clone(&self.cleanup),
            store: self.store.clone(),
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
    async fn count(&self, tenant: Option<&TenantId>, filter: &KeyFilter) -> Result<u64> {
        self.store.count(tenant, filter).await
    }
    fn legacy(&self) -> Option<&dyn LegacyLookup> {
        self.store.legacy()
    }
    fn checked(&self) -> Option<&dyn CheckedInsert> {
        self.store.checked()
    }
    fn analytics(&self) -> Option<&dyn apikey_core::analytics::AnalyticsStore> {
        self.store.analytics()
    }
}

#[async_trait]
impl<S: KeyStore + AuditStore + CatalogStore> CatalogStore for Isolated<S> {
    async fn get_preset(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
        name: &str,
    ) -> Result<Option<StoredPreset>> {
        self.store.get_preset(tenant, kind, name).await
    }
    async fn list_presets(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
    ) -> Result<Vec<StoredPreset>> {
        self.store.list_presets(tenant, kind).await
    }
    async fn put_preset(
        &self,
        tenant: Option<&TenantId>,
        preset: &Preset,
        expected_version: u64,
        event: &AuditEvent,
    ) -> Result<u64> {
        self.store
            .put_preset(tenant, preset, expected_version, event)
            .await
    }
    async fn remove_preset(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
        name: &str,
        event: &AuditEvent,
    ) -> Result<bool> {
        self.store.remove_preset(tenant, kind, name, event).await
    }
}

#[async_trait]
impl<S: KeyStore + AuditStore + TenantSettingsStore> TenantSettingsStore for Isolated<S> {
    async fn get(&self, tenant: Option<&TenantId>) -> Result<Option<StoredSettings>> {
        TenantSettingsStore::get(&self.store, tenant).await
    }
    async fn list(&self) -> Result<Vec<(Option<TenantId>, StoredSettings)>> {
        self.store.list().await
    }
    async fn put(
        &self,
        tenant: Option<&TenantId>,
        expected_version: u64,
        settings: &TenantSettings,
        event: &AuditEvent,
    ) -> Result<u64> {
        self.store
            .put(tenant, expected_version, settings, event)
            .await
    }
}

#[async_trait]
impl<S: KeyStore + AuditStore> AuditStore for Isolated<S> {
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
    async fn purge_scoped(
        &self,
        scope: &apikey_core::audit::PurgeScope,
        before: DateTime<Utc>,
    ) -> Result<u64> {
        self.store.purge_scoped(scope, before).await
    }
    async fn rewrite_erased(&self, events: &[AuditEvent]) -> Result<u64> {
        self.store.rewrite_erased(events).await
    }
    async fn newest_change(&self, id: KeyId) -> Result<Option<AuditEvent>> {
        self.store.newest_change(id).await
    }
}
