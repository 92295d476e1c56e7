//! The write transactions: a key change, its label rows and its audit event commit together or
//! not at all. Each opens its transaction, runs its body on it, and commits on `Ok` or rolls back
//! at once on `Err` (so no lock outlives the call).

use apikey_core::{
    AuditEvent, Error, KeyId, KeyRecord, Result, TenantId, TenantScope, UsageBatchId, UsageUpdate,
};

use crate::codec::{Reader, Row};
use crate::driver::{Decode, Driver};
use crate::keys as stmt;
use crate::sql::Sql;
use crate::{audit, labels};

/// Stores a new key with its label rows and its `event`.
pub async fn insert<S: Driver>(store: &S, record: &KeyRecord, event: &AuditEvent) -> Result<()> {
    let sql = stmt::insert(S::PLACEHOLDER, record, event)?;
    let mut tx = store.begin().await?;
    let outcome = insert_on::<S>(&mut tx, sql, record, event).await;
    finish(store, tx, outcome, "commit insert").await
}

/// Replaces key `record.id`, if it is at `expected_version` and visible in `tenant`, with
/// `record`, and appends `event`: a compare-and-set on `version` that never writes the usage
/// columns. A stale version is `Conflict`, a key missing or outside `tenant` `NotFound`.
pub async fn update<S: Driver>(
    store: &S,
    tenant: &TenantScope,
    expected_version: u64,
    record: &KeyRecord,
    event: &AuditEvent,
) -> Result<()> {
    let sql = stmt::update(S::PLACEHOLDER, tenant, expected_version, record, event)?;
    let mut tx = store.begin().await?;
    let outcome = update_on::<S>(&mut tx, sql, tenant, record, event).await;
    finish(store, tx, outcome, "commit update").await
}

/// Adds a usage batch: each key of `batch` once, however often the batch is retried.
pub async fn usage<S: Driver>(
    store: &S,
    batch: &UsageBatchId,
    items: &[UsageUpdate],
) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let mut tx = store.begin().await?;
    let outcome = usage_on::<S>(&mut tx, batch, items).await;
    finish(store, tx, outcome, "commit usage").await
}

/// Deletes key `id` if visible in `tenant`, with its label rows, and appends `event`; whether a
/// key was deleted.
pub async fn delete<S: Driver>(
    store: &S,
    tenant: &TenantScope,
    id: KeyId,
    event: &AuditEvent,
) -> Result<bool> {
    let sql = stmt::delete(S::PLACEHOLDER, tenant, id, event)?;
    let mut tx = store.begin().await?;
    let outcome = delete_on::<S>(&mut tx, sql, id, event).await;
    finish(store, tx, outcome, "commit delete").await
}

/// Runs `statements` in one transaction (all or none); the rows they affected.
pub(super) async fn execute_all<S: Driver>(
    store: &S,
    statements: Vec<Sql>,
    what: &'static str,
    commit: &'static str,
) -> Result<u64> {
    let mut tx = store.begin().await?;
    let outcome = async {
        let mut n = 0;
        for sql in statements {
            n += S::execute(&mut tx, sql, what).await?;
        }
        Ok(n)
    }
    .await;
    finish(store, tx, outcome, commit).await
}

/// Commits `tx` on `Ok`, rolls it back at once on `Err`.
pub(super) async fn finish<S: Driver, T>(
    store: &S,
    tx: S::Writer,
    outcome: Result<T>,
    what: &'static str,
) -> Result<T> {
    match outcome {
        Ok(v) => {
            store.commit(tx, what).await?;
            Ok(v)
        }
        Err(e) => {
            store.rollback(tx).await;
            Err(e)
        }
    }
}

pub(super) async fn insert_on<S: Driver>(
    conn: &mut S::Conn,
    insert: Sql,
    record: &KeyRecord,
    event: &AuditEvent,
) -> Result<()> {
    S::execute(conn, insert, "insert key").await?;
    write_labels::<S>(conn, record).await?;
    append::<S>(conn, event).await
}

/// No row changed by the compare-and-set means a missing key or a stale version, told apart by
/// one more read in the same transaction.
async fn update_on<S: Driver>(
    conn: &mut S::Conn,
    update: Sql,
    tenant: &TenantScope,
    record: &KeyRecord,
    event: &AuditEvent,
) -> Result<()> {
    let changed = S::execute(conn, update, "update key").await?;
    if changed == 0 {
        let sql = stmt::exists(S::PLACEHOLDER, tenant, record.id);
        let found: Vec<Found> = S::fetch(conn, sql, "check key").await?;
        let what = format_args!("key {}", record.id);
        return Err(if found.is_empty() {
            Error::not_found(what)
        } else {
            Error::stale(what)
        });
    }
    clear_labels::<S>(conn, record.id).await?;
    write_labels::<S>(conn, record).await?;
    append::<S>(conn, event).await
}

/// Per item: move this flusher's mark on the key up to `batch` (or insert it), and only if that
/// changed a row add the usage — the later `last_used_at` wins, counts add up, `version` is
/// untouched. An item already marked by an earlier attempt of this batch, or with an unknown id,
/// changes nothing.
async fn usage_on<S: Driver>(
    conn: &mut S::Conn,
    batch: &UsageBatchId,
    items: &[UsageUpdate],
) -> Result<()> {
    let p = S::PLACEHOLDER;
    S::execute(conn, stmt::usage_marks_purge(p, batch), "purge usage marks").await?;
    for u in items {
        let mut marked =
            S::execute(conn, stmt::usage_mark_advance(p, batch, u.id), "mark usage").await?;
        if marked == 0 {
            marked =
                S::execute(conn, stmt::usage_mark_insert(p, batch, u.id), "mark usage").await?;
        }
        if marked == 0 {
            continue;
        }
        S::execute(conn, stmt::usage(p, u), "record usage").await?;
    }
    Ok(())
}

async fn delete_on<S: Driver>(
    conn: &mut S::Conn,
    delete: Sql,
    id: KeyId,
    event: &AuditEvent,
) -> Result<bool> {
    if S::execute(conn, delete, "delete key").await? == 0 {
        return Ok(false);
    }
    // Foreign keys cascade to the label rows; clearing them here also covers a SQLite connection
    // opened with foreign keys off.
    clear_labels::<S>(conn, id).await?;
    append::<S>(conn, event).await?;
    Ok(true)
}

async fn clear_labels<S: Driver>(conn: &mut S::Conn, id: KeyId) -> Result<()> {
    for sql in labels::clear(S::PLACEHOLDER, id) {
        S::execute(conn, sql, "delete key labels").await?;
    }
    Ok(())
}

/// Writes the label rows of `r`, after refusing an alias another key of its tenant holds (the
/// unique index, where `migrate()` could create it, also closes the race between two writers).
pub(super) async fn write_labels<S: Driver>(conn: &mut S::Conn, r: &KeyRecord) -> Result<()> {
    if let Some(sql) = labels::taken_aliases(S::PLACEHOLDER, r) {
        let taken: Vec<Label> = S::fetch(conn, sql, "check aliases").await?;
        if let Some(Label(alias)) = taken.into_iter().next() {
            return Err(alias_taken(&alias, r.tenant_id.as_ref()));
        }
    }
    for sql in labels::write(S::PLACEHOLDER, r) {
        S::execute(conn, sql, "insert key labels").await?;
    }
    Ok(())
}

/// The `Conflict` of an alias another key of `tenant` holds, naming the alias.
pub(super) fn alias_taken(alias: &str, tenant: Option<&TenantId>) -> Error {
    let whose = tenant.map_or_else(
        || "the keys without a tenant".to_owned(),
        |t| format!("tenant {t}"),
    );
    Error::new(
        apikey_core::ErrorKind::Conflict,
        format!("alias {alias:?} is already used by another key of {whose}"),
    )
}

/// An event whose id is already stored is left as it is, so a retried write does not duplicate
/// it.
async fn append<S: Driver>(conn: &mut S::Conn, event: &AuditEvent) -> Result<()> {
    let sql = audit::append(S::PLACEHOLDER, event, S::INSERT_IGNORE_DUPLICATE_ID)?;
    S::execute(conn, sql, "append audit event").await?;
    Ok(())
}

/// A row of [`labels::taken_aliases`] or [`labels::taken_by_any`].
pub(super) struct Label(pub(super) String);

impl Decode for Label {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        Reader::new(row).text("label").map(Self)
    }
}

/// A row of [`stmt::exists`]: the key is there.
struct Found;

impl Decode for Found {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        Reader::new(row).key_id("id").map(|_| Self)
    }
}
