//! The audit log's query and retention purge. Events are written by [`write`](super::write),
//! inside the transaction of the change they record.

use apikey_core::{AuditEvent, AuditFilter, Result, TenantScope};
use chrono::{DateTime, Utc};

use crate::audit as stmt;
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

/// Deletes every event before `before`; how many.
pub async fn purge<S: Driver>(store: &S, before: DateTime<Utc>) -> Result<u64> {
    let sql = stmt::purge(S::PLACEHOLDER, before);
    let mut conn = store.reader().await?;
    S::execute(&mut conn, sql, "purge audit events").await
}
