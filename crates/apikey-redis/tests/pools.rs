//! Pools on Redis beyond the suite: one script call per decision (counted in `INFO
//! commandstats` on a server of the test's own), credit balances that never expire while pool
//! counters do, and pools failing closed during an outage even under a fail-open policy.

mod common;

use std::time::Duration;

use apikey_core::limit::{
    CreditPlan, FailurePolicy, PoolCharge, PoolKind, PoolLimits, Quota, QuotaPeriod, SharedCharge,
};
use apikey_core::{ErrorKind, KeyId, LimitPolicy, Rate, RateLimiter, Subject, TenantId};
use apikey_redis::{RedisConnection, RedisLimiter};
use redis::AsyncCommands;

use common::server::Server;

fn pools(t: &TenantId) -> Vec<PoolCharge> {
    let rate = Rate::new(1_000_000, Duration::from_secs(1)).unwrap();
    let quota = Quota {
        limit: 1_000_000,
        period: QuotaPeriod::Month,
    };
    vec![
        PoolCharge::new(
            Some(t),
            PoolKind::Owner,
            "owner:acme",
            PoolLimits {
                rate: Some(rate),
                quota: Some(quota),
                credits: Some(CreditPlan::once(1_000_000)),
            },
        ),
        PoolCharge::new(
            Some(t),
            PoolKind::Tenant,
            "tenant",
            PoolLimits {
                quota: Some(quota),
                ..PoolLimits::default()
            },
        ),
    ]
}

fn own() -> LimitPolicy {
    LimitPolicy {
        rate: Some(Rate::new(1_000_000, Duration::from_secs(1)).unwrap()),
        ..LimitPolicy::default()
    }
}

async fn commandstat(conn: &mut redis::aio::MultiplexedConnection, cmd: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .expect("info");
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{cmd}:calls=")))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().expect("calls"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_and_two_pools_cost_one_script_call() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let limiter = RedisLimiter::new(RedisConnection::connect(&server.url()).await.unwrap())
        .with_prefix(common::prefix());
    let mut raw = common::raw(&server.url()).await;
    let t = TenantId::new("count").unwrap();
    let pools = pools(&t);
    let key = KeyId::new();
    let charge = SharedCharge {
        subject: Subject {
            key,
            lineage: key,
            endpoint: None,
        },
        policy: own(),
        tenant: Some(&t),
        pools: &pools,
        cost: 1,
        reserve: None,
    };
    // The first call loads the script.
    assert!(limiter.check_shared(&charge).await.unwrap().is_allowed());
    let (evalsha, eval) = (
        commandstat(&mut raw, "evalsha").await,
        commandstat(&mut raw, "eval").await,
    );
    for _ in 0..100 {
        assert!(limiter.check_shared(&charge).await.unwrap().is_allowed());
    }
    assert_eq!(commandstat(&mut raw, "evalsha").await - evalsha, 100);
    assert_eq!(commandstat(&mut raw, "eval").await, eval);

    // Pool counters expire with their window; a credit balance never does.
    let keys: Vec<String> = raw.keys("*:pool:*").await.unwrap();
    assert_eq!(
        keys.len(),
        4,
        "owner rate, quota, credits; tenant quota: {keys:?}"
    );
    for k in keys {
        let ttl: i64 = raw.pttl(&k).await.unwrap();
        if k.ends_with(":credits") {
            assert_eq!(ttl, -1, "{k} must not expire");
        } else {
            assert!(ttl > 0, "{k} expires");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pools_fail_closed_while_plain_limits_fail_open() {
    let Some(mut server) = Server::start(&[]) else {
        return;
    };
    let limiter = RedisLimiter::new(RedisConnection::connect(&server.url()).await.unwrap())
        .with_prefix(common::prefix())
        .with_call_budget(Duration::from_millis(200))
        .with_failure_policy(FailurePolicy::FailOpen)
        .unwrap();
    let t = TenantId::new("outage").unwrap();
    let pools = pools(&t);
    let key = KeyId::new();
    let subject = Subject {
        key,
        lineage: key,
        endpoint: None,
    };
    let charge = SharedCharge {
        subject,
        policy: own(),
        tenant: Some(&t),
        pools: &pools,
        cost: 1,
        reserve: None,
    };
    assert!(limiter.check_shared(&charge).await.unwrap().is_allowed());
    server.kill();
    assert!(
        limiter
            .check(&subject, &own(), 1)
            .await
            .unwrap()
            .is_allowed(),
        "the key's own limit fails open, as configured"
    );
    for _ in 0..10 {
        let err = limiter.check_shared(&charge).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    }
}
