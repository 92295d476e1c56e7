//! The [`KeyStore`] and [`LegacyLookup`] implementations: every write runs in one transaction
//! with its audit event; `update` is a compare-and-set on `version`.

use apikey_core::store::LegacyLookup;
use apikey_core::{
    AuditEvent, KeyFilter, KeyId, KeyRecord, KeyStore, LookupId, Page, Result, TenantScope,
    UsageUpdate,
};
use async_trait::async_trait;

use crate::codec::{self, KEY_COLUMNS, KeyRow, select_list};
use crate::dialect::Dialect;
use crate::error::ctx;
use crate::sql::Sql;
use crate::store::DieselStore;
use crate::writes;

/// `SELECT <every column> FROM apikey_keys k WHERE `.
pub(crate) fn select<D: Dialect>() -> Sql {
    Sql::new::<D>(&format!(
        "SELECT {} FROM apikey_keys k WHERE ",
        select_list()
    ))
}

/// Appends ` AND k.tenant_id = ?` for a tenant scope (nothing for operators).
pub(crate) fn push_tenant(sql: &mut Sql, tenant: &TenantScope) {
    if let TenantScope::Tenant(t) = tenant {
        sql.push(" AND k.tenant_id = ").bind(t.as_str());
    }
}

impl<D: Dialect> DieselStore<D> {
    async fn fetch_records(&self, sql: Sql, what: &'static str) -> Result<Vec<KeyRecord>> {
        let mut conn = self.conn().await?;
        let rows: Vec<KeyRow> = D::load(&mut conn, sql)
            .await
            .map_err(ctx(D::DB_NAME, what))?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    async fn fetch_one(&self, sql: Sql, what: &'static str) -> Result<Option<KeyRecord>> {
        Ok(self.fetch_records(sql, what).await?.into_iter().next())
    }
}

#[async_trait]
impl<D: Dialect> KeyStore for DieselStore<D> {
    async fn insert(&self, record: &KeyRecord, event: &AuditEvent) -> Result<()> {
        let values = codec::values(record)?;
        crate::guard::event(event)?;
        let mut sql = Sql::new::<D>(&format!(
            "INSERT INTO apikey_keys ({}) VALUES ",
            KEY_COLUMNS.join(", ")
        ));
        sql.bind_list(values);
        let mut tx = self.begin_write().await?;
        let outcome = writes::insert::<D>(&mut *tx, sql, record, event).await;
        self.finish(tx, outcome, "commit insert").await
    }

    async fn get(&self, tenant: &TenantScope, id: KeyId) -> Result<Option<KeyRecord>> {
        let mut sql = select::<D>();
        sql.push("k.id = ").bind(id);
        push_tenant(&mut sql, tenant);
        self.fetch_one(sql, "get key").await
    }

    async fn find_by_lookup_id(&self, lookup: &LookupId) -> Result<Option<KeyRecord>> {
        let mut sql = select::<D>();
        sql.push("k.lookup_id = ").bind(lookup.as_str());
        self.fetch_one(sql, "find key by lookup id").await
    }

    async fn update(
        &self,
        tenant: &TenantScope,
        expected_version: u64,
        record: &KeyRecord,
        event: &AuditEvent,
    ) -> Result<()> {
        let values = codec::values(record)?;
        crate::guard::event(event)?;
        let mut sql = Sql::new::<D>("UPDATE apikey_keys SET ");
        // The id never changes, and the usage columns belong to `record_usage` alone: writing the
        // caller's (possibly older) copy would lose usage flushed since it read the record.
        let mut first = true;
        for (col, value) in KEY_COLUMNS.iter().zip(values).skip(1) {
            if codec::USAGE_COLUMNS.contains(col) {
                continue;
            }
            if !first {
                sql.push(", ");
            }
            first = false;
            sql.push(col).push(" = ").bind(value);
        }
        sql.push(" WHERE id = ").bind(record.id);
        sql.push(" AND version = ")
            .bind(crate::guard::to_i64("expected version", expected_version)?);
        if let TenantScope::Tenant(t) = tenant {
            sql.push(" AND tenant_id = ").bind(t.as_str());
        }
        let mut tx = self.begin_write().await?;
        let outcome = writes::update::<D>(&mut *tx, sql, tenant, record, event).await;
        self.finish(tx, outcome, "commit update").await
    }

    async fn record_usage(&self, batch: &[UsageUpdate]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let outcome = writes::usage::<D>(&mut *tx, batch).await;
        self.finish(tx, outcome, "commit usage").await
    }

    async fn query(&self, tenant: &TenantScope, filter: &KeyFilter) -> Result<Page<KeyRecord>> {
        let size = filter.page_size();
        let Some(sql) = crate::query::build::<D>(tenant, filter) else {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        };
        let mut items = self.fetch_records(sql, "query keys").await?;
        // The query fetched one row past the page: its presence proves a next page.
        let next = if items.len() > size {
            items.truncate(size);
            items.last().map(apikey_core::Cursor::after)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn delete(&self, tenant: &TenantScope, id: KeyId, event: &AuditEvent) -> Result<bool> {
        crate::guard::event(event)?;
        let mut sql = Sql::new::<D>("DELETE FROM apikey_keys WHERE id = ");
        sql.bind(id);
        if let TenantScope::Tenant(t) = tenant {
            sql.push(" AND tenant_id = ").bind(t.as_str());
        }
        let mut tx = self.begin_write().await?;
        let outcome = writes::delete::<D>(&mut *tx, sql, id, event).await;
        self.finish(tx, outcome, "commit delete").await
    }

    fn legacy(&self) -> Option<&dyn LegacyLookup> {
        Some(self)
    }
}

#[async_trait]
impl<D: Dialect> LegacyLookup for DieselStore<D> {
    async fn find_by_legacy_lookup(&self, prefix: &str) -> Result<Vec<KeyRecord>> {
        if !crate::guard::storable(prefix) {
            return Ok(Vec::new());
        }
        let mut sql = select::<D>();
        sql.push("k.legacy_lookup = ").bind(prefix);
        sql.push(" ORDER BY k.created_at, k.id");
        self.fetch_records(sql, "find keys by legacy lookup").await
    }
}
