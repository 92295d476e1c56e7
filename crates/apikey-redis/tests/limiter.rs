//! The Redis limiter beyond the conformance suite: Redis `TIME` mode, one unit of budget raced by
//! 1,000 requests over rate + endpoint + quota, TTLs on every key, script reload after `NOSCRIPT`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use apikey_core::limit::QuotaPeriod;
use apikey_core::{KeyId, LimitPolicy, Quota, Rate, RateLimiter, Subject};
use apikey_redis::RedisLimiter;
use redis::AsyncCommands;

fn policy() -> LimitPolicy {
    LimitPolicy {
        rate: Some(Rate::new(10_000, Duration::from_secs(3600)).unwrap()),
        endpoint: Some(Rate::new(10_000, Duration::from_secs(3600)).unwrap()),
        quota: Some(Quota {
            limit: 500,
            period: QuotaPeriod::Month,
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_requests_at_limit_minus_one_admit_exactly_one_in_redis_time() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::prefix();
    let limiter = Arc::new(
        RedisLimiter::new(common::connect(&url).await)
            .with_prefix(prefix.clone())
            .with_call_budget(Duration::from_secs(10)),
    );
    let key = KeyId::new();
    let subject = Subject {
        key,
        lineage: key,
        endpoint: Some("GET /x"),
    };
    let p = policy();
    assert!(limiter.check(&subject, &p, 499).await.unwrap().is_allowed());
    let barrier = Arc::new(tokio::sync::Barrier::new(1000));
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let (limiter, barrier) = (limiter.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let s = Subject {
                    key,
                    lineage: key,
                    endpoint: Some("GET /x"),
                };
                limiter.check(&s, &p, 1).await.unwrap().is_allowed()
            })
        })
        .collect();
    let mut admitted = 0;
    for t in tasks {
        admitted += usize::from(t.await.unwrap());
    }
    assert_eq!(admitted, 1);
    assert_eq!(limiter.stats().decisions, 1001);

    // Every key the limiter wrote has a TTL, and all of them share the lineage's hash tag.
    let mut raw = common::raw(&url).await;
    let keys: Vec<String> = raw.keys(format!("{}:*", prefix.as_str())).await.unwrap();
    assert_eq!(keys.len(), 3, "{keys:?}");
    for k in keys {
        assert!(k.contains(&format!("{{{key}}}")), "{k}");
        let ttl: i64 = raw.pttl(&k).await.unwrap();
        assert!(ttl > 0, "{k} has no ttl");
    }
}

#[tokio::test]
async fn the_script_is_reloaded_after_a_script_flush() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let limiter = RedisLimiter::new(common::connect(&url).await).with_prefix(common::prefix());
    let key = KeyId::new();
    let s = Subject {
        key,
        lineage: key,
        endpoint: None,
    };
    let p = LimitPolicy {
        rate: Some(Rate::new(2, Duration::from_secs(60)).unwrap()),
        ..LimitPolicy::default()
    };
    assert!(limiter.check(&s, &p, 1).await.unwrap().is_allowed());
    let mut raw = common::raw(&url).await;
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(limiter.check(&s, &p, 1).await.unwrap().is_allowed());
    assert!(!limiter.check(&s, &p, 1).await.unwrap().is_allowed());
    assert_eq!(limiter.stats().errors, 0);
}
