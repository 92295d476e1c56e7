//! The scheduler over the in-memory lease store, with time moved by hand: each period runs once,
//! failures keep it due, a live lease is reported with its holder, a dead one is taken over after
//! its TTL, a run whose lease was taken over is abandoned, and shutdown gives leases back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use apikey_core::audit::{AuditEvent, AuditFilter, AuditStore};
use apikey_core::jobs::builtin::AuditRetention;
use apikey_core::jobs::{Job, JobRun, LeaseStore, RunStatus, Scheduler, SchedulerBuilder};
use apikey_core::{Clock, Error, ErrorKind, ManualClock, Result, TenantScope};
use apikey_memory::MemoryStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

const MINUTE: Duration = Duration::from_secs(60);
const TTL: Duration = Duration::from_secs(9);

/// Counts its runs; fails once when `fail` is set; with `hang`, signals `started` and never ends;
/// signals `succeeded` after a run that succeeded.
#[derive(Debug, Default)]
struct Probe {
    runs: AtomicU32,
    fail: std::sync::atomic::AtomicBool,
    hang: bool,
    started: Notify,
    succeeded: Notify,
    seen: parking_lot::Mutex<Vec<JobRun>>,
}

#[async_trait]
impl Job for Probe {
    fn name(&self) -> &str {
        "probe"
    }
    fn period(&self) -> Duration {
        MINUTE
    }
    async fn run(&self, run: &JobRun) -> Result<()> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.seen.lock().push(run.clone());
        if self.hang {
            self.started.notify_one();
            std::future::pending::<()>().await;
        }
        if self.fail.swap(false, Ordering::SeqCst) {
            return Err(Error::unavailable("downstream is down"));
        }
        self.succeeded.notify_one();
        Ok(())
    }
}

struct Fixture {
    store: Arc<MemoryStore>,
    clock: ManualClock,
    probe: Arc<Probe>,
}

impl Fixture {
    fn new(probe: Probe) -> Self {
        Self {
            store: Arc::new(MemoryStore::new()),
            clock: ManualClock::fixed(),
            probe: Arc::new(probe),
        }
    }

    fn scheduler(&self, holder: &str) -> Scheduler {
        Scheduler::builder(self.store.clone(), Arc::new(self.clock.clone()))
            .holder(holder)
            .lease_ttl(TTL)
            .job_arc(self.probe.clone())
            .build()
            .expect("valid scheduler")
    }
}

fn secs(s: i64) -> chrono::Duration {
    chrono::Duration::seconds(s)
}

#[tokio::test]
async fn each_period_runs_once_and_a_run_knows_its_period() {
    let f = Fixture::new(Probe::default());
    let s = f.scheduler("a");
    let t0 = f.clock.now();
    let first = s.tick().await;
    assert!(matches!(first.jobs[0].status, RunStatus::Ran), "{first:?}");
    let again = s.tick().await;
    assert!(matches!(again.jobs[0].status, RunStatus::Done), "{again:?}");
    f.clock.advance(secs(59));
    assert!(matches!(s.tick().await.jobs[0].status, RunStatus::Done));
    f.clock.advance(secs(1));
    assert!(matches!(s.tick().await.jobs[0].status, RunStatus::Ran));
    assert_eq!(f.probe.runs.load(Ordering::SeqCst), 2);

    let seen = f.probe.seen.lock().clone();
    assert_eq!(
        seen[0].start, t0,
        "the fixed clock sits on a minute boundary"
    );
    assert_eq!(seen[0].end, t0 + secs(60));
    assert_eq!(seen[1].period, seen[0].period + 1);
    assert_eq!(seen[0].period, t0.timestamp_millis() / 60_000);
    assert!(seen[1].fence > seen[0].fence);
    let state = &f.store.jobs().await.unwrap()[0];
    assert_eq!(state.last_period, Some(seen[1].period));
    assert_eq!(state.holder, None);
}

#[tokio::test]
async fn a_failure_keeps_the_period_due_and_is_retried_within_it() {
    let f = Fixture::new(Probe::default());
    f.probe.fail.store(true, Ordering::SeqCst);
    let s = f.scheduler("a");
    let report = s.tick().await;
    assert!(report.has_failures());
    let RunStatus::Failed(message) = &report.jobs[0].status else {
        panic!("{report:?}")
    };
    assert!(message.contains("downstream is down"), "{message}");
    let state = &f.store.jobs().await.unwrap()[0];
    assert_eq!(state.last_period, None);
    assert_eq!(state.last_error.as_deref(), Some(message.as_str()));

    f.probe.fail.store(false, Ordering::SeqCst);
    f.clock.advance(secs(5));
    assert!(matches!(s.tick().await.jobs[0].status, RunStatus::Ran));
    let state = &f.store.jobs().await.unwrap()[0];
    assert_eq!(state.last_error, None, "a success clears the error");
    assert_eq!(f.probe.runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_live_lease_is_reported_with_its_holder_and_a_dead_one_is_taken_over_after_its_ttl() {
    let f = Fixture::new(Probe::default());
    let now = f.clock.now();
    let period = now.timestamp_millis() / 60_000;
    let until = now + secs(9);
    // A holder that claimed the period and died: its lease stays until it runs out.
    let dead = f
        .store
        .try_claim("probe", period, "dead", now, until)
        .await
        .unwrap()
        .unwrap();
    let s = f.scheduler("b");
    let report = s.tick().await;
    match &report.jobs[0].status {
        RunStatus::Held {
            holder: Some(h),
            until: Some(u),
        } => {
            assert_eq!(h, "dead");
            assert_eq!(*u, until);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !report.has_failures(),
        "someone else's live lease is no failure"
    );
    assert_eq!(f.probe.runs.load(Ordering::SeqCst), 0);
    assert_eq!(
        report.jobs[0].status.to_string(),
        "held by dead until 2030-01-15T12:00:09.000Z"
    );

    f.clock.advance(secs(8));
    assert!(matches!(
        s.tick().await.jobs[0].status,
        RunStatus::Held { .. }
    ));
    f.clock.advance(secs(1));
    assert!(matches!(s.tick().await.jobs[0].status, RunStatus::Ran));
    assert_eq!(f.probe.runs.load(Ordering::SeqCst), 1);
    assert!(
        !f.store
            .finish(&dead, f.clock.now(), &apikey_core::jobs::JobOutcome::Ok)
            .await
            .unwrap(),
        "the dead holder cannot record over the takeover"
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_whose_lease_was_taken_over_is_abandoned_not_recorded() {
    let f = Fixture::new(Probe {
        hang: true,
        ..Probe::default()
    });
    let a = f.scheduler("a");
    let takeover = async {
        f.probe.started.notified().await;
        // The store saw no renewal for a whole TTL (a stalled holder): b takes over.
        f.clock.advance(secs(10));
        let now = f.clock.now();
        let period = now.timestamp_millis() / 60_000;
        f.store
            .try_claim("probe", period, "b", now, now + secs(9))
            .await
            .unwrap()
            .expect("the expired lease is taken over")
    };
    let (report, b) = tokio::join!(a.tick(), takeover);
    assert!(
        matches!(report.jobs[0].status, RunStatus::Lost),
        "{report:?}"
    );
    assert!(report.has_failures());
    let state = &f.store.jobs().await.unwrap()[0];
    assert_eq!(
        state.holder.as_deref(),
        Some("b"),
        "a did not release b's lease"
    );
    assert_eq!(state.fence, b.fence);
    assert_eq!(
        state.last_period, None,
        "the abandoned run was not recorded"
    );
}

#[tokio::test(start_paused = true)]
async fn a_running_job_renews_its_lease() {
    let f = Fixture::new(Probe {
        hang: true,
        ..Probe::default()
    });
    let a = f.scheduler("a");
    let watch = async {
        f.probe.started.notified().await;
        let first = f.store.jobs().await.unwrap()[0].lease_until.unwrap();
        f.clock.advance(secs(5));
        tokio::time::sleep(TTL / 2).await;
        let renewed = f.store.jobs().await.unwrap()[0].lease_until.unwrap();
        assert_eq!(renewed, first + secs(5), "renewed from the clock's now");
    };
    tokio::select! {
        _ = a.tick() => panic!("the job never ends"),
        () = watch => {}
    }
}

#[tokio::test]
async fn shutdown_cancels_the_run_and_releases_its_lease() {
    let f = Fixture::new(Probe {
        hang: true,
        ..Probe::default()
    });
    let a = f.scheduler("a");
    a.run_until(f.probe.started.notified()).await.unwrap();
    let state = &f.store.jobs().await.unwrap()[0];
    assert_eq!(state.holder, None, "released on shutdown");
    assert_eq!(state.last_period, None, "the period stays due");
    let b = f.scheduler("b");
    tokio::select! {
        report = b.tick() => panic!("the job never ends: {report:?}"),
        () = f.probe.started.notified() => {}
    }
    assert_eq!(
        f.store.jobs().await.unwrap()[0].holder.as_deref(),
        Some("b"),
        "b claimed the released period at once"
    );
    assert_eq!(f.probe.runs.load(Ordering::SeqCst), 2);
}

/// Reads tokio's (paused) timer as the wall clock, so `run_until`'s sleeps move the clock it
/// compares leases with, as the system clock would.
#[derive(Debug)]
struct TimerClock {
    base: DateTime<Utc>,
    start: tokio::time::Instant,
}

impl Clock for TimerClock {
    fn now(&self) -> DateTime<Utc> {
        self.base + chrono::Duration::from_std(self.start.elapsed()).expect("in range")
    }
}

impl Fixture {
    fn on_timer(&self, holder: &str) -> Scheduler {
        let clock = TimerClock {
            base: self.clock.now(),
            start: tokio::time::Instant::now(),
        };
        Scheduler::builder(self.store.clone(), Arc::new(clock))
            .holder(holder)
            .lease_ttl(TTL)
            .job_arc(self.probe.clone())
            .build()
            .expect("valid scheduler")
    }
}

#[tokio::test(start_paused = true)]
async fn run_until_wakes_when_a_dead_holders_lease_ends_and_takes_over() {
    let f = Fixture::new(Probe::default());
    let now = f.clock.now();
    let period = now.timestamp_millis() / 60_000;
    f.store
        .try_claim("probe", period, "dead", now, now + secs(7))
        .await
        .unwrap()
        .unwrap();
    let s = f.on_timer("b");
    let start = tokio::time::Instant::now();
    s.run_until(f.probe.succeeded.notified()).await.unwrap();
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(7) && took < Duration::from_secs(8),
        "taken over when the lease ended, not a period later: {took:?}"
    );
    assert_eq!(f.probe.seen.lock()[0].period, period);
}

#[tokio::test(start_paused = true)]
async fn run_until_retries_a_failed_period_one_ttl_later() {
    let f = Fixture::new(Probe::default());
    f.probe.fail.store(true, Ordering::SeqCst);
    let s = f.on_timer("a");
    let start = tokio::time::Instant::now();
    s.run_until(f.probe.succeeded.notified()).await.unwrap();
    assert_eq!(
        start.elapsed(),
        TTL,
        "retried after one TTL, within the period"
    );
    let seen = f.probe.seen.lock().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].period, seen[1].period);
}

#[tokio::test]
async fn run_job_now_names_an_unknown_job() {
    let f = Fixture::new(Probe::default());
    let s = f.scheduler("a");
    let err = s.run_job_now("nope").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("\"nope\""), "{err}");
    let line = s.run_job_now("probe").await.unwrap();
    assert!(matches!(line.status, RunStatus::Ran));
}

#[tokio::test]
async fn status_tells_when_each_job_runs_next() {
    let f = Fixture::new(Probe::default());
    let s = f.scheduler("a");
    let now = f.clock.now();
    let before = s.status().await.unwrap();
    assert_eq!(before[0].state, None);
    assert!(before[0].is_due(now));
    s.tick().await;
    f.clock.advance(secs(20));
    let after = s.status().await.unwrap();
    assert_eq!(after[0].next_run, now + secs(60));
    assert_eq!(after[0].every, MINUTE);
    assert!(!after[0].is_due(f.clock.now()));
}

#[derive(Debug)]
struct Named(&'static str, Duration);

#[async_trait]
impl Job for Named {
    fn name(&self) -> &str {
        self.0
    }
    fn period(&self) -> Duration {
        self.1
    }
    async fn run(&self, _: &JobRun) -> Result<()> {
        Ok(())
    }
}

#[test]
fn the_builder_rejects_bad_choices_with_typed_errors() {
    let store: Arc<dyn LeaseStore> = Arc::new(MemoryStore::new());
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::fixed());
    let build = |f: &dyn Fn(SchedulerBuilder) -> SchedulerBuilder| {
        f(Scheduler::builder(store.clone(), clock.clone())).build()
    };
    let cases: [(&str, apikey_core::Result<Scheduler>); 6] = [
        ("zero period", build(&|b| b.job(Named("a", Duration::ZERO)))),
        (
            "sub-ms period",
            build(&|b| b.job(Named("a", Duration::from_micros(1500)))),
        ),
        (
            "duplicate",
            build(&|b| b.job(Named("a", MINUTE)).job(Named("a", MINUTE))),
        ),
        ("empty name", build(&|b| b.job(Named(" ", MINUTE)))),
        (
            "short ttl",
            build(&|b| b.lease_ttl(Duration::from_millis(999))),
        ),
        ("empty holder", build(&|b| b.holder(""))),
    ];
    for (case, result) in cases {
        let err = result.expect_err(case);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{case}: {err}");
    }
    let s = Scheduler::builder(store, clock)
        .job(Named("a", MINUTE))
        .build()
        .unwrap();
    assert_eq!(s.holder().len(), 36, "a random UUID by default");
    assert_eq!(s.lease_ttl(), apikey_core::jobs::DEFAULT_LEASE_TTL);
}

#[derive(Debug, Default)]
struct PurgeLog(parking_lot::Mutex<Vec<DateTime<Utc>>>);

#[async_trait]
impl AuditStore for PurgeLog {
    async fn query(&self, _: &TenantScope, _: &AuditFilter) -> Result<Vec<AuditEvent>> {
        Ok(Vec::new())
    }
    async fn append(&self, _: &AuditEvent) -> Result<bool> {
        Ok(false)
    }
    async fn read_after(&self, _: u64, _: u32) -> Result<Vec<AuditEvent>> {
        Ok(Vec::new())
    }
    async fn last_position(&self) -> Result<u64> {
        Ok(0)
    }
    async fn cursors(&self) -> Result<Vec<apikey_core::ReaderCursor>> {
        Ok(Vec::new())
    }
    async fn save_cursor(&self, _: &str, _: u64) -> Result<()> {
        Ok(())
    }
    async fn remove_cursor(&self, _: &str) -> Result<bool> {
        Ok(false)
    }
    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        self.0.lock().push(before);
        Ok(0)
    }
}

#[tokio::test]
async fn audit_retention_purges_what_is_older_than_the_retention_once_a_day() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::fixed();
    let log = Arc::new(PurgeLog::default());
    let days = |d: u64| Duration::from_secs(d * 86_400);
    assert_eq!(
        AuditRetention::new(log.clone(), Arc::new(clock.clone()), Duration::ZERO)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    let job = AuditRetention::new(log.clone(), Arc::new(clock.clone()), days(30)).unwrap();
    let s = Scheduler::builder(store, Arc::new(clock.clone()))
        .job(job)
        .build()
        .unwrap();
    let line = s.run_job_now(AuditRetention::NAME).await.unwrap();
    assert!(matches!(line.status, RunStatus::Ran));
    clock.advance(secs(3600));
    assert!(matches!(s.tick().await.jobs[0].status, RunStatus::Done));
    assert_eq!(
        *log.0.lock(),
        vec![clock.now() - secs(3600) - chrono::Duration::days(30)]
    );
}

/// A lease store that is down: every call fails as a driver would report it.
#[derive(Debug)]
struct Down;

#[async_trait]
impl LeaseStore for Down {
    async fn try_claim(
        &self,
        _: &str,
        _: apikey_core::jobs::Period,
        _: &str,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> Result<Option<apikey_core::jobs::Lease>> {
        Err(Error::unavailable("connection refused"))
    }
    async fn renew(&self, _: &apikey_core::jobs::Lease, _: DateTime<Utc>) -> Result<bool> {
        Err(Error::unavailable("connection refused"))
    }
    async fn finish(
        &self,
        _: &apikey_core::jobs::Lease,
        _: DateTime<Utc>,
        _: &apikey_core::jobs::JobOutcome,
    ) -> Result<bool> {
        Err(Error::unavailable("connection refused"))
    }
    async fn release(&self, _: &apikey_core::jobs::Lease) -> Result<()> {
        Err(Error::unavailable("connection refused"))
    }
    async fn jobs(&self) -> Result<Vec<apikey_core::jobs::JobState>> {
        Err(Error::unavailable("connection refused"))
    }
}

#[tokio::test]
async fn a_store_that_is_down_is_a_reported_failure_and_nothing_runs() {
    let probe = Arc::new(Probe::default());
    let s = Scheduler::builder(Arc::new(Down), Arc::new(ManualClock::fixed()))
        .job_arc(probe.clone())
        .build()
        .unwrap();
    let report = s.tick().await;
    assert!(report.has_failures());
    match &report.jobs[0].status {
        RunStatus::Error(e) => assert_eq!(e.kind(), ErrorKind::Unavailable),
        other => panic!("{other:?}"),
    }
    assert_eq!(probe.runs.load(Ordering::SeqCst), 0);
    assert_eq!(s.status().await.unwrap_err().kind(), ErrorKind::Unavailable);
}

#[derive(Debug)]
struct Panics;

#[async_trait]
impl Job for Panics {
    fn name(&self) -> &str {
        "panics"
    }
    fn period(&self) -> Duration {
        MINUTE
    }
    async fn run(&self, _: &JobRun) -> Result<()> {
        tokio::task::yield_now().await;
        panic!("index out of bounds");
    }
}

#[tokio::test]
async fn a_job_that_panics_is_a_failed_run_and_the_other_jobs_still_run() {
    let f = Fixture::new(Probe::default());
    let s = Scheduler::builder(f.store.clone(), Arc::new(f.clock.clone()))
        .job(Panics)
        .job_arc(f.probe.clone())
        .build()
        .unwrap();
    let report = s.tick().await;
    match &report.jobs[0].status {
        RunStatus::Failed(m) => assert_eq!(m, "panicked: index out of bounds"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(report.jobs[1].status, RunStatus::Ran));
    let states = f.store.jobs().await.unwrap();
    let panicked = states.iter().find(|s| s.job == "panics").unwrap();
    assert_eq!(panicked.holder, None, "the lease was given back");
    assert_eq!(panicked.last_period, None, "the period stays due");
}
