//! A job as an operator sees it: what the store records of it, joined with its period and when
//! it runs next.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::scheduler::Entry;
use super::{JobState, Period};

/// One job's line of `apikey jobs list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobStatus {
    /// The job.
    pub job: String,
    /// The length of its period.
    pub every: Duration,
    /// The period the clock is in now.
    pub period: Period,
    /// What the store records (`None` before the job's first claim anywhere).
    pub state: Option<JobState>,
    /// When a scheduler will next run it: now if the current period is due and free, the end of
    /// a live lease held elsewhere, or the start of the next period if this one is done.
    pub next_run: DateTime<Utc>,
}

impl JobStatus {
    pub(super) fn new(entry: &Entry, state: Option<JobState>, now: DateTime<Utc>) -> Self {
        let period = entry.period_at(now);
        let next_run = match &state {
            Some(s) if s.last_period.is_some_and(|p| p >= period) => {
                entry.start_of(period.saturating_add(1)).unwrap_or(now)
            }
            Some(JobState {
                lease_until: Some(until),
                ..
            }) if *until > now => *until,
            _ => now,
        };
        Self {
            job: entry.name().to_owned(),
            every: Duration::from_millis(entry.period_ms.unsigned_abs()),
            period,
            state,
            next_run,
        }
    }

    /// Whether the current period is due and free to claim now.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.next_run <= now
    }
}
