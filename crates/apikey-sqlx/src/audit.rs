//! The audit log: [`append`] writes an event inside the caller's transaction (so a key change
//! and its event commit together), and the [`AuditStore`] implementation reads and purges it.
//! The statements and the row decoding come from [`apikey_sql::audit`].

use apikey_core::{AuditEvent, AuditFilter, AuditStore, Result, TenantScope};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::codec;
use crate::dialect::Dialect;
use crate::error::ctx;
use crate::store::SqlKeyStore;

/// Inserts `event` on `conn` (inside the caller's transaction); an event whose id is already
/// stored is left as it is, so a retried write does not duplicate it.
pub(crate) async fn append<D: Dialect>(conn: &mut D::Connection, event: &AuditEvent) -> Result<()> {
    let sql = apikey_sql::audit::append(D::PLACEHOLDER, event, D::INSERT_IGNORE_DUPLICATE_ID)?;
    D::execute(conn, sql)
        .await
        .map_err(ctx(D::DB_NAME, "append audit event"))?;
    Ok(())
}

#[async_trait]
impl<D: Dialect> AuditStore for SqlKeyStore<D> {
    async fn query(&self, tenant: &TenantScope, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        let sql = apikey_sql::audit::query(D::PLACEHOLDER, tenant, filter);
        let mut conn = self.reader().await?;
        let rows = D::fetch_all(&mut conn, sql)
            .await
            .map_err(ctx(D::DB_NAME, "query audit events"))?;
        rows.iter().map(codec::event::<D>).collect()
    }

    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        let sql = apikey_sql::audit::purge(D::PLACEHOLDER, before);
        let mut conn = self.reader().await?;
        D::execute(&mut conn, sql)
            .await
            .map_err(ctx(D::DB_NAME, "purge audit events"))
    }
}
