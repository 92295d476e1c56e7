//! Property tests of `MemoryLimiter` against a reference model under a `ManualClock`: per-key
//! GCRA, per-(key, endpoint) GCRA and a per-lineage daily quota, decided all-or-nothing.

use std::collections::HashMap;
use std::sync::Arc;

use apikey_core::limit::LimitKind;
use apikey_core::{
    Decision, KeyId, LimitPolicy, ManualClock, Quota, QuotaPeriod, Rate, RateLimiter, Subject,
};
use apikey_memory::MemoryLimiter;
use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;

const ENDPOINTS: [Option<&str>; 3] = [None, Some("GET /a"), Some("POST /b")];
/// Keys 0 and 1 share a lineage (a key and its rotation); key 2 is its own lineage.
const LINEAGE: [usize; 3] = [0, 0, 2];
const DAY_US: i128 = 86_400_000_000;

/// One reference GCRA step in `i128`: `Ok(new_tat)` or `Err(wait)`.
fn model_gcra(rate: &Rate, tat: Option<i128>, now: i128, cost: u32) -> Result<i128, i128> {
    let interval = i128::from(rate.interval_us());
    let tat = tat.unwrap_or(now).max(now);
    let new_tat = tat + interval * i128::from(cost);
    let allow_at = new_tat - interval * i128::from(rate.burst);
    if allow_at > now {
        Err(allow_at - now)
    } else {
        Ok(new_tat)
    }
}

/// The reference limiter.
#[derive(Debug, Default)]
struct Model {
    /// Per key.
    tat: HashMap<usize, i128>,
    /// Per (key, endpoint index).
    endpoint_tat: HashMap<(usize, usize), i128>,
    /// Per lineage: (UTC day number, used).
    quota: HashMap<usize, (i128, u64)>,
}

#[derive(Debug, PartialEq, Eq)]
enum Expected {
    Allowed,
    /// The longest wait and the kinds that refused with it.
    Limited(i128, Vec<LimitKind>),
}

impl Model {
    fn decide(
        &mut self,
        policy: &LimitPolicy,
        key: usize,
        endpoint: usize,
        now: i128,
        cost: u32,
    ) -> Expected {
        let lineage = LINEAGE[key];
        let rate = policy
            .rate
            .map(|r| model_gcra(&r, self.tat.get(&key).copied(), now, cost));
        let ep = policy.endpoint.map(|r| {
            let tat = self.endpoint_tat.get(&(key, endpoint)).copied();
            model_gcra(&r, tat, now, cost)
        });
        let day = now.div_euclid(DAY_US);
        let quota = policy.quota.map(|q| {
            let used = match self.quota.get(&lineage) {
                Some(&(d, used)) if d == day => used,
                _ => 0,
            };
            if used + u64::from(cost) > q.limit {
                Err((day + 1) * DAY_US - now)
            } else {
                Ok(used + u64::from(cost))
            }
        });

        let waits = [
            (LimitKind::Rate, rate.and_then(Result::err)),
            (LimitKind::Endpoint, ep.and_then(Result::err)),
            (LimitKind::Quota, quota.and_then(Result::err)),
        ];
        if let Some(longest) = waits.iter().filter_map(|w| w.1).max() {
            let kinds = waits
                .iter()
                .filter(|w| w.1 == Some(longest))
                .map(|w| w.0)
                .collect();
            return Expected::Limited(longest, kinds);
        }
        if let Some(Ok(t)) = rate {
            self.tat.insert(key, t);
        }
        if let Some(Ok(t)) = ep {
            self.endpoint_tat.insert((key, endpoint), t);
        }
        if let Some(Ok(used)) = quota {
            self.quota.insert(lineage, (day, used));
        }
        Expected::Allowed
    }
}

fn small_rate() -> impl Strategy<Value = Rate> {
    (1u32..=5, 1u64..=2_000, 1u32..=5).prop_map(|(requests, per_ms, burst)| {
        let r = Rate {
            requests,
            per_ms,
            burst,
        };
        r.validate().expect("valid");
        r
    })
}

fn policy() -> impl Strategy<Value = LimitPolicy> {
    (
        proptest::option::weighted(0.9, small_rate()),
        proptest::option::weighted(0.9, small_rate()),
        proptest::option::weighted(0.9, 1u64..=40),
    )
        .prop_map(|(rate, endpoint, quota)| LimitPolicy {
            rate,
            endpoint,
            quota: quota.map(|limit| Quota {
                limit,
                period: QuotaPeriod::Day,
            }),
        })
}

/// One request: (clock advance in µs, cost, key index, endpoint index).
type Op = (i64, u32, usize, usize);

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let advance = prop_oneof![
        3 => Just(0i64),
        6 => 0i64..=600_000,
        2 => 0i64..=5_000_000,
        1 => 0i64..=6 * 3_600_000_000,
    ];
    let cost = prop_oneof![4 => Just(1u32), 1 => 2u32..=3];
    proptest::collection::vec((advance, cost, 0usize..3, 0usize..3), 1..150)
}

/// A start a few hours before a UTC midnight, so day quotas roll over during a run.
fn start() -> impl Strategy<Value = DateTime<Utc>> {
    let midnights = [
        Utc.with_ymd_and_hms(2030, 1, 16, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2030, 2, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2031, 1, 1, 0, 0, 0).unwrap(),
    ];
    (
        proptest::sample::select(midnights.to_vec()),
        0i64..=4 * 3_600_000_000,
    )
        .prop_map(|(m, before)| m - chrono::Duration::microseconds(before))
}

fn check(l: &MemoryLimiter, s: &Subject<'_>, p: &LimitPolicy, cost: u32) -> Decision {
    l.check_now(s, p, cost)
        .expect("the memory limiter decides synchronously")
        .expect("a valid policy")
}

/// `sum(cost) ≤ burst + floor(span / interval)` for every pair of admitted events.
fn assert_bound(rate: &Rate, events: &[(i128, u32)]) -> Result<(), TestCaseError> {
    let interval = i128::from(rate.interval_us());
    for i in 0..events.len() {
        let mut sum = 0i128;
        for e in &events[i..] {
            sum += i128::from(e.1);
            let span = e.0 - events[i].0;
            prop_assert!(
                sum <= i128::from(rate.burst) + span / interval,
                "{} admitted in {} µs under {:?}",
                sum,
                span,
                rate
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Every decision (Allowed / Limited, and retry-after and the refusing limit on Limited)
    /// equals the model's; the admitted requests respect every rate's window bound and the quota.
    #[test]
    fn limiter_matches_the_model(policy in policy(), start in start(), ops in ops()) {
        let clock = ManualClock::new(start);
        let limiter = MemoryLimiter::new(Arc::new(clock.clone()));
        let keys = [KeyId::new(), KeyId::new(), KeyId::new()];
        let mut model = Model::default();
        let mut now = i128::from(start.timestamp_micros());
        let mut admitted: Vec<(i128, u32, usize, usize)> = Vec::new();

        for (n, &(advance, cost, key, endpoint)) in ops.iter().enumerate() {
            clock.advance(chrono::Duration::microseconds(advance));
            now += i128::from(advance);
            let subject = Subject {
                key: keys[key],
                lineage: keys[LINEAGE[key]],
                endpoint: ENDPOINTS[endpoint],
            };
            let got = check(&limiter, &subject, &policy, cost);
            let expected = model.decide(&policy, key, endpoint, now, cost);
            match (&got, &expected) {
                (Decision::Allowed { .. }, Expected::Allowed) => {
                    admitted.push((now, cost, key, endpoint));
                }
                (Decision::Limited { limit, retry_after }, Expected::Limited(wait, kinds)) => {
                    prop_assert_eq!(
                        i128::try_from(retry_after.as_micros()).unwrap(),
                        *wait,
                        "retry-after of op {} {:?}", n, ops[n]
                    );
                    prop_assert!(kinds.contains(&limit.kind), "{:?} not in {:?}", limit.kind, kinds);
                }
                _ => {
                    return Err(TestCaseError::fail(format!(
                        "op {n} {:?}: limiter {got:?}, model {expected:?}",
                        ops[n]
                    )));
                }
            }
        }

        // The window bound per key and per (key, endpoint); the quota per lineage and day.
        for key in 0..3 {
            if let Some(r) = &policy.rate {
                let ev: Vec<_> = admitted.iter().filter(|a| a.2 == key).map(|a| (a.0, a.1)).collect();
                assert_bound(r, &ev)?;
            }
            if let Some(r) = &policy.endpoint {
                for ep in 0..3 {
                    let ev: Vec<_> = admitted
                        .iter()
                        .filter(|a| a.2 == key && a.3 == ep)
                        .map(|a| (a.0, a.1))
                        .collect();
                    assert_bound(r, &ev)?;
                }
            }
        }
        if let Some(q) = &policy.quota {
            let mut per_day: HashMap<(usize, i128), u64> = HashMap::new();
            for a in &admitted {
                *per_day.entry((LINEAGE[a.2], a.0.div_euclid(DAY_US))).or_default() += u64::from(a.1);
            }
            for (k, used) in per_day {
                prop_assert!(used <= q.limit, "{:?} used {} of {}", k, used, q.limit);
            }
        }
    }

    /// Two keys of one lineage share its quota; a third lineage has its own.
    #[test]
    fn a_lineage_shares_one_quota(
        limit in 1u64..=20,
        ops in proptest::collection::vec((0usize..3, 1u32..=3), 1..60),
    ) {
        let clock = ManualClock::fixed();
        let limiter = MemoryLimiter::new(Arc::new(clock));
        let keys = [KeyId::new(), KeyId::new(), KeyId::new()];
        let policy = LimitPolicy {
            quota: Some(Quota { limit, period: QuotaPeriod::Day }),
            ..LimitPolicy::default()
        };
        let mut used = [0u64; 3];
        for (key, cost) in ops {
            let lineage = LINEAGE[key];
            let subject = Subject { key: keys[key], lineage: keys[lineage], endpoint: None };
            let fits = used[lineage] + u64::from(cost) <= limit;
            prop_assert_eq!(check(&limiter, &subject, &policy, cost).is_allowed(), fits);
            if fits {
                used[lineage] += u64::from(cost);
            }
            // Once the lineage is spent, neither of its keys gets even a cost-1 request through.
            if used[0] == limit {
                for k in [0, 1] {
                    let s = Subject { key: keys[k], lineage: keys[0], endpoint: None };
                    prop_assert!(!check(&limiter, &s, &policy, 1).is_allowed());
                }
            }
        }
    }
}
