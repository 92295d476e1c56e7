//! GCRA rates: exact burst, exact retry-after, recovery, per-key and per-(key, endpoint) state, cost.

use std::future::Future;
use std::time::Duration;

use apikey_core::limit::{LimitKind, LimitStatus};
use apikey_core::{KeyId, ManualClock, RateLimiter};

use super::{allowed, check, chrono, limited, policy, rate, remaining, setup, subject, us};
use crate::fixtures::base_time;

/// Burst `N` admits exactly `N` requests at one instant and the next is limited; every status is
/// the GCRA arithmetic exactly (10/s burst 10: remaining 9…0, then retry after 100 ms; 2/s burst 5:
/// five admitted, then retry after 500 ms).
pub async fn rate_admits_burst_then_limits<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, _clock) = setup(make, base_time()).await;
    let k = KeyId::new();
    let s = subject(k, None);
    let r = rate(10, 1_000, 10);
    let p = policy(Some(r), None, None);
    for i in 0..10u64 {
        let status = allowed(
            check(&limiter, &s, &p, 1).await,
            &format!("request {}", i + 1),
        );
        let want = LimitStatus {
            kind: LimitKind::Rate,
            limit: 10,
            remaining: 9 - i,
            reset_after: Duration::from_millis(100 * (i + 1)),
            window: Duration::from_secs(1),
        };
        assert_eq!(status, Some(want), "status after request {}", i + 1);
    }
    for attempt in ["11th request", "12th request"] {
        let (status, retry) = limited(check(&limiter, &s, &p, 1).await, attempt);
        assert_eq!(retry, Duration::from_millis(100), "{attempt}: retry_after");
        let want = LimitStatus {
            kind: LimitKind::Rate,
            limit: 10,
            remaining: 0,
            reset_after: Duration::from_secs(1),
            window: Duration::from_secs(1),
        };
        assert_eq!(status, want, "{attempt}: refusing limit");
    }

    let k2 = KeyId::new();
    let s2 = subject(k2, None);
    let p2 = policy(Some(rate(2, 1_000, 5)), None, None);
    for i in 0..5 {
        allowed(
            check(&limiter, &s2, &p2, 1).await,
            &format!("2/s burst 5, request {}", i + 1),
        );
    }
    let (_, retry) = limited(
        check(&limiter, &s2, &p2, 1).await,
        "2/s burst 5, 6th request",
    );
    assert_eq!(retry, Duration::from_millis(500));
}

/// After a refusal, advancing the clock by `retry_after − 1 µs` is still refused (with 1 µs to
/// wait) and by exactly `retry_after` admits; a full window restores the whole burst.
pub async fn rate_recovers_after_retry_after<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, clock) = setup(make, base_time()).await;
    let s = subject(KeyId::new(), None);
    let p = policy(Some(rate(10, 1_000, 10)), None, None);
    assert_eq!(
        remaining(check(&limiter, &s, &p, 10).await, LimitKind::Rate, "burst"),
        0
    );
    let (_, retry) = limited(check(&limiter, &s, &p, 1).await, "after the burst");
    assert_eq!(retry, Duration::from_millis(100));
    clock.advance(chrono(retry - us(1)));
    let (_, left) = limited(check(&limiter, &s, &p, 1).await, "1 µs early");
    assert_eq!(left, us(1), "retry_after 1 µs before recovery");
    clock.advance(chrono(us(1)));
    assert_eq!(
        remaining(
            check(&limiter, &s, &p, 1).await,
            LimitKind::Rate,
            "at retry_after"
        ),
        0
    );
    let (_, retry) = limited(check(&limiter, &s, &p, 1).await, "right after recovery");
    assert_eq!(retry, Duration::from_millis(100));
    clock.advance(chrono::TimeDelta::seconds(1));
    assert_eq!(
        remaining(
            check(&limiter, &s, &p, 1).await,
            LimitKind::Rate,
            "after a full window"
        ),
        9
    );
}

/// One key's exhausted rate does not limit another key.
pub async fn rate_is_per_key<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, _clock) = setup(make, base_time()).await;
    let (s1, s2) = (subject(KeyId::new(), None), subject(KeyId::new(), None));
    let p = policy(Some(rate(3, 1_000, 3)), None, None);
    for _ in 0..3 {
        allowed(check(&limiter, &s1, &p, 1).await, "key 1");
    }
    limited(check(&limiter, &s1, &p, 1).await, "key 1 exhausted");
    for i in 0..3u64 {
        let left = remaining(check(&limiter, &s2, &p, 1).await, LimitKind::Rate, "key 2");
        assert_eq!(left, 2 - i, "key 2 has its own bucket");
    }
    limited(check(&limiter, &s2, &p, 1).await, "key 2 exhausted");
    limited(check(&limiter, &s1, &p, 1).await, "key 1 still exhausted");
}

/// A request of cost `c` spends `c`: 4 then 6 empty a burst of 10, one more waits 100 ms; a cost
/// above the burst is never admitted while a cost equal to it is, once the bucket is full.
pub async fn rate_cost_above_one<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, clock) = setup(make, base_time()).await;
    let s = subject(KeyId::new(), None);
    let p = policy(Some(rate(10, 1_000, 10)), None, None);
    let status = allowed(check(&limiter, &s, &p, 4).await, "cost 4").expect("status");
    assert_eq!(
        (status.remaining, status.reset_after),
        (6, Duration::from_millis(400))
    );
    let (_, retry) = limited(check(&limiter, &s, &p, 7).await, "cost 7 with 6 left");
    assert_eq!(retry, Duration::from_millis(100));
    assert_eq!(
        remaining(check(&limiter, &s, &p, 6).await, LimitKind::Rate, "cost 6"),
        0
    );
    let (_, retry) = limited(check(&limiter, &s, &p, 3).await, "cost 3 with 0 left");
    assert_eq!(retry, Duration::from_millis(300));
    clock.advance(chrono::TimeDelta::milliseconds(300));
    assert_eq!(
        remaining(check(&limiter, &s, &p, 3).await, LimitKind::Rate, "cost 3"),
        0
    );
    clock.advance(chrono::TimeDelta::seconds(5));
    limited(check(&limiter, &s, &p, 11).await, "cost above the burst");
    assert_eq!(
        remaining(
            check(&limiter, &s, &p, 10).await,
            LimitKind::Rate,
            "cost = burst"
        ),
        0
    );
}

/// Endpoint rates are counted per (key, endpoint): exhausting `GET /a` for one key leaves its
/// `GET /b` and another key's `GET /a` untouched, and an admitted endpoint request charges the
/// key's own rate once.
pub async fn endpoint_limits_are_per_key_and_endpoint<L, F, Fut>(make: F)
where
    F: FnOnce(ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter,
{
    let (limiter, _clock) = setup(make, base_time()).await;
    let (k1, k2) = (KeyId::new(), KeyId::new());
    let e = rate(1, 1_000, 1);
    let p = policy(None, Some(e), None);
    let a1 = subject(k1, Some("GET /a"));
    let st = allowed(check(&limiter, &a1, &p, 1).await, "k1 GET /a").expect("status");
    assert_eq!(
        (st.kind, st.limit, st.remaining),
        (LimitKind::Endpoint, 1, 0)
    );
    let (status, retry) = limited(check(&limiter, &a1, &p, 1).await, "k1 GET /a again");
    assert_eq!(
        (status.kind, retry),
        (LimitKind::Endpoint, Duration::from_secs(1))
    );
    allowed(
        check(&limiter, &subject(k1, Some("GET /b")), &p, 1).await,
        "k1 GET /b",
    );
    allowed(
        check(&limiter, &subject(k2, Some("GET /a")), &p, 1).await,
        "k2 GET /a",
    );
    limited(check(&limiter, &a1, &p, 1).await, "k1 GET /a still limited");

    let k3 = KeyId::new();
    let own = rate(5, 1_000, 5);
    let both = policy(Some(own), Some(e), None);
    for ep in ["GET /a", "GET /b", "GET /c"] {
        allowed(check(&limiter, &subject(k3, Some(ep)), &both, 1).await, ep);
    }
    limited(
        check(&limiter, &subject(k3, Some("GET /a")), &both, 1).await,
        "k3 GET /a",
    );
    let left = remaining(
        check(
            &limiter,
            &subject(k3, None),
            &policy(Some(own), None, None),
            1,
        )
        .await,
        LimitKind::Rate,
        "k3 own rate",
    );
    assert_eq!(
        left, 1,
        "3 admitted + this probe spent 4 of 5; the refusal spent nothing"
    );
}
