//! [`KeyRecord`] ↔ the columns of `apikey_keys`: one list of column names, one function that
//! turns a record into bound values in that order, and one that reads a row back through the
//! driver-neutral [`Row`] trait each store implements over its own row type.

use apikey_core::clock::truncate_ms;
use apikey_core::record::LegacyPrefix;
use apikey_core::{Error, KeyId, KeyRecord, LookupId, Result, TenantId};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::driver::Decode;
use crate::guard;
use crate::sql::Value;

/// Columns only `record_usage` writes; `update` leaves them as they are.
pub const USAGE_COLUMNS: [&str; 2] = ["last_used_at", "usage_count"];

/// Every column of `apikey_keys`, in the order of [`values`].
pub const KEY_COLUMNS: [&str; 36] = [
    "id",
    "tenant_id",
    "lookup_id",
    "legacy_lookup",
    "hash",
    "name",
    "description",
    "owner",
    "key_group",
    "environment",
    "tags",
    "aliases",
    "scopes",
    "state",
    "state_reason",
    "state_changed_at",
    "approved_by",
    "not_before",
    "expires_at",
    "ip_rules",
    "rate_limit",
    "endpoint_limits",
    "quota",
    "metadata",
    "rotated_from",
    "rotated_to",
    "grace_until",
    "lineage_id",
    "template",
    "created_by",
    "created_at",
    "updated_at",
    "last_used_at",
    "usage_count",
    "version",
    "protection",
];

/// `k.id, k.tenant_id, …` for a `SELECT … FROM apikey_keys k`.
pub fn select_list() -> String {
    KEY_COLUMNS
        .iter()
        .map(|c| format!("k.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn json(field: &str, v: &impl Serialize) -> Result<Value> {
    serde_json::to_value(v)
        .map(|j| Value::Json(Some(j)))
        .map_err(|e| Error::invalid(field, e))
}

fn time(t: Option<DateTime<Utc>>) -> Value {
    Value::Time(t.map(truncate_ms))
}

/// The values of `r` in [`KEY_COLUMNS`] order; timestamps truncated to milliseconds. Checks the
/// record with [`guard::record`] first.
pub fn values(r: &KeyRecord) -> Result<Vec<Value>> {
    guard::record(r)?;
    Ok(vec![
        r.id.into(),
        r.tenant_id.as_ref().map(|t| t.as_str().to_owned()).into(),
        r.lookup_id.as_str().into(),
        r.legacy_lookup
            .as_ref()
            .map(|p| p.expose().to_owned())
            .into(),
        r.hash.to_string().into(),
        r.name.clone().into(),
        r.description.clone().into(),
        r.owner.clone().into(),
        r.group.clone().into(),
        r.environment.clone().into(),
        json("tags", &r.tags)?,
        json("aliases", &r.aliases)?,
        json("scopes", &r.scopes)?,
        r.state.as_str().into(),
        r.state_reason.clone().into(),
        time(r.state_changed_at),
        r.approved_by.clone().into(),
        time(r.not_before),
        time(r.expires_at),
        json("ip rules", &r.ip_rules)?,
        optional_json("rate limit", r.rate_limit.as_ref())?,
        json("endpoint limits", &r.endpoint_limits)?,
        optional_json("quota", r.quota.as_ref())?,
        json("metadata", &r.metadata)?,
        r.rotated_from.into(),
        r.rotated_to.into(),
        time(r.grace_until),
        r.lineage_id.into(),
        r.template.clone().into(),
        r.created_by.clone().into(),
        time(Some(r.created_at)),
        time(Some(r.updated_at)),
        time(r.last_used_at),
        guard::to_i64("usage count", r.usage_count)?.into(),
        guard::to_i64("version", r.version)?.into(),
        optional_json(
            "protection",
            (!r.protection.is_none()).then_some(&r.protection),
        )?,
    ])
}

fn optional_json(field: &str, v: Option<&impl Serialize>) -> Result<Value> {
    match v {
        Some(v) => json(field, v),
        None => Ok(Value::Json(None)),
    }
}

/// The boxed cause of a column that does not decode.
pub type DecodeSource = Box<dyn std::error::Error + Send + Sync>;

/// One result row, as each store's driver reads it: nullable typed columns by name, and the
/// driver's error for a column that does not decode.
pub trait Row {
    /// The error of a failed read (the store's own error type).
    type Error;

    /// A nullable text column.
    fn text(&self, col: &str) -> std::result::Result<Option<String>, Self::Error>;
    /// A nullable integer column.
    fn int(&self, col: &str) -> std::result::Result<Option<i64>, Self::Error>;
    /// A nullable timestamp column.
    fn time(&self, col: &str) -> std::result::Result<Option<DateTime<Utc>>, Self::Error>;
    /// A nullable UUID column.
    fn uuid(&self, col: &str) -> std::result::Result<Option<Uuid>, Self::Error>;
    /// A nullable JSON column.
    fn json(&self, col: &str) -> std::result::Result<Option<serde_json::Value>, Self::Error>;
    /// The error for column `col` holding something that does not decode.
    fn corrupt(&self, col: &str, source: DecodeSource) -> Self::Error;
}

/// Reads typed columns of one [`Row`], turning every failure into the row's error naming the
/// column.
#[derive(Debug)]
pub struct Reader<'r, R: ?Sized> {
    row: &'r R,
}

type Res<T, R> = std::result::Result<T, <R as Row>::Error>;

impl<'r, R: Row + ?Sized> Reader<'r, R> {
    /// A reader over `row`.
    pub fn new(row: &'r R) -> Self {
        Self { row }
    }

    /// The error for column `col` that does not decode.
    pub fn corrupt(&self, col: &str, source: impl Into<DecodeSource>) -> R::Error {
        self.row.corrupt(col, source.into())
    }

    fn required<T>(&self, col: &str, v: Option<T>) -> Res<T, R> {
        v.ok_or_else(|| self.corrupt(col, "unexpected NULL"))
    }

    /// A nullable text column.
    pub fn opt_text(&self, col: &str) -> Res<Option<String>, R> {
        self.row.text(col)
    }

    /// A text column.
    pub fn text(&self, col: &str) -> Res<String, R> {
        let v = self.opt_text(col)?;
        self.required(col, v)
    }

    /// A nullable timestamp column.
    pub fn opt_time(&self, col: &str) -> Res<Option<DateTime<Utc>>, R> {
        self.row.time(col)
    }

    /// A timestamp column.
    pub fn time(&self, col: &str) -> Res<DateTime<Utc>, R> {
        let v = self.opt_time(col)?;
        self.required(col, v)
    }

    /// A nullable key id column.
    pub fn opt_key_id(&self, col: &str) -> Res<Option<KeyId>, R> {
        Ok(self.row.uuid(col)?.map(KeyId::from_uuid))
    }

    /// A key id column.
    pub fn key_id(&self, col: &str) -> Res<KeyId, R> {
        let v = self.opt_key_id(col)?;
        self.required(col, v)
    }

    /// A UUID column.
    pub fn uuid(&self, col: &str) -> Res<Uuid, R> {
        let v = self.row.uuid(col)?;
        self.required(col, v)
    }

    /// A nullable integer column.
    pub fn opt_int(&self, col: &str) -> Res<Option<i64>, R> {
        self.row.int(col)
    }

    /// A non-negative integer column.
    pub fn unsigned(&self, col: &str) -> Res<u64, R> {
        let v = self.row.int(col)?;
        let v = self.required(col, v)?;
        u64::try_from(v).map_err(|e| self.corrupt(col, e))
    }

    /// A nullable JSON column deserialized as `T`.
    pub fn opt_json<T: DeserializeOwned>(&self, col: &str) -> Res<Option<T>, R> {
        self.row
            .json(col)?
            .map(|j| serde_json::from_value(j).map_err(|e| self.corrupt(col, e)))
            .transpose()
    }

    /// A JSON column deserialized as `T`.
    pub fn json<T: DeserializeOwned>(&self, col: &str) -> Res<T, R> {
        let v = self.opt_json(col)?;
        self.required(col, v)
    }

    /// A text column parsed by `parse`, whose own error becomes the source.
    pub fn parsed<T>(&self, col: &str, parse: impl FnOnce(&str) -> Result<T>) -> Res<T, R> {
        parse(&self.text(col)?).map_err(|e| self.corrupt(col, e))
    }

    /// A nullable tenant id column.
    pub fn opt_tenant(&self, col: &str) -> Res<Option<TenantId>, R> {
        self.opt_text(col)?
            .map(|t| TenantId::new(t).map_err(|e| self.corrupt(col, e)))
            .transpose()
    }
}

/// Reads a record from a row selected with [`select_list`].
pub fn record<R: Row + ?Sized>(row: &R) -> Res<KeyRecord, R> {
    let r = Reader::new(row);
    Ok(KeyRecord {
        id: r.key_id("id")?,
        tenant_id: r.opt_tenant("tenant_id")?,
        lookup_id: r.parsed("lookup_id", LookupId::parse)?,
        legacy_lookup: r
            .opt_text("legacy_lookup")?
            .map(|p| LegacyPrefix::new(&p).map_err(|e| r.corrupt("legacy_lookup", e)))
            .transpose()?,
        hash: r.parsed("hash", str::parse)?,
        name: r.text("name")?,
        description: r.opt_text("description")?,
        owner: r.opt_text("owner")?,
        group: r.opt_text("key_group")?,
        environment: r.opt_text("environment")?,
        tags: r.json("tags")?,
        aliases: r.json("aliases")?,
        scopes: r.json("scopes")?,
        state: r.parsed("state", str::parse)?,
        state_reason: r.opt_text("state_reason")?,
        state_changed_at: r.opt_time("state_changed_at")?,
        approved_by: r.opt_text("approved_by")?,
        not_before: r.opt_time("not_before")?,
        expires_at: r.opt_time("expires_at")?,
        ip_rules: r.json("ip_rules")?,
        rate_limit: r.opt_json("rate_limit")?,
        endpoint_limits: r.json("endpoint_limits")?,
        quota: r.opt_json("quota")?,
        metadata: r.json("metadata")?,
        rotated_from: r.opt_key_id("rotated_from")?,
        rotated_to: r.opt_key_id("rotated_to")?,
        grace_until: r.opt_time("grace_until")?,
        lineage_id: r.key_id("lineage_id")?,
        template: r.opt_text("template")?,
        created_by: r.opt_text("created_by")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
        last_used_at: r.opt_time("last_used_at")?,
        usage_count: r.unsigned("usage_count")?,
        version: r.unsigned("version")?,
        protection: r.opt_json("protection")?.unwrap_or_default(),
    })
}

impl Decode for KeyRecord {
    fn decode<R: Row + ?Sized>(row: &R) -> Res<Self, R> {
        record(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_one_column() {
        let r = apikey_testkit::fixtures::full_record(None, apikey_testkit::fixtures::base_time());
        assert_eq!(values(&r).unwrap().len(), KEY_COLUMNS.len());
        let mut cols = KEY_COLUMNS.to_vec();
        cols.sort_unstable();
        cols.dedup();
        assert_eq!(cols.len(), KEY_COLUMNS.len());
        // KeyRecord's serialized form names every field once; 36 fields, 36 columns.
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json.as_object().unwrap().len(), KEY_COLUMNS.len());
    }
}
