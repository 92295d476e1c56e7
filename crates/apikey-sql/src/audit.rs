//! The audit log's statements (append, page query, purge) and the decoding of an event row.

use apikey_core::{AuditEvent, AuditFilter, Error, KeyRecord, Result, TenantScope};
use chrono::{DateTime, Utc};

use crate::codec::{Reader, Row};
use crate::driver::Decode;
use crate::guard;
use crate::sql::{Placeholder, Sql, Value, ceil_ms};

/// Every column of `apikey_audit_events`, in the order [`append`] binds them.
pub const EVENT_COLUMNS: &str = "id, key_id, tenant_id, action, actor, reason, occurred_at, \
                                 version, record_before, record_after";

fn snapshot(r: Option<&KeyRecord>) -> Result<Value> {
    r.map(serde_json::to_value)
        .transpose()
        .map(Value::Json)
        .map_err(|e| Error::invalid("audit event", e))
}

/// `INSERT INTO apikey_audit_events …` for `event`, followed by the dialect's
/// `ignore_duplicate_id` clause so a retried event (same id) is a no-op.
pub fn append(p: Placeholder, event: &AuditEvent, ignore_duplicate_id: &str) -> Result<Sql> {
    let mut sql = Sql::new(
        p,
        &format!("INSERT INTO apikey_audit_events ({EVENT_COLUMNS}) VALUES "),
    );
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
    sql.push(ignore_duplicate_id);
    Ok(sql)
}

/// One page of events in `tenant` matching `filter`, ordered by (occurred_at, id).
pub fn query(p: Placeholder, tenant: &TenantScope, filter: &AuditFilter) -> Sql {
    let mut sql = Sql::new(
        p,
        &format!("SELECT {EVENT_COLUMNS} FROM apikey_audit_events WHERE 1 = 1"),
    );
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
    sql
}

/// `DELETE` of every event before `before`.
pub fn purge(p: Placeholder, before: DateTime<Utc>) -> Sql {
    let mut sql = Sql::new(p, "DELETE FROM apikey_audit_events WHERE occurred_at < ");
    sql.bind(ceil_ms(before));
    sql
}

/// Reads an event from a row selected with [`EVENT_COLUMNS`].
pub fn event<R: Row + ?Sized>(row: &R) -> std::result::Result<AuditEvent, R::Error> {
    let r = Reader::new(row);
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

impl Decode for AuditEvent {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        event(row)
    }
}
