//! Turns what the script read (the stored state and its `now`) into a [`Decision`] with the core
//! GCRA code, so every status, remaining count and wait is computed exactly as the in-process
//! limiter computes it (the script only decides admission and commits).

use std::time::Duration;

use apikey_core::limit::{GcraStep, LimitKind, LimitStatus, QuotaWindow, gcra};
use apikey_core::{Decision, LimitPolicy, Quota, Rate};

/// One limit's verdict: admitted with its status, or refused with its status and wait (µs).
type Verdict = Result<LimitStatus, (LimitStatus, i64)>;

/// What the script read before deciding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Observed {
    /// The script's admission verdict.
    pub(crate) admitted: bool,
    /// The time the GCRA steps used, in microseconds.
    pub(crate) now_us: i64,
    pub(crate) rate_tat: Option<i64>,
    pub(crate) endpoint_tat: Option<i64>,
    pub(crate) quota_used: u64,
}

fn micros(us: i64) -> Duration {
    Duration::from_micros(u64::try_from(us).unwrap_or(0))
}

fn rate_verdict(kind: LimitKind, rate: &Rate, tat: Option<i64>, now: i64, cost: u32) -> Verdict {
    let status = |remaining, reset_after| LimitStatus {
        kind,
        limit: u64::from(rate.burst),
        remaining,
        reset_after: micros(reset_after),
        window: rate.window(),
    };
    match gcra(rate, tat, now, cost) {
        GcraStep::Allowed {
            remaining,
            reset_after,
            ..
        } => Ok(status(remaining, reset_after)),
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

fn quota_verdict(q: &Quota, w: &QuotaWindow, used: u64, app_now_us: i64, cost: u32) -> Verdict {
    let reset = w.reset_at.timestamp_micros();
    let until_reset = reset - app_now_us;
    let status = |remaining| LimitStatus {
        kind: LimitKind::Quota,
        limit: q.limit,
        remaining,
        reset_after: micros(until_reset),
        window: micros(reset - w.start.timestamp_micros()),
    };
    let after = used.saturating_add(u64::from(cost));
    if after > q.limit {
        Err((status(q.limit.saturating_sub(used)), until_reset))
    } else {
        Ok(status(q.limit - after))
    }
}

/// The decision for `observed`; `None` if the core arithmetic disagrees with the script's
/// admission (a bug: the caller reports it rather than guessing).
pub(crate) fn decide(
    policy: &LimitPolicy,
    window: Option<&QuotaWindow>,
    observed: &Observed,
    app_now_us: i64,
    cost: u32,
) -> Option<Decision> {
    let now = observed.now_us;
    let verdicts = [
        policy
            .rate
            .map(|r| rate_verdict(LimitKind::Rate, &r, observed.rate_tat, now, cost)),
        policy
            .endpoint
            .map(|r| rate_verdict(LimitKind::Endpoint, &r, observed.endpoint_tat, now, cost)),
        policy
            .quota
            .zip(window)
            .map(|(q, w)| quota_verdict(&q, w, observed.quota_used, app_now_us, cost)),
    ];
    let (mut tightest, mut refused) = (None, None::<(LimitStatus, i64)>);
    for v in verdicts.iter().flatten() {
        match v {
            Ok(status) => tightest = Some(LimitStatus::tightest(tightest, *status)),
            Err((status, wait)) => {
                if refused.is_none_or(|(_, longest)| *wait > longest) {
                    refused = Some((*status, *wait));
                }
            }
        }
    }
    match (refused, observed.admitted) {
        (None, true) => Some(Decision::Allowed { tightest }),
        (Some((limit, wait)), false) => Some(Decision::Limited {
            limit,
            retry_after: micros(wait),
        }),
        _ => None,
    }
}
