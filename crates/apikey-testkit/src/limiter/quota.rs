//! Calendar quotas in UTC: exact resets at day, month and year boundaries, shared by a rotation
//! lineage, spent by cost.

use std::future::Future;
use std::time::Duration;

use apikey_core::limit::{LimitKind, LimitStatus, QuotaPeriod, Subject};
use apikey_core::{KeyId, ManualClock, RateLimiter};
use chrono::{DateTime, TimeDelta, Utc};

use super::{allowed, check, limited, policy, quota, remaining, setup, subject};
use crate::fixtures::base_time;

const DAY: Duration = Duration::from_secs(86_400);

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("valid instant")
        .with_timezone(&Utc)
}

fn days(n: u64) -> Duration {
    DAY * u32::try_from(n).expect("small")
}

fn status(limit: u64, remaining: u64, reset_after: Duration, window: Duration) -> LimitStatus {
    LimitStatus {
        kind: LimitKind::Quota,
        limit,
        remaining,
        reset_after,
        window,
    }
}

/// A daily quota entered at noon: the third of 2 requests waits exactly 12 h, is still refused
/// 1 ms before midnight UTC and admitted at midnight, with a fresh day's budget.
pub async fn quota_day_resets_at_midnight_utc<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, clock) = setup(make, base_time()).await;
    let s = subject(KeyId::new(), None);
    let p = policy(None, None, Some(quota(2, QuotaPeriod::Day)));
    let half = Duration::from_secs(12 * 3600);
    let first = allowed(check(&limiter, &s, &p, 1).await, "1st");
    assert_eq!(first, Some(status(2, 1, half, DAY)));
    assert_eq!(
        remaining(check(&limiter, &s, &p, 1).await, LimitKind::Quota, "2nd"),
        0
    );
    let (refused, retry) = limited(check(&limiter, &s, &p, 1).await, "3rd");
    assert_eq!(refused, status(2, 0, half, DAY));
    assert_eq!(retry, half);
    clock.advance(TimeDelta::hours(12) - TimeDelta::milliseconds(1));
    let (_, retry) = limited(check(&limiter, &s, &p, 1).await, "23:59:59.999");
    assert_eq!(retry, Duration::from_millis(1));
    clock.advance(TimeDelta::milliseconds(1));
    let next_day = allowed(check(&limiter, &s, &p, 1).await, "midnight");
    assert_eq!(next_day, Some(status(2, 1, DAY, DAY)));
}

/// A monthly quota entered on Jan 31 23:59:59 UTC resets at Feb 1 00:00:00 (not a month later),
/// and February's window lasts its 28 days.
pub async fn quota_month_resets_on_the_first<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, clock) = setup(make, at("2030-01-31T23:59:59Z")).await;
    let s = subject(KeyId::new(), None);
    let p = policy(None, None, Some(quota(1, QuotaPeriod::Month)));
    let first = allowed(check(&limiter, &s, &p, 1).await, "Jan 31 23:59:59");
    assert_eq!(first, Some(status(1, 0, Duration::from_secs(1), days(31))));
    let (refused, retry) = limited(check(&limiter, &s, &p, 1).await, "second in January");
    assert_eq!(retry, Duration::from_secs(1));
    assert_eq!(refused, status(1, 0, Duration::from_secs(1), days(31)));
    clock.advance(TimeDelta::seconds(1));
    let feb = allowed(check(&limiter, &s, &p, 1).await, "Feb 1 00:00:00");
    assert_eq!(feb, Some(status(1, 0, days(28), days(28))));
    let (_, retry) = limited(check(&limiter, &s, &p, 1).await, "second in February");
    assert_eq!(retry, days(28));
    clock.set(at("2030-02-28T23:59:59.999Z"));
    let (_, retry) = limited(check(&limiter, &s, &p, 1).await, "end of February");
    assert_eq!(retry, Duration::from_millis(1));
    clock.advance(TimeDelta::milliseconds(1));
    allowed(check(&limiter, &s, &p, 1).await, "Mar 1 00:00:00");
}

/// A yearly quota entered 1 ms before the new year resets exactly at Jan 1 00:00:00 UTC.
pub async fn quota_year_resets_on_january_first<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, clock) = setup(make, at("2030-12-31T23:59:59.999Z")).await;
    let s = subject(KeyId::new(), None);
    let p = policy(None, None, Some(quota(1, QuotaPeriod::Year)));
    let first = allowed(check(&limiter, &s, &p, 1).await, "Dec 31 23:59:59.999");
    assert_eq!(
        first,
        Some(status(1, 0, Duration::from_millis(1), days(365)))
    );
    let (_, retry) = limited(check(&limiter, &s, &p, 1).await, "second in 2030");
    assert_eq!(retry, Duration::from_millis(1));
    clock.advance(TimeDelta::milliseconds(1));
    let next = allowed(check(&limiter, &s, &p, 1).await, "Jan 1 2031");
    assert_eq!(next, Some(status(1, 0, days(365), days(365))));
}

/// Two keys of one rotation lineage spend one quota; a key of another lineage has its own.
pub async fn quota_is_shared_by_lineage<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, _clock) = setup(make, base_time()).await;
    let root = KeyId::new();
    let old = Subject {
        key: root,
        lineage: root,
        endpoint: None,
    };
    let rotated = Subject {
        key: KeyId::new(),
        lineage: root,
        endpoint: None,
    };
    let stranger = subject(KeyId::new(), None);
    let p = policy(None, None, Some(quota(3, QuotaPeriod::Day)));
    let q = LimitKind::Quota;
    assert_eq!(
        remaining(check(&limiter, &old, &p, 1).await, q, "old key"),
        2
    );
    assert_eq!(
        remaining(check(&limiter, &rotated, &p, 1).await, q, "rotated key"),
        1
    );
    assert_eq!(
        remaining(check(&limiter, &old, &p, 1).await, q, "old key again"),
        0
    );
    limited(
        check(&limiter, &rotated, &p, 1).await,
        "rotated key, lineage exhausted",
    );
    limited(
        check(&limiter, &old, &p, 1).await,
        "old key, lineage exhausted",
    );
    assert_eq!(
        remaining(check(&limiter, &stranger, &p, 1).await, q, "other lineage"),
        2
    );
}

/// A request of cost `c` spends `c` of the quota and is refused whole when `c` exceeds what is
/// left.
pub async fn quota_cost_above_one<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, _clock) = setup(make, base_time()).await;
    let s = subject(KeyId::new(), None);
    let p = policy(None, None, Some(quota(10, QuotaPeriod::Day)));
    let q = LimitKind::Quota;
    assert_eq!(remaining(check(&limiter, &s, &p, 7).await, q, "cost 7"), 3);
    let (_, retry) = limited(check(&limiter, &s, &p, 4).await, "cost 4 with 3 left");
    assert_eq!(retry, Duration::from_secs(12 * 3600));
    assert_eq!(remaining(check(&limiter, &s, &p, 3).await, q, "cost 3"), 0);
    limited(check(&limiter, &s, &p, 1).await, "cost 1 with 0 left");
    limited(
        check(&limiter, &subject(KeyId::new(), None), &p, 11).await,
        "cost above the quota",
    );
}
