//! Data migrations written in Rust: rewrites of stored JSON that SQL cannot do reliably. A SQL
//! migration queues one by name in `apikey_data_migrations`; each store's `migrate()` runs the
//! queued ones after its SQL migrations ([`flow::rewrite`](crate::flow::rewrite)) and sets
//! `applied_at` when every row is done.
//!
//! [`CANONICAL_RULES`] (queued by migration 0004): IP rules, scope lists and endpoint names
//! written before they had one canonical form — an IPv4-mapped or host-bits network, an unsorted
//! scope list, `get  /x` — are rewritten in it. Reading already canonicalises (the core types do
//! it while deserialising); rewriting makes the stored form the one every reader sees, including
//! SQL queries, exports and older versions of this library.
//!
//! The rewrite is a compare-and-set on `version` that leaves `version`, `updated_at` and the audit
//! log alone: under this library the key means exactly what it meant, only its spelling changes,
//! so cached copies stay valid. A row changed concurrently is skipped (its writer stored the
//! canonical form); running the rewrite twice, or from two instances at once, is harmless.

use apikey_core::limit::EndpointLimit;
use apikey_core::{IpRules, KeyId, ScopeSet};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::codec::{Reader, Row};
use crate::driver::Decode;
use crate::guard;
use crate::sql::{Placeholder, Sql, Value};

/// The data migration that rewrites rules in their canonical form.
pub const CANONICAL_RULES: &str = "canonical_rules";

/// Rows read per page.
pub const PAGE_SIZE: usize = 500;

/// `SELECT COUNT(*) AS pending …`: 1 while the data migration `name` is queued and not done.
pub fn pending(p: Placeholder, name: &str) -> Sql {
    let mut sql = Sql::new(
        p,
        "SELECT COUNT(*) AS pending FROM apikey_data_migrations WHERE applied_at IS NULL AND name = ",
    );
    sql.bind(name);
    sql
}

/// Marks the data migration `name` done at `at`.
pub fn done(p: Placeholder, name: &str, at: DateTime<Utc>) -> Sql {
    let mut sql = Sql::new(p, "UPDATE apikey_data_migrations SET applied_at = ");
    sql.bind(apikey_core::clock::truncate_ms(at))
        .push(" WHERE name = ")
        .bind(name);
    sql
}

/// The next [`PAGE_SIZE`] keys after `after` (by id), with the columns the rewrite reads.
pub fn page(p: Placeholder, after: Option<KeyId>) -> Sql {
    let mut sql = Sql::new(
        p,
        "SELECT k.id, k.version, k.scopes, k.ip_rules, k.endpoint_limits FROM apikey_keys k",
    );
    if let Some(id) = after {
        sql.push(" WHERE k.id > ").bind(id);
    }
    sql.push(&format!(" ORDER BY k.id LIMIT {PAGE_SIZE}"));
    sql
}

/// One row of a [`page`], read with [`Decode`]: the key, and its rules in canonical form when
/// they are stored in another.
#[derive(Debug)]
pub struct Rewrite {
    /// The key.
    pub id: KeyId,
    canonical: Option<Canonical>,
}

/// The canonical JSON of each rules column, and the version it was read at.
#[derive(Debug)]
struct Canonical {
    version: i64,
    scopes: Json,
    ip_rules: Json,
    endpoint_limits: Json,
}

/// `raw` read as `T` and written back: the canonical JSON of whatever spelling `raw` holds.
fn canonical<T: DeserializeOwned + Serialize>(raw: &Json) -> Result<Json, serde_json::Error> {
    serde_json::to_value(serde_json::from_value::<T>(raw.clone())?)
}

impl Decode for Rewrite {
    /// A column that does not decode as its type is the row's error: the rewrite stops rather
    /// than leave a rule it cannot read.
    fn decode<R: Row + ?Sized>(row: &R) -> Result<Self, R::Error> {
        let r = Reader::new(row);
        let id = r.key_id("id")?;
        let version = r.unsigned("version")?;
        let mut changed = false;
        let mut column = |col: &str, canon: fn(&Json) -> Result<Json, serde_json::Error>| {
            let raw: Json = r.json(col)?;
            let new = canon(&raw).map_err(|e| r.corrupt(col, e))?;
            changed |= new != raw;
            Ok::<Json, R::Error>(new)
        };
        let scopes = column("scopes", canonical::<ScopeSet>)?;
        let ip_rules = column("ip_rules", canonical::<IpRules>)?;
        let endpoint_limits = column("endpoint_limits", canonical::<Vec<EndpointLimit>>)?;
        if !changed {
            return Ok(Self {
                id,
                canonical: None,
            });
        }
        let version = guard::to_i64("version", version).map_err(|e| r.corrupt("version", e))?;
        Ok(Self {
            id,
            canonical: Some(Canonical {
                version,
                scopes,
                ip_rules,
                endpoint_limits,
            }),
        })
    }
}

impl Rewrite {
    /// The compare-and-set `UPDATE` that stores the row's rules in canonical form, or `None`
    /// when they already are.
    pub fn update(self, p: Placeholder) -> Option<Sql> {
        let c = self.canonical?;
        let mut sql = Sql::new(p, "UPDATE apikey_keys SET scopes = ");
        sql.bind(Value::Json(Some(c.scopes)))
            .push(", ip_rules = ")
            .bind(Value::Json(Some(c.ip_rules)))
            .push(", endpoint_limits = ")
            .bind(Value::Json(Some(c.endpoint_limits)))
            .push(" WHERE id = ")
            .bind(self.id)
            .push(" AND version = ")
            .bind(c.version);
        Some(sql)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_of_each_column() {
        let ip = serde_json::json!({ "allow": [], "deny": ["::ffff:10.0.0.0/104", "10.1.2.3/8"] });
        assert_eq!(
            canonical::<IpRules>(&ip).unwrap(),
            serde_json::json!({ "allow": [], "deny": ["10.0.0.0/8"] })
        );
        let scopes = serde_json::json!(["b:r", "a:*", "b:r"]);
        assert_eq!(
            canonical::<ScopeSet>(&scopes).unwrap(),
            serde_json::json!(["a:*", "b:r"])
        );
        let limits = serde_json::json!([
            { "endpoint": "get  /x", "rate": { "requests": 1, "per_ms": 1000, "burst": 1 } }
        ]);
        assert_eq!(
            canonical::<Vec<EndpointLimit>>(&limits).unwrap()[0]["endpoint"],
            "GET /x"
        );
        let canonical_ip = canonical::<IpRules>(&ip).unwrap();
        assert_eq!(canonical::<IpRules>(&canonical_ip).unwrap(), canonical_ip);
    }

    #[test]
    fn page_is_keyset_by_id() {
        let first = page(Placeholder::Numbered, None);
        assert!(
            first
                .text()
                .ends_with("FROM apikey_keys k ORDER BY k.id LIMIT 500")
        );
        let next = page(Placeholder::Question, Some(KeyId::new()));
        assert!(next.text().contains("WHERE k.id > ? ORDER BY k.id"));
    }
}
