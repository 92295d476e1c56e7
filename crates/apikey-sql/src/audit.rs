//! The audit log's statements (append, page and position queries, cursors, purge) and the
//! decoding of an event row.

use apikey_core::audit::{ChainLink, PurgeScope, ReaderCursor};
use apikey_core::{
    AuditEvent, AuditFilter, Error, EventSubject, EventType, KeyId, KeyView, Result, TenantId,
    TenantScope,
};
use chrono::{DateTime, Utc};

use crate::codec::{Reader, Row};
use crate::driver::Decode;
use crate::guard;
use crate::sql::{Placeholder, Sql, Value, ceil_ms};

/// Every written column of `apikey_audit_events`, in the order [`append`] binds them.
pub const EVENT_COLUMNS: &str = "id, key_id, subject_kind, subject_id, tenant_id, action, actor, \
                                 reason, occurred_at, version, record_before, record_after, data, \
                                 chain";

/// What a read selects: the written columns and the position the database gave.
const READ_COLUMNS: &str = "id, key_id, subject_kind, subject_id, tenant_id, action, actor, \
                            reason, occurred_at, version, record_before, record_after, data, \
                            chain, position";

fn snapshot(v: Option<&KeyView>) -> Result<Value> {
    v.map(serde_json::to_value)
        .transpose()
        .map(Value::Json)
        .map_err(|e| Error::invalid("audit event", e))
}

fn values(event: &AuditEvent) -> Result<Vec<Value>> {
    Ok(vec![
        Value::from(event.id),
        event.key_id().into(),
        event.subject.as_ref().map(|s| s.kind().to_owned()).into(),
        event.subject.as_ref().map(EventSubject::id).into(),
        event
            .tenant_id
            .as_ref()
            .map(|t| t.as_str().to_owned())
            .into(),
        event.event_type.as_str().into(),
        event.actor.clone().into(),
        event.reason.clone().into(),
        apikey_core::clock::truncate_ms(event.at).into(),
        guard::to_i64("event version", event.version)?.into(),
        snapshot(event.before.as_deref())?,
        snapshot(event.after.as_deref())?,
        Value::Json(event.data.clone()),
        event.chain.as_ref().map(ChainLink::to_text).into(),
    ])
}

/// `INSERT INTO apikey_audit_events …` for `event`, followed by the dialect's
/// `ignore_duplicate_id` clause so a retried event (same id) is a no-op. Used inside the
/// transaction of the key change the event records.
pub fn append(p: Placeholder, event: &AuditEvent, ignore_duplicate_id: &str) -> Result<Sql> {
    let mut sql = Sql::new(
        p,
        &format!("INSERT INTO apikey_audit_events ({EVENT_COLUMNS}) VALUES "),
    );
    sql.bind_list(values(event)?);
    sql.push(ignore_duplicate_id);
    Ok(sql)
}

/// One multi-row [`append`] of `events` (each checked with [`guard`]); `None` for none. Keep a
/// call under the parameter limits: 14 values per event.
pub fn append_many<'a>(
    p: Placeholder,
    events: impl IntoIterator<Item = &'a AuditEvent>,
    ignore_duplicate_id: &str,
) -> Result<Option<Sql>> {
    let mut sql: Option<Sql> = None;
    for event in events {
        guard::event(event)?;
        let values = values(event)?;
        match &mut sql {
            None => {
                let head = format!("INSERT INTO apikey_audit_events ({EVENT_COLUMNS}) VALUES ");
                sql.insert(Sql::new(p, &head)).bind_list(values);
            }
            Some(s) => {
                s.push(", ").bind_list(values);
            }
        }
    }
    if let Some(s) = &mut sql {
        s.push(ignore_duplicate_id);
    }
    Ok(sql)
}

/// An insert of `event` that affects no row when its id is stored: the `NOT EXISTS` answers a
/// repeated append exactly on every database (MySQL's `ON DUPLICATE KEY` counts a found row as
/// affected under `CLIENT_FOUND_ROWS`, which both drivers set), and the dialect's clause turns the
/// remaining race — two first appends at once — into a no-op.
pub fn append_once(p: Placeholder, event: &AuditEvent, ignore_duplicate_id: &str) -> Result<Sql> {
    guard::event(event)?;
    let mut sql = Sql::new(
        p,
        &format!("INSERT INTO apikey_audit_events ({EVENT_COLUMNS}) SELECT "),
    );
    for (i, v) in values(event)?.into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(v);
    }
    sql.push(
        " FROM (SELECT 1 AS one) AS single WHERE NOT EXISTS \
         (SELECT 1 FROM apikey_audit_events WHERE id = ",
    )
    .bind(event.id)
    .push(")");
    sql.push(ignore_duplicate_id);
    Ok(sql)
}

/// `UPDATE` of an erased event's personal columns and chain link (see
/// `AuditStore::rewrite_erased`).
pub fn rewrite_erased(p: Placeholder, event: &AuditEvent) -> Result<Sql> {
    let mut sql = Sql::new(p, "UPDATE apikey_audit_events SET actor = ");
    sql.bind(event.actor.clone())
        .push(", reason = ")
        .bind(event.reason.clone())
        .push(", data = ")
        .bind(Value::Json(event.data.clone()))
        .push(", record_before = ")
        .bind(snapshot(event.before.as_deref())?)
        .push(", record_after = ")
        .bind(snapshot(event.after.as_deref())?)
        .push(", chain = ")
        .bind(event.chain.as_ref().map(ChainLink::to_text))
        .push(" WHERE id = ")
        .bind(event.id);
    Ok(sql)
}

/// One page of events in `tenant` matching `filter`, ordered by (occurred_at, id).
pub fn query(p: Placeholder, tenant: &TenantScope, filter: &AuditFilter) -> Sql {
    let mut sql = Sql::new(
        p,
        &format!("SELECT {READ_COLUMNS} FROM apikey_audit_events WHERE 1 = 1"),
    );
    if let TenantScope::Tenant(t) = tenant {
        sql.push(" AND tenant_id = ").bind(t.as_str());
    }
    match &filter.subject {
        // The key's own index serves a key's history.
        Some(EventSubject::Key(key)) => {
            sql.push(" AND key_id = ").bind(*key);
        }
        Some(other) => {
            sql.push(" AND subject_kind = ")
                .bind(other.kind())
                .push(" AND subject_id = ")
                .bind(other.id());
        }
        None => {}
    }
    if let Some(actor) = &filter.actor {
        sql.push(" AND actor = ").bind(actor.as_str());
    }
    if !filter.types.is_empty() {
        sql.push(" AND action IN ")
            .bind_list(filter.types.iter().map(|a| a.as_str()));
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

/// The newest event of key `key`'s chain: highest version, then highest position (served by
/// the key's index).
pub fn newest_change(p: Placeholder, key: KeyId) -> Sql {
    let mut sql = Sql::new(
        p,
        &format!("SELECT {READ_COLUMNS} FROM apikey_audit_events WHERE key_id = "),
    );
    sql.bind(key)
        .push(" AND version > 0 ORDER BY version DESC, position DESC LIMIT 1");
    sql
}

/// Up to `limit` events after position `after`, in position order.
pub fn read_after(p: Placeholder, after: u64, limit: u32) -> Result<Sql> {
    let mut sql = Sql::new(
        p,
        &format!("SELECT {READ_COLUMNS} FROM apikey_audit_events WHERE position > "),
    );
    sql.bind(guard::to_i64("audit position", after)?)
        .push(" ORDER BY position LIMIT ")
        .bind(i64::from(limit.clamp(1, 1000)));
    Ok(sql)
}

/// The highest position stored or saved in a cursor. A sequence's own counter is not readable
/// the same way on the three databases (MySQL caches `information_schema.AUTO_INCREMENT`), and
/// this bound is what the contract needs: a purge never removes events above the slowest cursor,
/// so every cursor stays at or below it.
pub fn last_position(p: Placeholder) -> Sql {
    Sql::new(
        p,
        "SELECT COALESCE(MAX(m), 0) AS last_position FROM (\
         SELECT MAX(position) AS m FROM apikey_audit_events \
         UNION ALL SELECT MAX(position) AS m FROM apikey_audit_cursors) AS maxima",
    )
}

/// Every cursor, by reader name.
pub fn cursors(p: Placeholder) -> Sql {
    Sql::new(
        p,
        "SELECT reader, position FROM apikey_audit_cursors ORDER BY reader",
    )
}

/// Moves an existing cursor (no row affected: the reader is not registered yet).
pub fn update_cursor(
    p: Placeholder,
    reader: &str,
    position: u64,
    at: DateTime<Utc>,
) -> Result<Sql> {
    let mut sql = Sql::new(p, "UPDATE apikey_audit_cursors SET position = ");
    sql.bind(guard::to_i64("cursor position", position)?)
        .push(", updated_at = ")
        .bind(apikey_core::clock::truncate_ms(at))
        .push(" WHERE reader = ")
        .bind(reader);
    Ok(sql)
}

/// Registers a reader at `position`.
pub fn insert_cursor(
    p: Placeholder,
    reader: &str,
    position: u64,
    at: DateTime<Utc>,
) -> Result<Sql> {
    let mut sql = Sql::new(
        p,
        "INSERT INTO apikey_audit_cursors (reader, position, updated_at) VALUES ",
    );
    sql.bind_list([
        Value::from(reader),
        guard::to_i64("cursor position", position)?.into(),
        apikey_core::clock::truncate_ms(at).into(),
    ]);
    Ok(sql)
}

/// Forgets a reader.
pub fn delete_cursor(p: Placeholder, reader: &str) -> Sql {
    let mut sql = Sql::new(p, "DELETE FROM apikey_audit_cursors WHERE reader = ");
    sql.bind(reader);
    sql
}

/// `DELETE` of every event before `before` at or below the slowest reader's cursor, except the
/// checkpoints of the chain and each live key's newest record (the event whose version is the
/// key's current version: its public view as it stands, and where its chain continues).
pub fn purge(p: Placeholder, before: DateTime<Utc>) -> Sql {
    purge_scoped(p, &PurgeScope::AllBut(Vec::new()), before)
}

/// [`purge`] within `scope`: one tenant's events, or every event but some tenants' (those
/// without a tenant included).
pub fn purge_scoped(p: Placeholder, scope: &PurgeScope, before: DateTime<Utc>) -> Sql {
    let mut sql = Sql::new(p, "DELETE FROM apikey_audit_events WHERE ");
    match scope {
        PurgeScope::Tenant(t) => {
            sql.push("tenant_id = ").bind(t.as_str()).push(" AND ");
        }
        PurgeScope::AllBut(except) if !except.is_empty() => {
            sql.push("(tenant_id IS NULL OR tenant_id NOT IN ")
                .bind_list(except.iter().map(TenantId::as_str))
                .push(") AND ");
        }
        _ => {}
    }
    sql.push("occurred_at < ");
    sql.bind(ceil_ms(before))
        .push(" AND position <= (SELECT COALESCE(MIN(position), ");
    sql.bind(i64::MAX)
        .push(") FROM apikey_audit_cursors) AND action <> ")
        .bind(EventType::AuditCheckpoint.as_str())
        .push(
            " AND NOT (version > 0 AND key_id IS NOT NULL AND EXISTS (SELECT 1 FROM apikey_keys k \
             WHERE k.id = apikey_audit_events.key_id AND k.version = apikey_audit_events.version))",
        );
    sql
}

/// Reads an event from a row selected with the read columns.
pub fn event<R: Row + ?Sized>(row: &R) -> std::result::Result<AuditEvent, R::Error> {
    let r = Reader::new(row);
    let event_type = r.parsed("action", |s| s.parse::<EventType>())?;
    let subject = match (r.opt_text("subject_kind")?, r.opt_text("subject_id")?) {
        (Some(kind), Some(id)) => {
            Some(EventSubject::parse(&kind, &id).map_err(|e| r.corrupt("subject_id", e))?)
        }
        (None, None) => None,
        _ => {
            return Err(r.corrupt(
                "subject_kind",
                Error::invalid("event subject", "kind and id must both be set or both null"),
            ));
        }
    };
    Ok(AuditEvent {
        id: r.uuid("id")?,
        position: Some(r.unsigned("position")?),
        event_type,
        subject,
        tenant_id: r.opt_tenant("tenant_id")?,
        actor: r.opt_text("actor")?,
        reason: r.opt_text("reason")?,
        at: r.time("occurred_at")?,
        version: r.unsigned("version")?,
        before: r.opt_json::<KeyView>("record_before")?.map(Box::new),
        after: r.opt_json::<KeyView>("record_after")?.map(Box::new),
        data: r.opt_json::<serde_json::Value>("data")?,
        chain: r
            .opt_text("chain")?
            .map(|t| ChainLink::from_text(&t))
            .transpose()
            .map_err(|e| r.corrupt("chain", e))?,
    })
}

impl Decode for AuditEvent {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        event(row)
    }
}

impl Decode for ReaderCursor {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        let r = Reader::new(row);
        Ok(ReaderCursor {
            reader: r.text("reader")?,
            position: r.unsigned("position")?,
        })
    }
}

/// A row of [`last_position`].
#[derive(Debug)]
pub struct LastPosition(pub u64);

impl Decode for LastPosition {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        Reader::new(row).unsigned("last_position").map(Self)
    }
}
