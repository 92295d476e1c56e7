//! Turning limit state into statuses and one all-or-nothing [`Decision`]: the arithmetic every
//! limiter shares (in process, Redis, …), so a key gets the same `remaining`, `reset_after` and
//! `retry_after` whichever backend counts it.

use std::time::Duration;

use crate::limit::gcra::{GcraStep, gcra};
use crate::limit::policy::{Quota, Rate};
use crate::limit::{Decision, LimitKind, LimitStatus};

/// One limit's verdict: admitted, with its status and the state to store (`T`), or refused, with
/// its status and the wait in microseconds.
pub type Verdict<T> = Result<(LimitStatus, T), (LimitStatus, i64)>;

fn micros(us: i64) -> Duration {
    Duration::from_micros(u64::try_from(us).unwrap_or(0))
}

/// A GCRA rate's verdict for `cost` at `now` (µs) given the stored `tat`; the state to store is the
/// new theoretical arrival time.
pub fn rate_verdict(
    kind: LimitKind,
    rate: &Rate,
    tat: Option<i64>,
    now: i64,
    cost: u32,
) -> Verdict<i64> {
    let status = |remaining, reset_after| LimitStatus {
        kind,
        limit: u64::from(rate.burst),
        remaining,
        reset_after: micros(reset_after),
        window: rate.window(),
    };
    match gcra(rate, tat, now, cost) {
        GcraStep::Allowed {
            new_tat,
            remaining,
            reset_after,
        } => Ok((status(remaining, reset_after), new_tat)),
        GcraStep::Limited { retry_after } => {
            // The bucket as it stands, since nothing is charged.
            let debt = tat.map_or(0, |t| (t - now).max(0));
            let interval = rate.interval_us();
            let capacity = interval.saturating_mul(i64::from(rate.burst));
            let remaining = u64::try_from((capacity - debt) / interval).unwrap_or(0);
            Err((status(remaining, debt), retry_after))
        }
    }
}

/// A quota's verdict for `cost` with `used` spent in the window `[start, reset)` (µs) at `now`;
/// the state to store is the new count.
pub fn quota_verdict(
    q: &Quota,
    start: i64,
    reset: i64,
    used: u64,
    now: i64,
    cost: u32,
) -> Verdict<u64> {
    let until_reset = reset - now;
    let status = |remaining| LimitStatus {
        kind: LimitKind::Quota,
        limit: q.limit,
        remaining,
        reset_after: micros(until_reset),
        window: micros(reset - start),
    };
    let after = used.saturating_add(u64::from(cost));
    if after > q.limit {
        Err((status(q.limit.saturating_sub(used)), until_reset))
    } else {
        Ok((status(q.limit - after), after))
    }
}

/// Folds verdicts into one decision: admitted only if every limit admits (reporting the tightest),
/// otherwise refused by the limit with the longest wait.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    tightest: Option<LimitStatus>,
    quota: Option<LimitStatus>,
    refused: Option<(LimitStatus, i64)>,
}

impl Tally {
    /// Adds one verdict.
    pub fn note<T>(&mut self, v: &Verdict<T>) {
        match v {
            Ok((status, _)) => {
                self.tightest = Some(LimitStatus::tightest(self.tightest, *status));
                if status.kind == LimitKind::Quota {
                    self.quota = Some(*status);
                }
            }
            Err((status, wait)) => {
                if self.refused.is_none_or(|(_, longest)| *wait > longest) {
                    self.refused = Some((*status, *wait));
                }
            }
        }
    }

    /// Whether every verdict so far admitted the request.
    pub fn admitted(&self) -> bool {
        self.refused.is_none()
    }

    /// The decision.
    pub fn decision(&self) -> Decision {
        match self.refused {
            None => Decision::Allowed {
                tightest: self.tightest,
                quota: self.quota,
            },
            Some((limit, wait)) => Decision::Limited {
                limit,
                retry_after: micros(wait),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::QuotaPeriod;

    #[test]
    fn refusal_reports_the_longest_wait_and_charges_nothing() {
        let rate = Rate::with_burst(1, Duration::from_secs(1), 1).unwrap();
        let quota = Quota {
            limit: 1,
            period: QuotaPeriod::Day,
        };
        let mut t = Tally::default();
        let r = rate_verdict(LimitKind::Rate, &rate, Some(1_000_000), 0, 1);
        let q = quota_verdict(&quota, 0, 86_400_000_000, 1, 0, 1);
        t.note(&r);
        t.note(&q);
        assert!(!t.admitted());
        let Decision::Limited { limit, retry_after } = t.decision() else {
            panic!()
        };
        assert_eq!(
            (limit.kind, retry_after),
            (LimitKind::Quota, Duration::from_secs(86_400))
        );
    }

    #[test]
    fn admission_reports_the_tightest() {
        let rate = Rate::new(10, Duration::from_secs(1)).unwrap();
        let quota = Quota {
            limit: 3,
            period: QuotaPeriod::Day,
        };
        let mut t = Tally::default();
        t.note(&rate_verdict(LimitKind::Rate, &rate, None, 0, 1));
        t.note(&quota_verdict(&quota, 0, 10, 0, 0, 1));
        let Decision::Allowed {
            tightest: Some(s), ..
        } = t.decision()
        else {
            panic!()
        };
        assert_eq!((s.kind, s.remaining), (LimitKind::Quota, 2));
    }
}
