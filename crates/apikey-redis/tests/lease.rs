//! Lease mode (`RedisLimiter::with_leases`): two instances never exceed a limit together, a lease
//! hit costs no round trip, leftovers are refunded, small limits stay exact (differential against
//! `MemoryLimiter`), the lease size adapts, a policy change invalidates a lease, concurrent
//! acquisitions merge without losing units, and a live lease serves while Redis is down. Time is
//! a `ManualClock`: nothing sleeps.

mod common;

use std::sync::Arc;
use std::time::Duration;

use apikey_core::limit::{FailurePolicy, QuotaPeriod, quota_window};
use apikey_core::{
    Clock, Decision, ErrorKind, KeyId, LimitPolicy, ManualClock, Quota, Rate, RateLimiter, Result,
    Subject,
};
use apikey_memory::MemoryLimiter;
use apikey_redis::{KeyPrefix, LeaseConfig, RedisLimiter};
use common::proxy::{Mode, Proxy, RedisUrl};
use redis::AsyncCommands;

fn config(max_units: u32) -> LeaseConfig {
    LeaseConfig {
        max_units,
        max_age: Duration::from_millis(250),
        ..LeaseConfig::default()
    }
}

async fn limiter(
    url: &str,
    prefix: &KeyPrefix,
    clock: &ManualClock,
    max_units: u32,
) -> RedisLimiter {
    RedisLimiter::new(common::connect(url).await)
        .with_prefix(prefix.clone())
        .with_clock(Arc::new(clock.clone()))
        .with_call_budget(Duration::from_secs(10))
        .with_leases(config(max_units))
        .unwrap()
}

fn subject(key: KeyId, endpoint: Option<&'static str>) -> Subject<'static> {
    Subject {
        key,
        lineage: key,
        endpoint,
    }
}

/// What the verifier does: the synchronous path first, the async one on `None`.
async fn decide(l: &RedisLimiter, s: &Subject<'_>, p: &LimitPolicy, cost: u32) -> Result<Decision> {
    match l.check_now(s, p, cost) {
        Some(d) => d,
        None => l.check(s, p, cost).await,
    }
}

fn remaining(d: &Decision) -> u64 {
    match d {
        Decision::Allowed {
            tightest: Some(t), ..
        } => t.remaining,
        d => panic!("expected admitted with a status, got {d:?}"),
    }
}

/// xorshift64*: a reproducible sequence without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_never_admit_more_than_the_limit_together() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let rate = |n, burst| Some(Rate::with_burst(n, Duration::from_secs(1), burst).unwrap());
    let cases = [
        (
            "rate",
            LimitPolicy {
                rate: rate(1_000, 800),
                ..LimitPolicy::default()
            },
        ),
        (
            "endpoint",
            LimitPolicy {
                rate: rate(100_000, 100_000),
                endpoint: rate(500, 400),
                quota: None,
            },
        ),
    ];
    for (name, policy) in cases {
        let (prefix, clock) = (common::prefix(), ManualClock::fixed());
        let a = limiter(&url, &prefix, &clock, 64).await;
        let b = limiter(&url, &prefix, &clock, 64).await;
        let s = subject(KeyId::new(), Some("GET /x"));
        let r = policy.endpoint.or(policy.rate).unwrap();
        let mut rng = Rng(7);
        let (mut admitted, mut elapsed_us) = (0_u64, 0_i64);
        for step in 0..6_000 {
            let l = if rng.below(2) == 0 { &a } else { &b };
            let cost = 1 + u32::try_from(rng.below(2)).unwrap();
            if decide(l, &s, &policy, cost).await.unwrap().is_allowed() {
                admitted += u64::from(cost);
            }
            // Every admission so far was charged to Redis within the time elapsed.
            let ceiling = u64::from(r.burst) + u64::try_from(elapsed_us / r.interval_us()).unwrap();
            assert!(
                admitted <= ceiling,
                "{name} step {step}: {admitted} > {ceiling}"
            );
            let us = i64::try_from(rng.below(600)).unwrap();
            clock.advance(chrono::Duration::microseconds(us));
            elapsed_us += us;
        }
        let ceiling = u64::from(r.burst) + u64::try_from(elapsed_us / r.interval_us()).unwrap();
        // Leases cost little: most of the budget was used.
        assert!(
            admitted * 10 >= ceiling * 9,
            "{name}: {admitted} of {ceiling}"
        );
        assert!(a.stats().round_trips + b.stats().round_trips < 6_000);
    }

    // The quota, with the clock stopped: every unit charged is eventually handed out, so the two
    // instances admit exactly the limit between them.
    let (prefix, clock) = (common::prefix(), ManualClock::fixed());
    let a = limiter(&url, &prefix, &clock, 64).await;
    let b = limiter(&url, &prefix, &clock, 64).await;
    let policy = LimitPolicy {
        quota: Some(Quota {
            limit: 3_000,
            period: QuotaPeriod::Month,
        }),
        ..LimitPolicy::default()
    };
    let s = subject(KeyId::new(), None);
    let mut rng = Rng(11);
    let mut admitted = 0_u64;
    for step in 0..5_000 {
        if step == 1_000 {
            // 1,000 decisions (about 2,000 units) so far, with room left: few round trips.
            let trips = a.stats().round_trips + b.stats().round_trips;
            assert!(trips < 100, "{trips} round trips");
        }
        let l = if rng.below(2) == 0 { &a } else { &b };
        let cost = 1 + u32::try_from(rng.below(3)).unwrap();
        if decide(l, &s, &policy, cost).await.unwrap().is_allowed() {
            admitted += u64::from(cost);
        }
        assert!(admitted <= 3_000);
    }
    // Once it is spent, every refusal is a round trip (leases hold nothing to refuse with).
    assert_eq!(admitted, 3_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_hits_make_no_redis_call_and_the_size_adapts() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let (prefix, clock) = (common::prefix(), ManualClock::fixed());
    let l = limiter(&url, &prefix, &clock, 16).await;
    let s = subject(KeyId::new(), Some("GET /x"));
    let policy = LimitPolicy {
        rate: Some(Rate::new(1_000_000, Duration::from_secs(1)).unwrap()),
        ..LimitPolicy::default()
    };
    // Starts exact, then doubles each time a lease is used up before max_age: round trips at
    // requests 1, 2, 4, 8, 16, then every 16 (max_units).
    let mut trips = Vec::new();
    for i in 1..=48 {
        let before = l.stats().round_trips;
        if let Some(hit) = l.check_now(&s, &policy, 1) {
            assert!(hit.unwrap().is_allowed());
            assert_eq!(
                l.stats().round_trips,
                before,
                "request {i}: a hit made a round trip"
            );
        } else {
            assert!(l.check(&s, &policy, 1).await.unwrap().is_allowed());
            assert_eq!(l.stats().round_trips, before + 1);
            trips.push(i);
        }
    }
    assert_eq!(trips, [1, 2, 4, 8, 16, 32, 48]);
    assert_eq!(l.stats().decisions, 7);

    // Expiry with units left halves the size: request 49 took a lease of 16, 4 are used, then it
    // expires; the next lease is 8 (so 7 hits), and that one, used up in time, doubles again.
    for _ in 0..4 {
        assert!(l.check_now(&s, &policy, 1).is_some());
    }
    clock.advance(chrono::Duration::milliseconds(300));
    assert!(
        l.check_now(&s, &policy, 1).is_none(),
        "expired lease served"
    );
    let before = l.stats().round_trips;
    assert!(l.check(&s, &policy, 1).await.unwrap().is_allowed());
    assert_eq!(l.stats().round_trips, before + 1);
    for _ in 0..7 {
        assert!(l.check_now(&s, &policy, 1).is_some());
    }
    assert!(l.check_now(&s, &policy, 1).is_none());
    assert!(l.check(&s, &policy, 1).await.unwrap().is_allowed());
    for _ in 0..15 {
        assert!(l.check_now(&s, &policy, 1).is_some());
    }
    assert!(l.check_now(&s, &policy, 1).is_none());
    assert_eq!(l.stats().round_trips, before + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leftovers_are_refunded_to_the_quota_and_the_rate() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let (prefix, clock) = (common::prefix(), ManualClock::fixed());
    let l = limiter(&url, &prefix, &clock, 16).await;
    let key = KeyId::new();
    let s = subject(key, None);
    let limit = 100_000;
    let policy = LimitPolicy {
        // One request per second: the TAT moves one second per unit.
        rate: Some(Rate::with_burst(1_000, Duration::from_secs(1_000), 10_000).unwrap()),
        endpoint: None,
        quota: Some(Quota {
            limit,
            period: QuotaPeriod::Day,
        }),
    };
    let start_us = clock.now().timestamp_micros();
    let window = quota_window(QuotaPeriod::Day, clock.now());
    let quota_key = format!("{}:{{{key}}}:quota:day:{}", prefix.as_str(), window.id);
    let rate_key = format!("{}:{{{key}}}:rate:{key}", prefix.as_str());
    let mut raw = common::raw(&url).await;

    // Leases of 1, 2, 4, 8, 16: 31 units charged, 20 handed out, 11 held.
    let mut last = None;
    for _ in 0..20 {
        last = Some(decide(&l, &s, &policy, 1).await.unwrap());
    }
    // The rate is the tighter limit (burst 10,000): Redis saw 31, the client 20.
    assert_eq!(
        remaining(&last.unwrap()),
        10_000 - 20,
        "remaining counts held units"
    );
    let used: u64 = raw.get(&quota_key).await.unwrap();
    assert_eq!(used, 31);

    // The lease expires with 11 left; the next call refunds them and (cost 16 = no leftover)
    // charges exactly its own cost: Redis then holds exactly what was admitted.
    clock.advance(chrono::Duration::seconds(1));
    let d = l.check(&s, &policy, 16).await.unwrap();
    // 36 s of debt, 1 s of it leaked.
    assert_eq!(remaining(&d), 10_000 - 35);
    let used: u64 = raw.get(&quota_key).await.unwrap();
    assert_eq!(used, 36);
    let tat: i64 = raw.get(&rate_key).await.unwrap();
    assert_eq!(
        tat,
        start_us + 36_000_000,
        "rate tat moved back by the refund"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_change_invalidates_the_lease_and_refunds_it() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let (prefix, clock) = (common::prefix(), ManualClock::fixed());
    let l = limiter(&url, &prefix, &clock, 16).await;
    let key = KeyId::new();
    let s = subject(key, None);
    let quota = |limit| LimitPolicy {
        quota: Some(Quota {
            limit,
            period: QuotaPeriod::Day,
        }),
        ..LimitPolicy::default()
    };
    let (old, new) = (quota(100_000), quota(50_000));
    for _ in 0..20 {
        assert!(decide(&l, &s, &old, 1).await.unwrap().is_allowed());
    }
    assert!(l.check_now(&s, &old, 1).is_some(), "the lease is live");
    // 21 admitted, 10 held. Under the new policy the lease does not serve; the call refunds it.
    assert!(l.check_now(&s, &new, 1).is_none());
    let before = l.stats().round_trips;
    let d = l.check(&s, &new, 1).await.unwrap();
    assert_eq!(l.stats().round_trips, before + 1);
    assert_eq!(remaining(&d), 50_000 - 22);
    let window = quota_window(QuotaPeriod::Day, clock.now());
    let mut raw = common::raw(&url).await;
    let used: u64 = raw
        .get(format!(
            "{}:{{{key}}}:quota:day:{}",
            prefix.as_str(),
            window.id
        ))
        .await
        .unwrap();
    assert_eq!(used, 22);
    // And the old lease is gone: back under the old policy, a new one is taken.
    assert!(l.check_now(&s, &old, 1).is_none());
}

fn small_policies() -> Vec<LimitPolicy> {
    let r = |n, ms, b| Some(Rate::with_burst(n, Duration::from_millis(ms), b).unwrap());
    let q = |limit, period| Some(Quota { limit, period });
    vec![
        LimitPolicy {
            rate: r(5, 1_000, 5),
            ..LimitPolicy::default()
        },
        LimitPolicy {
            rate: r(3, 2_000, 6),
            endpoint: r(2, 1_000, 2),
            quota: None,
        },
        LimitPolicy {
            rate: None,
            endpoint: None,
            quota: q(20, QuotaPeriod::Day),
        },
        LimitPolicy {
            rate: r(10, 1_000, 8),
            endpoint: r(1, 500, 1),
            quota: q(30, QuotaPeriod::Month),
        },
        LimitPolicy {
            rate: r(7, 3_000, 3),
            endpoint: None,
            quota: q(50, QuotaPeriod::Year),
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_limits_in_lease_mode_agree_with_the_memory_limiter() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let policies = small_policies();
    for seed in [1_u64, 0x5eed, 0xdead_beef] {
        let clock = ManualClock::new("2030-01-31T23:59:50Z".parse().unwrap());
        let memory = MemoryLimiter::new(Arc::new(clock.clone()));
        let redis = limiter(&url, &common::prefix(), &clock, 1_000).await;
        let lineages = [KeyId::new(), KeyId::new()];
        let keys = [
            (KeyId::new(), lineages[0]),
            (KeyId::new(), lineages[0]),
            (KeyId::new(), lineages[1]),
        ];
        let endpoints = [None, Some("GET /a"), Some("POST /b")];
        let mut rng = Rng(seed);
        for step in 0..600 {
            let (key, lineage) = keys[rng.below(3) as usize];
            let subject = Subject {
                key,
                lineage,
                endpoint: endpoints[rng.below(3) as usize],
            };
            let policy = policies[rng.below(policies.len() as u64) as usize];
            let cost = 1 + rng.below(3) as u32;
            let expected = memory.check(&subject, &policy, cost).await.unwrap();
            assert!(redis.check_now(&subject, &policy, cost).is_none());
            let got = redis.check(&subject, &policy, cost).await.unwrap();
            assert_eq!(
                got, expected,
                "seed {seed} step {step}: {subject:?} {policy:?} cost {cost}"
            );
            let advance = match rng.below(20) {
                0 => chrono::Duration::hours(7),
                1 => chrono::Duration::days(3),
                _ => chrono::Duration::microseconds(rng.below(700_000) as i64),
            };
            clock.advance(advance);
        }
        assert_eq!(redis.stats().round_trips, 600);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_acquisitions_merge_without_losing_or_doubling_units() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let (prefix, clock) = (common::prefix(), ManualClock::fixed());
    let a = Arc::new(limiter(&url, &prefix, &clock, 32).await);
    let b = Arc::new(limiter(&url, &prefix, &clock, 32).await);
    let key = KeyId::new();
    let policy = LimitPolicy {
        quota: Some(Quota {
            limit: 2_000,
            period: QuotaPeriod::Month,
        }),
        ..LimitPolicy::default()
    };
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let l = if i % 2 == 0 { a.clone() } else { b.clone() };
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let s = subject(key, None);
                let mut admitted = 0_u64;
                for _ in 0..400 {
                    if decide(&l, &s, &policy, 1).await.unwrap().is_allowed() {
                        admitted += 1;
                    }
                    tokio::task::yield_now().await;
                }
                admitted
            })
        })
        .collect();
    let mut admitted = 0;
    for t in tasks {
        admitted += t.await.unwrap();
    }
    // Never more than the limit; and since the clock is stopped, every unit charged to Redis is
    // eventually handed out by the instance holding it: exactly the limit.
    assert_eq!(admitted, 2_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_lease_serves_while_redis_is_down_then_the_failure_policy_answers() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let upstream = url.trim_start_matches("redis://").trim_end_matches('/');
    let proxy = Proxy::start(upstream.to_owned()).await;
    let clock = ManualClock::fixed();
    let l = RedisLimiter::new(common::connect(&proxy.url()).await)
        .with_prefix(common::prefix())
        .with_clock(Arc::new(clock.clone()))
        .with_call_budget(Duration::from_millis(50))
        .with_breaker(3, Duration::from_millis(100))
        .with_failure_policy(FailurePolicy::FailClosed)
        .unwrap()
        .with_leases(config(16))
        .unwrap();
    let s = subject(KeyId::new(), None);
    let policy = LimitPolicy {
        rate: Some(Rate::new(10_000, Duration::from_secs(1)).unwrap()),
        ..LimitPolicy::default()
    };
    // Leases of 1, 2, 4, 8, 16: after 16 requests, 15 units are held.
    for _ in 0..16 {
        assert!(decide(&l, &s, &policy, 1).await.unwrap().is_allowed());
    }
    proxy.set(Mode::Cut);
    let trips = l.stats().round_trips;
    for _ in 0..15 {
        assert!(decide(&l, &s, &policy, 1).await.unwrap().is_allowed());
    }
    assert_eq!(
        l.stats().round_trips,
        trips,
        "the lease served without redis"
    );
    let e = decide(&l, &s, &policy, 1).await.expect_err("fail closed");
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert_eq!(l.stats().fallbacks, 1);

    // Fail open behaves the same way around the lease.
    proxy.set(Mode::Pass);
    let proxy2 = Proxy::start(upstream.to_owned()).await;
    let open = RedisLimiter::new(common::connect(&proxy2.url()).await)
        .with_prefix(common::prefix())
        .with_clock(Arc::new(clock.clone()))
        .with_call_budget(Duration::from_millis(50))
        .with_failure_policy(FailurePolicy::FailOpen)
        .unwrap()
        .with_leases(config(2))
        .unwrap();
    for _ in 0..3 {
        assert!(decide(&open, &s, &policy, 1).await.unwrap().is_allowed());
    }
    proxy2.set(Mode::Cut);
    assert_eq!(
        decide(&open, &s, &policy, 1).await.unwrap(),
        Decision::Allowed {
            tightest: None,
            quota: None
        },
        "the lease is spent: fail open answers"
    );
    assert_eq!(open.stats().fallbacks, 1);
}

#[tokio::test]
async fn invalid_lease_configs_are_refused() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let conn = common::connect(&url).await;
    for bad in [
        LeaseConfig {
            max_units: 0,
            ..LeaseConfig::default()
        },
        LeaseConfig {
            max_age: Duration::ZERO,
            ..LeaseConfig::default()
        },
        LeaseConfig {
            max_subjects: 0,
            ..LeaseConfig::default()
        },
    ] {
        let e = RedisLimiter::new(conn.clone())
            .with_leases(bad)
            .expect_err("invalid");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad:?}");
    }
    let l = RedisLimiter::new(conn)
        .with_leases(LeaseConfig::default())
        .unwrap();
    assert_eq!(l.lease_config(), Some(&LeaseConfig::default()));
}
