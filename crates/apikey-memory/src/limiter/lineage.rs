//! The limiter state of one rotation lineage and the all-or-nothing decision over it.
//!
//! One lineage holds its quota counters and the GCRA state of every key in it (a lineage has a
//! handful of keys at most: the original and its rotations or clones), so one mutex makes the
//! whole decision atomic.

use std::collections::HashMap;

use apikey_core::limit::{
    LimitKind, LimitStatus, QuotaPeriod, Tally, Verdict, quota_verdict, quota_window, rate_verdict,
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
pub(super) struct QuotaCounter {
    pub(super) period: QuotaPeriod,
    pub(super) window: Span,
    pub(super) used: u64,
}

/// A calendar window in clock microseconds, kept so the calendar is only consulted when a
/// window has passed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    id: i64,
    start: i64,
    reset: i64,
}

/// The key's own verdicts, computed under the lineage lock and committed only if every limit of
/// the decision (pools included) admits.
#[derive(Clone, Copy)]
pub(super) struct Own {
    key: Option<usize>,
    rate: Option<Verdict<i64>>,
    endpoint: Option<Verdict<i64>>,
    quota: Option<Verdict<(Span, u64)>>,
}

impl Own {
    /// Adds every verdict to `tally`.
    pub(super) fn note(&self, tally: &mut Tally) {
        if let Some(v) = &self.rate {
            tally.note(v);
        }
        if let Some(v) = &self.endpoint {
            tally.note(v);
        }
        if let Some(v) = &self.quota {
            tally.note(v);
        }
    }
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
        let own = self.evaluate(subject, policy, cost, now_us);
        let mut tally = Tally::default();
        own.note(&mut tally);
        if tally.admitted() {
            self.commit(subject, policy, own);
        }
        tally.decision()
    }

    /// The verdicts of the key's own limits, charging nothing.
    pub(super) fn evaluate(
        &mut self,
        subject: &Subject<'_>,
        policy: &LimitPolicy,
        cost: u32,
        now_us: i64,
    ) -> Own {
        self.last_seen = now_us;
        // A policy with an endpoint rate but no endpoint name still counts, under "".
        let endpoint = subject.endpoint.unwrap_or("");
        let key = self.keys.iter().position(|k| k.key == subject.key);
        Own {
            key,
            rate: policy.rate.map(|r| {
                let tat = key.and_then(|i| self.keys[i].tat);
                rate_verdict(LimitKind::Rate, &r, tat, now_us, cost)
            }),
            endpoint: policy.endpoint.map(|r| {
                let tat = key.and_then(|i| self.keys[i].endpoints.get(endpoint).copied());
                rate_verdict(LimitKind::Endpoint, &r, tat, now_us, cost)
            }),
            quota: policy.quota.map(|q| {
                let counter = self.quotas.iter().find(|c| c.period == q.period);
                quota_step(LimitKind::Quota, counter, &q, now_us, cost)
            }),
        }
    }

    /// Charges what `evaluate` admitted.
    pub(super) fn commit(&mut self, subject: &Subject<'_>, policy: &LimitPolicy, own: Own) {
        let endpoint = subject.endpoint.unwrap_or("");
        if policy.rate.is_some() || policy.endpoint.is_some() {
            let rates = self.key_rates(subject.key, own.key);
            if let Some(Ok((_, tat))) = own.rate {
                rates.tat = Some(tat);
            }
            if let Some(Ok((_, tat))) = own.endpoint {
                match rates.endpoints.get_mut(endpoint) {
                    Some(slot) => *slot = tat,
                    // First sight of this endpoint: the only allocation a decision makes.
                    None => {
                        rates.endpoints.insert(endpoint.to_owned(), tat);
                    }
                }
            }
        }
        if let (Some(q), Some(Ok((_, (window, used))))) = (policy.quota, own.quota) {
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

    /// Whether forgetting this state changes no future decision: every bucket has refilled and
    /// every quota window has passed.
    pub(super) fn is_idle(&self, now_us: i64) -> bool {
        self.keys.iter().all(|k| {
            k.tat.is_none_or(|t| t <= now_us) && k.endpoints.values().all(|&t| t <= now_us)
        }) && self.quotas.iter().all(|c| c.window.reset <= now_us)
    }
}

/// A quota's verdict given its counter (if any): the calendar is consulted only when the counter's
/// window has passed. Shared by the key's own quota and the pools'.
pub(super) fn quota_step(
    kind: LimitKind,
    counter: Option<&QuotaCounter>,
    q: &Quota,
    now_us: i64,
    cost: u32,
) -> Verdict<(Span, u64)> {
    let (window, used) = match counter {
        Some(c) if c.period == q.period && c.window.start <= now_us && now_us < c.window.reset => {
            (c.window, c.used)
        }
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
                .filter(|c| c.period == q.period && c.window.id == w.id)
                .map_or(0, |c| c.used);
            (span, used)
        }
    };
    match quota_verdict(q, window.start, window.reset, used, now_us, cost) {
        Ok((status, after)) => Ok((LimitStatus { kind, ..status }, (window, after))),
        Err((status, wait)) => Err((LimitStatus { kind, ..status }, wait)),
    }
}
