//! The audit log's reads, standalone appends, reader cursors and retention purge. Events of key
//! changes are written by [`write`](super::write), inside the transaction of the change.

use apikey_core::audit::{ReaderCursor, ahead_of_log, validate_reader_name};
use apikey_core::{AuditEvent, AuditFilter, KeyId, Result, TenantScope};
use chrono::{DateTime, Utc};

use crate::audit::{self as stmt, LastPosition};
use crate::driver::Driver;

/// One page of events in `tenant` matching `filter`.
pub async fn query<S: Driver>(
    store: &S,
    tenant: &TenantScope,
    filter: &AuditFilter,
) -> Result<Vec<AuditEvent>> {
    let sql = stmt::query(S::PLACEHOLDER, tenant, filter);
    let mut conn = store.reader().await?;
    S::fetch(&mut conn, sql, "query audit events").await
}

/// Appends a system event unless its id is stored; whether it was appended.
pub async fn append<S: Driver>(store: &S, event: &AuditEvent) -> Result<bool> {
    let sql = stmt::append_once(S::PLACEHOLDER, event, S::INSERT_IGNORE_DUPLICATE_ID)?;
    let mut conn = store.reader().await?;
    Ok(S::execute(&mut conn, sql, "append audit event").await? > 0)
}

/// The newest event of key `key`'s chain, in one indexed query.
pub async fn newest_change<S: Driver>(store: &S, key: KeyId) -> Result<Option<AuditEvent>> {
    let sql = stmt::newest_change(S::PLACEHOLDER, key);
    let mut conn = store.reader().await?;
    let rows: Vec<AuditEvent> = S::fetch(&mut conn, sql, "read a key's newest audit event").await?;
    Ok(rows.into_iter().next())
}

/// Events after position `after`, in position order.
pub async fn read_after<S: Driver>(store: &S, after: u64, limit: u32) -> Result<Vec<AuditEvent>> {
    let sql = stmt::read_after(S::PLACEHOLDER, after, limit)?;
    let mut conn = store.reader().await?;
    S::fetch(&mut conn, sql, "read audit events by position").await
}

/// The highest position stored or saved in a cursor.
pub async fn last_position<S: Driver>(store: &S) -> Result<u64> {
    let mut conn = store.reader().await?;
    last_on::<S>(&mut conn).await
}

async fn last_on<S: Driver>(conn: &mut S::Conn) -> Result<u64> {
    let rows: Vec<LastPosition> = S::fetch(
        conn,
        stmt::last_position(S::PLACEHOLDER),
        "read last audit position",
    )
    .await?;
    Ok(rows.first().map_or(0, |r| r.0))
}

/// Every reader's cursor.
pub async fn cursors<S: Driver>(store: &S) -> Result<Vec<ReaderCursor>> {
    let mut conn = store.reader().await?;
    S::fetch(
        &mut conn,
        stmt::cursors(S::PLACEHOLDER),
        "read audit cursors",
    )
    .await
}

/// Saves `reader`'s cursor: moves it, or registers the reader. A position beyond the log is
/// refused before anything is written.
pub async fn save_cursor<S: Driver>(
    store: &S,
    reader: &str,
    position: u64,
    now: DateTime<Utc>,
) -> Result<()> {
    validate_reader_name(reader)?;
    let p = S::PLACEHOLDER;
    let mut conn = store.reader().await?;
    let last = last_on::<S>(&mut conn).await?;
    if position > last {
        return Err(ahead_of_log(position, last));
    }
    let moved = S::execute(
        &mut conn,
        stmt::update_cursor(p, reader, position, now)?,
        "move audit cursor",
    )
    .await?;
    if moved == 0 {
        S::execute(
            &mut conn,
            stmt::insert_cursor(p, reader, position, now)?,
            "register audit reader",
        )
        .await?;
    }
    Ok(())
}

/// Forgets a reader; whether it was registered.
pub async fn remove_cursor<S: Driver>(store: &S, reader: &str) -> Result<bool> {
    let mut conn = store.reader().await?;
    Ok(S::execute(
        &mut conn,
        stmt::delete_cursor(S::PLACEHOLDER, reader),
        "remove audit cursor",
    )
    .await?
        > 0)
}

/// Rewrites erased events, all in one transaction; how many rows were found.
pub async fn rewrite_erased<S: Driver>(store: &S, events: &[AuditEvent]) -> Result<u64> {
    let statements = events
        .iter()
        .map(|e| stmt::rewrite_erased(S::PLACEHOLDER, e))
        .collect::<Result<Vec<_>>>()?;
    super::write::execute_all(
        store,
        statements,
        "rewrite erased audit event",
        "commit erased audit events",
    )
    .await
}

/// Deletes every event before `before` that every reader has passed, except each live key's
/// newest record and the chain's checkpoints; how many.
pub async fn purge<S: Driver>(store: &S, before: DateTime<Utc>) -> Result<u64> {
    let sql = stmt::purge(S::PLACEHOLDER, before);
    let mut conn = store.reader().await?;
    S::execute(&mut conn, sql, "purge audit events").await
}

/// Deletes what retention allows within `scope` (one tenant, or every tenant but some).
pub async fn purge_scoped<S: Driver>(
    store: &S,
    scope: &apikey_core::audit::PurgeScope,
    before: DateTime<Utc>,
) -> Result<u64> {
    let sql = stmt::purge_scoped(S::PLACEHOLDER, scope, before);
    let mut conn = store.reader().await?;
    S::execute(&mut conn, sql, "purge audit events").await
}
