//! Checked inserts: a batch of new keys inserted all or none, in one transaction that first
//! takes the tenant's row of `apikey_tenant_locks` (so creators of one tenant go one at a time)
//! and, under it, counts the tenant's keys against its limits.
//!
//! Why a lock row and not `SERIALIZABLE`: a row lock makes the second creator wait for the first
//! to commit and then count again, on every database, where serializable isolation would abort
//! one of them and leave the retry to the caller. The count after the lock sees the first
//! creator's key: PostgreSQL (read committed) takes a fresh snapshot per statement, and MySQL's
//! repeatable-read snapshot starts at the transaction's first plain read, which comes after the
//! locking `UPDATE`; SQLite has one writer at a time.

use std::collections::BTreeSet;

use apikey_core::tenant::{CountLimits, check_same_tenant};
use apikey_core::{AuditEvent, ErrorKind, KeyFilter, KeyRecord, Result, TenantId};

use super::read::Count;
use super::write::{Label, alias_taken, finish};
use crate::driver::Driver;
use crate::keys as stmt;
use crate::sql::{Placeholder, Sql};
use crate::tenant::row_key;
use crate::{audit, labels};

/// Events per multi-row `INSERT`: 13 values each.
const EVENTS_PER_INSERT: usize = 500;

/// Inserts `items` (all of `tenant`) with their events, all or none, under `limits`.
pub async fn insert<S: Driver>(
    store: &S,
    tenant: Option<&TenantId>,
    items: &[(KeyRecord, AuditEvent)],
    limits: &CountLimits,
) -> Result<()> {
    check_same_tenant(tenant, items)?;
    if items.is_empty() {
        return Ok(());
    }
    let p = S::PLACEHOLDER;
    // Every statement is built (and checked) before the transaction opens: bad input never
    // holds the tenant's lock.
    let (keys, rest) = statements::<S>(items)?;
    let aliases = batch_aliases(tenant, items)?;
    let limited = !limits.is_unlimited();
    if limited {
        create_lock_row(store, tenant).await?;
    }
    let mut tx = store.begin().await?;
    let outcome = async {
        if limited {
            S::execute(&mut tx, lock(p, tenant), "lock tenant").await?;
            let counted = KeyFilter {
                states: limits.counted_states.clone(),
                ..KeyFilter::default()
            };
            let tenant_count = match limits.max_per_tenant {
                Some(_) => count::<S>(&mut tx, tenant, &counted).await?,
                None => 0,
            };
            let mut owners = Vec::new();
            for owner in limits.owners_to_count(items.iter().map(|(r, _)| r)) {
                let by_owner = KeyFilter {
                    owner: Some(owner.clone()),
                    ..counted.clone()
                };
                let n = count::<S>(&mut tx, tenant, &by_owner).await?;
                owners.push((owner, n));
            }
            limits.check(tenant, items.iter().map(|(r, _)| r), tenant_count, |o| {
                owners.iter().find(|(x, _)| x == o).map_or(0, |(_, n)| *n)
            })?;
        }
        // The key rows first, as a single insert writes first: a write takes SQLite's lock.
        for sql in keys {
            S::execute(&mut tx, sql, "insert keys").await?;
        }
        for chunk in aliases.chunks(labels::ALIASES_PER_CHECK) {
            let sql = labels::taken_by_any(p, tenant, chunk);
            let taken: Vec<Label> = S::fetch(&mut tx, sql, "check aliases").await?;
            if let Some(Label(alias)) = taken.into_iter().next() {
                return Err(alias_taken(&alias, tenant));
            }
        }
        for (sql, what) in rest {
            S::execute(&mut tx, sql, what).await?;
        }
        Ok(())
    }
    .await;
    finish(store, tx, outcome, "commit checked insert").await
}

/// The key rows; then the label rows and the events.
type Writes = (Vec<Sql>, Vec<(Sql, &'static str)>);

/// Every row of the batch as multi-row `INSERT`s (a few hundred keys per statement), not a
/// statement per key and table: bulk creation of thousands of keys is a handful of round trips.
fn statements<S: Driver>(items: &[(KeyRecord, AuditEvent)]) -> Result<Writes> {
    let p = S::PLACEHOLDER;
    let mut keys = Vec::new();
    for chunk in items.chunks(stmt::ROWS_PER_INSERT) {
        keys.extend(stmt::insert_many(p, chunk.iter().map(|(r, _)| r))?);
    }
    let records: Vec<&KeyRecord> = items.iter().map(|(r, _)| r).collect();
    let mut rest: Vec<_> = labels::write_many(p, &records)
        .into_iter()
        .map(|sql| (sql, "insert key labels"))
        .collect();
    for chunk in items.chunks(EVENTS_PER_INSERT) {
        let events = chunk.iter().map(|(_, e)| e);
        let sql = audit::append_many(p, events, S::INSERT_IGNORE_DUPLICATE_ID)?;
        rest.extend(sql.map(|s| (s, "append audit events")));
    }
    Ok((keys, rest))
}

/// Every distinct alias of the batch, in byte order; `Conflict` when two of its keys share one.
fn batch_aliases<'a>(
    tenant: Option<&TenantId>,
    items: &'a [(KeyRecord, AuditEvent)],
) -> Result<Vec<&'a str>> {
    let mut all = BTreeSet::new();
    for (r, _) in items {
        let own: BTreeSet<&str> = r.aliases.iter().map(String::as_str).collect();
        for alias in own {
            if !all.insert(alias) {
                return Err(alias_taken(alias, tenant));
            }
        }
    }
    Ok(all.into_iter().collect())
}

/// Makes sure the tenant's lock row exists, in its own statement before the transaction: two
/// first creators racing to insert it would otherwise collide inside their transactions.
async fn create_lock_row<S: Driver>(store: &S, tenant: Option<&TenantId>) -> Result<()> {
    let key = row_key(tenant);
    let mut sql = Sql::new(
        S::PLACEHOLDER,
        "INSERT INTO apikey_tenant_locks (tenant_key, n) SELECT ",
    );
    sql.bind(key).push(", 0 FROM (SELECT 1 AS one) AS single WHERE NOT EXISTS (SELECT 1 FROM apikey_tenant_locks WHERE tenant_key = ").bind(key).push(")");
    let mut conn = store.reader().await?;
    match S::execute(&mut conn, sql, "create tenant lock").await {
        // Another creator inserted it between our check and our insert: it exists, as wanted.
        Err(e) if e.kind() == ErrorKind::Conflict => Ok(()),
        other => other.map(|_| ()),
    }
}

/// `UPDATE apikey_tenant_locks SET n = n + 1 WHERE tenant_key = ?`: a write, so it takes the row
/// lock (the write lock on SQLite) until the transaction ends.
fn lock(p: Placeholder, tenant: Option<&TenantId>) -> Sql {
    let mut sql = Sql::new(
        p,
        "UPDATE apikey_tenant_locks SET n = n + 1 WHERE tenant_key = ",
    );
    sql.bind(row_key(tenant));
    sql
}

async fn count<S: Driver>(
    conn: &mut S::Conn,
    tenant: Option<&TenantId>,
    filter: &KeyFilter,
) -> Result<u64> {
    let Some(sql) = crate::query::count(S::PLACEHOLDER, tenant, filter) else {
        return Ok(0);
    };
    let rows: Vec<Count> = S::fetch(conn, sql, "count keys").await?;
    Ok(rows.first().map_or(0, |c| c.0))
}
