//! Usage analytics ([`AnalyticsStore`](apikey_core::analytics::AnalyticsStore)) over the
//! [`Driver`] seam. A flush is one transaction: its batch row first (a duplicate fails on the
//! primary key, so a batch sent again adds nothing), then one multi-row upsert per resolution
//! of the key rows and the tenant totals, in key order so that concurrent flushers lock buckets
//! in the same order.

use std::collections::BTreeMap;

use apikey_core::analytics::{
    KeyUsage, Resolution, SeriesQuery, TopQuery, UsageCutoffs, UsagePoint, UsageRow, tenant_totals,
};
use apikey_core::audit::PurgeScope;
use apikey_core::store::UsageBatchId;
use apikey_core::{ErrorKind, KeyId, Result, TenantScope};

use super::read::Count;
use super::write::{execute_all, finish};
use crate::analytics as stmt;
use crate::driver::Driver;

/// One row per key (the unattributed row first), counts of repeated keys added.
fn merged(rows: &[UsageRow]) -> Vec<UsageRow> {
    let mut by_key: BTreeMap<Option<KeyId>, UsageRow> = BTreeMap::new();
    for r in rows {
        by_key
            .entry(r.key_id)
            .and_modify(|m| m.counts.add(&r.counts))
            .or_insert_with(|| r.clone());
    }
    by_key
        .into_values()
        .filter(|r| !r.counts.is_empty())
        .collect()
}

/// Adds a flush's rows to its minute, hour and day, once per batch id.
pub async fn add<S: Driver>(store: &S, batch: UsageBatchId, rows: &[UsageRow]) -> Result<bool> {
    let rows = merged(rows);
    let totals = tenant_totals(&rows);
    let all = stmt::buckets(&rows, &totals);
    // Every statement is built (and its input checked) before the transaction opens.
    let mut upserts = Vec::new();
    for r in Resolution::ALL {
        for chunk in all.chunks(stmt::ROWS_PER_UPSERT) {
            upserts.push(stmt::upsert(
                S::PLACEHOLDER,
                S::DATABASE,
                r,
                batch.at,
                chunk,
            )?);
        }
    }
    let mark = stmt::insert_batch(S::PLACEHOLDER, &batch)?;
    let mut tx = store.begin().await?;
    let outcome: Result<bool> = async {
        S::execute(&mut tx, mark, "mark usage batch").await?;
        for sql in upserts {
            S::execute(&mut tx, sql, "add usage").await?;
        }
        Ok(true)
    }
    .await;
    match outcome {
        Err(e) if e.kind() == ErrorKind::Conflict => {
            store.rollback(tx).await;
            // A conflict is the batch row already there, or a deadlock or serialization
            // failure: only the first means the batch was applied.
            if applied(store, &batch).await? {
                Ok(false)
            } else {
                Err(e)
            }
        }
        outcome => finish(store, tx, outcome, "commit usage").await,
    }
}

async fn applied<S: Driver>(store: &S, batch: &UsageBatchId) -> Result<bool> {
    let sql = stmt::batch_applied(S::PLACEHOLDER, batch)?;
    let mut conn = store.reader().await?;
    let n: Vec<Count> = S::fetch(&mut conn, sql, "read usage batch").await?;
    Ok(n.first().is_some_and(|c| c.0 > 0))
}

/// The series of `query`; validated first.
pub async fn series<S: Driver>(
    store: &S,
    scope: &TenantScope,
    query: &SeriesQuery,
) -> Result<Vec<UsagePoint>> {
    query.validate()?;
    let Some(sql) = stmt::series(S::PLACEHOLDER, S::DATABASE, scope, query)? else {
        return Ok(Vec::new());
    };
    let mut conn = store.reader().await?;
    S::fetch(&mut conn, sql, "read usage series").await
}

/// The ranking of `query`; validated first.
pub async fn top<S: Driver>(
    store: &S,
    scope: &TenantScope,
    query: &TopQuery,
) -> Result<Vec<KeyUsage>> {
    query.validate()?;
    let sql = stmt::top(S::PLACEHOLDER, S::DATABASE, scope, query);
    let mut conn = store.reader().await?;
    S::fetch(&mut conn, sql, "rank usage").await
}

/// Deletes buckets of `scope` past each resolution's cutoff and old batch marks, in one
/// transaction.
pub async fn purge<S: Driver>(
    store: &S,
    scope: &PurgeScope,
    cutoffs: &UsageCutoffs,
) -> Result<u64> {
    let mut deletes: Vec<_> = Resolution::ALL
        .into_iter()
        .map(|r| stmt::purge(S::PLACEHOLDER, scope, r, cutoffs.of(r)))
        .collect();
    deletes.push(stmt::purge_batches(S::PLACEHOLDER, cutoffs));
    execute_all(store, deletes, "purge usage", "commit usage purge").await
}

/// Deletes every bucket of `keys` in one transaction; how many.
pub async fn erase_of<S: Driver>(store: &S, keys: &[KeyId]) -> Result<u64> {
    if keys.is_empty() {
        return Ok(0);
    }
    let deletes: Vec<_> = keys
        .chunks(stmt::KEYS_PER_ERASE)
        .map(|chunk| stmt::erase_of(S::PLACEHOLDER, chunk))
        .collect();
    execute_all(store, deletes, "erase usage", "commit usage erasure").await
}
