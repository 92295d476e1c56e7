//! Shared pools and credits ([`RateLimiter::check_shared`]): a key and its pools decided
//! all-or-nothing, the refusing pool named, credits that refuse at zero, refill on the customer's
//! day and stay one-time when they are, and adjustments. Run them with
//! [`pool_limiter_suite!`](crate::pool_limiter_suite); the limiter must count credits.

use std::future::Future;
use std::sync::Arc;

use apikey_core::limit::{
    CreditAdjust, CreditPlan, LimitKind, PoolCharge, PoolKind, PoolLimits, QuotaPeriod,
    SharedCharge,
};
use apikey_core::{Decision, KeyId, LimitPolicy, ManualClock, RateLimiter, TenantId};
use chrono::{TimeDelta, TimeZone};
use tokio::sync::Barrier;

use super::{allowed, limited, policy, quota, rate, setup, subject};
use crate::fixtures::{base_time, tenant};

fn pool(t: Option<&TenantId>, kind: PoolKind, name: &str, limits: PoolLimits) -> PoolCharge {
    PoolCharge::new(t, kind, name, limits)
}

fn quota_pool(t: Option<&TenantId>, kind: PoolKind, name: &str, limit: u64) -> PoolCharge {
    pool(
        t,
        kind,
        name,
        PoolLimits {
            quota: Some(quota(limit, QuotaPeriod::Day)),
            ..PoolLimits::default()
        },
    )
}

fn credits(t: Option<&TenantId>, kind: PoolKind, name: &str, plan: CreditPlan) -> PoolCharge {
    pool(
        t,
        kind,
        name,
        PoolLimits {
            credits: Some(plan),
            ..PoolLimits::default()
        },
    )
}

async fn charge<L: RateLimiter + ?Sized>(
    l: &L,
    key: KeyId,
    own: LimitPolicy,
    t: Option<&TenantId>,
    pools: &[PoolCharge],
    cost: u32,
) -> Decision {
    l.check_shared(&SharedCharge {
        subject: subject(key, None),
        policy: own,
        tenant: t,
        pools,
        cost,
        reserve: None,
    })
    .await
    .expect("shared check")
}

/// Twenty keys of one owner, each with a daily quota of 100, share an owner pool of 500 a day:
/// 1,000 concurrent requests (50 per key) admit exactly 500.
pub async fn twenty_keys_cannot_exceed_their_owner_pool<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, _clock) = setup(make, base_time()).await;
    let limiter = Arc::new(limiter);
    let t = tenant("pools");
    let owner = Arc::new([quota_pool(Some(&t), PoolKind::Owner, "owner:acme", 500)]);
    let keys: Vec<KeyId> = (0..20).map(|_| KeyId::new()).collect();
    let own = policy(None, None, Some(quota(100, QuotaPeriod::Day)));
    let barrier = Arc::new(Barrier::new(1_000));
    let tasks: Vec<_> = (0..1_000)
        .map(|i| {
            let (limiter, barrier, owner, t) = (
                Arc::clone(&limiter),
                Arc::clone(&barrier),
                Arc::clone(&owner),
                t.clone(),
            );
            let key = keys[i % 20];
            tokio::spawn(async move {
                barrier.wait().await;
                charge(&*limiter, key, own, Some(&t), &owner[..], 1)
                    .await
                    .is_allowed()
            })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        admitted += usize::from(task.await.expect("task"));
    }
    assert_eq!(admitted, 500, "the owner's pool of 500 across 20 keys");
}

/// A pool that refuses charges nothing, not even the key's own quota; the refusal names the pool's
/// limit; a bigger pool then lets the key spend exactly its own quota's rest.
pub async fn a_pool_refusal_charges_nothing<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, _clock) = setup(make, base_time()).await;
    let t = tenant("pools");
    let key = KeyId::new();
    let own = policy(None, None, Some(quota(10, QuotaPeriod::Day)));
    let small = [quota_pool(Some(&t), PoolKind::Group, "group:free", 3)];
    for i in 0..3 {
        allowed(
            charge(&limiter, key, own, Some(&t), &small, 1).await,
            &format!("request {i}"),
        );
    }
    let (status, _) = limited(
        charge(&limiter, key, own, Some(&t), &small, 1).await,
        "the group pool is spent",
    );
    assert_eq!(status.kind, LimitKind::PoolQuota(PoolKind::Group));
    let big = [quota_pool(Some(&t), PoolKind::Group, "group:free", 1_000)];
    for i in 0..7 {
        allowed(
            charge(&limiter, key, own, Some(&t), &big, 1).await,
            &format!("after the override, request {i}"),
        );
    }
    let (status, _) = limited(
        charge(&limiter, key, own, Some(&t), &big, 1).await,
        "the key's own quota: 3 + 7 spent, none wasted on refusals",
    );
    assert_eq!(status.kind, LimitKind::Quota);
}

/// Pools of the same name in two tenants are two counters; the tightest limit of an admitted
/// decision can be a pool's; a pool rate refuses with its kind.
pub async fn pools_are_per_tenant_and_reported<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, _clock) = setup(make, base_time()).await;
    let (a, b) = (tenant("a"), tenant("b"));
    let rated = |t| {
        pool(
            Some(t),
            PoolKind::Tenant,
            "tenant",
            PoolLimits {
                rate: Some(rate(2, 60_000, 2)),
                ..PoolLimits::default()
            },
        )
    };
    let (pa, pb) = ([rated(&a)], [rated(&b)]);
    let free = LimitPolicy::default();
    let first = allowed(
        charge(&limiter, KeyId::new(), free, Some(&a), &pa, 1).await,
        "a, 1",
    )
    .expect("a status");
    assert_eq!(
        (first.kind, first.remaining),
        (LimitKind::PoolRate(PoolKind::Tenant), 1)
    );
    allowed(
        charge(&limiter, KeyId::new(), free, Some(&a), &pa, 1).await,
        "a, 2",
    );
    let (status, wait) = limited(
        charge(&limiter, KeyId::new(), free, Some(&a), &pa, 1).await,
        "a, 3",
    );
    assert_eq!(status.kind, LimitKind::PoolRate(PoolKind::Tenant));
    assert!(wait > std::time::Duration::ZERO);
    allowed(
        charge(&limiter, KeyId::new(), free, Some(&b), &pb, 1).await,
        "tenant b has its own pool",
    );
}

/// One-time credits are spent, refused at zero with no wait (they never come back), stay refused
/// forty days later; a free request (cost 0) still passes.
pub async fn one_time_credits_stay_one_time<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, clock) = setup(make, base_time()).await;
    let key = KeyId::new();
    let plan = [credits(
        None,
        PoolKind::Key,
        &format!("key:{key}"),
        CreditPlan::once(5),
    )];
    let own = LimitPolicy::default();
    allowed(charge(&limiter, key, own, None, &plan, 3).await, "3 of 5");
    let (status, wait) = limited(
        charge(&limiter, key, own, None, &plan, 3).await,
        "3 more of the 2 left",
    );
    assert_eq!(
        (status.kind, status.remaining, wait),
        (
            LimitKind::Credits(PoolKind::Key),
            2,
            std::time::Duration::ZERO
        )
    );
    allowed(
        charge(&limiter, key, own, None, &plan, 2).await,
        "the last 2",
    );
    allowed(
        charge(&limiter, key, own, None, &plan, 0).await,
        "a free request",
    );
    clock.advance(TimeDelta::days(40));
    limited(
        charge(&limiter, key, own, None, &plan, 1).await,
        "one-time credits forty days later",
    );
}

/// Credits refilled to 10 on the 20th (after an initial 5), and credits that grow by 10 on each
/// 20th: spent, refused until the 20th, refilled there (by the right amount for every 20th
/// missed).
pub async fn credits_refill_on_the_chosen_day<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    // base_time is 2030-01-15 12:00 UTC (see fixtures).
    let until_20th = chrono::Utc
        .with_ymd_and_hms(2030, 1, 20, 0, 0, 0)
        .single()
        .expect("date")
        - base_time();
    let (limiter, clock) = setup(make, base_time()).await;
    let t = tenant("billing");
    let to = [credits(
        Some(&t),
        PoolKind::Owner,
        "owner:acme",
        CreditPlan {
            initial: 5,
            refill: Some("10/month@20".parse().expect("refill")),
        },
    )];
    let by = [credits(
        Some(&t),
        PoolKind::Key,
        "key:by",
        CreditPlan {
            initial: 5,
            refill: Some("+10/month@20".parse().expect("refill")),
        },
    )];
    let own = LimitPolicy::default();
    let key = KeyId::new();
    for p in [&to, &by] {
        allowed(
            charge(&limiter, key, own, Some(&t), p, 5).await,
            "the initial 5",
        );
        let (_, wait) = limited(charge(&limiter, key, own, Some(&t), p, 1).await, "spent");
        assert_eq!(
            TimeDelta::from_std(wait).expect("wait"),
            until_20th,
            "refused until the 20th"
        );
    }
    clock.advance(until_20th);
    allowed(
        charge(&limiter, key, own, Some(&t), &to, 10).await,
        "refilled to 10",
    );
    limited(
        charge(&limiter, key, own, Some(&t), &to, 1).await,
        "to 10, not more",
    );
    // Two more 20ths pass: "by" adds 10 for each of the three.
    clock.advance(TimeDelta::days(62));
    allowed(
        charge(&limiter, key, own, Some(&t), &by, 30).await,
        "three refills of 10",
    );
    limited(
        charge(&limiter, key, own, Some(&t), &by, 1).await,
        "and no more",
    );
    allowed(
        charge(&limiter, key, own, Some(&t), &to, 10).await,
        "to: 10 again, not 30",
    );
    limited(
        charge(&limiter, key, own, Some(&t), &to, 1).await,
        "to: not accumulated",
    );
}

/// Top-up adds to the balance and set replaces it; each is what the next decision sees, and the
/// balance can be read without charging.
pub async fn credits_are_topped_up_and_set<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, _clock) = setup(make, base_time()).await;
    let key = KeyId::new();
    let p = credits(
        None,
        PoolKind::Key,
        &format!("key:{key}"),
        CreditPlan::once(2),
    );
    let plan = [p.clone()];
    let own = LimitPolicy::default();
    assert_eq!(limiter.credits(None, &p).await.expect("read").balance, 2);
    allowed(charge(&limiter, key, own, None, &plan, 2).await, "spend 2");
    let after = limiter
        .adjust_credits(None, &p, CreditAdjust::TopUp(7))
        .await
        .expect("top up");
    assert_eq!((after.balance, after.next_refill), (7, None));
    allowed(
        charge(&limiter, key, own, None, &plan, 7).await,
        "spend the 7",
    );
    limited(charge(&limiter, key, own, None, &plan, 1).await, "spent");
    limiter
        .adjust_credits(None, &p, CreditAdjust::Set(1))
        .await
        .expect("set");
    assert_eq!(limiter.credits(None, &p).await.expect("read").balance, 1);
    allowed(
        charge(&limiter, key, own, None, &plan, 1).await,
        "the 1 set",
    );
    assert!(
        limiter
            .adjust_credits(None, &p, CreditAdjust::TopUp(u64::MAX))
            .await
            .is_err(),
        "an overflowing top-up is refused"
    );
    assert_eq!(
        limiter.credits(None, &p).await.expect("read").balance,
        0,
        "and changes nothing"
    );
}

/// Credits that refuse charge no rate, and a key's own rate that refuses spends no credits.
pub async fn credits_and_rates_are_all_or_nothing<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, _clock) = setup(make, base_time()).await;
    let t = tenant("billing");
    let key = KeyId::new();
    let p = credits(Some(&t), PoolKind::Owner, "owner:o", CreditPlan::once(3));
    let plan = [p.clone()];
    let own = policy(Some(rate(2, 60_000, 2)), None, None);
    allowed(
        charge(&limiter, key, own, Some(&t), &plan, 2).await,
        "2 credits, 2 rate",
    );
    let (status, _) = limited(
        charge(&limiter, key, own, Some(&t), &plan, 1).await,
        "the rate refuses",
    );
    assert_eq!(status.kind, LimitKind::Rate);
    assert_eq!(
        limiter.credits(Some(&t), &p).await.expect("read").balance,
        1,
        "a refused request spends no credits"
    );
}
