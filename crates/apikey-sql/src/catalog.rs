//! The statements of the catalog (`apikey_catalog`): templates and groups, one row per (kind,
//! tenant, name) with the preset as a JSON document, written by compare-and-set on `version` as
//! tenant settings are ([`crate::tenant`]).

use apikey_core::catalog::{CatalogKind, Preset, StoredPreset};
use apikey_core::{Error, Result, TenantId};
use chrono::{DateTime, Utc};

use crate::codec::{Reader, Row};
use crate::driver::Decode;
use crate::guard;
use crate::sql::{Placeholder, Sql, Value};
use crate::tenant::row_key;

const COLUMNS: &str = "kind, tenant_key, name, preset, version, updated_at";

/// The stored document of `preset`, checked by [`guard::preset`].
fn document(preset: &Preset) -> Result<Value> {
    let json = serde_json::to_value(preset).map_err(|e| Error::invalid("preset", e))?;
    guard::preset(&preset.name, &json)?;
    Ok(Value::Json(Some(json)))
}

fn push_key(sql: &mut Sql, tenant: Option<&TenantId>, kind: CatalogKind) {
    sql.push(" WHERE kind = ")
        .bind(kind.as_str())
        .push(" AND tenant_key = ")
        .bind(row_key(tenant));
}

/// The preset `name` of `kind` in `tenant`.
pub fn get(p: Placeholder, tenant: Option<&TenantId>, kind: CatalogKind, name: &str) -> Sql {
    let mut sql = Sql::new(p, &format!("SELECT {COLUMNS} FROM apikey_catalog"));
    push_key(&mut sql, tenant, kind);
    sql.push(" AND name = ").bind(name);
    sql
}

/// Every preset of `kind` in `tenant`, by name (byte order: every name column compares bytes).
pub fn list(p: Placeholder, tenant: Option<&TenantId>, kind: CatalogKind) -> Sql {
    let mut sql = Sql::new(p, &format!("SELECT {COLUMNS} FROM apikey_catalog"));
    push_key(&mut sql, tenant, kind);
    sql.push(" ORDER BY name");
    sql
}

/// Creates the row of `preset` at version 1 unless it exists (then no row is affected; two first
/// writes at once leave one to the primary key, a `Conflict`).
pub fn insert(
    p: Placeholder,
    tenant: Option<&TenantId>,
    preset: &Preset,
    at: DateTime<Utc>,
) -> Result<Sql> {
    let doc = document(preset)?;
    let mut sql = Sql::new(
        p,
        &format!("INSERT INTO apikey_catalog ({COLUMNS}) SELECT "),
    );
    sql.bind(preset.kind.as_str())
        .push(", ")
        .bind(row_key(tenant))
        .push(", ")
        .bind(preset.name.as_str())
        .push(", ")
        .bind(doc)
        .push(", ")
        .bind(1_i64)
        .push(", ")
        .bind(apikey_core::clock::truncate_ms(at))
        .push(
            " FROM (SELECT 1 AS one) AS single WHERE NOT EXISTS \
             (SELECT 1 FROM apikey_catalog",
        );
    push_key(&mut sql, tenant, preset.kind);
    sql.push(" AND name = ")
        .bind(preset.name.as_str())
        .push(")");
    Ok(sql)
}

/// Replaces the row of `preset` if it is at `expected_version` (no row affected otherwise).
pub fn update(
    p: Placeholder,
    tenant: Option<&TenantId>,
    expected_version: u64,
    preset: &Preset,
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
        .bind(apikey_core::clock::truncate_ms(at));
    push_key(&mut sql, tenant, preset.kind);
    sql.push(" AND name = ")
        .bind(preset.name.as_str())
        .push(" AND version = ")
        .bind(expected);
    Ok(sql)
}

/// Deletes the preset `name` of `kind` in `tenant`.
pub fn delete(p: Placeholder, tenant: Option<&TenantId>, kind: CatalogKind, name: &str) -> Sql {
    let mut sql = Sql::new(p, "DELETE FROM apikey_catalog");
    push_key(&mut sql, tenant, kind);
    sql.push(" AND name = ").bind(name);
    sql
}

impl Decode for StoredPreset {
    /// The row's kind and name win over the document's: they are what the row is found by.
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        let r = Reader::new(row);
        let mut preset: Preset = r.json("preset")?;
        preset.kind = r.parsed("kind", str::parse)?;
        preset.name = r.text("name")?;
        let key = r.text("tenant_key")?;
        let tenant = if key.is_empty() {
            None
        } else {
            Some(TenantId::new(key).map_err(|e| r.corrupt("tenant_key", e))?)
        };
        Ok(StoredPreset {
            tenant,
            preset,
            version: r.unsigned("version")?,
            updated_at: r.time("updated_at")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_is_a_compare_and_set_on_the_full_key() {
        let preset = Preset::new(CatalogKind::Group, "g");
        let sql = update(Placeholder::Numbered, None, 3, &preset, Utc::now()).unwrap();
        assert!(
            sql.text()
                .ends_with("WHERE kind = $4 AND tenant_key = $5 AND name = $6 AND version = $7")
        );
        assert_eq!(sql.values().len(), 7);
    }

    #[test]
    fn nul_in_a_name_is_refused() {
        let preset = Preset::new(CatalogKind::Template, "a\0b");
        let err = insert(Placeholder::Question, None, &preset, Utc::now()).unwrap_err();
        assert_eq!(err.kind(), apikey_core::ErrorKind::InvalidInput);
    }
}
