//! The storage seam of the scheduler: one row per job holding its lease and its last completed
//! period. Every method is a single compare-and-set in the backend, so the scheduler above it is
//! the same on every store.
//!
//! Instants are the caller's (`now` comes from its [`Clock`](crate::Clock)), never the database's:
//! tests move time by hand, and every instance compares leases against the same kind of clock.
//! Stores keep them to the millisecond.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The index of a period of a job: `floor(time since the epoch / the job's period)`. Jobs whose
/// period is a calendar unit number them the same way from their own origin.
pub type Period = i64;

/// A claim on one run of one job, held until `until` unless renewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The job.
    pub job: String,
    /// Who holds it (a scheduler instance id).
    pub holder: String,
    /// Increases with every claim of the job: a holder that was taken over cannot renew, finish or
    /// release the lease of its successor, even if it reuses its holder id.
    pub fence: u64,
    /// The period being run.
    pub period: Period,
    /// Until when the lease holds unless renewed.
    pub until: DateTime<Utc>,
}

/// How a run ended (a closed set: a run either completes its period or does not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobOutcome {
    /// The period is done.
    Ok,
    /// The run failed; the period stays due and is retried. The message is stored for `jobs
    /// list`, so it must not hold secrets.
    Failed(String),
}

/// What a store knows of one job (for `apikey jobs list` and for tests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobState {
    /// The job.
    pub job: String,
    /// The last period that completed, if any.
    pub last_period: Option<Period>,
    /// When the last run (of any outcome) ended.
    pub last_run_at: Option<DateTime<Utc>>,
    /// The error of the last run if it failed; `None` after a success.
    pub last_error: Option<String>,
    /// Who holds the lease now, if anyone.
    pub holder: Option<String>,
    /// Until when that lease holds.
    pub lease_until: Option<DateTime<Utc>>,
    /// The fence of the latest claim (0 before the first).
    pub fence: u64,
}

/// Leases and run records of periodic jobs, in a backend every instance shares.
///
/// Each method is atomic on its own (one conditional write). A lease is *live* while
/// `until > now`; a claim over a lease that is not live is a takeover.
#[async_trait]
pub trait LeaseStore: Send + Sync + fmt::Debug + 'static {
    /// Claims `job` for `period`, until `until`, if the job's last completed period is before
    /// `period` (or there is none) and no other lease on it is live at `now`. The claim bumps the
    /// job's fence. `None` when the period is done or someone else holds a live lease.
    async fn try_claim(
        &self,
        job: &str,
        period: Period,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<Lease>>;

    /// Extends `lease` to `until`; `false` when the lease was taken over (its fence is no longer
    /// the job's) — the holder must stop.
    async fn renew(&self, lease: &Lease, until: DateTime<Utc>) -> Result<bool>;

    /// Ends `lease`: on [`JobOutcome::Ok`] its period becomes the last completed one; on
    /// [`JobOutcome::Failed`] the period stays due and the error is kept. Either way the lease
    /// is released and `at` recorded. `false` (and nothing written) when it was taken over.
    async fn finish(&self, lease: &Lease, at: DateTime<Utc>, outcome: &JobOutcome) -> Result<bool>;

    /// Gives `lease` up without a result (graceful shutdown): the period stays due for anyone.
    /// A lease already taken over is left alone.
    async fn release(&self, lease: &Lease) -> Result<()>;

    /// Every job the store has seen, by name.
    async fn jobs(&self) -> Result<Vec<JobState>>;
}
