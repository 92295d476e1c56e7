//! Unit tests of [`MemoryLimiter`]: GCRA boundaries, endpoints, calendar quotas, lineages,
//! all-or-nothing charging, eviction and concurrency. Time moves only with `ManualClock`.

use std::sync::Arc;
use std::time::Duration;

use apikey_core::limit::LimitKind;
use apikey_core::{
    Decision, ErrorKind, KeyId, LimitPolicy, ManualClock, Quota, QuotaPeriod, Rate, RateLimiter,
    Subject,
};
use chrono::{TimeZone, Utc};

use super::MemoryLimiter;

fn limiter() -> (ManualClock, MemoryLimiter) {
    let clock = ManualClock::fixed();
    (clock.clone(), MemoryLimiter::new(Arc::new(clock)))
}

fn subject(key: KeyId) -> Subject<'static> {
    Subject {
        key,
        lineage: key,
        endpoint: None,
    }
}

fn rate(n: u32, secs: u64) -> LimitPolicy {
    LimitPolicy {
        rate: Some(Rate::new(n, Duration::from_secs(secs)).unwrap()),
        ..LimitPolicy::default()
    }
}

fn quota(limit: u64, period: QuotaPeriod) -> LimitPolicy {
    LimitPolicy {
        quota: Some(Quota { limit, period }),
        ..LimitPolicy::default()
    }
}

fn check(l: &MemoryLimiter, s: &Subject<'_>, p: &LimitPolicy, cost: u32) -> Decision {
    l.check_now(s, p, cost).unwrap().unwrap()
}

fn ms(n: i64) -> chrono::Duration {
    chrono::Duration::milliseconds(n)
}

#[test]
fn rate_admits_the_burst_then_one_per_interval() {
    let (clock, l) = limiter();
    let s = subject(KeyId::new());
    let p = rate(10, 1);
    for left in (0..10).rev() {
        let Decision::Allowed {
            tightest: Some(t), ..
        } = check(&l, &s, &p, 1)
        else {
            panic!()
        };
        assert_eq!((t.kind, t.limit, t.remaining), (LimitKind::Rate, 10, left));
        assert_eq!(t.window, Duration::from_secs(1));
    }
    let Decision::Limited { limit, retry_after } = check(&l, &s, &p, 1) else {
        panic!()
    };
    assert_eq!(retry_after, Duration::from_millis(100));
    assert_eq!((limit.kind, limit.remaining), (LimitKind::Rate, 0));

    clock.advance(ms(99));
    assert!(!check(&l, &s, &p, 1).is_allowed());
    clock.advance(ms(1));
    assert!(check(&l, &s, &p, 1).is_allowed());
    assert!(!check(&l, &s, &p, 1).is_allowed());
}

#[test]
fn empty_policy_allows_without_tracking_and_bad_policy_is_invalid_input() {
    let (_clock, l) = limiter();
    let s = subject(KeyId::new());
    assert_eq!(
        check(&l, &s, &LimitPolicy::default(), 1),
        Decision::Allowed {
            tightest: None,
            quota: None
        }
    );
    assert_eq!(l.tracked(), 0);

    let broken = LimitPolicy {
        rate: Some(Rate {
            requests: 0,
            per_ms: 1000,
            burst: 1,
        }),
        ..LimitPolicy::default()
    };
    let err = l.check_now(&s, &broken, 1).unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn endpoint_limits_are_separate_per_endpoint_and_per_key() {
    let (_clock, l) = limiter();
    let key = KeyId::new();
    let p = LimitPolicy {
        endpoint: Some(Rate::new(2, Duration::from_secs(60)).unwrap()),
        ..LimitPolicy::default()
    };
    let get = Subject {
        endpoint: Some("GET /a"),
        ..subject(key)
    };
    let post = Subject {
        endpoint: Some("POST /a"),
        ..subject(key)
    };
    for _ in 0..2 {
        assert!(check(&l, &get, &p, 1).is_allowed());
    }
    let Decision::Limited { limit, .. } = check(&l, &get, &p, 1) else {
        panic!()
    };
    assert_eq!(limit.kind, LimitKind::Endpoint);
    assert!(check(&l, &post, &p, 1).is_allowed());

    // A rotated key in the same lineage has its own endpoint budget.
    let rotated = Subject {
        key: KeyId::new(),
        lineage: key,
        endpoint: Some("GET /a"),
    };
    assert!(check(&l, &rotated, &p, 1).is_allowed());
}

#[test]
fn month_quota_entered_on_january_31_resets_on_february_1() {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2030, 1, 31, 23, 0, 0).unwrap());
    let l = MemoryLimiter::new(Arc::new(clock.clone()));
    let s = subject(KeyId::new());
    let p = quota(3, QuotaPeriod::Month);

    let Decision::Allowed {
        tightest: Some(t), ..
    } = check(&l, &s, &p, 2)
    else {
        panic!()
    };
    assert_eq!((t.kind, t.limit, t.remaining), (LimitKind::Quota, 3, 1));
    assert_eq!(t.reset_after, Duration::from_secs(3600));
    assert_eq!(t.window, Duration::from_secs(31 * 86_400));
    assert!(check(&l, &s, &p, 1).is_allowed());

    clock.advance(chrono::Duration::minutes(59));
    let Decision::Limited { limit, retry_after } = check(&l, &s, &p, 1) else {
        panic!()
    };
    assert_eq!(retry_after, Duration::from_secs(60));
    assert_eq!((limit.kind, limit.remaining), (LimitKind::Quota, 0));

    clock.advance(chrono::Duration::minutes(1));
    let Decision::Allowed {
        tightest: Some(t), ..
    } = check(&l, &s, &p, 1)
    else {
        panic!()
    };
    assert_eq!(t.remaining, 2);
    assert_eq!(t.window, Duration::from_secs(28 * 86_400));
}

#[test]
fn rotation_lineage_shares_one_quota() {
    let (_clock, l) = limiter();
    let old = KeyId::new();
    let new = Subject {
        key: KeyId::new(),
        lineage: old,
        endpoint: None,
    };
    let p = quota(5, QuotaPeriod::Day);
    assert!(check(&l, &subject(old), &p, 3).is_allowed());
    assert!(check(&l, &new, &p, 2).is_allowed());
    assert!(!check(&l, &new, &p, 1).is_allowed());
    assert!(!check(&l, &subject(old), &p, 1).is_allowed());
    // Another lineage is untouched.
    assert!(check(&l, &subject(KeyId::new()), &p, 5).is_allowed());
}

#[test]
fn a_request_refused_by_the_quota_consumes_no_rate() {
    let (_clock, l) = limiter();
    let s = subject(KeyId::new());
    let both = LimitPolicy {
        rate: Some(Rate::new(2, Duration::from_secs(60)).unwrap()),
        quota: Some(Quota {
            limit: 1,
            period: QuotaPeriod::Day,
        }),
        ..LimitPolicy::default()
    };
    assert!(check(&l, &s, &both, 1).is_allowed());
    for _ in 0..5 {
        let Decision::Limited { limit, .. } = check(&l, &s, &both, 1) else {
            panic!()
        };
        assert_eq!(limit.kind, LimitKind::Quota);
    }
    // The rate still has the one request the quota refusals did not spend.
    let Decision::Allowed {
        tightest: Some(t), ..
    } = check(&l, &s, &rate(2, 60), 1)
    else {
        panic!()
    };
    assert_eq!(t.remaining, 0);
}

#[test]
fn a_request_refused_by_the_rate_consumes_no_quota_and_reports_the_longest_wait() {
    let (clock, l) = limiter();
    let s = Subject {
        endpoint: Some("GET /x"),
        ..subject(KeyId::new())
    };
    let p = LimitPolicy {
        rate: Some(Rate::new(1, Duration::from_secs(10)).unwrap()),
        endpoint: Some(Rate::new(1, Duration::from_secs(30)).unwrap()),
        quota: Some(Quota {
            limit: 2,
            period: QuotaPeriod::Day,
        }),
    };
    let Decision::Allowed {
        tightest: Some(t), ..
    } = check(&l, &s, &p, 1)
    else {
        panic!()
    };
    // Both rates are at 0 remaining; the endpoint's later reset makes it the tightest.
    assert_eq!(t.kind, LimitKind::Endpoint);

    let Decision::Limited { limit, retry_after } = check(&l, &s, &p, 1) else {
        panic!()
    };
    assert_eq!(
        (limit.kind, retry_after),
        (LimitKind::Endpoint, Duration::from_secs(30))
    );

    clock.advance(chrono::Duration::seconds(30));
    assert!(check(&l, &s, &p, 1).is_allowed());
    clock.advance(chrono::Duration::seconds(30));
    let Decision::Limited { limit, .. } = check(&l, &s, &p, 1) else {
        panic!()
    };
    assert_eq!(limit.kind, LimitKind::Quota);
}

#[test]
fn cost_is_charged_whole() {
    let (_clock, l) = limiter();
    let s = subject(KeyId::new());
    let p = rate(5, 1);
    assert!(check(&l, &s, &p, 3).is_allowed());
    let Decision::Limited { limit, retry_after } = check(&l, &s, &p, 3) else {
        panic!()
    };
    assert_eq!(
        (limit.remaining, retry_after),
        (2, Duration::from_millis(200))
    );
    assert!(check(&l, &s, &p, 2).is_allowed());
}

#[test]
fn idle_lineages_are_swept_before_busy_ones() {
    let (clock, l) = limiter();
    let l = l.with_max_subjects(8);
    let busy = subject(KeyId::new());
    let p = quota(2, QuotaPeriod::Day);
    assert!(check(&l, &busy, &p, 2).is_allowed());
    for _ in 0..7 {
        check(&l, &subject(KeyId::new()), &rate(1, 1), 1);
    }
    // Every one-second bucket has refilled; the busy lineage's quota window has not passed.
    clock.advance(chrono::Duration::seconds(2));
    check(&l, &subject(KeyId::new()), &rate(1, 1), 1);
    assert_eq!(l.tracked(), 2);
    assert!(!check(&l, &busy, &p, 1).is_allowed());
}

#[test]
fn least_recently_used_lineages_go_when_none_is_idle() {
    let (clock, l) = limiter();
    let l = l.with_max_subjects(8);
    let p = quota(1, QuotaPeriod::Day);
    let first = subject(KeyId::new());
    check(&l, &first, &p, 1);
    for _ in 0..100 {
        clock.advance(ms(1));
        check(&l, &subject(KeyId::new()), &p, 1);
        assert!(l.tracked() <= 8);
    }
    // The oldest lineage was forgotten, so its budget starts afresh.
    assert!(check(&l, &first, &p, 1).is_allowed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_requests_at_limit_minus_one_admit_exactly_one() {
    let (_clock, l) = limiter();
    let l = Arc::new(l);
    let key = KeyId::new();
    let p = LimitPolicy {
        rate: Some(Rate::new(1000, Duration::from_secs(3600)).unwrap()),
        quota: Some(Quota {
            limit: 500,
            period: QuotaPeriod::Day,
        }),
        ..LimitPolicy::default()
    };
    assert!(l.check(&subject(key), &p, 499).await.unwrap().is_allowed());

    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let l = l.clone();
            tokio::spawn(async move { l.check(&subject(key), &p, 1).await.unwrap().is_allowed() })
        })
        .collect();
    let mut admitted = 0;
    for t in tasks {
        admitted += usize::from(t.await.unwrap());
    }
    assert_eq!(admitted, 1);
    // The refusals spent no rate: 500 of the 1000 burst are used.
    let Decision::Allowed {
        tightest: Some(t), ..
    } = check(&l, &subject(key), &rate(1000, 3600), 1)
    else {
        panic!()
    };
    assert_eq!(t.remaining, 499);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eviction_under_concurrent_load_stays_bounded_and_never_deadlocks() {
    let (clock, l) = limiter();
    let l = Arc::new(l.with_max_subjects(16));
    let lineages: Arc<Vec<KeyId>> = Arc::new((0..64).map(|_| KeyId::new()).collect());
    let p = LimitPolicy {
        rate: Some(Rate::new(5, Duration::from_secs(1)).unwrap()),
        quota: Some(Quota {
            limit: 1_000,
            period: QuotaPeriod::Day,
        }),
        ..LimitPolicy::default()
    };
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let (l, lineages, clock) = (l.clone(), lineages.clone(), clock.clone());
            tokio::spawn(async move {
                for i in 0..2_000usize {
                    let lineage = lineages[(i * 7 + t * 13) % lineages.len()];
                    let s = Subject {
                        key: lineage,
                        lineage,
                        endpoint: None,
                    };
                    l.check(&s, &p, 1).await.unwrap();
                    if i % 100 == 0 {
                        clock.advance(ms(1));
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    // The sweeper re-checks after releasing its flag, so the bound holds once the load stops.
    assert!(l.tracked() <= 16, "tracked {}", l.tracked());
}
