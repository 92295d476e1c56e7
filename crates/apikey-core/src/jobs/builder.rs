//! Building a [`Scheduler`]: the store and the clock are arguments of
//! [`Scheduler::builder`], so they cannot be forgotten; everything else has a default and is
//! checked once, in [`SchedulerBuilder::build`], rather than on every pass.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::scheduler::{Entry, Scheduler};
use super::{Job, LeaseStore};
use crate::clock::Clock;
use crate::error::{Error, Result};

/// How long a lease holds unless renewed, by default. A holder that dies is taken over this long
/// after its last renewal at most; it must stay far above the clock skew between instances.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(30);

/// The shortest lease accepted: below a second a lease cannot outlive one slow round trip to the
/// store plus the skew of NTP-synced clocks, and holders would be taken over while alive.
pub const MIN_LEASE_TTL: Duration = Duration::from_secs(1);

/// Builds a [`Scheduler`]; see [`Scheduler::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct SchedulerBuilder {
    store: Arc<dyn LeaseStore>,
    clock: Arc<dyn Clock>,
    holder: Option<String>,
    ttl: Duration,
    jobs: Vec<Arc<dyn Job>>,
}

impl SchedulerBuilder {
    pub(super) fn new(store: Arc<dyn LeaseStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            holder: None,
            ttl: DEFAULT_LEASE_TTL,
            jobs: Vec::new(),
        }
    }

    /// The id this instance claims leases under (default: a random UUID, new per process). Two
    /// live schedulers must not share one: fences keep a reused id from finishing a successor's
    /// run, but not from being mistaken for it in `apikey jobs list`.
    pub fn holder(mut self, holder: impl Into<String>) -> Self {
        self.holder = Some(holder.into());
        self
    }

    /// How long a lease holds unless renewed (default [`DEFAULT_LEASE_TTL`], at least
    /// [`MIN_LEASE_TTL`]). A running job renews it every third of it.
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Adds a job; jobs run in the order they were added.
    pub fn job(self, job: impl Job) -> Self {
        self.job_arc(Arc::new(job))
    }

    /// Adds a job that is shared with other code (for example a test that inspects it).
    pub fn job_arc(mut self, job: Arc<dyn Job>) -> Self {
        self.jobs.push(job);
        self
    }

    /// Checks the choices: a non-empty holder id, a lease TTL of at least [`MIN_LEASE_TTL`] in
    /// whole milliseconds, job names that are non-empty and unique, and periods that are a
    /// non-zero whole number of milliseconds. `InvalidInput` naming the first problem otherwise.
    pub fn build(self) -> Result<Scheduler> {
        let holder = match self.holder {
            Some(h) if h.trim().is_empty() => return Err(Error::invalid("holder", "is empty")),
            Some(h) => h,
            None => uuid::Uuid::new_v4().to_string(),
        };
        if self.ttl < MIN_LEASE_TTL {
            return Err(Error::invalid(
                "lease_ttl",
                format_args!("{:?} is shorter than {:?}", self.ttl, MIN_LEASE_TTL),
            ));
        }
        let ttl = whole_millis(self.ttl)
            .and_then(chrono::Duration::try_milliseconds)
            .ok_or_else(|| {
                Error::invalid(
                    "lease_ttl",
                    "must be a whole number of milliseconds that fits",
                )
            })?;
        let mut names = HashSet::new();
        let mut jobs = Vec::with_capacity(self.jobs.len());
        for job in self.jobs {
            let name = job.name().to_owned();
            if name.trim().is_empty() {
                return Err(Error::invalid("job name", "is empty"));
            }
            if !names.insert(name.clone()) {
                return Err(Error::invalid(
                    "job name",
                    format_args!("{name:?} is added twice"),
                ));
            }
            let period_ms = whole_millis(job.period())
                .filter(|ms| *ms > 0)
                .ok_or_else(|| {
                    Error::invalid(
                        "job period",
                        format_args!(
                            "{name:?}: {:?} is not a non-zero whole number of milliseconds",
                            job.period()
                        ),
                    )
                })?;
            jobs.push(Entry { job, period_ms });
        }
        Ok(Scheduler::from_parts(
            self.store, self.clock, holder, self.ttl, ttl, jobs,
        ))
    }
}

/// `d` in milliseconds when it has no sub-millisecond part (stores keep instants to the
/// millisecond, so a finer period would make instances disagree on its boundaries).
fn whole_millis(d: Duration) -> Option<i64> {
    if !d.subsec_nanos().is_multiple_of(1_000_000) {
        return None;
    }
    i64::try_from(d.as_millis()).ok()
}
