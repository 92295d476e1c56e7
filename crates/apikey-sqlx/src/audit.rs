//! The [`AuditStore`] implementation: `apikey-sql`'s audit flow over this store's
//! [`Driver`](apikey_sql::Driver) implementation. Events are written by the key changes, in
//! their transactions.

use apikey_core::{AuditEvent, AuditFilter, AuditStore, Result, TenantScope};
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

    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        audit::purge(self, before).await
    }
}
