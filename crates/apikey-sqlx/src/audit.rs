//! The [`AuditStore`] implementation: `apikey-sql`'s audit flow over this store's
//! [`Driver`](apikey_sql::Driver) implementation. Events are written by the key changes, in
//! their transactions.

use apikey_core::{AuditEvent, AuditFilter, AuditStore, KeyId, ReaderCursor, Result, TenantScope};
use apikey_sql::flow::audit;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::dialect::Dialect;
use crate::store::SqlxStore;

#[async_trait]
impl<D: Dialect> AuditStore for SqlxStore<D> {
    async fn query(&self, tenant: &TenantScope, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        audit::query(self, tenant, filter).await
    }

    async fn append(&self, event: &AuditEvent) -> Result<bool> {
        audit::append(self, event).await
    }

    async fn read_after(&self, after: u64, limit: u32) -> Result<Vec<AuditEvent>> {
        audit::read_after(self, after, limit).await
    }

    async fn last_position(&self) -> Result<u64> {
        audit::last_position(self).await
    }

    async fn cursors(&self) -> Result<Vec<ReaderCursor>> {
        audit::cursors(self).await
    }

    async fn save_cursor(&self, reader: &str, position: u64) -> Result<()> {
        // `updated_at` is bookkeeping for operators; no decision reads it.
        audit::save_cursor(self, reader, position, Utc::now()).await
    }

    async fn remove_cursor(&self, reader: &str) -> Result<bool> {
        audit::remove_cursor(self, reader).await
    }

    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        audit::purge(self, before).await
    }

    async fn purge_scoped(
        &self,
        scope: &apikey_core::audit::PurgeScope,
        before: DateTime<Utc>,
    ) -> Result<u64> {
        audit::purge_scoped(self, scope, before).await
    }

    async fn rewrite_erased(&self, events: &[AuditEvent]) -> Result<u64> {
        audit::rewrite_erased(self, events).await
    }

    async fn newest_change(&self, id: KeyId) -> Result<Option<AuditEvent>> {
        audit::newest_change(self, id).await
    }
}
