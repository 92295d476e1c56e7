//! The scheduler: a thin loop over [`LeaseStore`]. Each pass claims every job's current period,
//! runs the claimed ones while renewing their leases, and records the outcome; nothing about
//! which instance runs what lives in memory, so N instances run each period once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use tokio::time::MissedTickBehavior;

use super::builder::SchedulerBuilder;
use super::report::{JobReport, RunStatus, TickReport};
use super::status::JobStatus;
use super::unwind::{CatchUnwind, panic_message};
use super::{Job, JobOutcome, JobRun, Lease, LeaseStore, Period};
use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result};

/// A job with its period checked and converted once.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) job: Arc<dyn Job>,
    pub(super) period_ms: i64,
}

impl Entry {
    pub(super) fn name(&self) -> &str {
        self.job.name()
    }

    /// The period `now` falls in, numbered from the Unix epoch.
    pub(super) fn period_at(&self, now: DateTime<Utc>) -> Period {
        now.timestamp_millis().div_euclid(self.period_ms)
    }

    /// Where `period` begins; `None` past chrono's range (a period index no clock produces).
    pub(super) fn start_of(&self, period: Period) -> Option<DateTime<Utc>> {
        period
            .checked_mul(self.period_ms)
            .and_then(DateTime::from_timestamp_millis)
    }
}

/// Runs periodic [`Job`]s once per period across every instance that shares its
/// [`LeaseStore`]. Build it with [`Scheduler::builder`]; drive it with
/// [`run_until`](Self::run_until), or call [`tick`](Self::tick) from your own loop or cron.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> apikey_core::Result<()> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use apikey_core::jobs::{Job, JobRun, Scheduler};
/// use apikey_core::{ManualClock, Result};
///
/// #[derive(Debug)]
/// struct Hello;
///
/// #[async_trait::async_trait]
/// impl Job for Hello {
///     fn name(&self) -> &str { "hello" }
///     fn period(&self) -> Duration { Duration::from_secs(60) }
///     async fn run(&self, _run: &JobRun) -> Result<()> { Ok(()) }
/// }
///
/// let store = Arc::new(apikey_memory::MemoryStore::new());
/// let scheduler = Scheduler::builder(store, Arc::new(ManualClock::fixed())).job(Hello).build()?;
/// let report = scheduler.tick().await;
/// assert_eq!(report.ran().count(), 1);
/// assert_eq!(scheduler.tick().await.ran().count(), 0, "once per period");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Scheduler {
    store: Arc<dyn LeaseStore>,
    clock: Arc<dyn Clock>,
    holder: String,
    ttl: Duration,
    ttl_chrono: chrono::Duration,
    jobs: Vec<Entry>,
    /// Leases of runs in progress, by job, so that a shutdown that cancels a run can still give
    /// its lease back instead of leaving the period blocked for a whole TTL.
    held: Mutex<HashMap<String, Lease>>,
}

impl Scheduler {
    /// Starts a builder over the shared lease store and the clock every "now" is read from.
    pub fn builder(store: Arc<dyn LeaseStore>, clock: Arc<dyn Clock>) -> SchedulerBuilder {
        SchedulerBuilder::new(store, clock)
    }

    pub(super) fn from_parts(
        store: Arc<dyn LeaseStore>,
        clock: Arc<dyn Clock>,
        holder: String,
        ttl: Duration,
        ttl_chrono: chrono::Duration,
        jobs: Vec<Entry>,
    ) -> Self {
        Self {
            store,
            clock,
            holder,
            ttl,
            ttl_chrono,
            jobs,
            held: Mutex::new(HashMap::new()),
        }
    }

    /// The id this instance claims leases under.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// How long a lease holds unless renewed.
    pub fn lease_ttl(&self) -> Duration {
        self.ttl
    }

    /// The jobs, in the order they were added.
    pub fn jobs(&self) -> impl Iterator<Item = &dyn Job> {
        self.jobs.iter().map(|e| &*e.job)
    }

    /// One pass: every job whose current period is not done and not held elsewhere is claimed
    /// and run here, one after the other. Every job gets a line in the report, so nothing is
    /// skipped silently; store errors are reported per job rather than ending the pass.
    pub async fn tick(&self) -> TickReport {
        let entries: Vec<&Entry> = self.jobs.iter().collect();
        self.pass(&entries).await
    }

    /// Runs the current period of the job called `name` if it is due and not held elsewhere (what
    /// `apikey jobs run NAME` does). `NotFound` if no job has that name.
    pub async fn run_job_now(&self, name: &str) -> Result<JobReport> {
        let entry = self
            .jobs
            .iter()
            .find(|e| e.name() == name)
            .ok_or_else(|| Error::not_found(format_args!("job {name:?}")))?;
        let mut report = self.pass(&[entry]).await;
        report
            .jobs
            .pop()
            .ok_or_else(|| Error::new(ErrorKind::Backend, "a pass over one job reported none"))
    }

    /// Runs passes until `shutdown` resolves (for example
    /// [`shutdown_signal`](crate::shutdown_signal)), sleeping in between until the next period
    /// begins, a lease held elsewhere runs out, or (after a failure) one lease TTL has passed.
    /// On shutdown a run in progress is cancelled and its lease released, so another instance
    /// can take the period at once; the error of the first release that failed is returned.
    pub async fn run_until(&self, shutdown: impl Future<Output = ()>) -> Result<()> {
        tokio::pin!(shutdown);
        if self.jobs.is_empty() {
            shutdown.await;
            return Ok(());
        }
        loop {
            let report = tokio::select! {
                () = &mut shutdown => break,
                report = self.tick() => report,
            };
            let wait = self.wait_after(&report);
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(wait) => {}
            }
        }
        self.release_held().await
    }

    /// Gives back every lease of a run that was cancelled (a dropped [`tick`](Self::tick)
    /// future), so its period is due again for anyone. [`run_until`](Self::run_until) calls it
    /// on shutdown; call it yourself if you drive `tick` and cancel it.
    pub async fn release_held(&self) -> Result<()> {
        let leases: Vec<Lease> = self.held.lock().drain().map(|(_, l)| l).collect();
        let mut first_error = None;
        for lease in leases {
            if let Err(e) = self.store.release(&lease).await {
                tracing::warn!(job = %lease.job, error = %e, "could not release a job lease");
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// What the store knows of every job, with its current period and when it runs next (what
    /// `apikey jobs list` shows).
    pub async fn status(&self) -> Result<Vec<JobStatus>> {
        let now = self.clock.now();
        let mut states: HashMap<String, _> = self
            .store
            .jobs()
            .await?
            .into_iter()
            .map(|s| (s.job.clone(), s))
            .collect();
        Ok(self
            .jobs
            .iter()
            .map(|e| JobStatus::new(e, states.remove(e.name()), now))
            .collect())
    }

    async fn pass(&self, entries: &[&Entry]) -> TickReport {
        let mut report = TickReport::default();
        let mut unclaimed = Vec::new();
        for entry in entries {
            let now = self.clock.now();
            let period = entry.period_at(now);
            let claim = self
                .store
                .try_claim(
                    entry.name(),
                    period,
                    &self.holder,
                    now,
                    now + self.ttl_chrono,
                )
                .await;
            let status = match claim {
                Ok(Some(lease)) => self.run_leased(entry, lease).await,
                Ok(None) => {
                    unclaimed.push(report.jobs.len());
                    RunStatus::Held {
                        holder: None,
                        until: None,
                    }
                }
                Err(e) => {
                    tracing::warn!(job = entry.name(), error = %e, "could not claim a job lease");
                    RunStatus::Error(e)
                }
            };
            report.jobs.push(JobReport {
                job: entry.name().to_owned(),
                period,
                status,
            });
        }
        if !unclaimed.is_empty() {
            self.explain_unclaimed(&mut report, &unclaimed).await;
        }
        report
    }

    /// A claim says only "not now"; the job's row says whether the period is done or whose live
    /// lease blocks it, which is what an operator (and the wait before the next pass) needs.
    async fn explain_unclaimed(&self, report: &mut TickReport, unclaimed: &[usize]) {
        let states = match self.store.jobs().await {
            Ok(states) => states,
            Err(e) => {
                for &i in unclaimed {
                    report.jobs[i].status =
                        RunStatus::Error(Error::new(e.kind(), e.message().to_owned()));
                }
                return;
            }
        };
        let now = self.clock.now();
        for &i in unclaimed {
            let line = &mut report.jobs[i];
            let Some(state) = states.iter().find(|s| s.job == line.job) else {
                continue;
            };
            if state.last_period.is_some_and(|p| p >= line.period) {
                line.status = RunStatus::Done;
            } else if state.lease_until.is_some_and(|u| u > now) {
                line.status = RunStatus::Held {
                    holder: state.holder.clone(),
                    until: state.lease_until,
                };
            }
        }
    }

    async fn run_leased(&self, entry: &Entry, lease: Lease) -> RunStatus {
        let (Some(start), Some(end)) = (
            entry.start_of(lease.period),
            entry.start_of(lease.period.saturating_add(1)),
        ) else {
            // Unreachable with a clock inside chrono's range; give the period back rather than
            // sit on it until the lease runs out.
            let _ = self.store.release(&lease).await;
            return RunStatus::Error(Error::new(
                ErrorKind::Backend,
                "the job's period is outside the representable time range",
            ));
        };
        let run = JobRun {
            job: lease.job.clone(),
            period: lease.period,
            start,
            end,
            fence: lease.fence,
        };
        self.held.lock().insert(lease.job.clone(), lease.clone());
        let status = self.run_renewing(entry, &run, lease).await;
        self.held.lock().remove(&run.job);
        status
    }

    /// Runs the job while renewing its lease every third of the TTL, concurrently: a renewal
    /// refused by the store means someone took the period over, so the run is dropped (cancelled
    /// at its next await) and never recorded.
    async fn run_renewing(&self, entry: &Entry, run: &JobRun, mut lease: Lease) -> RunStatus {
        let every = self.ttl / 3;
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        renew.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let work = CatchUnwind::new(entry.job.run(run));
        tokio::pin!(work);
        let result = loop {
            tokio::select! {
                result = &mut work => break result,
                _ = renew.tick() => {
                    let until = self.clock.now() + self.ttl_chrono;
                    match self.store.renew(&lease, until).await {
                        Ok(true) => {
                            lease.until = until;
                            if let Some(held) = self.held.lock().get_mut(&lease.job) {
                                held.until = until;
                            }
                        }
                        Ok(false) => {
                            tracing::warn!(job = %run.job, period = run.period, "job lease taken over mid-run; abandoning the run");
                            return RunStatus::Lost;
                        }
                        // A store that cannot be reached may still hold the lease: keep running
                        // while it is certainly ours, stop once it may have run out.
                        Err(e) if self.clock.now() >= lease.until => {
                            tracing::warn!(job = %run.job, period = run.period, error = %e, "job lease could not be renewed before it ran out; abandoning the run");
                            return RunStatus::Lost;
                        }
                        Err(e) => {
                            tracing::warn!(job = %run.job, period = run.period, error = %e, "could not renew a job lease; retrying");
                        }
                    }
                }
            }
        };
        let outcome = match result {
            Ok(Ok(())) => JobOutcome::Ok,
            Ok(Err(e)) => JobOutcome::Failed(e.to_string()),
            Err(panic) => JobOutcome::Failed(format!("panicked: {}", panic_message(&*panic))),
        };
        match self.store.finish(&lease, self.clock.now(), &outcome).await {
            Ok(true) => match outcome {
                JobOutcome::Ok => RunStatus::Ran,
                JobOutcome::Failed(message) => {
                    tracing::warn!(job = %run.job, period = run.period, error = %message, "job failed; the period stays due");
                    RunStatus::Failed(message)
                }
            },
            Ok(false) => {
                tracing::warn!(job = %run.job, period = run.period, "job lease taken over before the run finished; not recorded");
                RunStatus::Lost
            }
            Err(e) => {
                tracing::warn!(job = %run.job, period = run.period, error = %e, "could not record a job run");
                RunStatus::Error(e)
            }
        }
    }

    /// How long to sleep after `report`: until the earliest moment anything could change for a
    /// job — its next period, the end of a lease held elsewhere (a takeover), or one TTL after a
    /// failure (a retry within the same period).
    fn wait_after(&self, report: &TickReport) -> Duration {
        let now = self.clock.now();
        let retry = now + self.ttl_chrono;
        let next = self
            .jobs
            .iter()
            .zip(&report.jobs)
            .map(|(entry, line)| {
                let next_period = entry
                    .start_of(line.period.saturating_add(1))
                    .unwrap_or(retry);
                let at = match &line.status {
                    RunStatus::Ran | RunStatus::Done => next_period,
                    RunStatus::Held { until: Some(u), .. } => *u,
                    RunStatus::Held { until: None, .. }
                    | RunStatus::Failed(_)
                    | RunStatus::Lost
                    | RunStatus::Error(_) => retry,
                };
                at.min(next_period)
            })
            .min()
            .unwrap_or(retry);
        // A floor keeps a clock that lags the timer from turning the loop into a busy one.
        (next - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
            .max(Duration::from_millis(10))
    }
}
