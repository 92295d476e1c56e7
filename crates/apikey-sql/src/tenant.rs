//! The statements of tenant settings (`apikey_tenant_settings`): one row per tenant, keyed by
//! the tenant id or by [`DEFAULT_ROW`] for the default row, with a compare-and-set on `version`.

use apikey_core::tenant::{StoredSettings, TenantSettings};
use apikey_core::{Error, Result, TenantId, TenantScope};
use chrono::{DateTime, Utc};

use crate::codec::{Reader, Row};
use crate::driver::Decode;
use crate::guard;
use crate::sql::{Placeholder, Sql, Value};

/// The `tenant_key` of the default row. Tenant ids are 1 to 64 characters, so the empty string
/// is never one, and it fits a primary key where a NULL would not.
pub const DEFAULT_ROW: &str = "";

/// The primary key of `tenant`'s row.
pub fn row_key(tenant: Option<&TenantId>) -> &str {
    tenant.map_or(DEFAULT_ROW, TenantId::as_str)
}

/// Appends ` AND tenant_key = …` when `scope` names a tenant (`All` adds nothing): the filter of
/// every table keyed by [`row_key`].
pub(crate) fn push_scope(sql: &mut Sql, scope: &TenantScope) {
    if let TenantScope::Tenant(t) = scope {
        sql.push(" AND tenant_key = ").bind(t.as_str());
    }
}

/// The tenant of a row's `tenant_key` ([`DEFAULT_ROW`] is no tenant).
pub(crate) fn tenant_of<R: Row + ?Sized>(
    r: &Reader<'_, R>,
) -> std::result::Result<Option<TenantId>, R::Error> {
    let key = r.text("tenant_key")?;
    if key.is_empty() {
        return Ok(None);
    }
    TenantId::new(key)
        .map(Some)
        .map_err(|e: Error| r.corrupt("tenant_key", e))
}

fn document(settings: &TenantSettings) -> Result<Value> {
    let json = serde_json::to_value(settings).map_err(|e| Error::invalid("tenant settings", e))?;
    Ok(Value::Json(Some(json)))
}

/// The row of `tenant`.
pub fn get(p: Placeholder, tenant: Option<&TenantId>) -> Sql {
    let mut sql = Sql::new(
        p,
        "SELECT settings, version, updated_at FROM apikey_tenant_settings WHERE tenant_key = ",
    );
    sql.bind(row_key(tenant));
    sql
}

/// Creates the row of `tenant` at version 1 unless it exists (then no row is affected; two
/// first writes at once leave one to the primary key, a `Conflict`).
pub fn insert(
    p: Placeholder,
    tenant: Option<&TenantId>,
    settings: &TenantSettings,
    at: DateTime<Utc>,
) -> Result<Sql> {
    let key = row_key(tenant);
    let mut sql = Sql::new(
        p,
        "INSERT INTO apikey_tenant_settings (tenant_key, settings, version, updated_at) SELECT ",
    );
    sql.bind(key)
        .push(", ")
        .bind(document(settings)?)
        .push(", ")
        .bind(1_i64)
        .push(", ")
        .bind(apikey_core::clock::truncate_ms(at))
        .push(
            " FROM (SELECT 1 AS one) AS single WHERE NOT EXISTS \
             (SELECT 1 FROM apikey_tenant_settings WHERE tenant_key = ",
        )
        .bind(key)
        .push(")");
    Ok(sql)
}

/// Replaces the row of `tenant` if it is at `expected_version` (no row affected otherwise).
pub fn update(
    p: Placeholder,
    tenant: Option<&TenantId>,
    expected_version: u64,
    settings: &TenantSettings,
    at: DateTime<Utc>,
) -> Result<Sql> {
    let expected = guard::to_i64("expected version", expected_version)?;
    let next = expected
        .checked_add(1)
        .ok_or_else(|| Error::invalid("expected version", "out of range"))?;
    let mut sql = Sql::new(p, "UPDATE apikey_tenant_settings SET settings = ");
    sql.bind(document(settings)?)
        .push(", version = ")
        .bind(next)
        .push(", updated_at = ")
        .bind(apikey_core::clock::truncate_ms(at))
        .push(" WHERE tenant_key = ")
        .bind(row_key(tenant))
        .push(" AND version = ")
        .bind(expected);
    Ok(sql)
}

/// Every row, with its tenant.
pub fn list(p: Placeholder) -> Sql {
    Sql::new(
        p,
        "SELECT tenant_key, settings, version, updated_at FROM apikey_tenant_settings",
    )
}

/// A row as [`list`] reads it: its tenant (`None`: the default row) and its settings.
#[derive(Debug)]
pub struct ListedSettings(pub Option<TenantId>, pub StoredSettings);

impl Decode for ListedSettings {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        let tenant = tenant_of(&Reader::new(row))?;
        Ok(Self(tenant, StoredSettings::decode(row)?))
    }
}

impl Decode for StoredSettings {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        let r = Reader::new(row);
        Ok(StoredSettings {
            settings: r.json("settings")?,
            version: r.unsigned("version")?,
            updated_at: r.time("updated_at")?,
        })
    }
}
