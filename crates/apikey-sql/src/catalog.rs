//! The statements of the catalog (`apikey_catalog`): templates, groups and rotation policies, one
//! JSON document per (kind, tenant, name), with a compare-and-set on `version` like tenant
//! settings; `tenant_key` is [`DEFAULT_ROW`](crate::tenant::DEFAULT_ROW) for no tenant.

use apikey_core::catalog::{CatalogKind, Preset, StoredPreset};
use apikey_core::{Error, Result, TenantId};
use chrono::{DateTime, Utc};

use crate::codec::{Reader, Row};
use crate::driver::Decode;
use crate::guard;
use crate::sql::{Placeholder, Sql, Value};
use crate::tenant::row_key;

const COLUMNS: &str = "tenant_key, preset, version, updated_at";

fn document(preset: &Preset) -> Result<Value> {
    let json = serde_json::to_value(preset).map_err(|e| Error::invalid("preset", e))?;
    Ok(Value::Json(Some(json)))
}

/// The preset `name` of `kind` in `tenant`.
pub fn get(p: Placeholder, tenant: Option<&TenantId>, kind: CatalogKind, name: &str) -> Sql {
    let mut sql = Sql::new(
        p,
        &format!("SELECT {COLUMNS} FROM apikey_catalog WHERE kind = "),
    );
    sql.bind(kind.as_str())
        .push(" AND tenant_key = ")
        .bind(row_key(tenant))
        .push(" AND name = ")
        .bind(name);
    sql
}

/// Every preset of `kind` in `tenant`, by name (byte order, as every collation here compares).
pub fn list(p: Placeholder, tenant: Option<&TenantId>, kind: CatalogKind) -> Sql {
    let mut sql = Sql::new(
        p,
        &format!("SELECT {COLUMNS} FROM apikey_catalog WHERE kind = "),
    );
    sql.bind(kind.as_str())
        .push(" AND tenant_key = ")
        .bind(row_key(tenant))
        .push(" ORDER BY name");
    sql
}

/// Creates the preset at version 1 unless it exists (then no row is affected).
pub fn insert(
    p: Placeholder,
    tenant: Option<&TenantId>,
    preset: &Preset,
    at: DateTime<Utc>,
) -> Result<Sql> {
    guard::label("name", &preset.name)?;
    let key = row_key(tenant);
    let mut sql = Sql::new(
        p,
        "INSERT INTO apikey_catalog (kind, tenant_key, name, preset, version, updated_at) SELECT ",
    );
    sql.bind(preset.kind.as_str())
        .push(", ")
        .bind(key)
        .push(", ")
        .bind(preset.name.as_str())
        .push(", ")
        .bind(document(preset)?)
        .push(", ")
        .bind(1_i64)
        .push(", ")
        .bind(apikey_core::clock::truncate_ms(at))
        .push(
            " FROM (SELECT 1 AS one) AS single WHERE NOT EXISTS \
             (SELECT 1 FROM apikey_catalog WHERE kind = ",
        )
        .bind(preset.kind.as_str())
        .push(" AND tenant_key = ")
        .bind(key)
        .push(" AND name = ")
        .bind(preset.name.as_str())
        .push(")");
    Ok(sql)
}

/// Replaces the preset if it is at `expected_version` (no row affected otherwise).
pub fn update(
    p: Placeholder,
    tenant: Option<&TenantId>,
    preset: &Preset,
    expected_version: u64,
    at: DateTime<Utc>,
) -> Result<Sql> {
    let expected = guard::to_i64("expected version", expected_version)?;
    let next = expected
        .checked_add(1)
        .ok_or_else(|| Error::invalid("expected version", "out of range"))?;
    let mut sql = Sql::new(p, "UPDATE apikey_catalog SET preset = ");
    sql.bind(document(preset)?)
        .push(", version = ")
        .bind(next)
        .push(", updated_at = ")
        .bind(apikey_core::clock::truncate_ms(at))
        .push(" WHERE kind = ")
        .bind(preset.kind.as_str())
        .push(" AND tenant_key = ")
        .bind(row_key(tenant))
        .push(" AND name = ")
        .bind(preset.name.as_str())
        .push(" AND version = ")
        .bind(expected);
    Ok(sql)
}

/// Deletes the preset (no row affected if absent).
pub fn delete(p: Placeholder, tenant: Option<&TenantId>, kind: CatalogKind, name: &str) -> Sql {
    let mut sql = Sql::new(p, "DELETE FROM apikey_catalog WHERE kind = ");
    sql.bind(kind.as_str())
        .push(" AND tenant_key = ")
        .bind(row_key(tenant))
        .push(" AND name = ")
        .bind(name);
    sql
}

impl Decode for StoredPreset {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        let r = Reader::new(row);
        let key = r.text("tenant_key")?;
        let tenant = if key.is_empty() {
            None
        } else {
            Some(TenantId::new(key).map_err(|e| r.corrupt("tenant_key", e))?)
        };
        Ok(StoredPreset {
            tenant,
            preset: r.json("preset")?,
            version: r.unsigned("version")?,
            updated_at: r.time("updated_at")?,
        })
    }
}
