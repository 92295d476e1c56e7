//! Differential test: the same random sequence of decisions (keys, lineages, endpoints, costs,
//! policies, clock moves across calendar edges) gives the same decisions, statuses included, from
//! the Redis limiter (explicit `now`) as from the in-process `MemoryLimiter`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use apikey_core::limit::QuotaPeriod;
use apikey_core::{KeyId, LimitPolicy, ManualClock, Quota, Rate, RateLimiter, Subject};
use apikey_memory::MemoryLimiter;
use apikey_redis::RedisLimiter;

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

fn policies() -> Vec<LimitPolicy> {
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
            rate: r(10, 1_000, 4),
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
async fn redis_and_memory_limiters_agree_on_random_sequences() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let policies = policies();
    for seed in [1_u64, 0x5eed, 0xdead_beef] {
        let clock = ManualClock::new("2030-01-31T23:59:50Z".parse().unwrap());
        let memory = MemoryLimiter::new(Arc::new(clock.clone()));
        let redis = RedisLimiter::new(common::connect(&url).await)
            .with_prefix(common::prefix())
            .with_clock(Arc::new(clock.clone()));
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
    }
}

/// Pools and credits: keys of two owners in one tenant, each decision charged against the key's
/// own limits, its owner's pool (rate and quota), its tenant's pool (a quota and monthly credits
/// refilled by an amount) and sometimes its own one-time credits, with random costs (0
/// included), clock moves across refill days, and top-ups. Redis and memory agree step by step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_and_memory_limiters_agree_on_pools_and_credits() {
    use apikey_core::TenantId;
    use apikey_core::limit::{
        CreditAdjust, CreditPlan, PoolCharge, PoolKind, PoolLimits, SharedCharge,
    };

    let Some(url) = common::redis_url() else {
        return;
    };
    let policies = policies();
    let tenant = TenantId::new("diff").unwrap();
    let t = Some(&tenant);
    let r = |n, ms, b| Some(Rate::with_burst(n, Duration::from_millis(ms), b).unwrap());
    let owners: Vec<PoolCharge> = ["owner:a", "owner:b"]
        .iter()
        .map(|name| {
            PoolCharge::new(
                t,
                PoolKind::Owner,
                *name,
                PoolLimits {
                    rate: r(8, 1_000, 6),
                    quota: Some(Quota {
                        limit: 60,
                        period: QuotaPeriod::Day,
                    }),
                    credits: None,
                },
            )
        })
        .collect();
    let whole = PoolCharge::new(
        t,
        PoolKind::Tenant,
        "tenant",
        PoolLimits {
            rate: None,
            quota: Some(Quota {
                limit: 150,
                period: QuotaPeriod::Month,
            }),
            credits: Some(CreditPlan {
                initial: 40,
                refill: Some("+25/month@3 Europe/Paris".parse().unwrap()),
            }),
        },
    );
    for seed in [7_u64, 0xc0ffee] {
        let clock = ManualClock::new("2030-01-31T23:59:50Z".parse().unwrap());
        let memory = MemoryLimiter::new(Arc::new(clock.clone())).with_volatile_credits();
        let redis = RedisLimiter::new(common::connect(&url).await)
            .with_prefix(common::prefix())
            .with_clock(Arc::new(clock.clone()));
        let keys: Vec<(KeyId, usize)> = (0..4).map(|i| (KeyId::new(), i % 2)).collect();
        let own_credits: Vec<PoolCharge> = keys
            .iter()
            .map(|(k, _)| {
                PoolCharge::new(
                    t,
                    PoolKind::Key,
                    format!("key:{k}"),
                    PoolLimits {
                        credits: Some(CreditPlan::once(12)),
                        ..PoolLimits::default()
                    },
                )
            })
            .collect();
        let mut rng = Rng(seed);
        for step in 0..500 {
            let k = rng.below(4) as usize;
            let (key, owner) = keys[k];
            let mut pools = vec![owners[owner].clone(), whole.clone()];
            if rng.below(2) == 0 {
                pools.insert(0, own_credits[k].clone());
            }
            let charge = SharedCharge {
                subject: Subject {
                    key,
                    lineage: key,
                    endpoint: None,
                },
                policy: policies[rng.below(policies.len() as u64) as usize],
                tenant: t,
                pools: &pools,
                cost: rng.below(3) as u32,
                reserve: None,
            };
            let expected = memory.check_shared(&charge).await.unwrap();
            let got = redis.check_shared(&charge).await.unwrap();
            assert_eq!(got, expected, "seed {seed} step {step}: {charge:?}");
            if rng.below(40) == 0 {
                let adjust = CreditAdjust::TopUp(rng.below(20));
                assert_eq!(
                    redis.adjust_credits(t, &whole, adjust).await.unwrap(),
                    memory.adjust_credits(t, &whole, adjust).await.unwrap(),
                    "seed {seed} step {step}: top-up"
                );
            }
            let advance = match rng.below(25) {
                0 => chrono::Duration::hours(9),
                1 => chrono::Duration::days(6),
                _ => chrono::Duration::microseconds(rng.below(400_000) as i64),
            };
            clock.advance(advance);
        }
    }
}
