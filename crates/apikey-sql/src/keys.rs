//! The statements of the key operations: lookups, the insert, the compare-and-set update, the
//! usage flush and the delete. [`flow::write`](crate::flow::write) runs them in transactions.

use apikey_core::{
    AuditEvent, KeyId, KeyRecord, LookupId, Result, TenantScope, USAGE_MARK_RETENTION,
    UsageBatchId, UsageUpdate,
};

use crate::codec::{self, KEY_COLUMNS, select_list};
use crate::guard;
use crate::sql::{Placeholder, Sql};

/// `SELECT <every column> FROM apikey_keys k WHERE `.
pub fn select(p: Placeholder) -> Sql {
    Sql::new(
        p,
        &format!("SELECT {} FROM apikey_keys k WHERE ", select_list()),
    )
}

/// Appends ` AND k.tenant_id = ?` for a tenant scope (nothing for operators).
pub fn push_tenant(sql: &mut Sql, tenant: &TenantScope) {
    if let TenantScope::Tenant(t) = tenant {
        sql.push(" AND k.tenant_id = ").bind(t.as_str());
    }
}

/// `INSERT INTO apikey_keys …` for `record`, after checking it and `event` with [`guard`].
pub fn insert(p: Placeholder, record: &KeyRecord, event: &AuditEvent) -> Result<Sql> {
    let values = codec::values(record)?;
    guard::event(event)?;
    let mut sql = Sql::new(
        p,
        &format!(
            "INSERT INTO apikey_keys ({}) VALUES ",
            KEY_COLUMNS.join(", ")
        ),
    );
    sql.bind_list(values);
    Ok(sql)
}

/// Key rows per multi-row `INSERT` ([`insert_many`]): one value per [`KEY_COLUMNS`] entry each,
/// well under every database's parameter limit.
pub const ROWS_PER_INSERT: usize = 200;

// SQLite's default limit (32,766 bound parameters) is the lowest of the three; a column added to
// `apikey_keys` must not push a full batch past it.
const _: () = assert!(ROWS_PER_INSERT * KEY_COLUMNS.len() <= 32_766);

/// One multi-row `INSERT INTO apikey_keys …` of `records` (keep to [`ROWS_PER_INSERT`]), each
/// checked with [`guard`]; `None` for none.
pub fn insert_many<'a>(
    p: Placeholder,
    records: impl IntoIterator<Item = &'a KeyRecord>,
) -> Result<Option<Sql>> {
    let mut sql: Option<Sql> = None;
    for r in records {
        let values = codec::values(r)?;
        match &mut sql {
            None => {
                let head = format!(
                    "INSERT INTO apikey_keys ({}) VALUES ",
                    KEY_COLUMNS.join(", ")
                );
                sql.insert(Sql::new(p, &head)).bind_list(values);
            }
            Some(s) => {
                s.push(", ").bind_list(values);
            }
        }
    }
    Ok(sql)
}

/// The key `id`, if visible in `tenant`.
pub fn get(p: Placeholder, tenant: &TenantScope, id: KeyId) -> Sql {
    let mut sql = select(p);
    sql.push("k.id = ").bind(id);
    push_tenant(&mut sql, tenant);
    sql
}

/// The key with lookup id `lookup`.
pub fn by_lookup_id(p: Placeholder, lookup: &LookupId) -> Sql {
    let mut sql = select(p);
    sql.push("k.lookup_id = ").bind(lookup.as_str());
    sql
}

/// The keys with legacy lookup `prefix`, oldest first; `None` when none can match (NUL).
pub fn by_legacy_lookup(p: Placeholder, prefix: &str) -> Option<Sql> {
    if !guard::storable(prefix) {
        return None;
    }
    let mut sql = select(p);
    sql.push("k.legacy_lookup = ").bind(prefix);
    sql.push(" ORDER BY k.created_at, k.id");
    Some(sql)
}

/// The compare-and-set `UPDATE … WHERE id = ? AND version = ? [AND tenant_id = ?]`, after
/// checking `record` and `event`.
pub fn update(
    p: Placeholder,
    tenant: &TenantScope,
    expected_version: u64,
    record: &KeyRecord,
    event: &AuditEvent,
) -> Result<Sql> {
    let values = codec::values(record)?;
    guard::event(event)?;
    let mut sql = Sql::new(p, "UPDATE apikey_keys SET ");
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
        .bind(guard::to_i64("expected version", expected_version)?);
    if let TenantScope::Tenant(t) = tenant {
        sql.push(" AND tenant_id = ").bind(t.as_str());
    }
    Ok(sql)
}

/// `SELECT k.id …` of key `id` in `tenant`: whether it exists there.
pub fn exists(p: Placeholder, tenant: &TenantScope, id: KeyId) -> Sql {
    let mut sql = Sql::new(p, "SELECT k.id FROM apikey_keys k WHERE k.id = ");
    sql.bind(id);
    push_tenant(&mut sql, tenant);
    sql
}

/// The usage flush of one item: the later `last_used_at` wins, counts add up, `version` is
/// untouched. An unknown id changes no row.
pub fn usage(p: Placeholder, u: &UsageUpdate) -> Sql {
    let at = apikey_core::clock::truncate_ms(u.last_used_at);
    let count = i64::try_from(u.count).unwrap_or(i64::MAX);
    let mut sql = Sql::new(
        p,
        "UPDATE apikey_keys SET last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < ",
    );
    sql.bind(at)
        .push(" THEN ")
        .bind(at)
        .push(" ELSE last_used_at END, usage_count = usage_count + ")
        .bind(count)
        .push(" WHERE id = ")
        .bind(u.id);
    sql
}

/// Moves this flusher's mark on `key` up to `batch`, if it is older. One row changed: the item is
/// new and is applied in the same transaction; none: it was applied already, or the key has no
/// mark of this flusher yet (then [`usage_mark_insert`]).
pub fn usage_mark_advance(p: Placeholder, batch: &UsageBatchId, key: KeyId) -> Sql {
    let seq = i64::try_from(batch.seq).unwrap_or(i64::MAX);
    let mut sql = Sql::new(p, "UPDATE apikey_usage_marks SET seq = ");
    sql.bind(seq)
        .push(", marked_at = ")
        .bind(apikey_core::clock::truncate_ms(batch.at))
        .push(" WHERE key_id = ")
        .bind(key)
        .push(" AND flusher_id = ")
        .bind(batch.flusher)
        .push(" AND seq < ")
        .bind(seq);
    sql
}

/// The first mark of this flusher on `key`, inserted only if the key exists and has none. One row
/// inserted: apply the item; none: a mark of at least this batch exists (or the key is unknown),
/// skip it. Selecting from `apikey_keys` rather than a bare `SELECT … WHERE` keeps the statement
/// the same on every database; a concurrent insert of the same mark fails the transaction on the
/// primary key, and the retry then sees the mark.
pub fn usage_mark_insert(p: Placeholder, batch: &UsageBatchId, key: KeyId) -> Sql {
    let seq = i64::try_from(batch.seq).unwrap_or(i64::MAX);
    let mut sql = Sql::new(
        p,
        "INSERT INTO apikey_usage_marks (key_id, flusher_id, seq, marked_at) SELECT id, ",
    );
    sql.bind(batch.flusher)
        .push(", ")
        .bind(seq)
        .push(", ")
        .bind(apikey_core::clock::truncate_ms(batch.at))
        .push(" FROM apikey_keys WHERE id = ")
        .bind(key)
        .push(" AND NOT EXISTS (SELECT 1 FROM apikey_usage_marks WHERE key_id = ")
        .bind(key)
        .push(" AND flusher_id = ")
        .bind(batch.flusher)
        .push(")");
    sql
}

/// Forgets marks older than [`USAGE_MARK_RETENTION`] before `batch`.
pub fn usage_marks_purge(p: Placeholder, batch: &UsageBatchId) -> Sql {
    let mut sql = Sql::new(p, "DELETE FROM apikey_usage_marks WHERE marked_at < ");
    sql.bind(apikey_core::clock::truncate_ms(
        batch.at - USAGE_MARK_RETENTION,
    ));
    sql
}

/// `DELETE FROM apikey_keys WHERE id = ? [AND tenant_id = ?]`, after checking `event`.
pub fn delete(p: Placeholder, tenant: &TenantScope, id: KeyId, event: &AuditEvent) -> Result<Sql> {
    guard::event(event)?;
    let mut sql = Sql::new(p, "DELETE FROM apikey_keys WHERE id = ");
    sql.bind(id);
    if let TenantScope::Tenant(t) = tenant {
        sql.push(" AND tenant_id = ").bind(t.as_str());
    }
    Ok(sql)
}
