//! The audit log: [`append`] writes an event inside the caller's transaction (so a key change
//! and its event commit together), and the [`AuditStore`] implementation reads and purges it.

use apikey_core::{AuditEvent, AuditFilter, AuditStore, Error, KeyRecord, Result, TenantScope};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use diesel::deserialize;
use diesel::deserialize::QueryableByName;
use diesel::row::NamedRow;

use crate::codec::Reader;
use crate::dialect::Dialect;
use crate::error::ctx;
use crate::guard;
use crate::sql::{Sql, Value, ceil_ms};
use crate::store::DieselStore;

const EVENT_COLUMNS: &str = "id, key_id, tenant_id, action, actor, reason, occurred_at, version, \
                             record_before, record_after";

fn snapshot(r: Option<&KeyRecord>) -> Result<Value> {
    r.map(serde_json::to_value)
        .transpose()
        .map(Value::Json)
        .map_err(|e| Error::invalid("audit event", e))
}

/// Inserts `event` on `conn` (inside the caller's transaction); an event whose id is already
/// stored is left as it is, so a retried write does not duplicate it.
pub(crate) async fn append<D: Dialect>(conn: &mut D::Connection, event: &AuditEvent) -> Result<()> {
    let mut sql = Sql::new::<D>(&format!(
        "INSERT INTO apikey_audit_events ({EVENT_COLUMNS}) VALUES "
    ));
    sql.bind_list([
        Value::from(event.id),
        event.key_id.into(),
        event
            .tenant_id
            .as_ref()
            .map(|t| t.as_str().to_owned())
            .into(),
        event.action.as_str().into(),
        event.actor.clone().into(),
        event.reason.clone().into(),
        apikey_core::clock::truncate_ms(event.at).into(),
        guard::to_i64("event version", event.version)?.into(),
        snapshot(event.before.as_deref())?,
        snapshot(event.after.as_deref())?,
    ]);
    sql.push(D::INSERT_IGNORE_DUPLICATE_ID);
    D::execute(conn, sql)
        .await
        .map_err(ctx(D::DB_NAME, "append audit event"))?;
    Ok(())
}

/// A row of `apikey_audit_events`.
struct EventRow(AuditEvent);

impl<D: Dialect> QueryableByName<D> for EventRow {
    fn build<'a>(row: &impl NamedRow<'a, D>) -> deserialize::Result<Self> {
        event::<D>(&Reader::<D, _>::new(row)).map(Self)
    }
}

fn event<'a, D: Dialect>(
    r: &Reader<'_, 'a, D, impl NamedRow<'a, D>>,
) -> deserialize::Result<AuditEvent> {
    let action = r.parsed("action", |s| {
        serde_json::from_value(serde_json::Value::String(s.to_owned()))
            .map_err(|e| Error::invalid("audit action", e))
    })?;
    Ok(AuditEvent {
        id: r.uuid("id")?,
        key_id: r.key_id("key_id")?,
        tenant_id: r.opt_tenant("tenant_id")?,
        action,
        actor: r.opt_text("actor")?,
        reason: r.opt_text("reason")?,
        at: r.time("occurred_at")?,
        version: r.unsigned("version")?,
        before: r.opt_json::<KeyRecord>("record_before")?.map(Box::new),
        after: r.opt_json::<KeyRecord>("record_after")?.map(Box::new),
    })
}

#[async_trait]
impl<D: Dialect> AuditStore for DieselStore<D> {
    async fn query(&self, tenant: &TenantScope, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        let mut sql = Sql::new::<D>(&format!(
            "SELECT {EVENT_COLUMNS} FROM apikey_audit_events WHERE 1 = 1"
        ));
        if let TenantScope::Tenant(t) = tenant {
            sql.push(" AND tenant_id = ").bind(t.as_str());
        }
        if let Some(key) = filter.key_id {
            sql.push(" AND key_id = ").bind(key);
        }
        if !filter.actions.is_empty() {
            sql.push(" AND action IN ")
                .bind_list(filter.actions.iter().map(|a| a.as_str()));
        }
        if let Some(from) = filter.from {
            sql.push(" AND occurred_at >= ").bind(ceil_ms(from));
        }
        if let Some(to) = filter.to {
            sql.push(" AND occurred_at < ").bind(ceil_ms(to));
        }
        if let Some((at, id)) = filter.after {
            sql.push(" AND (occurred_at > ")
                .bind(at)
                .push(" OR (occurred_at = ")
                .bind(at)
                .push(" AND id > ")
                .bind(id)
                .push("))");
        }
        let limit = i64::try_from(filter.page_size()).unwrap_or(i64::MAX);
        sql.push(" ORDER BY occurred_at, id LIMIT ").bind(limit);
        let mut conn = self.conn().await?;
        let rows: Vec<EventRow> = D::load(&mut conn, sql)
            .await
            .map_err(ctx(D::DB_NAME, "query audit events"))?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        let mut sql = Sql::new::<D>("DELETE FROM apikey_audit_events WHERE occurred_at < ");
        sql.bind(ceil_ms(before));
        let mut conn = self.conn().await?;
        let purged = D::execute(&mut conn, sql)
            .await
            .map_err(ctx(D::DB_NAME, "purge audit events"))?;
        Ok(u64::try_from(purged).unwrap_or(u64::MAX))
    }
}
