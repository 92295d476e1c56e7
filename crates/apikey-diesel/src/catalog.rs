//! The [`CatalogStore`] implementation (templates and groups): `apikey-sql`'s catalog flow over
//! this store's [`Driver`](apikey_sql::Driver) implementation. Each write commits with its audit
//! event in one transaction.

use apikey_core::catalog::{CatalogKind, CatalogStore, Preset, StoredPreset};
use apikey_core::{AuditEvent, Result, TenantId};
use apikey_sql::flow::catalog;
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
