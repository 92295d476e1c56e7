//! What a scheduler pass did, job by job: every job is accounted for, so a period is never
//! skipped silently.

use std::fmt;

use chrono::{DateTime, Utc};

use super::Period;
use crate::error::Error;

/// What happened to one job in one pass.
#[derive(Debug)]
pub enum RunStatus {
    /// This instance ran the period and recorded it as done.
    Ran,
    /// The period was already done (by this instance or another).
    Done,
    /// Another holder has a live lease on the job. A holder that died keeps it until `until`;
    /// after that the next pass takes the period over. `None` when the lease changed hands
    /// while it was being looked at.
    Held {
        /// Who holds it.
        holder: Option<String>,
        /// Until when it holds unless renewed.
        until: Option<DateTime<Utc>>,
    },
    /// The job returned an error; the period stays due and the message is stored.
    Failed(String),
    /// The lease was taken over (or could not be renewed before it ran out) while the job ran:
    /// the run was abandoned and not recorded; the new holder runs the period.
    Lost,
    /// The lease store failed; nothing is known to have run.
    Error(Error),
}

impl RunStatus {
    /// Whether the job did not complete its period because of a failure here (a job error, a lost
    /// lease, a store error), as opposed to having run or being someone else's.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Failed(_) | Self::Lost | Self::Error(_))
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ran => f.write_str("ran"),
            Self::Done => f.write_str("already done"),
            Self::Held {
                holder: Some(holder),
                until: Some(until),
            } => write!(
                f,
                "held by {holder} until {}",
                until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ),
            Self::Held { .. } => f.write_str("held by another instance"),
            Self::Failed(message) => write!(f, "failed: {message}"),
            Self::Lost => f.write_str("lease lost mid-run; abandoned"),
            Self::Error(e) => write!(f, "lease store error: {e}"),
        }
    }
}

/// One job's line of a [`TickReport`].
#[derive(Debug)]
pub struct JobReport {
    /// The job.
    pub job: String,
    /// The period that was due.
    pub period: Period,
    /// What happened.
    pub status: RunStatus,
}

/// What one pass of the scheduler did, one line per job in the order they were added.
#[derive(Debug, Default)]
pub struct TickReport {
    /// Every job's line.
    pub jobs: Vec<JobReport>,
}

impl TickReport {
    /// Whether any job failed here (see [`RunStatus::is_failure`]).
    pub fn has_failures(&self) -> bool {
        self.jobs.iter().any(|j| j.status.is_failure())
    }

    /// The jobs this instance ran to completion.
    pub fn ran(&self) -> impl Iterator<Item = &JobReport> {
        self.jobs
            .iter()
            .filter(|j| matches!(j.status, RunStatus::Ran))
    }
}
