//! Checked inserts ([`CheckedInsert`](apikey_core::tenant::CheckedInsert)): many keys, their label
//! rows and their events in one transaction, all or none; with limits, counted and checked under
//! the tenant's lock row so that concurrent creators cannot both take the last place.
//!
//! Rows go in as multi-row `INSERT`s (a few hundred keys per statement), not a statement per
//! key: bulk creation of thousands of keys is a handful of round trips.

use std::collections::{BTreeMap, BTreeSet};

use apikey_core::tenant::{CountLimits, check_same_tenant};
use apikey_core::{AuditEvent, KeyRecord, Result, TenantId};

use crate::checked::{self as stmt, Count, OwnerCount};
use crate::driver::Driver;
use crate::sql::Sql;
use crate::{audit, keys, labels};

use super::write::finish;

/// Events per multi-row `INSERT`: 13 values each.
const EVENTS_PER_INSERT: usize = 500;

/// Inserts every record of `items` (all of `tenant`) with its event, all or none; under
/// `limits`, after counting the tenant's keys under its lock row.
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
    // Every statement is built (and every value checked) before the transaction opens: bad
    // input never holds a lock.
    let writes = statements::<S>(items)?;
    let aliases = batch_aliases(tenant, items)?;
    let mut tx = store.begin().await?;
    let outcome = async {
        if !limits.is_unlimited() {
            let lock = stmt::lock(S::DATABASE, S::PLACEHOLDER, tenant);
            S::execute(&mut tx, lock, "lock tenant").await?;
            check_limits::<S>(&mut tx, tenant, items, limits).await?;
        }
        let (keys, rest) = writes;
        for sql in keys {
            S::execute(&mut tx, sql, "insert keys").await?;
        }
        // After the key rows, as a single insert does (a write first takes SQLite's lock).
        super::aliases::check_new::<S>(&mut tx, tenant, &aliases).await?;
        for (sql, what) in rest {
            S::execute(&mut tx, sql, what).await?;
        }
        Ok(())
    }
    .await;
    finish(store, tx, outcome, "commit checked insert").await
}

/// The key rows; then the label rows and the events: each as few multi-row statements.
type Writes = (Vec<Sql>, Vec<(Sql, &'static str)>);

fn statements<S: Driver>(items: &[(KeyRecord, AuditEvent)]) -> Result<Writes> {
    let p = S::PLACEHOLDER;
    let mut keys = Vec::new();
    for chunk in items.chunks(keys::ROWS_PER_INSERT) {
        keys.extend(keys::insert_many(p, chunk.iter().map(|(r, _)| r))?);
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
                return Err(super::aliases::conflict(alias, tenant));
            }
        }
    }
    Ok(all.into_iter().collect())
}

/// Counts what `limits` needs (the tenant's counted keys, each new owner's) and checks them.
async fn check_limits<S: Driver>(
    conn: &mut S::Conn,
    tenant: Option<&TenantId>,
    items: &[(KeyRecord, AuditEvent)],
    limits: &CountLimits,
) -> Result<()> {
    let p = S::PLACEHOLDER;
    let records = items.iter().map(|(r, _)| r);
    let mut tenant_count = 0;
    if limits.max_per_tenant.is_some()
        && let Some(sql) = stmt::tenant_count(p, tenant, limits)
    {
        let rows: Vec<Count> = S::fetch(conn, sql, "count tenant keys").await?;
        tenant_count = rows.first().map_or(0, |c| c.0);
    }
    let mut owners = BTreeMap::new();
    let wanted = limits.owners_to_count(records.clone());
    for chunk in wanted.chunks(stmt::OWNERS_PER_STATEMENT) {
        if let Some(sql) = stmt::owner_counts(p, tenant, limits, chunk) {
            let rows: Vec<OwnerCount> = S::fetch(conn, sql, "count owner keys").await?;
            owners.extend(rows.into_iter().map(|OwnerCount(o, n)| (o, n)));
        }
    }
    limits.check(tenant, records, tenant_count, |o| {
        owners.get(o).copied().unwrap_or(0)
    })
}
