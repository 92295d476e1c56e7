//! The limiter state of one rotation lineage and the all-or-nothing decision over it.
//!
//! One lineage holds its quota counters and the GCRA state of every key in it (a lineage has a
//! handful of keys at most: the original and its rotations or clones), so one mutex makes the
//! whole decision atomic.

use std::collections::HashMap;

use apikey_core::limit::{
    LimitKind, QuotaPeriod, Tally, Verdict, quota_verdict, quota_window, rate_verdict,
};
use apikey_core::{Decision, KeyId, LimitPolicy, Quota, Subject};
use chrono::{DateTime, Utc};

/// Everything one lineage has spent.
#[derive(Debug, Default)]
pub(super) struct LineageState {
    keys: Vec<KeyRates>,
    quotas: Vec<QuotaCounter>,
    /// Clock microseconds of the last decision, for least-recently-used eviction.
    pub(super) last_seen: i64,
    /// Set under the lock by the sweeper just before it unlinks the state from the map, so a
    /// decision that found it a moment earlier looks it up again instead of charging a dead entry.
    pub(super) retired: bool,
}

/// One key's rate and endpoint rates: GCRA theoretical arrival times in clock microseconds.
#[derive(Debug)]
struct KeyRates {
    key: KeyId,
    tat: Option<i64>,
    endpoints: HashMap<String, i64>,
}

/// A quota counter in its current calendar window.
#[derive(Debug)]
struct QuotaCounter {
    period: QuotaPeriod,
    window: Span,
    used: u64,
}

/// A calendar window in clock microseconds, kept so the calendar is only consulted when a
/// window has passed.
#[derive(Debug, Clone, Copy)]
struct Span {
    id: i64,
    start: i64,
    reset: i64,
}

impl LineageState {
    /// Decides `cost` against `policy` and charges every limit only if all of them admit it.
    pub(super) fn decide(
        &mut self,
        subject: &Subject<'_>,
        policy: &LimitPolicy,
        cost: u32,
        now_us: i64,
    ) -> Decision {
        self.last_seen = now_us;
        // A policy with an endpoint rate but no endpoint name still counts, under "".
        let endpoint = subject.endpoint.unwrap_or("");
        let key = self.keys.iter().position(|k| k.key == subject.key);

        let rate = policy.rate.map(|r| {
            let tat = key.and_then(|i| self.keys[i].tat);
            rate_verdict(LimitKind::Rate, &r, tat, now_us, cost)
        });
        let endpoint_rate = policy.endpoint.map(|r| {
            let tat = key.and_then(|i| self.keys[i].endpoints.get(endpoint).copied());
            rate_verdict(LimitKind::Endpoint, &r, tat, now_us, cost)
        });
        let quota = policy.quota.map(|q| self.quota_verdict(&q, now_us, cost));

        let mut tally = Tally::default();
        if let Some(v) = &rate {
            tally.note(v);
        }
        if let Some(v) = &endpoint_rate {
            tally.note(v);
        }
        if let Some(v) = &quota {
            tally.note(v);
        }
        if !tally.admitted() {
            return tally.decision();
        }

        // Every limit admitted the request: charge them all.
        if policy.rate.is_some() || policy.endpoint.is_some() {
            let rates = self.key_rates(subject.key, key);
            if let Some(Ok((_, tat))) = rate {
                rates.tat = Some(tat);
            }
            if let Some(Ok((_, tat))) = endpoint_rate {
                match rates.endpoints.get_mut(endpoint) {
                    Some(slot) => *slot = tat,
                    // First sight of this endpoint: the only allocation a decision makes.
                    None => {
                        rates.endpoints.insert(endpoint.to_owned(), tat);
                    }
                }
            }
        }
        if let (Some(q), Some(Ok((_, (window, used))))) = (policy.quota, quota) {
            match self.quotas.iter_mut().find(|c| c.period == q.period) {
                Some(c) => {
                    c.window = window;
                    c.used = used;
                }
                None => self.quotas.push(QuotaCounter {
                    period: q.period,
                    window,
                    used,
                }),
            }
        }
        tally.decision()
    }

    fn key_rates(&mut self, key: KeyId, found: Option<usize>) -> &mut KeyRates {
        let i = found.unwrap_or_else(|| {
            self.keys.push(KeyRates {
                key,
                tat: None,
                endpoints: HashMap::new(),
            });
            self.keys.len() - 1
        });
        &mut self.keys[i]
    }

    fn quota_verdict(&self, q: &Quota, now_us: i64, cost: u32) -> Verdict<(Span, u64)> {
        let counter = self.quotas.iter().find(|c| c.period == q.period);
        let (window, used) = match counter {
            Some(c) if c.window.start <= now_us && now_us < c.window.reset => (c.window, c.used),
            _ => {
                // The calendar only when a window starts: every other decision compares integers.
                // The micros come from a `Clock`, whose `now()` is a `DateTime`: always in range.
                let now = DateTime::<Utc>::from_timestamp_micros(now_us).expect("clock in range");
                let w = quota_window(q.period, now);
                let span = Span {
                    id: w.id,
                    start: w.start.timestamp_micros(),
                    reset: w.reset_at.timestamp_micros(),
                };
                // A new window id starts from zero: that is the calendar reset.
                let used = counter
                    .filter(|c| c.window.id == w.id)
                    .map_or(0, |c| c.used);
                (span, used)
            }
        };
        quota_verdict(q, window.start, window.reset, used, now_us, cost)
            .map(|(status, after)| (status, (window, after)))
    }

    /// Whether forgetting this state changes no future decision: every bucket has refilled and
    /// every quota window has passed.
    pub(super) fn is_idle(&self, now_us: i64) -> bool {
        self.keys.iter().all(|k| {
            k.tat.is_none_or(|t| t <= now_us) && k.endpoints.values().all(|&t| t <= now_us)
        }) && self.quotas.iter().all(|c| c.window.reset <= now_us)
    }
}
