//! The [`CatalogStore`] implementation of [`MemoryStore`]: presets by (kind, tenant, name) under
//! the store's lock, so the compare-and-set and the audit append are one step.

use std::collections::BTreeMap;

use apikey_core::catalog::{CatalogKind, CatalogStore, Preset, StoredPreset};
use apikey_core::{AuditEvent, Error, Result, TenantId};
use async_trait::async_trait;

use super::MemoryStore;

/// Every preset, by (kind, tenant, name): a name's presets of one tenant sort together.
pub(super) type Presets = BTreeMap<(CatalogKind, Option<TenantId>, String), StoredPreset>;

#[async_trait]
impl CatalogStore for MemoryStore {
    async fn get_preset(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
        name: &str,
    ) -> Result<Option<StoredPreset>> {
        let key = (kind, tenant.cloned(), name.to_owned());
        Ok(self.tables.read().catalog.get(&key).cloned())
    }

    async fn list_presets(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
    ) -> Result<Vec<StoredPreset>> {
        let t = self.tables.read();
        Ok(t.catalog
            .iter()
            .filter(|((k, tn, _), _)| *k == kind && tn.as_ref() == tenant)
            .map(|(_, p)| p.clone())
            .collect())
    }

    async fn put_preset(
        &self,
        tenant: Option<&TenantId>,
        preset: &Preset,
        expected_version: u64,
        event: &AuditEvent,
    ) -> Result<u64> {
        let mut t = self.tables.write();
        let key = (preset.kind, tenant.cloned(), preset.name.clone());
        let current = t.catalog.get(&key).map_or(0, |p| p.version);
        if current != expected_version {
            return Err(Error::stale(format_args!(
                "{} {:?} (expected version {expected_version}, stored {current})",
                preset.kind, preset.name
            )));
        }
        let version = current + 1;
        t.catalog.insert(
            key,
            StoredPreset {
                tenant: tenant.cloned(),
                preset: preset.clone(),
                version,
                updated_at: event.at,
            },
        );
        t.audit.append(event);
        Ok(version)
    }

    async fn remove_preset(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
        name: &str,
        event: &AuditEvent,
    ) -> Result<bool> {
        let mut t = self.tables.write();
        let key = (kind, tenant.cloned(), name.to_owned());
        if t.catalog.remove(&key).is_none() {
            return Ok(false);
        }
        t.audit.append(event);
        Ok(true)
    }
}
