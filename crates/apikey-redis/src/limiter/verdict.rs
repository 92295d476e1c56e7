//! Turns what the script read (the stored state and its `now`) into a [`Decision`] with the core
//! GCRA code, so every status, remaining count and wait is computed exactly as the in-process
//! limiter computes it (the script only decides admission and commits).

use apikey_core::limit::{LimitKind, QuotaWindow, Tally, quota_verdict, rate_verdict};
use apikey_core::{Decision, LimitPolicy};

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
    let mut tally = Tally::default();
    if let Some(r) = policy.rate {
        tally.note(&rate_verdict(
            LimitKind::Rate,
            &r,
            observed.rate_tat,
            now,
            cost,
        ));
    }
    if let Some(r) = policy.endpoint {
        tally.note(&rate_verdict(
            LimitKind::Endpoint,
            &r,
            observed.endpoint_tat,
            now,
            cost,
        ));
    }
    if let (Some(q), Some(w)) = (policy.quota, window) {
        let (start, reset) = (w.start.timestamp_micros(), w.reset_at.timestamp_micros());
        tally.note(&quota_verdict(
            &q,
            start,
            reset,
            observed.quota_used,
            app_now_us,
            cost,
        ));
    }
    (tally.admitted() == observed.admitted).then(|| tally.decision())
}
