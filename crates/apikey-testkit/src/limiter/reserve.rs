//! Reserve and settle ([`RateLimiter::settle`]): a reservation charges its estimate to the
//! credits, settles once (retries and concurrent settles answer as the first did), refunds or
//! charges the difference (the extra never past the balance), and, abandoned, expires settled at
//! its estimate. Over random sequences the credits spent are exactly the settled amounts plus the
//! estimates of expired reservations. Run with [`pool_limiter_suite!`](crate::pool_limiter_suite).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::limit::{
    CreditPlan, PoolCharge, PoolKind, PoolLimits, Reserve, Settlement, SharedCharge,
};
use apikey_core::{Decision, KeyId, LimitPolicy, ManualClock, RateLimiter, TenantId};
use chrono::TimeDelta;
use uuid::Uuid;

use super::{setup, subject};
use crate::fixtures::{base_time, tenant};

const TTL: Duration = Duration::from_secs(60);

fn pool(t: &TenantId, initial: u64) -> Vec<PoolCharge> {
    vec![PoolCharge::new(
        Some(t),
        PoolKind::Owner,
        "owner:metered",
        PoolLimits {
            credits: Some(CreditPlan::once(initial)),
            ..PoolLimits::default()
        },
    )]
}

async fn reserve<L: RateLimiter + ?Sized>(
    l: &L,
    t: &TenantId,
    pools: &[PoolCharge],
    estimate: u64,
) -> Option<Uuid> {
    let key = KeyId::new();
    let id = Uuid::now_v7();
    let d = l
        .check_shared(&SharedCharge {
            subject: subject(key, None),
            policy: LimitPolicy::default(),
            tenant: Some(t),
            pools,
            cost: 1,
            reserve: Some(Reserve {
                id,
                estimate,
                ttl: TTL,
            }),
        })
        .await
        .expect("reserve");
    matches!(d, Decision::Allowed { .. }).then_some(id)
}

async fn balance<L: RateLimiter + ?Sized>(l: &L, t: &TenantId, pools: &[PoolCharge]) -> u64 {
    l.credits(Some(t), &pools[0])
        .await
        .expect("balance")
        .balance
}

/// One reservation through its life: the estimate charged, a settle below it refunded, a retry
/// answered the same, a release refunding all, an extra above the estimate capped at the
/// balance, an abandoned one expiring at its estimate, and an estimate above the balance refused.
pub async fn reservations_settle_once_and_expire_at_the_estimate<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (l, clock) = setup(make, base_time()).await;
    let t = tenant("reserve");
    let p = pool(&t, 100);
    let a = reserve(&l, &t, &p, 30).await.expect("admitted");
    assert_eq!(balance(&l, &t, &p).await, 70, "the estimate is charged");
    let settled = l.settle(Some(&t), &p, a, 10).await.expect("settle");
    assert_eq!(settled, Settlement::Settled { charged: 10 });
    assert_eq!(balance(&l, &t, &p).await, 90, "20 refunded");
    let again = l.settle(Some(&t), &p, a, 50).await.expect("retry");
    assert_eq!(again, Settlement::AlreadySettled { charged: 10 });
    assert_eq!(balance(&l, &t, &p).await, 90, "a retry changes nothing");

    let b = reserve(&l, &t, &p, 30).await.expect("admitted");
    assert_eq!(
        l.settle(Some(&t), &p, b, 0).await.expect("release"),
        Settlement::Settled { charged: 0 }
    );
    assert_eq!(balance(&l, &t, &p).await, 90);

    let c = reserve(&l, &t, &p, 50).await.expect("admitted");
    assert_eq!(balance(&l, &t, &p).await, 40);
    assert_eq!(
        l.settle(Some(&t), &p, c, 500).await.expect("settle above"),
        Settlement::Settled { charged: 90 },
        "the extra stops at the 40 left"
    );
    assert_eq!(balance(&l, &t, &p).await, 0);

    l.adjust_credits(Some(&t), &p[0], apikey_core::limit::CreditAdjust::Set(60))
        .await
        .expect("set");
    let abandoned = reserve(&l, &t, &p, 25).await.expect("admitted");
    assert!(
        reserve(&l, &t, &p, 36).await.is_none(),
        "an estimate above the 35 left is refused"
    );
    clock.advance(TimeDelta::seconds(61));
    assert_eq!(
        l.settle(Some(&t), &p, abandoned, 0).await.expect("late"),
        Settlement::Expired
    );
    assert_eq!(
        balance(&l, &t, &p).await,
        35,
        "an expired reservation cost its estimate"
    );
    assert_eq!(
        l.settle(Some(&t), &p, Uuid::now_v7(), 1)
            .await
            .expect("unknown"),
        Settlement::Expired
    );
}

/// xorshift64*: reproducible sequences without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Random sequences of reservations, settles (some retried, some raced in pairs), abandoned
/// reservations and clock moves past their lifetime: the credits spent always equal the settled
/// amounts plus the estimates of the reservations that expired, and never exceed the balance.
pub async fn reserve_and_settle_account_for_every_credit<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (l, clock) = setup(make, base_time()).await;
    let l = Arc::new(l);
    for seed in [3_u64, 0xfeed, 0x5eed_1234] {
        let t = tenant(&format!("prop-{seed}"));
        let p = Arc::new(pool(&t, 500));
        let mut rng = Rng(seed);
        // (id, estimate) of reservations not settled yet.
        let mut open: Vec<(Uuid, u64)> = Vec::new();
        let mut settled: Vec<(Uuid, u64)> = Vec::new();
        let mut expired_cost = 0;
        let mut settled_total = 0;
        for step in 0..300 {
            match rng.below(10) {
                0..=3 => {
                    let estimate = rng.below(40);
                    if let Some(id) = reserve(&*l, &t, &p, estimate).await {
                        open.push((id, estimate));
                    }
                }
                4..=6 if !open.is_empty() => {
                    let (id, estimate) = open.swap_remove(rng.below(open.len() as u64) as usize);
                    let actual = rng.below(80);
                    let raced = rng.below(3) == 0;
                    let (first, second) = if raced {
                        let (a, b) = tokio::join!(
                            l.settle(Some(&t), &p, id, actual),
                            l.settle(Some(&t), &p, id, actual)
                        );
                        (a.expect("settle"), Some(b.expect("settle")))
                    } else {
                        (
                            l.settle(Some(&t), &p, id, actual).await.expect("settle"),
                            None,
                        )
                    };
                    let charged = match (first, second) {
                        (
                            Settlement::Settled { charged },
                            None | Some(Settlement::AlreadySettled { .. }),
                        )
                        | (
                            Settlement::AlreadySettled { charged },
                            Some(Settlement::Settled { .. }),
                        ) => charged,
                        other => panic!("seed {seed} step {step}: {other:?}"),
                    };
                    if let Some(Settlement::AlreadySettled { charged: c })
                    | Some(Settlement::Settled { charged: c }) = second
                    {
                        assert_eq!(c, charged, "seed {seed} step {step}: both answers agree");
                    }
                    assert!(charged <= actual.max(estimate), "seed {seed} step {step}");
                    settled_total += charged;
                    settled.push((id, charged));
                }
                7 if !settled.is_empty() => {
                    // A retry of an earlier settle answers as the first (unless it expired).
                    let (id, charged) = settled[rng.below(settled.len() as u64) as usize];
                    match l
                        .settle(Some(&t), &p, id, rng.below(80))
                        .await
                        .expect("retry")
                    {
                        Settlement::AlreadySettled { charged: c } => assert_eq!(c, charged),
                        Settlement::Expired => {}
                        other => panic!("seed {seed} step {step}: retry answered {other:?}"),
                    }
                }
                8 if !open.is_empty() => {
                    // The client crashed: the reservation is never settled.
                    let (_, estimate) = open.swap_remove(rng.below(open.len() as u64) as usize);
                    expired_cost += estimate;
                }
                9 if rng.below(4) == 0 => {
                    clock.advance(TimeDelta::seconds(61));
                    // Every open reservation expired: it cost its estimate.
                    for (id, estimate) in open.drain(..) {
                        expired_cost += estimate;
                        assert_eq!(
                            l.settle(Some(&t), &p, id, 0).await.expect("late"),
                            Settlement::Expired,
                            "seed {seed} step {step}"
                        );
                    }
                    settled.clear();
                }
                _ => {}
            }
        }
        for (_, estimate) in open.drain(..) {
            expired_cost += estimate;
        }
        clock.advance(TimeDelta::seconds(61));
        let spent: u64 = 500 - balance(&*l, &t, &p).await;
        assert_eq!(
            spent,
            settled_total + expired_cost,
            "seed {seed}: spent = settled + expired estimates"
        );
    }
}
