//! The [`TenantSettingsStore`] implementation of [`MemoryStore`]: one row per tenant (and one for
//! no tenant) under the store's lock, so the compare-and-set and the audit append are one step.

use std::collections::BTreeMap;

use apikey_core::tenant::{StoredSettings, TenantSettings, TenantSettingsStore};
use apikey_core::{AuditEvent, Error, Result, TenantId};
use async_trait::async_trait;

use super::MemoryStore;

/// Every row, by tenant; `None` is the default row (a key of its own, never a tenant's).
pub(super) type SettingsRows = BTreeMap<Option<TenantId>, StoredSettings>;

#[async_trait]
impl TenantSettingsStore for MemoryStore {
    async fn get(&self, tenant: Option<&TenantId>) -> Result<Option<StoredSettings>> {
        Ok(self.tables.read().settings.get(&tenant.cloned()).cloned())
    }

    async fn put(
        &self,
        tenant: Option<&TenantId>,
        expected_version: u64,
        settings: &TenantSettings,
        event: &AuditEvent,
    ) -> Result<u64> {
        let mut t = self.tables.write();
        let key = tenant.cloned();
        let current = t.settings.get(&key).map_or(0, |s| s.version);
        if current != expected_version {
            return Err(stale(tenant, expected_version, current));
        }
        let version = current + 1;
        t.settings.insert(
            key,
            StoredSettings {
                settings: settings.clone(),
                version,
                updated_at: event.at,
            },
        );
        // Same critical section as the row: no reader sees the row without its event.
        t.audit.append(event);
        Ok(version)
    }

    async fn list(&self) -> Result<Vec<(Option<TenantId>, StoredSettings)>> {
        Ok(self
            .tables
            .read()
            .settings
            .iter()
            .map(|(t, s)| (t.clone(), s.clone()))
            .collect())
    }
}

fn stale(tenant: Option<&TenantId>, expected: u64, current: u64) -> Error {
    let whose = tenant.map_or_else(|| "the default row".to_owned(), |t| format!("tenant {t}"));
    Error::stale(format_args!(
        "settings of {whose} (expected version {expected}, stored {current})"
    ))
}
