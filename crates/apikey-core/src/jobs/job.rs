//! What a periodic job is to the [`Scheduler`](super::Scheduler): a name, a period and one run
//! per period, told which period it runs so that its effects can carry deterministic ids.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Period;
use crate::error::Result;

/// Periodic work run once per period across every instance sharing a
/// [`LeaseStore`](super::LeaseStore).
///
/// A run may happen more than once for a period (a holder that died mid-run is taken over and
/// the period runs again), so a run must be safe to repeat: derive the ids of what it writes from
/// [`JobRun`] (see [`JobRun::effect_id`]) and insert idempotently.
#[async_trait]
pub trait Job: Send + Sync + fmt::Debug + 'static {
    /// The stable name the lease is stored under; renaming a job forgets its history.
    fn name(&self) -> &str;

    /// The length of one period: a whole, non-zero number of milliseconds (checked when the
    /// scheduler is built). Periods are numbered from the Unix epoch, so every instance agrees on
    /// where they begin.
    fn period(&self) -> Duration;

    /// Does this period's work. An error keeps the period due: it is retried later in the same
    /// period. The error's message is stored for `apikey jobs list`, so it must hold no secret
    /// (the messages of [`Error`](crate::Error) never do). A panic counts as a failed run
    /// (`panicked: <message>`), so the panic message must hold no secret either.
    async fn run(&self, run: &JobRun) -> Result<()>;
}

/// One run of one job: which period it is for and under which claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRun {
    /// The job.
    pub job: String,
    /// The period being run.
    pub period: Period,
    /// When the period began (inclusive).
    pub start: DateTime<Utc>,
    /// When the period ends (exclusive).
    pub end: DateTime<Utc>,
    /// The fence of the lease this run holds. It differs between a run and the takeover of it, so
    /// it must not be part of an effect's id; it is there to tag writes for diagnosis.
    pub fence: u64,
}

impl JobRun {
    /// A deterministic id for an effect of this run: the same for every run of the same job and
    /// period, whoever runs it and however often, so an idempotent insert under it happens once.
    /// `key` names the effect within the period (for example a key id and a threshold).
    pub fn effect_id(&self, key: impl fmt::Display) -> String {
        format!("{}:{}:{}", self.job, self.period, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_effect_id_ignores_who_ran_the_period() {
        let t = DateTime::from_timestamp_millis(0).unwrap();
        let first = JobRun {
            job: "expiry".into(),
            period: 7,
            start: t,
            end: t,
            fence: 1,
        };
        let takeover = JobRun {
            fence: 2,
            ..first.clone()
        };
        assert_eq!(first.effect_id("k1/7d"), takeover.effect_id("k1/7d"));
        assert_eq!(first.effect_id("k1/7d"), "expiry:7:k1/7d");
        assert_ne!(first.effect_id("k1/7d"), first.effect_id("k1/1d"));
    }
}
