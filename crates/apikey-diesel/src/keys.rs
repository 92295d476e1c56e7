//! The [`KeyStore`] and [`LegacyLookup`] implementations: every write runs in one transaction
//! with its audit event; `update` is a compare-and-set on `version`.

use apikey_core::store::LegacyLookup;
use apikey_core::{
    AuditEvent, KeyFilter, KeyId, KeyRecord, KeyStore, LookupId, Page, Result, TenantScope,
    UsageBatchId, UsageUpdate,
};
use async_trait::async_trait;

use apikey_sql::Sql;
use apikey_sql::keys as stmt;

use crate::codec::KeyRow;
use crate::dialect::Dialect;
use crate::error::ctx;
use crate::store::DieselStore;
use crate::writes;

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
        let sql = stmt::insert(D::PLACEHOLDER, record, event)?;
        let mut tx = self.begin_write().await?;
        let outcome = writes::insert::<D>(&mut *tx, sql, record, event).await;
        self.finish(tx, outcome, "commit insert").await
    }

    async fn get(&self, tenant: &TenantScope, id: KeyId) -> Result<Option<KeyRecord>> {
        let sql = stmt::get(D::PLACEHOLDER, tenant, id);
        self.fetch_one(sql, "get key").await
    }

    async fn find_by_lookup_id(&self, lookup: &LookupId) -> Result<Option<KeyRecord>> {
        let sql = stmt::by_lookup_id(D::PLACEHOLDER, lookup);
        self.fetch_one(sql, "find key by lookup id").await
    }

    async fn update(
        &self,
        tenant: &TenantScope,
        expected_version: u64,
        record: &KeyRecord,
        event: &AuditEvent,
    ) -> Result<()> {
        let sql = stmt::update(D::PLACEHOLDER, tenant, expected_version, record, event)?;
        let mut tx = self.begin_write().await?;
        let outcome = writes::update::<D>(&mut *tx, sql, tenant, record, event).await;
        self.finish(tx, outcome, "commit update").await
    }

    async fn record_usage(&self, batch: UsageBatchId, items: &[UsageUpdate]) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let outcome = writes::usage::<D>(&mut *tx, &batch, items).await;
        self.finish(tx, outcome, "commit usage").await
    }

    async fn query(&self, tenant: &TenantScope, filter: &KeyFilter) -> Result<Page<KeyRecord>> {
        let size = filter.page_size();
        let Some(sql) = apikey_sql::query::build(D::PLACEHOLDER, tenant, filter) else {
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
        let sql = stmt::delete(D::PLACEHOLDER, tenant, id, event)?;
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
        let Some(sql) = stmt::by_legacy_lookup(D::PLACEHOLDER, prefix) else {
            return Ok(Vec::new());
        };
        self.fetch_records(sql, "find keys by legacy lookup").await
    }
}
