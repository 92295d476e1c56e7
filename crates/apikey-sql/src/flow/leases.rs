//! The job leases of a SQL store ([`LeaseStore`](apikey_core::jobs::LeaseStore)), over the
//! [`Driver`] seam. A claim is the only operation of two statements: the job's row may not
//! exist yet, so it is inserted if absent, then taken with a compare-and-set `UPDATE` — both in
//! one write transaction, so concurrent claimers queue on the row's lock (SQLite: on the
//! database's write lock) and the `UPDATE` of each sees the winner's committed row. Renewing,
//! finishing and releasing are one conditional `UPDATE` each on the fence and holder.

use apikey_core::Result;
use apikey_core::jobs::{JobOutcome, JobState, Lease, Period};
use chrono::{DateTime, Utc};

use crate::driver::Driver;
use crate::guard;
use crate::leases::{self as stmt, Fence};

use super::write::finish as end_transaction;

/// Claims `job` for `period` (see [`LeaseStore::try_claim`](apikey_core::jobs::LeaseStore)).
pub async fn try_claim<S: Driver>(
    store: &S,
    job: &str,
    period: Period,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Option<Lease>> {
    guard::lease(job, holder)?;
    let mut tx = store.begin().await?;
    let outcome = claim_on::<S>(&mut tx, job, period, holder, now, until).await;
    end_transaction(store, tx, outcome, "commit lease claim").await
}

async fn claim_on<S: Driver>(
    conn: &mut S::Conn,
    job: &str,
    period: Period,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Option<Lease>> {
    let insert = stmt::insert_if_absent(S::PLACEHOLDER, job, S::INSERT_IGNORE_DUPLICATE_JOB);
    S::execute(conn, insert, "insert job lease").await?;
    let claim = stmt::claim(S::PLACEHOLDER, job, period, holder, now, until);
    if S::execute(conn, claim, "claim job lease").await? == 0 {
        return Ok(None);
    }
    let fences: Vec<Fence> = S::fetch(conn, stmt::fence(S::PLACEHOLDER, job), "read fence").await?;
    let Some(Fence(fence)) = fences.first().copied() else {
        return Err(apikey_core::Error::new(
            apikey_core::ErrorKind::Backend,
            "a job lease row vanished inside its claim's transaction",
        ));
    };
    Ok(Some(Lease {
        job: job.to_owned(),
        holder: holder.to_owned(),
        fence,
        period,
        until: apikey_core::clock::truncate_ms(until),
    }))
}

/// Extends `lease` to `until`; `false` when it was taken over.
pub async fn renew<S: Driver>(store: &S, lease: &Lease, until: DateTime<Utc>) -> Result<bool> {
    guard::lease(&lease.job, &lease.holder)?;
    let sql = stmt::renew(S::PLACEHOLDER, lease, until)?;
    let mut conn = store.reader().await?;
    if S::execute(&mut conn, sql, "renew job lease").await? > 0 {
        return Ok(true);
    }
    let held: Vec<Fence> = S::fetch(
        &mut conn,
        stmt::held(S::PLACEHOLDER, lease)?,
        "check job lease",
    )
    .await?;
    Ok(!held.is_empty())
}

/// Ends `lease` with `outcome`; `false` (and nothing written) when it was taken over.
pub async fn finish<S: Driver>(
    store: &S,
    lease: &Lease,
    at: DateTime<Utc>,
    outcome: &JobOutcome,
) -> Result<bool> {
    guard::lease(&lease.job, &lease.holder)?;
    let sql = stmt::finish(S::PLACEHOLDER, lease, at, outcome)?;
    let mut conn = store.reader().await?;
    // Always a change when it matches (the holder is cleared), so MySQL's changed-row count
    // is the matched-row count here.
    Ok(S::execute(&mut conn, sql, "finish job lease").await? > 0)
}

/// Gives `lease` up, if it is still held.
pub async fn release<S: Driver>(store: &S, lease: &Lease) -> Result<()> {
    guard::lease(&lease.job, &lease.holder)?;
    let sql = stmt::release(S::PLACEHOLDER, lease)?;
    let mut conn = store.reader().await?;
    S::execute(&mut conn, sql, "release job lease").await?;
    Ok(())
}

/// Every job, by name.
pub async fn jobs<S: Driver>(store: &S) -> Result<Vec<JobState>> {
    let mut conn = store.reader().await?;
    S::fetch(&mut conn, stmt::jobs(S::PLACEHOLDER), "list job leases").await
}
