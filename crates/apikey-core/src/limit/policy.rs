//! What a key may spend: a rate with burst, per-endpoint rates, and a calendar quota.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::limit::window::QuotaPeriod;

/// A GCRA rate: `requests` per `per_ms` milliseconds, with up to `burst` requests at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rate {
    /// Requests replenished per window.
    pub requests: u32,
    /// The window, in milliseconds.
    pub per_ms: u64,
    /// Requests that may arrive back to back.
    pub burst: u32,
}

/// Largest window a rate may have: one year.
pub const MAX_RATE_WINDOW_MS: u64 = 366 * 24 * 3600 * 1000;

/// Largest GCRA capacity (`burst × window / requests`): a century, in microseconds. Beyond it the
/// limiter's timestamps would leave the range every backend can store.
pub const MAX_CAPACITY_US: i64 = 100 * 366 * 24 * 3600 * 1_000_000;

impl Rate {
    /// `requests` per `per`, with a burst equal to `requests`.
    pub fn new(requests: u32, per: Duration) -> Result<Self, Error> {
        Self::with_burst(requests, per, requests)
    }

    /// `requests` per `per`, with an explicit burst.
    pub fn with_burst(requests: u32, per: Duration, burst: u32) -> Result<Self, Error> {
        let rate = Self {
            requests,
            per_ms: u64::try_from(per.as_millis()).unwrap_or(u64::MAX),
            burst,
        };
        rate.validate()?;
        Ok(rate)
    }

    /// Checks the ranges: 1..=10⁹ requests and burst, a window of 1 ms to one year, at most one
    /// request per microsecond, and a capacity of at most [`MAX_CAPACITY_US`].
    pub fn validate(&self) -> Result<(), Error> {
        if !(1..=1_000_000_000).contains(&self.requests) {
            return Err(Error::invalid(
                "rate limit",
                "requests must be 1..=1000000000",
            ));
        }
        if !(1..=1_000_000_000).contains(&self.burst) {
            return Err(Error::invalid("rate limit", "burst must be 1..=1000000000"));
        }
        if !(1..=MAX_RATE_WINDOW_MS).contains(&self.per_ms) {
            return Err(Error::invalid(
                "rate limit",
                "window must be 1 ms to 366 days",
            ));
        }
        if self.per_ms * 1000 < u64::from(self.requests) {
            return Err(Error::invalid(
                "rate limit",
                "at most one request per microsecond",
            ));
        }
        if i128::from(self.interval_us()) * i128::from(self.burst) > i128::from(MAX_CAPACITY_US) {
            return Err(Error::invalid(
                "rate limit",
                "burst × window / requests must be at most 100 years",
            ));
        }
        Ok(())
    }

    /// The GCRA emission interval in microseconds.
    pub fn interval_us(&self) -> i64 {
        i64::try_from(self.per_ms * 1000 / u64::from(self.requests))
            .unwrap_or(i64::MAX)
            .max(1)
    }

    /// The window as a duration.
    pub fn window(&self) -> Duration {
        Duration::from_millis(self.per_ms)
    }
}

/// A limit on the requests of one endpoint (`"GET /projects"`, a gRPC path, …) for one key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EndpointLimit {
    /// The endpoint as the integration names it (for HTTP: `METHOD /route/template`).
    pub endpoint: String,
    /// Its rate.
    pub rate: Rate,
}

/// A quota: at most `limit` requests in each calendar `period` (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Quota {
    /// Requests allowed per period.
    pub limit: u64,
    /// The calendar period.
    pub period: QuotaPeriod,
}

impl Quota {
    /// Checks `limit` is at least 1.
    pub fn validate(&self) -> Result<(), Error> {
        if self.limit == 0 || self.limit > 1_000_000_000_000 {
            return Err(Error::invalid("quota", "limit must be 1..=10^12"));
        }
        Ok(())
    }
}

/// The limits one decision checks together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitPolicy {
    /// The key's own rate.
    pub rate: Option<Rate>,
    /// The rate of the endpoint being called, for this key.
    pub endpoint: Option<Rate>,
    /// The key's quota (counted per rotation lineage).
    pub quota: Option<Quota>,
}

impl LimitPolicy {
    /// Whether there is nothing to check.
    pub fn is_empty(&self) -> bool {
        self.rate.is_none() && self.endpoint.is_none() && self.quota.is_none()
    }
}

/// What to do when the limiter's backend is unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum FailurePolicy {
    /// Refuse the request (503).
    #[default]
    FailClosed,
    /// Let the request through uncounted.
    FailOpen,
    /// Count in process, allowing `share` (0 < share ≤ 1) of each rate. Quotas cannot use this: a
    /// share of a monthly quota means nothing, so they fall back to closed.
    LocalFallback {
        /// Fraction of the configured rate each instance may admit alone.
        share: f64,
    },
}
