//! Redis stopped mid-load, through a TCP proxy the test pauses or cuts: each failure policy holds,
//! no request fails that the policy did not fail, and counting resumes in Redis afterwards.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use apikey_core::limit::{FailurePolicy, QuotaPeriod};
use apikey_core::{
    Decision, ErrorKind, KeyId, LimitPolicy, ManualClock, Quota, Rate, RateLimiter, Subject,
};
use apikey_redis::RedisLimiter;
use common::proxy::{Mode, Proxy, RedisUrl};

fn rate_policy() -> LimitPolicy {
    LimitPolicy {
        rate: Some(Rate::new(10, Duration::from_secs(60)).unwrap()),
        ..LimitPolicy::default()
    }
}

async fn setup(policy: FailurePolicy) -> Option<(Proxy, RedisLimiter, ManualClock)> {
    let url = common::redis_url()?;
    let upstream = url.trim_start_matches("redis://").trim_end_matches('/');
    let proxy = Proxy::start(upstream.to_owned()).await;
    let clock = ManualClock::fixed();
    let limiter = RedisLimiter::new(common::connect(&proxy.url()).await)
        .with_prefix(common::prefix())
        .with_clock(Arc::new(clock.clone()))
        .with_call_budget(Duration::from_millis(50))
        .with_breaker(3, Duration::from_millis(100))
        // One call per decision (the default; said here because these tests count which timed-out
        // calls still reach Redis, and batching changes that count: it has its own tests).
        .with_batching(false);
    let limiter = match policy {
        FailurePolicy::LocalFallback { share } => limiter.with_local_fallback(
            share,
            Arc::new(apikey_memory::MemoryLimiter::new(Arc::new(clock.clone()))),
        ),
        other => limiter.with_failure_policy(other),
    }
    .unwrap();
    Some((proxy, limiter, clock))
}

fn subject(key: KeyId) -> Subject<'static> {
    Subject {
        key,
        lineage: key,
        endpoint: None,
    }
}

/// After the proxy passes again, polls until Redis decides again (breaker half-open → closed).
async fn wait_for_redis(limiter: &RedisLimiter, s: &Subject<'_>, p: &LimitPolicy) {
    let before = limiter.stats().decisions;
    let deadline = Instant::now() + Duration::from_secs(10);
    while limiter.stats().decisions == before {
        assert!(
            Instant::now() < deadline,
            "redis never came back: {:?}",
            limiter.stats()
        );
        let _ = limiter.check(s, p, 1).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!limiter.stats().breaker_open);
}

/// Remaining of the rate after one more admitted request.
async fn remaining(limiter: &RedisLimiter, s: &Subject<'_>, p: &LimitPolicy) -> u64 {
    match limiter.check(s, p, 1).await.unwrap() {
        Decision::Allowed {
            tightest: Some(t), ..
        } => t.remaining,
        d => panic!("expected admitted, got {d:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_open_admits_everything_during_an_outage_then_counts_again() {
    let Some((proxy, limiter, _clock)) = setup(FailurePolicy::FailOpen).await else {
        return;
    };
    let limiter = Arc::new(limiter);
    let (s, p) = (subject(KeyId::new()), rate_policy());
    assert_eq!(remaining(&limiter, &s, &p).await, 9);

    // Load from four tasks while Redis freezes, then dies, then comes back.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (limiter, stop) = (limiter.clone(), stop.clone());
            tokio::spawn(async move {
                let s = subject(KeyId::new());
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    limiter
                        .check(&s, &rate_policy(), 1)
                        .await
                        .expect("fail open never errors");
                    n += 1;
                    // An open breaker answers without awaiting anything: let other tasks run.
                    tokio::task::yield_now().await;
                }
                n
            })
        })
        .collect();
    proxy.set(Mode::Pause);
    for _ in 0..20 {
        assert!(limiter.check(&s, &p, 1).await.unwrap().is_allowed());
    }
    proxy.set(Mode::Cut);
    for _ in 0..20 {
        assert!(limiter.check(&s, &p, 1).await.unwrap().is_allowed());
    }
    proxy.set(Mode::Pass);
    wait_for_redis(&limiter, &s, &p).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in load {
        assert!(t.await.unwrap() > 0);
    }
    let stats = limiter.stats();
    assert!(
        stats.fallbacks >= 40 && stats.breaker_opens >= 1 && stats.errors >= 3,
        "{stats:?}"
    );
    // The 40 outage decisions spent nothing in Redis (they would have exhausted the burst of
    // 10). Counted since: this request, and the probe if it was this key's (another task's
    // request may have been the probe), plus at most one earlier probe that overran its budget
    // while the connection was re-established and still ran.
    let left = remaining(&limiter, &s, &p).await;
    assert!((6..=8).contains(&left), "remaining {left}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_closed_answers_unavailable_during_an_outage_then_counts_again() {
    let Some((proxy, limiter, _clock)) = setup(FailurePolicy::FailClosed).await else {
        return;
    };
    let (s, p) = (subject(KeyId::new()), rate_policy());
    assert_eq!(remaining(&limiter, &s, &p).await, 9);
    proxy.set(Mode::Pause);
    for _ in 0..10 {
        let e = limiter.check(&s, &p, 1).await.expect_err("fail closed");
        assert_eq!(e.kind(), ErrorKind::Unavailable);
    }
    assert!(limiter.stats().breaker_open);
    proxy.set(Mode::Pass);
    wait_for_redis(&limiter, &s, &p).await;
    // A paused server is not a dead one: the three calls that overran their budget before the
    // breaker opened were held by the proxy and ran when it resumed (a timed-out call may still
    // be counted). Then the probe and this request: 9 - 3 - 1 - 1.
    assert_eq!(remaining(&limiter, &s, &p).await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_fallback_applies_its_share_and_quotas_fail_closed() {
    let Some((proxy, limiter, clock)) = setup(FailurePolicy::LocalFallback { share: 0.5 }).await
    else {
        return;
    };
    let (s, p) = (subject(KeyId::new()), rate_policy());
    assert_eq!(remaining(&limiter, &s, &p).await, 9);
    proxy.set(Mode::Cut);
    // Half of a burst of 10 in process, counted from zero.
    let admitted = {
        let mut n = 0;
        for _ in 0..20 {
            n += usize::from(limiter.check(&s, &p, 1).await.unwrap().is_allowed());
        }
        n
    };
    assert_eq!(admitted, 5);
    let with_quota = LimitPolicy {
        quota: Some(Quota {
            limit: 100,
            period: QuotaPeriod::Day,
        }),
        ..rate_policy()
    };
    let e = limiter.check(&s, &with_quota, 1).await.expect_err("quota");
    assert_eq!(e.kind(), ErrorKind::Unavailable);

    proxy.set(Mode::Pass);
    clock.advance(chrono::Duration::seconds(0));
    wait_for_redis(&limiter, &s, &p).await;
    assert_eq!(remaining(&limiter, &s, &p).await, 7);
}
