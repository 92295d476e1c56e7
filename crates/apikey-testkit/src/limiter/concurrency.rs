//! Concurrency: with one unit of budget left, 1,000 simultaneous requests admit exactly one.
//! Run these on a multi-thread runtime (the suite macro does).

use std::future::Future;
use std::sync::Arc;

use apikey_core::limit::QuotaPeriod;
use apikey_core::{KeyId, LimitPolicy, ManualClock, RateLimiter};
use tokio::sync::Barrier;

use super::{allowed, check, policy, quota, rate, setup, subject};
use crate::fixtures::base_time;

const TASKS: usize = 1_000;

/// Spends `limit - 1` in one request, then races `TASKS` tasks for the last unit.
async fn race<L: RateLimiter>(limiter: L, p: LimitPolicy, limit: u32) {
    let limiter = Arc::new(limiter);
    let key = KeyId::new();
    allowed(
        check(&*limiter, &subject(key, None), &p, limit - 1).await,
        "limit - 1",
    );
    let barrier = Arc::new(Barrier::new(TASKS));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (limiter, barrier) = (Arc::clone(&limiter), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                check(&*limiter, &subject(key, None), &p, 1)
                    .await
                    .is_allowed()
            })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        admitted += usize::from(task.await.expect("task"));
    }
    assert_eq!(
        admitted, 1,
        "{TASKS} concurrent requests for the last unit of budget"
    );
}

/// A rate of burst 100 with 99 spent: exactly one of 1,000 concurrent requests is admitted.
pub async fn concurrent_rate_at_limit_admits_one<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, _clock) = setup(make, base_time()).await;
    race(
        limiter,
        policy(Some(rate(100, 60_000, 100)), None, None),
        100,
    )
    .await;
}

/// A daily quota of 100 with 99 spent: exactly one of 1,000 concurrent requests is admitted.
pub async fn concurrent_quota_at_limit_admits_one<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, _clock) = setup(make, base_time()).await;
    race(
        limiter,
        policy(None, None, Some(quota(100, QuotaPeriod::Day))),
        100,
    )
    .await;
}
