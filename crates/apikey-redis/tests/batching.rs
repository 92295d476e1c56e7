//! Exact decisions that arrive together share script calls (`RedisLimiter::with_batching`, off by
//! default), and still get exactly the answers one call each would give.

mod common;

use std::sync::Arc;
use std::time::Duration;

use apikey_core::limit::{FailurePolicy, LimitKind};
use apikey_core::{Decision, ErrorKind, KeyId, LimitPolicy, Rate, RateLimiter, Subject};
use apikey_redis::RedisLimiter;
use common::proxy::{Mode, Proxy, RedisUrl};

fn burst(n: u32) -> LimitPolicy {
    LimitPolicy {
        rate: Some(Rate::with_burst(1, Duration::from_secs(3600), n).unwrap()),
        endpoint: None,
        quota: None,
    }
}

/// 600 concurrent decisions over 6 keys of different bursts: each key admits exactly its burst,
/// each caller learns its own key's remaining budget, and far fewer script calls than decisions
/// were made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_decisions_share_calls_and_each_gets_its_own_answer() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let limiter = Arc::new(
        RedisLimiter::new(common::connect(&url).await)
            .with_prefix(common::prefix())
            .with_batching(true)
            .with_call_budget(Duration::from_secs(10)),
    );
    let keys: Vec<(KeyId, u32)> = (1..=6).map(|i| (KeyId::new(), i * 7)).collect();
    let barrier = Arc::new(tokio::sync::Barrier::new(600));
    let tasks: Vec<_> = (0..600)
        .map(|i| {
            let (limiter, barrier) = (Arc::clone(&limiter), Arc::clone(&barrier));
            let (key, n) = keys[i % keys.len()];
            tokio::spawn(async move {
                let subject = Subject {
                    key,
                    lineage: key,
                    endpoint: None,
                };
                barrier.wait().await;
                let d = limiter.check(&subject, &burst(n), 1).await.unwrap();
                (key, d)
            })
        })
        .collect();
    let mut admitted = std::collections::HashMap::<KeyId, Vec<u64>>::new();
    for t in tasks {
        let (key, d) = t.await.unwrap();
        match d {
            Decision::Allowed {
                tightest: Some(t), ..
            } => {
                assert_eq!(t.kind, LimitKind::Rate);
                admitted.entry(key).or_default().push(t.remaining);
            }
            Decision::Limited { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    for (key, n) in &keys {
        let mut remaining = admitted.remove(key).unwrap_or_default();
        remaining.sort_unstable();
        // Exactly the burst, and every remaining count from n-1 down to 0 once: each caller got
        // the answer for its own key, in the order Redis decided them.
        let want: Vec<u64> = (0..u64::from(*n)).collect();
        assert_eq!(remaining, want, "key with burst {n}");
    }
    let stats = limiter.stats();
    assert_eq!(stats.decisions, 600);
    assert!(
        stats.round_trips < 600,
        "no decisions were sent together: {stats:?}"
    );
}

/// Off (the default), every decision is its own call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_batching_every_decision_is_one_call() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let limiter = Arc::new(
        RedisLimiter::new(common::connect(&url).await)
            .with_prefix(common::prefix())
            .with_call_budget(Duration::from_secs(10)),
    );
    let key = KeyId::new();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let limiter = Arc::clone(&limiter);
            tokio::spawn(async move {
                let subject = Subject {
                    key,
                    lineage: key,
                    endpoint: None,
                };
                limiter.check(&subject, &burst(100), 1).await.unwrap()
            })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().is_allowed());
    }
    assert_eq!(limiter.stats().round_trips, 50);
}

/// A batch that cannot reach Redis fails every decision in it, and each applies the policy
/// (fail closed: `Unavailable`); none is answered as if Redis had decided.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_applies_the_policy_to_each_decision() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let upstream = url.trim_start_matches("redis://").trim_end_matches('/');
    let proxy = Proxy::start(upstream.to_owned()).await;
    let limiter = Arc::new(
        RedisLimiter::new(common::connect(&proxy.url()).await)
            .with_prefix(common::prefix())
            .with_batching(true)
            .with_failure_policy(FailurePolicy::FailClosed)
            .unwrap()
            .with_breaker(1_000, Duration::from_secs(1))
            .with_call_budget(Duration::from_millis(300)),
    );
    let key = KeyId::new();
    let subject = Subject {
        key,
        lineage: key,
        endpoint: None,
    };
    assert!(
        limiter
            .check(&subject, &burst(100), 1)
            .await
            .unwrap()
            .is_allowed()
    );
    proxy.set(Mode::Cut);
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let limiter = Arc::clone(&limiter);
            tokio::spawn(async move {
                let subject = Subject {
                    key,
                    lineage: key,
                    endpoint: None,
                };
                limiter.check(&subject, &burst(100), 1).await
            })
        })
        .collect();
    for t in tasks {
        let e = t.await.unwrap().expect_err("fail closed");
        assert_eq!(e.kind(), ErrorKind::Unavailable);
    }
    assert_eq!(
        limiter.stats().decisions,
        1,
        "only the decision before the cut"
    );
}
