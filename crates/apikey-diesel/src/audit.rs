//! The audit log: [`append`] writes an event inside the caller's transaction (so a key change
//! and its event commit together), and the [`AuditStore`] implementation reads and purges it.
//! The statements and the row decoding come from [`apikey_sql::audit`].

use apikey_core::{AuditEvent, AuditFilter, AuditStore, Result, TenantScope};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use diesel::deserialize;
use diesel::deserialize::QueryableByName;
use diesel::row::NamedRow;

use crate::codec::DieselRow;
use crate::dialect::Dialect;
use crate::error::ctx;
use crate::store::DieselStore;

/// Inserts `event` on `conn` (inside the caller's transaction); an event whose id is already
/// stored is left as it is, so a retried write does not duplicate it.
pub(crate) async fn append<D: Dialect>(conn: &mut D::Connection, event: &AuditEvent) -> Result<()> {
    let sql = apikey_sql::audit::append(D::PLACEHOLDER, event, D::INSERT_IGNORE_DUPLICATE_ID)?;
    D::execute(conn, sql)
        .await
        .map_err(ctx(D::DB_NAME, "append audit event"))?;
    Ok(())
}

/// A row of `apikey_audit_events`.
struct EventRow(AuditEvent);

impl<D: Dialect> QueryableByName<D> for EventRow {
    fn build<'a>(row: &impl NamedRow<'a, D>) -> deserialize::Result<Self> {
        apikey_sql::audit::event(&DieselRow::<D, _>::new(row)).map(Self)
    }
}

#[async_trait]
impl<D: Dialect> AuditStore for DieselStore<D> {
    async fn query(&self, tenant: &TenantScope, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        let sql = apikey_sql::audit::query(D::PLACEHOLDER, tenant, filter);
        let mut conn = self.conn().await?;
        let rows: Vec<EventRow> = D::load(&mut conn, sql)
            .await
            .map_err(ctx(D::DB_NAME, "query audit events"))?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        let sql = apikey_sql::audit::purge(D::PLACEHOLDER, before);
        let mut conn = self.conn().await?;
        let purged = D::execute(&mut conn, sql)
            .await
            .map_err(ctx(D::DB_NAME, "purge audit events"))?;
        Ok(u64::try_from(purged).unwrap_or(u64::MAX))
    }
}
