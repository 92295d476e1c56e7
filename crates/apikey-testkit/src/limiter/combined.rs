//! One decision over rate, endpoint rate and quota together: all-or-nothing charging, the
//! tightest limit reported on admission, the longest wait reported on refusal.

use std::future::Future;
use std::time::Duration;

use apikey_core::limit::{LimitKind, LimitStatus, QuotaPeriod};
use apikey_core::{KeyId, LimitPolicy, ManualClock, RateLimiter};

use super::{allowed, check, limited, policy, quota, rate, remaining, setup, subject};
use crate::fixtures::base_time;

const HALF_DAY: Duration = Duration::from_secs(12 * 3600);

/// A request refused by the quota charges neither the key's rate nor the endpoint's rate.
pub async fn quota_denial_consumes_no_rate_budget<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, _clock) = setup(make, base_time()).await;
    let k = KeyId::new();
    let (r, e, q) = (
        rate(10, 1_000, 10),
        rate(10, 1_000, 10),
        quota(2, QuotaPeriod::Day),
    );
    let s = subject(k, Some("GET /x"));
    let all = policy(Some(r), Some(e), Some(q));
    allowed(check(&limiter, &s, &all, 1).await, "1st");
    allowed(check(&limiter, &s, &all, 1).await, "2nd");
    for _ in 0..3 {
        let (status, _) = limited(check(&limiter, &s, &all, 1).await, "over quota");
        assert_eq!(status.kind, LimitKind::Quota);
    }
    let rate_left = remaining(
        check(&limiter, &subject(k, None), &policy(Some(r), None, None), 1).await,
        LimitKind::Rate,
        "rate probe",
    );
    assert_eq!(
        rate_left, 7,
        "2 admitted + the probe; quota refusals charged no rate"
    );
    let endpoint_left = remaining(
        check(&limiter, &s, &policy(None, Some(e), None), 1).await,
        LimitKind::Endpoint,
        "endpoint probe",
    );
    assert_eq!(endpoint_left, 7, "quota refusals charged no endpoint rate");
}

/// A request refused by the key's rate charges no quota.
pub async fn rate_denial_consumes_no_quota<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, _clock) = setup(make, base_time()).await;
    let s = subject(KeyId::new(), None);
    let (r, q) = (rate(2, 1_000, 2), quota(10, QuotaPeriod::Day));
    let both = policy(Some(r), None, Some(q));
    allowed(check(&limiter, &s, &both, 1).await, "1st");
    allowed(check(&limiter, &s, &both, 1).await, "2nd");
    for _ in 0..3 {
        let (status, _) = limited(check(&limiter, &s, &both, 1).await, "over rate");
        assert_eq!(status.kind, LimitKind::Rate);
    }
    let left = remaining(
        check(&limiter, &s, &policy(None, None, Some(q)), 1).await,
        LimitKind::Quota,
        "quota probe",
    );
    assert_eq!(
        left, 7,
        "2 admitted + the probe; rate refusals charged no quota"
    );
}

/// A request refused by the endpoint rate charges neither the key's rate nor the quota.
pub async fn endpoint_denial_consumes_nothing_else<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, _clock) = setup(make, base_time()).await;
    let k = KeyId::new();
    let s = subject(k, Some("GET /x"));
    let (r, e, q) = (
        rate(10, 1_000, 10),
        rate(1, 1_000, 1),
        quota(100, QuotaPeriod::Day),
    );
    let all = policy(Some(r), Some(e), Some(q));
    allowed(check(&limiter, &s, &all, 1).await, "1st");
    for _ in 0..3 {
        let (status, _) = limited(check(&limiter, &s, &all, 1).await, "over endpoint rate");
        assert_eq!(status.kind, LimitKind::Endpoint);
    }
    let probe = policy(Some(r), None, None);
    let rate_left = remaining(
        check(&limiter, &s, &probe, 1).await,
        LimitKind::Rate,
        "rate",
    );
    assert_eq!(rate_left, 8);
    let probe = policy(None, None, Some(q));
    let quota_left = remaining(
        check(&limiter, &s, &probe, 1).await,
        LimitKind::Quota,
        "quota",
    );
    assert_eq!(quota_left, 98);
}

/// `Allowed { tightest }` is the limit with the fewest remaining (ties: the later reset), whole:
/// kind, size, remaining, reset and window.
pub async fn allowed_reports_tightest_limit<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, _clock) = setup(make, base_time()).await;
    let second = Duration::from_secs(1);
    let day = Duration::from_secs(86_400);
    let cases = [
        (
            policy(
                Some(rate(10, 1_000, 10)),
                None,
                Some(quota(3, QuotaPeriod::Day)),
            ),
            LimitStatus {
                kind: LimitKind::Quota,
                limit: 3,
                remaining: 2,
                reset_after: HALF_DAY,
                window: day,
            },
        ),
        (
            policy(
                Some(rate(2, 1_000, 2)),
                None,
                Some(quota(100, QuotaPeriod::Day)),
            ),
            LimitStatus {
                kind: LimitKind::Rate,
                limit: 2,
                remaining: 1,
                reset_after: Duration::from_millis(500),
                window: second,
            },
        ),
        (
            policy(
                Some(rate(10, 1_000, 10)),
                Some(rate(5, 1_000, 5)),
                Some(quota(100, QuotaPeriod::Day)),
            ),
            LimitStatus {
                kind: LimitKind::Endpoint,
                limit: 5,
                remaining: 4,
                reset_after: Duration::from_millis(200),
                window: second,
            },
        ),
        (
            // Tie on remaining (2 and 2): the later reset (the quota's) is tighter.
            policy(
                Some(rate(3, 1_000, 3)),
                None,
                Some(quota(3, QuotaPeriod::Day)),
            ),
            LimitStatus {
                kind: LimitKind::Quota,
                limit: 3,
                remaining: 2,
                reset_after: HALF_DAY,
                window: day,
            },
        ),
    ];
    for (p, want) in cases {
        let s = subject(KeyId::new(), Some("GET /y"));
        let got = allowed(check(&limiter, &s, &p, 1).await, "first request");
        assert_eq!(got, Some(want), "tightest for {p:?}");
    }
}

/// When several limits refuse, `Limited` names the one with the longest wait and its retry-after.
pub async fn limited_reports_longest_wait<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, _clock) = setup(make, base_time()).await;
    let s = subject(KeyId::new(), None);
    let p = policy(
        Some(rate(2, 1_000, 2)),
        None,
        Some(quota(2, QuotaPeriod::Day)),
    );
    allowed(check(&limiter, &s, &p, 1).await, "1st");
    allowed(check(&limiter, &s, &p, 1).await, "2nd");
    let (status, retry) = limited(check(&limiter, &s, &p, 1).await, "rate and quota refuse");
    assert_eq!((status.kind, retry), (LimitKind::Quota, HALF_DAY));

    let s = subject(KeyId::new(), Some("GET /slow"));
    let p = policy(Some(rate(1, 1_000, 1)), Some(rate(1, 10_000, 1)), None);
    allowed(check(&limiter, &s, &p, 1).await, "1st");
    let (status, retry) = limited(check(&limiter, &s, &p, 1).await, "rate and endpoint refuse");
    assert_eq!(
        (status.kind, retry),
        (LimitKind::Endpoint, Duration::from_secs(10))
    );
}

/// A policy with no limits admits every request and reports no limit.
pub async fn empty_policy_always_allows<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, _clock) = setup(make, base_time()).await;
    let s = subject(KeyId::new(), Some("GET /z"));
    for cost in [1, 1, 1_000, u32::MAX] {
        let got = allowed(
            check(&limiter, &s, &LimitPolicy::default(), cost).await,
            "empty policy",
        );
        assert_eq!(got, None);
    }
}
