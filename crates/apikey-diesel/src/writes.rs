//! The bodies of the write transactions: each runs on the caller's open transaction, and the
//! caller commits on `Ok` or rolls back on `Err` ([`DieselStore::finish`](crate::DieselStore)).
//! A key change, its label rows and its audit event therefore commit together or not at all.

use apikey_core::{
    AuditEvent, Error, KeyId, KeyRecord, Result, TenantScope, UsageBatchId, UsageUpdate,
};

use crate::audit::append;
use crate::codec::IdRow;
use crate::dialect::Dialect;
use crate::error::ctx;
use crate::labels;
use apikey_sql::Sql;
use apikey_sql::keys as stmt;

/// `insert` is the prepared `INSERT INTO apikey_keys …`.
pub(crate) async fn insert<D: Dialect>(
    conn: &mut D::Connection,
    insert: Sql,
    record: &KeyRecord,
    event: &AuditEvent,
) -> Result<()> {
    D::execute(conn, insert)
        .await
        .map_err(ctx(D::DB_NAME, "insert key"))?;
    labels::write::<D>(conn, record).await?;
    append::<D>(conn, event).await
}

/// `update` is the prepared compare-and-set `UPDATE … WHERE id = ? AND version = ? [AND
/// tenant_id = ?]`. No row changed means a missing key (or one outside `tenant`: `NotFound`) or
/// a stale version (`Conflict`), told apart by one more read in the same transaction.
pub(crate) async fn update<D: Dialect>(
    conn: &mut D::Connection,
    update: Sql,
    tenant: &TenantScope,
    record: &KeyRecord,
    event: &AuditEvent,
) -> Result<()> {
    let changed = D::execute(conn, update)
        .await
        .map_err(ctx(D::DB_NAME, "update key"))?;
    if changed == 0 {
        let exists = exists_in::<D>(conn, tenant, record.id).await?;
        let what = format_args!("key {}", record.id);
        return Err(if exists {
            Error::stale(what)
        } else {
            Error::not_found(what)
        });
    }
    labels::clear::<D>(conn, record.id).await?;
    labels::write::<D>(conn, record).await?;
    append::<D>(conn, event).await
}

/// Whether key `id` is visible in `tenant`.
async fn exists_in<D: Dialect>(
    conn: &mut D::Connection,
    tenant: &TenantScope,
    id: KeyId,
) -> Result<bool> {
    let sql = stmt::exists(D::PLACEHOLDER, tenant, id);
    let rows: Vec<IdRow> = D::load(conn, sql)
        .await
        .map_err(ctx(D::DB_NAME, "check key"))?;
    Ok(!rows.is_empty())
}

/// Per item, in the caller's transaction: move this flusher's mark on the key up to `batch`
/// (or insert it), and only if that changed a row add the usage — the later `last_used_at` wins,
/// counts add up, `version` is untouched. An item already marked by an earlier attempt of this
/// batch, or with an unknown id, changes nothing.
pub(crate) async fn usage<D: Dialect>(
    conn: &mut D::Connection,
    batch: &UsageBatchId,
    items: &[UsageUpdate],
) -> Result<()> {
    let run = |what| ctx(D::DB_NAME, what);
    D::execute(conn, stmt::usage_marks_purge(D::PLACEHOLDER, batch))
        .await
        .map_err(run("purge usage marks"))?;
    for u in items {
        let mut marked = D::execute(conn, stmt::usage_mark_advance(D::PLACEHOLDER, batch, u.id))
            .await
            .map_err(run("mark usage"))?;
        if marked == 0 {
            marked = D::execute(conn, stmt::usage_mark_insert(D::PLACEHOLDER, batch, u.id))
                .await
                .map_err(run("mark usage"))?;
        }
        if marked == 0 {
            continue;
        }
        D::execute(conn, stmt::usage(D::PLACEHOLDER, u))
            .await
            .map_err(run("record usage"))?;
    }
    Ok(())
}

/// `delete` is the prepared `DELETE FROM apikey_keys WHERE id = ? [AND tenant_id = ?]`.
pub(crate) async fn delete<D: Dialect>(
    conn: &mut D::Connection,
    delete: Sql,
    id: KeyId,
    event: &AuditEvent,
) -> Result<bool> {
    let deleted = D::execute(conn, delete)
        .await
        .map_err(ctx(D::DB_NAME, "delete key"))?;
    if deleted == 0 {
        return Ok(false);
    }
    // Foreign keys cascade to the label rows; clearing them here also covers a SQLite connection
    // opened with foreign keys off.
    labels::clear::<D>(conn, id).await?;
    append::<D>(conn, event).await?;
    Ok(true)
}
