//! The [`RateLimiter`] conformance suite, driven by a [`ManualClock`]: a decision's time comes
//! from that clock, so every boundary is checked exactly (GCRA rates, per-endpoint rates, UTC
//! calendar quotas per rotation lineage, all-or-nothing charging, concurrency).
//!
//! Each case takes a factory `FnOnce(ManualClock) -> impl Future<Output = L>`; build the limiter
//! on that clock (for example `|clock| async move { MyLimiter::new(Arc::new(clock)) }`). A limiter
//! whose backend takes the time as an argument (a Redis script) reads it from the same clock.
//! Run them all with [`limiter_suite!`](crate::limiter_suite).

mod combined;
mod concurrency;
mod pools;
mod quota;
mod rate;
mod reserve;

pub use combined::{
    allowed_reports_tightest_limit, empty_policy_always_allows,
    endpoint_denial_consumes_nothing_else, limited_reports_longest_wait,
    quota_denial_consumes_no_rate_budget, rate_denial_consumes_no_quota,
};
pub use concurrency::{concurrent_quota_at_limit_admits_one, concurrent_rate_at_limit_admits_one};
pub use pools::{
    a_pool_refusal_charges_nothing, credits_and_rates_are_all_or_nothing,
    credits_are_topped_up_and_set, credits_refill_on_the_chosen_day,
    one_time_credits_stay_one_time, pools_are_per_tenant_and_reported,
    twenty_keys_cannot_exceed_their_owner_pool,
};
pub use quota::{
    quota_cost_above_one, quota_day_resets_at_midnight_utc, quota_is_shared_by_lineage,
    quota_month_resets_on_the_first, quota_year_resets_on_january_first,
};
pub use rate::{
    endpoint_limits_are_per_key_and_endpoint, rate_admits_burst_then_limits, rate_cost_above_one,
    rate_is_per_key, rate_recovers_after_retry_after,
};
pub use reserve::{
    reservations_settle_once_and_expire_at_the_estimate,
    reserve_and_settle_account_for_every_credit,
};

use std::future::Future;
use std::time::Duration;

use apikey_core::limit::{LimitKind, LimitStatus, Quota, QuotaPeriod, Rate, Subject};
use apikey_core::{Decision, KeyId, LimitPolicy, ManualClock, RateLimiter};
use chrono::{DateTime, Utc};

/// Builds the limiter on a clock stopped at `start`.
async fn setup<L, F, Fut>(make: F, start: DateTime<Utc>) -> (L, ManualClock)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let clock = ManualClock::new(start);
    let limiter = make(clock.clone()).await;
    (limiter, clock)
}

/// A subject that is its own lineage.
fn subject(key: KeyId, endpoint: Option<&str>) -> Subject<'_> {
    Subject {
        key,
        lineage: key,
        endpoint,
    }
}

fn rate(requests: u32, per_ms: u64, burst: u32) -> Rate {
    Rate::with_burst(requests, Duration::from_millis(per_ms), burst).expect("valid rate")
}

fn quota(limit: u64, period: QuotaPeriod) -> Quota {
    Quota { limit, period }
}

fn policy(rate: Option<Rate>, endpoint: Option<Rate>, quota: Option<Quota>) -> LimitPolicy {
    LimitPolicy {
        rate,
        endpoint,
        quota,
    }
}

async fn check<L: RateLimiter>(l: &L, s: &Subject<'_>, p: &LimitPolicy, cost: u32) -> Decision {
    l.check(s, p, cost).await.expect("limiter check")
}

/// The tightest status of an admitted decision; panics if it was limited.
#[track_caller]
fn allowed(d: Decision, what: &str) -> Option<LimitStatus> {
    match d {
        Decision::Allowed { tightest, .. } => tightest,
        Decision::Limited { .. } => panic!("{what}: expected Allowed, got {d:?}"),
    }
}

/// The refusing status and retry-after of a refused decision; panics if it was admitted.
#[track_caller]
fn limited(d: Decision, what: &str) -> (LimitStatus, Duration) {
    match d {
        Decision::Limited { limit, retry_after } => (limit, retry_after),
        Decision::Allowed { .. } => panic!("{what}: expected Limited, got {d:?}"),
    }
}

/// The remaining count of the (single) limit reported by an admitted decision.
#[track_caller]
fn remaining(d: Decision, kind: LimitKind, what: &str) -> u64 {
    let status = allowed(d, what).unwrap_or_else(|| panic!("{what}: no limit status reported"));
    assert_eq!(status.kind, kind, "{what}: reported limit");
    status.remaining
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

fn chrono(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).expect("duration in range")
}
