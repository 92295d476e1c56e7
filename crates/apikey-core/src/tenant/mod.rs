//! Tenant settings: one persisted [`TenantSettings`] per tenant, plus a default row for keys
//! without a tenant, read by management calls ([`KeyManager`](crate::KeyManager)).
//!
//! - Resolution ([`effective`]): the tenant's own row, else the default row, else
//!   [`TenantSettings::default()`] (today's behaviour). Rows are whole documents: a tenant row
//!   replaces the default, it does not merge field by field.
//! - Writes are compare-and-set on a version and commit with their audit event
//!   ([`EventType::TenantSettingsUpdated`](crate::EventType::TenantSettingsUpdated)).
//! - [`KeyManager::create_as`](crate::KeyManager::create_as) applies `approval_required` and
//!   the key-count limits. Stores with the [`CheckedInsert`] capability (every bundled one)
//!   count and insert in one atomic step, serialized per tenant: two creations racing for the
//!   last place cannot both take it. Imports and rotations bypass the limits (an import restores
//!   keys that existed; a rotation replaces one).
//!
//! Backends: `apikey-memory`, and `apikey-sqlx` / `apikey-diesel` on PostgreSQL, MySQL and SQLite.
//! Every bundled store implements it (memory, sqlx and diesel on the three SQL databases, MongoDB).
//! See `docs/tenant-settings.md`.

mod checked;
mod limit;
mod plan;
mod settings;
mod store;

pub use checked::{CheckedInsert, CountLimits, check_same_tenant};
pub use limit::{KeyLimit, KeyLimitReached};
pub use plan::retention_plan;
pub use settings::{MAX_RETENTION_DAYS, Retention, TenantSettings};
pub use store::{StoredSettings, TenantSettingsStore, settings_event};

use crate::error::Result;
use crate::ids::TenantId;

/// The settings that apply to `tenant`: its own row, else the default row (`tenant = None`),
/// else [`TenantSettings::default()`]. At most two reads.
pub async fn effective<S: TenantSettingsStore + ?Sized>(
    store: &S,
    tenant: Option<&TenantId>,
) -> Result<TenantSettings> {
    if tenant.is_some()
        && let Some(own) = store.get(tenant).await?
    {
        return Ok(own.settings);
    }
    Ok(store
        .get(None)
        .await?
        .map(|s| s.settings)
        .unwrap_or_default())
}
