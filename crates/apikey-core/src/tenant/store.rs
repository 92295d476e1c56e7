//! [`TenantSettingsStore`]: the persistence capability of tenant settings — one versioned row
//! per tenant, written by compare-and-set together with its audit event.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::TenantSettings;
use crate::audit::{AuditEvent, EventSubject, EventType};
use crate::error::Result;
use crate::ids::TenantId;

/// Settings as stored, with the version a writer must name to replace them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSettings {
    /// The settings.
    pub settings: TenantSettings,
    /// 1 for the first write, one more for each later one.
    pub version: u64,
    /// When the row was last written (milliseconds).
    pub updated_at: DateTime<Utc>,
}

/// Where tenant settings live. A capability beside [`KeyStore`](crate::KeyStore), not a part
/// of it: a backend implements it when it can, and
/// [`ApiKeysBuilder::tenant_settings`](crate::ApiKeysBuilder::tenant_settings) wires it in.
///
/// `tenant` is `None` for the default row, which applies to keys without a tenant and to every
/// tenant without a row of its own (see [`effective`](super::effective)). The default row and the
/// rows of tenants are separate: writing one never changes another.
#[async_trait]
pub trait TenantSettingsStore: Send + Sync + fmt::Debug + 'static {
    /// The stored row of `tenant` (or the default row), if there is one. Only that row: no
    /// fallback to the default (that is [`effective`](super::effective)'s job).
    async fn get(&self, tenant: Option<&TenantId>) -> Result<Option<StoredSettings>>;

    /// Writes `settings` as the row of `tenant` if its stored version is `expected_version` (0:
    /// the row must not exist yet), and appends `event`, in one atomic step; returns the new
    /// version (`expected_version + 1`) and stores `event.at` as `updated_at`. A stale version
    /// (or an existing row when 0 was expected) is `Conflict`, and then neither the row nor the
    /// event is written.
    ///
    /// Stores do not validate `settings`: [`KeyManager::set_settings`](crate::KeyManager::set_settings)
    /// does, before calling this.
    async fn put(
        &self,
        tenant: Option<&TenantId>,
        expected_version: u64,
        settings: &TenantSettings,
        event: &AuditEvent,
    ) -> Result<u64>;

    /// Every stored row, the default row (`None`) included, in no particular order: what the
    /// retention jobs read to apply each tenant's rule. Settings rows are few (one per tenant
    /// that set anything).
    ///
    /// The default refuses (`Config`), so per-tenant retention fails loudly on a store that
    /// cannot list its rows rather than applying one rule to every tenant.
    async fn list(&self) -> Result<Vec<(Option<TenantId>, StoredSettings)>> {
        Err(crate::error::Error::new(
            crate::error::ErrorKind::Config,
            "this tenant settings store cannot list its rows, so per-tenant retention cannot be applied",
        ))
    }
}

/// The audit event of a settings change: type [`EventType::TenantSettingsUpdated`], subject the
/// tenant (none for the default row), a fresh UUIDv7 id, and as `data` the new version and the
/// settings written: `{"version": 3, "settings": {...}}`. The settings before are the `data` of
/// the tenant's previous event of this type.
///
/// The event's own `version` stays 0: that field is a key's version, and this is no key change.
pub fn settings_event(
    tenant: Option<&TenantId>,
    new_version: u64,
    settings: &TenantSettings,
    at: DateTime<Utc>,
    actor: Option<String>,
    reason: Option<String>,
) -> Result<AuditEvent> {
    let settings =
        serde_json::to_value(settings).map_err(|e| crate::Error::invalid("tenant settings", e))?;
    let mut event = AuditEvent {
        id: Uuid::now_v7(),
        position: None,
        event_type: EventType::TenantSettingsUpdated,
        subject: tenant.cloned().map(EventSubject::Tenant),
        tenant_id: tenant.cloned(),
        actor,
        reason,
        at: crate::clock::truncate_ms(at),
        version: 0,
        before: None,
        after: None,
        data: Some(serde_json::json!({ "version": new_version, "settings": settings })),
        chain: None,
    };
    event.seal_standalone();
    Ok(event)
}
