//! `SchedulerCheck`: passes while the jobs keep up, warns (never fails readiness) when a job has
//! let a whole period go by without a run or its last run failed, and fails when the lease store
//! cannot be read. Time is a `ManualClock`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use apikey_core::health::{HealthCheck, SchedulerCheck};
use apikey_core::jobs::{Job, JobRun, Scheduler};
use apikey_core::{Error, ManualClock, Result};
use apikey_memory::MemoryStore;
use async_trait::async_trait;

#[derive(Debug, Default)]
struct Flaky {
    fail: AtomicBool,
}

#[async_trait]
impl Job for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }

    fn period(&self) -> Duration {
        Duration::from_secs(60)
    }

    async fn run(&self, _: &JobRun) -> Result<()> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(Error::unavailable("downstream is down"));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_job_that_falls_behind_or_fails_is_a_warning() {
    let clock = ManualClock::fixed();
    let job = Arc::new(Flaky::default());
    let scheduler = Arc::new(
        Scheduler::builder(Arc::new(MemoryStore::new()), Arc::new(clock.clone()))
            .job_arc(job.clone())
            .build()
            .unwrap(),
    );
    let check = SchedulerCheck::new(scheduler.clone());
    assert_eq!(
        check.check().await,
        Ok(None),
        "never run yet: nothing to say"
    );
    scheduler.tick().await;
    assert_eq!(check.check().await, Ok(None));
    // The next period is due, not late.
    clock.advance(chrono::Duration::seconds(60));
    assert_eq!(check.check().await, Ok(None));
    // Two more periods with no tick: two whole periods without a run.
    clock.advance(chrono::Duration::seconds(120));
    let note = check.check().await.unwrap().expect("a warning");
    assert!(note.contains("flaky: 2 period(s) without a run"), "{note}");
    assert_eq!(
        SchedulerCheck::new(scheduler.clone())
            .tolerating(2)
            .check()
            .await,
        Ok(None)
    );
    // Caught up, then a failing run.
    scheduler.tick().await;
    assert_eq!(check.check().await, Ok(None));
    clock.advance(chrono::Duration::seconds(60));
    job.fail.store(true, Ordering::SeqCst);
    scheduler.tick().await;
    let note = check.check().await.unwrap().expect("a warning");
    assert!(note.contains("flaky: the last run failed"), "{note}");
    assert!(
        !note.contains("downstream"),
        "no error text in a probe answer: {note}"
    );
}

#[tokio::test]
async fn a_webhook_backlog_is_a_warning() {
    use apikey_core::health::WebhookBacklogCheck;
    use apikey_core::webhook::{Delivery, SubscriptionId, WebhookStore};

    let clock = ManualClock::fixed();
    let store = Arc::new(MemoryStore::new());
    let check = WebhookBacklogCheck::new(store.clone(), Arc::new(clock.clone()))
        .thresholds(2, Duration::from_secs(300));
    assert_eq!(check.check().await, Ok(None));
    let now = apikey_core::Clock::now(&clock);
    let sub = SubscriptionId::generate();
    let delivery = |n: u128| {
        Delivery::pending(
            sub,
            None,
            uuid::Uuid::from_u128(n),
            "key.created",
            "{}".to_owned(),
            now,
            now + chrono::Duration::days(3),
        )
    };
    store.enqueue(&[delivery(1), delivery(2)]).await.unwrap();
    assert_eq!(check.check().await, Ok(None), "two pending, due now: fine");
    clock.advance(chrono::Duration::seconds(301));
    let note = check.check().await.unwrap().expect("a warning");
    assert!(note.contains("301 s late"), "{note}");
    store.enqueue(&[delivery(3)]).await.unwrap();
    let note = check.check().await.unwrap().expect("a warning");
    assert!(note.contains("3 deliveries pending"), "{note}");
}
