//! The request log ([`RequestLogStore`](apikey_core::request_log::RequestLogStore)) over the
//! [`Driver`] seam. An append is one transaction of multi-row inserts, so a batch is stored
//! whole or not at all and a retry adds only what is missing; an erasure is one transaction
//! too. Reads run on a reader connection, scoped by `tenant_key`.

use apikey_core::request_log::{RequestFilter, RequestRecord};
use apikey_core::{KeyId, Result, TenantScope};
use chrono::{DateTime, Utc};

use super::write::{execute_all, finish};
use crate::driver::Driver;
use crate::requests as stmt;

/// Stores the records whose id is not stored yet; how many were new.
pub async fn append<S: Driver>(store: &S, records: &[RequestRecord]) -> Result<u64> {
    let rows = stmt::distinct(records);
    if rows.is_empty() {
        return Ok(0);
    }
    // Every statement is built (and its input checked) before the transaction opens.
    let inserts = rows
        .chunks(stmt::ROWS_PER_INSERT)
        .map(|chunk| {
            stmt::insert_new(
                S::PLACEHOLDER,
                S::DATABASE,
                chunk,
                S::INSERT_IGNORE_DUPLICATE_ID,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let mut tx = store.begin().await?;
    let outcome = async {
        let mut new = 0;
        for sql in inserts {
            new += S::execute(&mut tx, sql, "append requests").await?;
        }
        Ok(new)
    }
    .await;
    finish(store, tx, outcome, "commit requests").await
}

/// The records `scope` admits matching `filter`, newest first; the filter is validated first.
pub async fn requests<S: Driver>(
    store: &S,
    scope: &TenantScope,
    filter: &RequestFilter,
) -> Result<Vec<RequestRecord>> {
    filter.validate()?;
    let sql = stmt::list(S::PLACEHOLDER, S::DATABASE, scope, filter)?;
    let mut conn = store.reader().await?;
    S::fetch(&mut conn, sql, "list requests").await
}

/// Deletes the records expired at `now`; how many.
pub async fn purge<S: Driver>(store: &S, now: DateTime<Utc>) -> Result<u64> {
    let sql = stmt::purge(S::PLACEHOLDER, now);
    let mut tx = store.begin().await?;
    let outcome = S::execute(&mut tx, sql, "purge requests").await;
    finish(store, tx, outcome, "commit request purge").await
}

/// Deletes every record of `keys` in one transaction; how many.
pub async fn erase_of<S: Driver>(store: &S, keys: &[KeyId]) -> Result<u64> {
    if keys.is_empty() {
        return Ok(0);
    }
    let deletes: Vec<_> = keys
        .chunks(stmt::KEYS_PER_ERASE)
        .map(|chunk| stmt::erase_of(S::PLACEHOLDER, chunk))
        .collect();
    execute_all(store, deletes, "erase requests", "commit request erasure").await
}
