//! The verifier's metric handles (feature `metrics`; names in [`crate::metrics`]), registered
//! once so that recording is an atomic add.

use metrics::{Counter, Gauge, Histogram};

use super::{Rejection, RejectionKind, Verified};
use crate::error::Result;
use crate::limit::Decision;
use crate::metrics::{
    CACHE_HITS, CACHE_MISSES, CANARY_TRIPS, LIMITER_DECISIONS, LIMITER_ROUND_TRIP_SECONDS,
    STORE_ERRORS, USAGE_FLUSH_FAILURES, USAGE_UNFLUSHED, VERIFICATIONS, VERIFY_SLOW_SECONDS,
};

pub(crate) struct VerifyMetrics {
    admitted: Counter,
    rejected: [Counter; RejectionKind::ALL.len()],
    pub(crate) cache_hits: Counter,
    pub(crate) cache_misses: Counter,
    pub(crate) slow: Histogram,
    pub(crate) store_errors: Counter,
    allowed: Counter,
    limited: Counter,
    pub(crate) limiter_round_trip: Histogram,
    pub(crate) canary_trips: Counter,
    pub(crate) unflushed: Gauge,
    pub(crate) flush_failures: Counter,
}

impl VerifyMetrics {
    /// Registers every handle with the recorder installed now (a no-op handle without one).
    pub(crate) fn register() -> Self {
        Self {
            admitted: metrics::counter!(VERIFICATIONS, "outcome" => "admitted"),
            rejected: RejectionKind::ALL
                .map(|k| metrics::counter!(VERIFICATIONS, "outcome" => k.code())),
            cache_hits: metrics::counter!(CACHE_HITS),
            cache_misses: metrics::counter!(CACHE_MISSES),
            slow: metrics::histogram!(VERIFY_SLOW_SECONDS),
            store_errors: metrics::counter!(STORE_ERRORS),
            allowed: metrics::counter!(LIMITER_DECISIONS, "result" => "allowed"),
            limited: metrics::counter!(LIMITER_DECISIONS, "result" => "limited"),
            limiter_round_trip: metrics::histogram!(LIMITER_ROUND_TRIP_SECONDS),
            canary_trips: metrics::counter!(CANARY_TRIPS),
            unflushed: metrics::gauge!(USAGE_UNFLUSHED),
            flush_failures: metrics::counter!(USAGE_FLUSH_FAILURES),
        }
    }

    #[inline]
    pub(crate) fn outcome(&self, result: &std::result::Result<Verified, Rejection>) {
        match result {
            Ok(_) => self.admitted.increment(1),
            Err(r) => self.rejected[r.kind() as usize].increment(1),
        }
    }

    /// A limiter's answer; an error is neither (it shows as the `unavailable` outcome).
    #[inline]
    pub(crate) fn decision(&self, decision: &Result<Decision>) {
        match decision {
            Ok(Decision::Allowed { .. }) => self.allowed.increment(1),
            Ok(Decision::Limited { .. }) => self.limited.increment(1),
            Err(_) => {}
        }
    }
}
