//! The [`TenantSettingsStore`] implementation: `apikey-sql`'s tenant settings flow over this
//! store's [`Driver`](apikey_sql::Driver) implementation. Each write commits with its audit
//! event in one transaction.

use apikey_core::tenant::{StoredSettings, TenantSettings, TenantSettingsStore};
use apikey_core::{AuditEvent, Result, TenantId};
use apikey_sql::flow::tenant;
use async_trait::async_trait;

use crate::dialect::Dialect;
use crate::store::DieselStore;

#[async_trait]
impl<D: Dialect> TenantSettingsStore for DieselStore<D> {
    async fn get(&self, tenant: Option<&TenantId>) -> Result<Option<StoredSettings>> {
        tenant::get(self, tenant).await
    }

    async fn list(&self) -> Result<Vec<(Option<TenantId>, StoredSettings)>> {
        tenant::list(self).await
    }

    async fn put(
        &self,
        tenant: Option<&TenantId>,
        expected_version: u64,
        settings: &TenantSettings,
        event: &AuditEvent,
    ) -> Result<u64> {
        tenant::put(self, tenant, expected_version, settings, event).await
    }
}
