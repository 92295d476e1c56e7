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

use apikey_core::tenant::{CountLimits, check_same_tenant};
use apikey_core::{AuditEvent, ErrorKind, KeyFilter, KeyRecord, Result, TenantId};

use super::read::Count;
use super::write::{finish, insert_on};
use crate::driver::Driver;
use crate::keys as stmt;
use crate::sql::{Placeholder, Sql};
use crate::tenant::row_key;

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
    let mut inserts = Vec::with_capacity(items.len());
    for (r, e) in items {
        inserts.push(stmt::insert(p, r, e)?);
    }
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
        for (sql, (r, e)) in inserts.into_iter().zip(items) {
            insert_on::<S>(&mut tx, sql, r, e).await?;
        }
        Ok(())
    }
    .await;
    finish(store, tx, outcome, "commit checked insert").await
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
