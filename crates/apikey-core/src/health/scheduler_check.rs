//! [`SchedulerCheck`]: whether the periodic jobs keep up. A job that has let a whole period go by
//! without a run (every instance down, a lease stuck, a job failing each time) is a warning, not
//! a failure: the service still verifies keys, but expiry warnings, rotations, deliveries and
//! retention are late, and an operator should know.

use std::sync::Arc;

use async_trait::async_trait;

use super::HealthCheck;
use crate::jobs::Scheduler;

/// Warns when a job is a whole period or more behind, or its last run failed; fails only when
/// the lease store cannot be read (the check's one I/O: one read of every job's state).
pub struct SchedulerCheck {
    scheduler: Arc<Scheduler>,
    max_missed: i64,
}

impl std::fmt::Debug for SchedulerCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedulerCheck")
            .field("max_missed", &self.max_missed)
            .finish_non_exhaustive()
    }
}

impl SchedulerCheck {
    /// Checks `scheduler`'s jobs; a job one whole period behind warns.
    pub fn new(scheduler: Arc<Scheduler>) -> Self {
        Self {
            scheduler,
            max_missed: 0,
        }
    }

    /// Tolerates `periods` whole periods without a run before warning (default 0).
    #[must_use]
    pub fn tolerating(mut self, periods: u32) -> Self {
        self.max_missed = i64::from(periods);
        self
    }
}

#[async_trait]
impl HealthCheck for SchedulerCheck {
    fn name(&self) -> &str {
        "scheduler"
    }

    async fn check(&self) -> Result<Option<String>, String> {
        let jobs = self
            .scheduler
            .status()
            .await
            .map_err(|e| format!("scheduler: {}", e.kind()))?;
        let mut notes = Vec::new();
        for job in &jobs {
            let Some(state) = &job.state else {
                // Never claimed anywhere yet: the first tick runs it.
                continue;
            };
            // The current period is due now; the ones before it should be done.
            let missed = state
                .last_period
                .map_or(0, |last| job.period.saturating_sub(last).saturating_sub(1));
            if missed > self.max_missed {
                notes.push(format!("{}: {missed} period(s) without a run", job.job));
            } else if state.last_error.is_some() {
                notes.push(format!("{}: the last run failed", job.job));
            }
        }
        Ok((!notes.is_empty()).then(|| notes.join("; ")))
    }
}
