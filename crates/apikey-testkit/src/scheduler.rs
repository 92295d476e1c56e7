//! The scheduler suite: three [`Scheduler`]s with distinct holder ids over one lease backend and
//! one [`ManualClock`] — three instances of a service — run a counting job. Its effect is an
//! idempotent insert under a deterministic id, so the cases check what the architecture promises:
//! every period's effect exists exactly once, no period is skipped, and a holder killed mid-run
//! is taken over once its lease runs out (not before, and at most one TTL after its claim).
//!
//! Each case takes `connect`, called once per scheduler, returning a handle to the *same*
//! backend (a new pool on one database, a new client on one Redis): the instances share nothing
//! else. Job names are unique per case, so cases may share one database.
//!
//! ```ignore
//! apikey_testkit::scheduler_suite!({
//!     let store = Arc::new(MemoryStore::new());
//!     move || {
//!         let store = store.clone();
//!         async move { store as Arc<dyn LeaseStore> }
//!     }
//! });
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apikey_core::jobs::{Job, JobRun, LeaseStore, Period, RunStatus, Scheduler, TickReport};
use apikey_core::{Clock, ManualClock, Result};
use async_trait::async_trait;
use tokio::sync::Notify;

/// How many periods the counting case drives.
pub const PERIODS: usize = 100;

/// The counting job's period.
pub const PERIOD: Duration = Duration::from_secs(60);

/// The schedulers' lease TTL: shorter than the period, so a takeover happens within it.
pub const TTL: Duration = Duration::from_secs(10);

/// Counts its runs per period and inserts one effect per period, idempotently, under the run's
/// deterministic id — standing for a table every instance writes to.
#[derive(Debug)]
pub struct CountingJob {
    name: String,
    /// Runs started, by period (a takeover after a death makes it 2 for that period).
    pub runs: Mutex<BTreeMap<Period, u32>>,
    /// The effects, by deterministic id: a set, so a repeated insert changes nothing.
    pub effects: Mutex<BTreeSet<String>>,
    /// While set, the next run to start clears it, signals `started` and never ends (a process
    /// that dies mid-job, with its lease still held).
    hang_next: AtomicBool,
    started: Notify,
}

impl CountingJob {
    /// A job with a name unique to this case.
    pub fn new() -> Self {
        Self {
            name: format!("count-{}", uuid::Uuid::new_v4().simple()),
            runs: Mutex::new(BTreeMap::new()),
            effects: Mutex::new(BTreeSet::new()),
            hang_next: AtomicBool::new(false),
            started: Notify::new(),
        }
    }

    /// How many runs of `period` started.
    pub fn runs_of(&self, period: Period) -> u32 {
        self.runs
            .lock()
            .expect("runs")
            .get(&period)
            .copied()
            .unwrap_or(0)
    }
}

impl Default for CountingJob {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Job for CountingJob {
    fn name(&self) -> &str {
        &self.name
    }

    fn period(&self) -> Duration {
        PERIOD
    }

    async fn run(&self, run: &JobRun) -> Result<()> {
        *self
            .runs
            .lock()
            .expect("runs")
            .entry(run.period)
            .or_default() += 1;
        if self.hang_next.swap(false, Ordering::SeqCst) {
            self.started.notify_one();
            std::future::pending::<()>().await;
        }
        self.effects
            .lock()
            .expect("effects")
            .insert(run.effect_id("count"));
        Ok(())
    }
}

async fn schedulers<F, Fut>(
    connect: &mut F,
    clock: &ManualClock,
    job: &Arc<CountingJob>,
) -> [Arc<Scheduler>; 3]
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Arc<dyn LeaseStore>>,
{
    let mut out = Vec::with_capacity(3);
    for holder in ["a", "b", "c"] {
        let scheduler = Scheduler::builder(connect().await, Arc::new(clock.clone()))
            .holder(format!("{holder}-{}", job.name()))
            .lease_ttl(TTL)
            .job_arc(job.clone())
            .build()
            .expect("valid scheduler");
        out.push(Arc::new(scheduler));
    }
    out.try_into().expect("three schedulers")
}

/// Ticks the three schedulers at once, each on its own task (so the claims overlap in the
/// backend on a multi-thread runtime).
async fn tick_all(all: &[Arc<Scheduler>; 3]) -> Vec<TickReport> {
    let tasks: Vec<_> = all
        .iter()
        .map(|s| {
            let s = s.clone();
            tokio::spawn(async move { s.tick().await })
        })
        .collect();
    let mut reports = Vec::with_capacity(3);
    for task in tasks {
        reports.push(task.await.expect("tick task"));
    }
    reports
}

fn period_at(clock: &ManualClock) -> Period {
    let ms = i64::try_from(PERIOD.as_millis()).expect("period in ms");
    clock.now().timestamp_millis().div_euclid(ms)
}

fn ttl() -> chrono::Duration {
    chrono::Duration::from_std(TTL).expect("ttl")
}

/// Three schedulers tick together for [`PERIODS`] periods: each period runs exactly once (one
/// report says `Ran`, the others `Done` or `Held`), its effect exists once, and no period is
/// skipped.
pub async fn every_period_runs_once<F, Fut>(mut connect: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Arc<dyn LeaseStore>>,
{
    let clock = ManualClock::fixed();
    let job = Arc::new(CountingJob::new());
    let all = schedulers(&mut connect, &clock, &job).await;
    let first = period_at(&clock);
    for i in 0..PERIODS {
        let period = period_at(&clock);
        let reports = tick_all(&all).await;
        let lines: Vec<_> = reports.iter().flat_map(|r| &r.jobs).collect();
        assert_eq!(lines.len(), 3, "period {i}: one line per scheduler");
        let ran = lines
            .iter()
            .filter(|l| matches!(l.status, RunStatus::Ran))
            .count();
        assert_eq!(
            ran, 1,
            "period {i}: exactly one scheduler ran it: {lines:?}"
        );
        assert!(
            lines
                .iter()
                .all(|l| l.period == period && !l.status.is_failure()),
            "period {i}: {lines:?}"
        );
        clock.advance(chrono::Duration::from_std(PERIOD).expect("period"));
    }
    let periods: Vec<Period> = (0..PERIODS as i64).map(|i| first + i).collect();
    let runs = job.runs.lock().expect("runs").clone();
    assert_eq!(
        runs.keys().copied().collect::<Vec<_>>(),
        periods,
        "no period skipped"
    );
    assert!(
        runs.values().all(|n| *n == 1),
        "nobody died, so every period ran once: {runs:?}"
    );
    let effects = job.effects.lock().expect("effects").clone();
    let expected: BTreeSet<String> = periods
        .iter()
        .map(|p| format!("{}:{p}:count", job.name()))
        .collect();
    assert_eq!(effects, expected, "every period's effect exactly once");
    let states = all[0].status().await.expect("status");
    let state = states[0].state.as_ref().expect("the job is recorded");
    assert_eq!(state.last_period, periods.last().copied());
    assert_eq!(state.holder, None);
    assert_eq!(state.last_error, None);
}

/// Scheduler A claims a period and dies mid-run (its task is aborted with the lease held). B and
/// C see the lease held by A until it runs out, one TTL after A's claim; at that instant exactly
/// one of them takes the period over, and its effect exists once although the period ran twice.
pub async fn a_killed_holder_is_taken_over_within_one_ttl<F, Fut>(mut connect: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Arc<dyn LeaseStore>>,
{
    let clock = ManualClock::fixed();
    let job = Arc::new(CountingJob::new());
    let [a, b, c] = schedulers(&mut connect, &clock, &job).await;
    let period = period_at(&clock);
    let claimed_at = clock.now();

    job.hang_next.store(true, Ordering::SeqCst);
    let started = job.started.notified();
    let dying = tokio::spawn({
        let a = a.clone();
        async move { a.tick().await }
    });
    started.await;
    dying.abort();
    assert!(dying.await.expect_err("aborted").is_cancelled());
    drop(a);

    let survivors = [b, c];
    // Just before the lease runs out it still excludes everyone, and says whose it is.
    clock.set(claimed_at + ttl() - chrono::Duration::milliseconds(1));
    for s in &survivors {
        let line = s.run_job_now(job.name()).await.expect("known job");
        match &line.status {
            RunStatus::Held {
                holder: Some(holder),
                until: Some(until),
            } => {
                assert!(holder.starts_with("a-"), "held by the dead A: {holder}");
                assert_eq!(*until, claimed_at + ttl());
            }
            other => panic!("a live lease must hold off a takeover: {other}"),
        }
    }
    assert_eq!(job.runs_of(period), 1);
    assert!(job.effects.lock().expect("effects").is_empty());

    // At its end the lease is no longer live: one of B and C takes over, at most a TTL late.
    clock.set(claimed_at + ttl());
    let (rb, rc) = tokio::join!(survivors[0].tick(), survivors[1].tick());
    let lines = [&rb.jobs[0], &rc.jobs[0]];
    let ran = lines
        .iter()
        .filter(|l| matches!(l.status, RunStatus::Ran))
        .count();
    assert_eq!(ran, 1, "exactly one survivor took over: {lines:?}");
    assert!(lines.iter().all(|l| l.period == period));
    assert_eq!(job.runs_of(period), 2, "the dead run and the takeover");
    assert_eq!(
        *job.effects.lock().expect("effects"),
        BTreeSet::from([format!("{}:{period}:count", job.name())]),
        "one effect despite two runs"
    );
    let state = survivors[0].status().await.expect("status");
    assert_eq!(
        state[0].state.as_ref().and_then(|s| s.last_period),
        Some(period)
    );
}

/// A scheduler shut down gracefully mid-run releases its lease: another takes the period over
/// at once, without waiting out the TTL.
pub async fn a_graceful_shutdown_hands_the_period_over_at_once<F, Fut>(mut connect: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Arc<dyn LeaseStore>>,
{
    let clock = ManualClock::fixed();
    let job = Arc::new(CountingJob::new());
    let [a, b, _] = schedulers(&mut connect, &clock, &job).await;
    let period = period_at(&clock);
    job.hang_next.store(true, Ordering::SeqCst);
    a.run_until(job.started.notified())
        .await
        .expect("the lease is released");
    let line = b.run_job_now(job.name()).await.expect("known job");
    assert!(
        matches!(line.status, RunStatus::Ran),
        "taken over with no time passed: {line:?}"
    );
    assert_eq!(job.runs_of(period), 2);
    assert_eq!(job.effects.lock().expect("effects").len(), 1);
}

/// Runs the scheduler suite: one test per case, each with a fresh `connect` from evaluating
/// `$connect` (an expression of type `impl FnMut() -> impl Future<Output = Arc<dyn
/// LeaseStore>>` whose calls share one backend), on a two-worker multi-thread runtime. The tests
/// land in a module `scheduler_suite`.
#[macro_export]
macro_rules! scheduler_suite {
    ($connect:expr $(,)?) => {
        #[allow(unused_imports)]
        mod scheduler_suite {
            use super::*;
            $crate::__scheduler_cases!($connect;
                every_period_runs_once
                a_killed_holder_is_taken_over_within_one_ttl
                a_graceful_shutdown_hands_the_period_over_at_once
            );
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __scheduler_cases {
    ($connect:expr; $($case:ident)*) => {
        $(
            #[test]
            fn $case() {
                $crate::__private::block_on_multi_thread(
                    $crate::scheduler::$case($connect),
                );
            }
        )*
    };
}

#[cfg(test)]
mod memory {
    use std::sync::Arc;

    use apikey_core::jobs::LeaseStore;
    use apikey_memory::MemoryStore;

    crate::scheduler_suite!({
        let store = Arc::new(MemoryStore::new());
        move || {
            let store = store.clone();
            async move { store as Arc<dyn LeaseStore> }
        }
    });
}
