//! [`CatalogStore`]: the persistence capability of templates and groups — one versioned document
//! per (kind, tenant, name), written by compare-and-set together with its audit event.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{CatalogKind, Preset};
use crate::audit::{AuditEvent, EventSubject, EventType};
use crate::error::Result;
use crate::ids::TenantId;

/// A preset as stored, with the version a writer must name to replace it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPreset {
    /// The tenant it belongs to (`None`: the keys without a tenant).
    pub tenant: Option<TenantId>,
    /// The preset.
    pub preset: Preset,
    /// 1 for the first write, one more for each later one.
    pub version: u64,
    /// When it was last written (milliseconds).
    pub updated_at: DateTime<Utc>,
}

/// Where templates and groups live. A capability beside [`KeyStore`](crate::KeyStore):
/// [`ApiKeysBuilder::catalog`](crate::ApiKeysBuilder::catalog) wires it in.
///
/// `tenant` is exact: `None` is the presets of keys without a tenant, never "every tenant", and a
/// tenant does not see another's (or the `None`) presets. Names are compared byte for byte.
#[async_trait]
pub trait CatalogStore: Send + Sync + fmt::Debug + 'static {
    /// The preset `name` of `kind` in `tenant`, if there is one.
    async fn get_preset(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
        name: &str,
    ) -> Result<Option<StoredPreset>>;

    /// Every preset of `kind` in `tenant`, by name.
    async fn list_presets(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
    ) -> Result<Vec<StoredPreset>>;

    /// Writes `preset` (its kind and name are the row's) in `tenant` if the stored version is
    /// `expected_version` (0: it must not exist yet), and appends `event`, in one atomic step;
    /// returns the new version and stores `event.at` as `updated_at`. A stale version (or an
    /// existing row when 0 was expected) is `Conflict`, and then nothing is written.
    ///
    /// Stores do not validate `preset`: [`KeyManager::save_preset`](crate::KeyManager::save_preset)
    /// does, before calling this.
    async fn put_preset(
        &self,
        tenant: Option<&TenantId>,
        preset: &Preset,
        expected_version: u64,
        event: &AuditEvent,
    ) -> Result<u64>;

    /// Removes the preset and appends `event`, atomically; `false` (and no event) if there was
    /// none.
    async fn remove_preset(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
        name: &str,
        event: &AuditEvent,
    ) -> Result<bool>;
}

/// The audit event of a preset change: `template.saved` / `group.saved` (with `data`
/// `{"kind", "name", "version", "preset"}`) or `template.removed` / `group.removed` (with
/// `{"kind", "name"}`), subject the tenant, a fresh UUIDv7 id.
pub fn preset_event(
    tenant: Option<&TenantId>,
    kind: CatalogKind,
    name: &str,
    saved: Option<(&Preset, u64)>,
    at: DateTime<Utc>,
    actor: Option<String>,
    reason: Option<String>,
) -> Result<AuditEvent> {
    let event_type = match (kind, saved.is_some()) {
        (CatalogKind::Template, true) => EventType::TemplateSaved,
        (CatalogKind::Template, false) => EventType::TemplateRemoved,
        (CatalogKind::Group, true) => EventType::GroupSaved,
        (CatalogKind::Group, false) => EventType::GroupRemoved,
        (CatalogKind::Policy, true) => EventType::PolicySaved,
        (CatalogKind::Policy, false) => EventType::PolicyRemoved,
        (CatalogKind::Pool, true) => EventType::PoolSaved,
        (CatalogKind::Pool, false) => EventType::PoolRemoved,
    };
    let mut data = serde_json::json!({ "kind": kind, "name": name });
    if let Some((preset, version)) = saved {
        data["version"] = version.into();
        data["preset"] =
            serde_json::to_value(preset).map_err(|e| crate::Error::invalid("preset", e))?;
    }
    let mut event = AuditEvent {
        id: Uuid::now_v7(),
        position: None,
        event_type,
        subject: tenant.cloned().map(EventSubject::Tenant),
        tenant_id: tenant.cloned(),
        actor,
        reason,
        at: crate::clock::truncate_ms(at),
        version: 0,
        before: None,
        after: None,
        data: Some(data),
        chain: None,
    };
    event.seal_standalone();
    Ok(event)
}
