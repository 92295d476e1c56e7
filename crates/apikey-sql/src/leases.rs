//! The statements of `apikey_job_leases` (one row per job: its lease and its last completed
//! period) and the decoding of a row as a [`JobState`].
//!
//! Every condition of the [`LeaseStore`](apikey_core::jobs::LeaseStore) contract is in a `WHERE`
//! clause, so each write is a compare-and-set the database decides under its row lock, never a
//! read followed by a write. Instants are bound from the caller's clock (never `now()`), to the
//! millisecond: a stored `until` is whole milliseconds, so `until > now` ⟺
//! `until > truncate_ms(now)`, and comparing with the truncated `now` keeps the exact meaning
//! on every database, SQLite's integer milliseconds included.

use apikey_core::Result;
use apikey_core::clock::truncate_ms;
use apikey_core::jobs::{JobOutcome, JobState, Lease, Period};
use chrono::{DateTime, Utc};

use crate::codec::{Reader, Row};
use crate::driver::Decode;
use crate::guard;
use crate::sql::{Placeholder, Sql};

/// Every column of `apikey_job_leases`, as [`JobState`] reads them.
pub const STATE_COLUMNS: &str =
    "job, holder, fence, lease_until, last_period, last_run_at, last_error";

/// The job's row with no lease and no history, unless it exists: `ignore_duplicate` is the
/// dialect's clause that leaves an existing row alone.
pub fn insert_if_absent(p: Placeholder, job: &str, ignore_duplicate: &str) -> Sql {
    let mut sql = Sql::new(p, "INSERT INTO apikey_job_leases (job, fence) VALUES (");
    sql.bind(job).push(", 0)").push(ignore_duplicate);
    sql
}

/// Takes the job's lease for `holder` until `until` and bumps the fence, if `period` is after
/// the last completed one and no lease is live at `now`. One row changed means claimed.
pub fn claim(
    p: Placeholder,
    job: &str,
    period: Period,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Sql {
    let mut sql = Sql::new(
        p,
        "UPDATE apikey_job_leases SET fence = fence + 1, holder = ",
    );
    sql.bind(holder)
        .push(", lease_until = ")
        .bind(truncate_ms(until))
        .push(" WHERE job = ")
        .bind(job)
        .push(" AND (last_period IS NULL OR last_period < ")
        .bind(period)
        .push(") AND (holder IS NULL OR lease_until IS NULL OR lease_until <= ")
        .bind(truncate_ms(now))
        .push(")");
    sql
}

/// The job's current fence (read back in the claim's transaction: not every dialect has
/// `RETURNING`).
pub fn fence(p: Placeholder, job: &str) -> Sql {
    let mut sql = Sql::new(p, "SELECT fence FROM apikey_job_leases WHERE job = ");
    sql.bind(job);
    sql
}

/// ` WHERE` the row is still `lease`'s: same fence and holder. Only a claim bumps the fence, so
/// a lease that was taken over, finished or released never matches again.
fn held_by(sql: &mut Sql, lease: &Lease) -> Result<()> {
    sql.push(" WHERE job = ")
        .bind(lease.job.as_str())
        .push(" AND fence = ")
        .bind(guard::to_i64("fence", lease.fence)?)
        .push(" AND holder = ")
        .bind(lease.holder.as_str());
    Ok(())
}

/// Moves `lease`'s `until`, if it is still held.
pub fn renew(p: Placeholder, lease: &Lease, until: DateTime<Utc>) -> Result<Sql> {
    let mut sql = Sql::new(p, "UPDATE apikey_job_leases SET lease_until = ");
    sql.bind(truncate_ms(until));
    held_by(&mut sql, lease)?;
    Ok(sql)
}

/// A row if `lease` is still held. MySQL counts changed rows, not matched ones, so a renewal
/// to the same `until` changes none although the lease is held: this tells the two apart.
pub fn held(p: Placeholder, lease: &Lease) -> Result<Sql> {
    let mut sql = Sql::new(p, "SELECT fence FROM apikey_job_leases");
    held_by(&mut sql, lease)?;
    Ok(sql)
}

/// Ends `lease` with `outcome` at `at`, if it is still held. A success records its period
/// unless a later one is already recorded, and clears the last error.
pub fn finish(
    p: Placeholder,
    lease: &Lease,
    at: DateTime<Utc>,
    outcome: &JobOutcome,
) -> Result<Sql> {
    let mut sql = Sql::new(p, "UPDATE apikey_job_leases SET ");
    match outcome {
        // `NULL > period` is not true, so a first success takes the ELSE branch.
        JobOutcome::Ok => sql
            .push("last_period = CASE WHEN last_period > ")
            .bind(lease.period)
            .push(" THEN last_period ELSE ")
            .bind(lease.period)
            .push(" END, last_error = NULL"),
        // A run's error is only shown (`apikey jobs list`): a NUL, which PostgreSQL cannot
        // store, is replaced rather than refused, so a failed run still releases its lease.
        JobOutcome::Failed(message) => sql
            .push("last_error = ")
            .bind(message.replace('\0', "\u{fffd}")),
    };
    sql.push(", last_run_at = ")
        .bind(truncate_ms(at))
        .push(", holder = NULL, lease_until = NULL");
    held_by(&mut sql, lease)?;
    Ok(sql)
}

/// Gives `lease` up without a result, if it is still held.
pub fn release(p: Placeholder, lease: &Lease) -> Result<Sql> {
    let mut sql = Sql::new(
        p,
        "UPDATE apikey_job_leases SET holder = NULL, lease_until = NULL",
    );
    held_by(&mut sql, lease)?;
    Ok(sql)
}

/// Every job, by name (byte order on every database: the column compares bytes).
pub fn jobs(p: Placeholder) -> Sql {
    Sql::new(
        p,
        &format!("SELECT {STATE_COLUMNS} FROM apikey_job_leases ORDER BY job"),
    )
}

/// A job's fence, as [`fence`] and [`held`] select it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence(pub u64);

impl Decode for Fence {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        Reader::new(row).unsigned("fence").map(Fence)
    }
}

impl Decode for JobState {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        let r = Reader::new(row);
        Ok(JobState {
            job: r.text("job")?,
            last_period: row.int("last_period")?,
            last_run_at: r.opt_time("last_run_at")?,
            last_error: r.opt_text("last_error")?,
            holder: r.opt_text("holder")?,
            lease_until: r.opt_time("lease_until")?,
            fence: r.unsigned("fence")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease() -> Lease {
        Lease {
            job: "expiry".into(),
            holder: "a".into(),
            fence: 3,
            period: 7,
            until: DateTime::from_timestamp_millis(1_000).unwrap(),
        }
    }

    #[test]
    fn claim_is_one_compare_and_set() {
        let now = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        let sql = claim(Placeholder::Numbered, "expiry", 7, "a", now, now);
        assert_eq!(
            sql.text(),
            "UPDATE apikey_job_leases SET fence = fence + 1, holder = $1, lease_until = $2 \
             WHERE job = $3 AND (last_period IS NULL OR last_period < $4) \
             AND (holder IS NULL OR lease_until IS NULL OR lease_until <= $5)"
        );
    }

    #[test]
    fn writes_of_a_lease_check_its_fence_and_holder() {
        let at = DateTime::from_timestamp_millis(2_000).unwrap();
        for sql in [
            renew(Placeholder::Question, &lease(), at).unwrap(),
            finish(Placeholder::Question, &lease(), at, &JobOutcome::Ok).unwrap(),
            finish(
                Placeholder::Question,
                &lease(),
                at,
                &JobOutcome::Failed("x".into()),
            )
            .unwrap(),
            release(Placeholder::Question, &lease()).unwrap(),
        ] {
            assert!(
                sql.text()
                    .ends_with(" WHERE job = ? AND fence = ? AND holder = ?"),
                "{}",
                sql.text()
            );
        }
        let too_big = Lease {
            fence: u64::MAX,
            ..lease()
        };
        assert!(release(Placeholder::Question, &too_big).is_err());
    }
}
