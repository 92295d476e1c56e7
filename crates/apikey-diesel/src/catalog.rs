//! The [`CatalogStore`] and [`CheckedInsert`] implementations: `apikey-sql`'s catalog and
//! checked-insert flows over this store's [`Driver`](apikey_sql::Driver) implementation, and
//! the duplicate-alias report of migration 0008.

use apikey_core::catalog::{CatalogKind, CatalogStore, Preset, StoredPreset};
use apikey_core::tenant::{CheckedInsert, CountLimits};
use apikey_core::{AuditEvent, KeyRecord, Result, TenantId};
use apikey_sql::flow::aliases::{self, DuplicateAlias};
use apikey_sql::flow::{catalog, checked};
use async_trait::async_trait;

use crate::dialect::Dialect;
use crate::store::DieselStore;

#[async_trait]
impl<D: Dialect> CatalogStore for DieselStore<D> {
    async fn get_preset(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
        name: &str,
    ) -> Result<Option<StoredPreset>> {
        catalog::get(self, tenant, kind, name).await
    }

    async fn list_presets(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
    ) -> Result<Vec<StoredPreset>> {
        catalog::list(self, tenant, kind).await
    }

    async fn put_preset(
        &self,
        tenant: Option<&TenantId>,
        preset: &Preset,
        expected_version: u64,
        event: &AuditEvent,
    ) -> Result<u64> {
        catalog::put(self, tenant, preset, expected_version, event).await
    }

    async fn remove_preset(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
        name: &str,
        event: &AuditEvent,
    ) -> Result<bool> {
        catalog::remove(self, tenant, kind, name, event).await
    }
}

#[async_trait]
impl<D: Dialect> CheckedInsert for DieselStore<D> {
    async fn insert_checked(
        &self,
        tenant: Option<&TenantId>,
        items: &[(KeyRecord, AuditEvent)],
        limits: &CountLimits,
    ) -> Result<()> {
        checked::insert(self, tenant, items, limits).await
    }
}

impl<D: Dialect> DieselStore<D> {
    /// Every alias that several keys of one tenant hold: keys written before aliases were unique
    /// per tenant (migration 0008). While there are any, `migrate()` leaves the unique alias
    /// index uncreated (new writes are still checked); resolve them with `alias remove` and run
    /// `migrate()` again.
    pub async fn duplicate_aliases(&self) -> Result<Vec<DuplicateAlias>> {
        aliases::duplicates(self).await
    }
}
