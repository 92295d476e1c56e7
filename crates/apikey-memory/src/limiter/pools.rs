//! Pools and credits in process: one small state per pool counter, locked after the key's lineage
//! and in the order of the counters' names, so a decision over a key and its pools is one
//! critical section and two decisions never wait on each other in a cycle.

use apikey_core::limit::{
    CreditPlan, CreditWindow, LimitKind, PoolCharge, Tally, Verdict, credit_verdict, rate_verdict,
};
use chrono::{DateTime, Utc};

use super::lineage::{QuotaCounter, Span, quota_step};

/// Everything one pool counter has spent.
#[derive(Debug, Default)]
pub(super) struct PoolState {
    tat: Option<i64>,
    quota: Option<QuotaCounter>,
    credits: Option<Credits>,
}

/// A balance with the refill window it belongs to, kept in clock microseconds so the calendar is
/// only consulted when that window has passed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Credits {
    balance: u64,
    window: i64,
    start_us: i64,
    next_us: i64,
}

/// A pool's verdicts, computed under its lock and committed only if the whole decision admits.
#[derive(Clone, Copy)]
pub(super) struct PoolVerdicts {
    rate: Option<Verdict<i64>>,
    quota: Option<Verdict<(Span, u64)>>,
    credits: Option<(Verdict<u64>, CreditWindowUs)>,
}

/// A refill window in microseconds (`id` 0 and no end for one-time credits).
#[derive(Debug, Clone, Copy)]
pub(super) struct CreditWindowUs {
    id: i64,
    start_us: i64,
    next_us: i64,
}

fn at(us: i64) -> DateTime<Utc> {
    // Micros come from a `Clock`, whose `now()` is a `DateTime`: always in range.
    DateTime::<Utc>::from_timestamp_micros(us).expect("clock in range")
}

impl CreditWindowUs {
    fn of(plan: &CreditPlan, now_us: i64) -> Self {
        plan.window(at(now_us)).map_or(
            Self {
                id: 0,
                start_us: i64::MIN,
                next_us: i64::MAX,
            },
            |w| Self {
                id: w.id,
                start_us: w.start.timestamp_micros(),
                next_us: w.next.timestamp_micros(),
            },
        )
    }

    fn calendar(self) -> Option<CreditWindow> {
        (self.next_us != i64::MAX).then(|| CreditWindow {
            id: self.id,
            start: at(self.start_us),
            next: at(self.next_us),
        })
    }
}

impl PoolState {
    /// The balance now (refills applied) and the window it is in.
    pub(super) fn balance(&self, plan: &CreditPlan, now_us: i64) -> (u64, CreditWindowUs) {
        let window = match self.credits {
            Some(c) if c.start_us <= now_us && now_us < c.next_us => CreditWindowUs {
                id: c.window,
                start_us: c.start_us,
                next_us: c.next_us,
            },
            _ => CreditWindowUs::of(plan, now_us),
        };
        let stored = self.credits.map(|c| (c.balance, c.window));
        (plan.balance(stored, window.calendar().as_ref()), window)
    }

    /// Stores `balance` in `window`.
    pub(super) fn set_balance(&mut self, balance: u64, window: CreditWindowUs) {
        self.credits = Some(Credits {
            balance,
            window: window.id,
            start_us: window.start_us,
            next_us: window.next_us,
        });
    }

    /// The verdicts of `charge`'s limits for `cost` (and `credit_cost` for its credits: a
    /// reservation's estimate), charging nothing.
    pub(super) fn evaluate(
        &self,
        charge: &PoolCharge,
        now_us: i64,
        cost: u32,
        credit_cost: u64,
    ) -> PoolVerdicts {
        let l = &charge.limits;
        PoolVerdicts {
            rate: l.rate.map(|r| {
                rate_verdict(LimitKind::PoolRate(charge.kind), &r, self.tat, now_us, cost)
            }),
            quota: l.quota.map(|q| {
                quota_step(
                    LimitKind::PoolQuota(charge.kind),
                    self.quota.as_ref(),
                    &q,
                    now_us,
                    cost,
                )
            }),
            credits: l.credits.as_ref().map(|plan| {
                let (balance, window) = self.balance(plan, now_us);
                let calendar = window.calendar();
                let v = credit_verdict(
                    charge.kind,
                    plan,
                    balance,
                    calendar.as_ref(),
                    now_us,
                    credit_cost,
                );
                (v, window)
            }),
        }
    }

    /// Charges what `evaluate` admitted.
    pub(super) fn commit(&mut self, charge: &PoolCharge, v: PoolVerdicts) {
        if let Some(Ok((_, tat))) = v.rate {
            self.tat = Some(tat);
        }
        if let (Some(q), Some(Ok((_, (window, used))))) = (charge.limits.quota, v.quota) {
            self.quota = Some(QuotaCounter {
                period: q.period,
                window,
                used,
            });
        }
        if let Some((Ok((_, balance)), window)) = v.credits {
            self.set_balance(balance, window);
        }
    }
}

impl PoolVerdicts {
    /// Adds every verdict to `tally`.
    pub(super) fn note(&self, tally: &mut Tally) {
        if let Some(v) = &self.rate {
            tally.note(v);
        }
        if let Some(v) = &self.quota {
            tally.note(v);
        }
        if let Some((v, _)) = &self.credits {
            tally.note(v);
        }
    }
}
