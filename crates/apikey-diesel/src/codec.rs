//! [`KeyRecord`] ↔ the columns of `apikey_keys`: one list of column names, one function that
//! turns a record into bound values in that order, and one that reads a row back.

use apikey_core::clock::truncate_ms;
use apikey_core::record::LegacyPrefix;
use std::marker::PhantomData;

use apikey_core::{Error, KeyId, KeyRecord, LookupId, Result, TenantId};
use chrono::{DateTime, Utc};
use diesel::deserialize;
use diesel::deserialize::QueryableByName;
use diesel::row::NamedRow;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::dialect::{Dialect, decode_error};
use crate::guard;
use crate::sql::Value;

/// Columns only `record_usage` writes; `update` leaves them as they are.
pub(crate) const USAGE_COLUMNS: [&str; 2] = ["last_used_at", "usage_count"];

/// Every column of `apikey_keys`, in the order of [`values`].
pub(crate) const KEY_COLUMNS: [&str; 35] = [
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
];

/// `k.id, k.tenant_id, …` for a `SELECT … FROM apikey_keys k`.
pub(crate) fn select_list() -> String {
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
pub(crate) fn values(r: &KeyRecord) -> Result<Vec<Value>> {
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
    ])
}

fn optional_json(field: &str, v: Option<&impl Serialize>) -> Result<Value> {
    match v {
        Some(v) => json(field, v),
        None => Ok(Value::Json(None)),
    }
}

/// Reads typed columns of one row; every failure names its column.
pub(crate) struct Reader<'r, 'a, D: Dialect, R: NamedRow<'a, D>> {
    row: &'r R,
    _db: PhantomData<&'a D>,
}

impl<'r, 'a, D: Dialect, R: NamedRow<'a, D>> Reader<'r, 'a, D, R> {
    pub(crate) fn new(row: &'r R) -> Self {
        Self {
            row,
            _db: PhantomData,
        }
    }

    fn required<T>(col: &str, v: Option<T>) -> deserialize::Result<T> {
        v.ok_or_else(|| decode_error(col, "unexpected NULL"))
    }

    pub(crate) fn opt_text(&self, col: &str) -> deserialize::Result<Option<String>> {
        D::text(self.row, col)
    }

    pub(crate) fn text(&self, col: &str) -> deserialize::Result<String> {
        Self::required(col, self.opt_text(col)?)
    }

    pub(crate) fn opt_time(&self, col: &str) -> deserialize::Result<Option<DateTime<Utc>>> {
        D::time(self.row, col)
    }

    pub(crate) fn time(&self, col: &str) -> deserialize::Result<DateTime<Utc>> {
        Self::required(col, self.opt_time(col)?)
    }

    pub(crate) fn opt_key_id(&self, col: &str) -> deserialize::Result<Option<KeyId>> {
        Ok(D::uuid(self.row, col)?.map(KeyId::from_uuid))
    }

    pub(crate) fn key_id(&self, col: &str) -> deserialize::Result<KeyId> {
        Self::required(col, self.opt_key_id(col)?)
    }

    pub(crate) fn uuid(&self, col: &str) -> deserialize::Result<uuid::Uuid> {
        Self::required(col, D::uuid(self.row, col)?)
    }

    pub(crate) fn unsigned(&self, col: &str) -> deserialize::Result<u64> {
        let v = Self::required(col, D::int(self.row, col)?)?;
        u64::try_from(v).map_err(|e| decode_error(col, e))
    }

    pub(crate) fn opt_json<T: DeserializeOwned>(
        &self,
        col: &str,
    ) -> deserialize::Result<Option<T>> {
        D::json(self.row, col)?
            .map(|j| serde_json::from_value(j).map_err(|e| decode_error(col, e)))
            .transpose()
    }

    pub(crate) fn json<T: DeserializeOwned>(&self, col: &str) -> deserialize::Result<T> {
        Self::required(col, self.opt_json(col)?)
    }

    /// A text column parsed by `parse`, whose own error becomes the source.
    pub(crate) fn parsed<T>(
        &self,
        col: &str,
        parse: impl FnOnce(&str) -> Result<T>,
    ) -> deserialize::Result<T> {
        parse(&self.text(col)?).map_err(|e| decode_error(col, e))
    }

    pub(crate) fn opt_tenant(&self, col: &str) -> deserialize::Result<Option<TenantId>> {
        self.opt_text(col)?
            .map(|t| TenantId::new(t).map_err(|e| decode_error(col, e)))
            .transpose()
    }
}

/// A row of `apikey_keys` selected with [`select_list`].
pub(crate) struct KeyRow(pub(crate) KeyRecord);

impl<D: Dialect> QueryableByName<D> for KeyRow {
    fn build<'a>(row: &impl NamedRow<'a, D>) -> deserialize::Result<Self> {
        let r = Reader::<D, _>::new(row);
        Ok(Self(KeyRecord {
            id: r.key_id("id")?,
            tenant_id: r.opt_tenant("tenant_id")?,
            lookup_id: r.parsed("lookup_id", LookupId::parse)?,
            legacy_lookup: r
                .opt_text("legacy_lookup")?
                .map(|p| LegacyPrefix::new(&p).map_err(|e| decode_error("legacy_lookup", e)))
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
        }))
    }
}

/// A row with one `id` column (existence checks).
pub(crate) struct IdRow;

impl<D: Dialect> QueryableByName<D> for IdRow {
    fn build<'a>(row: &impl NamedRow<'a, D>) -> deserialize::Result<Self> {
        Reader::<D, _>::new(row).key_id("id").map(|_| Self)
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
        // KeyRecord's serialized form names every field once; 35 fields, 35 columns.
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json.as_object().unwrap().len(), KEY_COLUMNS.len());
    }
}
