//! What the limiter answers when Redis cannot: [`FailurePolicy`] applied to one decision, each
//! use counted in the `fallbacks` counter and reported through `tracing` at most once per
//! [`OUTAGE_LOG_INTERVAL`](super::OUTAGE_LOG_INTERVAL).

use apikey_core::limit::FailurePolicy;
use apikey_core::{Decision, Error, LimitPolicy, Rate, Result, Subject};

use super::RedisLimiter;
use super::breaker::Counters;

/// Rejects rates and quotas outside their documented ranges.
pub(super) fn validate(policy: &LimitPolicy) -> Result<()> {
    if let Some(r) = &policy.rate {
        r.validate()?;
    }
    if let Some(r) = &policy.endpoint {
        r.validate()?;
    }
    if let Some(q) = &policy.quota {
        q.validate()?;
    }
    Ok(())
}

/// `rate` reduced to `share` of its requests and burst (at least one of each), same window.
pub(super) fn scaled(rate: Rate, share: f64) -> Rate {
    let scale = |n: u32| {
        // Truncation is the point: an instance may admit at most its share.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let s = (f64::from(n) * share).floor() as u32;
        s.max(1)
    };
    Rate {
        requests: scale(rate.requests),
        burst: scale(rate.burst),
        per_ms: rate.per_ms,
    }
}

impl RedisLimiter {
    pub(super) async fn fall_back(
        &self,
        subject: &Subject<'_>,
        policy: &LimitPolicy,
        cost: u32,
        cause: Option<Error>,
    ) -> Result<Decision> {
        Counters::bump(&self.counters.fallbacks);
        // Every request takes this path during an outage: one warning per interval, with the
        // count held back, rather than one per request (the `fallbacks` counter has them all).
        let log = self.outage_log.allow(self.log_time());
        let reason = || {
            cause
                .as_ref()
                .map_or_else(|| "circuit breaker open".to_owned(), ToString::to_string)
        };
        match self.policy {
            FailurePolicy::FailOpen => {
                if let Some(suppressed) = log {
                    tracing::warn!(key = %subject.key, reason = %reason(), suppressed, "redis limiter unavailable: failing open");
                }
                Ok(Decision::Allowed {
                    tightest: None,
                    quota: None,
                })
            }
            FailurePolicy::LocalFallback { share } if policy.quota.is_none() => {
                if let Some(suppressed) = log {
                    tracing::warn!(key = %subject.key, reason = %reason(), share, suppressed, "redis limiter unavailable: counting in process");
                }
                let local_policy = LimitPolicy {
                    rate: policy.rate.map(|r| scaled(r, share)),
                    endpoint: policy.endpoint.map(|r| scaled(r, share)),
                    quota: None,
                };
                match &self.local {
                    Some(local) => local.check(subject, &local_policy, cost).await,
                    None => Err(Error::new(
                        apikey_core::ErrorKind::Config,
                        "local fallback limiter missing",
                    )),
                }
            }
            // Fail closed, or a quota under LocalFallback (quotas are open or closed only).
            _ => {
                if let Some(suppressed) = log {
                    tracing::warn!(key = %subject.key, reason = %reason(), suppressed, "redis limiter unavailable: failing closed");
                }
                let mut err = Error::unavailable("rate limiter unavailable (fail closed)");
                if let Some(cause) = cause {
                    err = err.with_source(cause);
                }
                Err(err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn scaling_keeps_the_window_and_at_least_one_request() {
        let r = Rate::with_burst(100, Duration::from_secs(1), 40).unwrap();
        let s = scaled(r, 0.25);
        assert_eq!((s.requests, s.burst, s.per_ms), (25, 10, 1000));
        let tiny = scaled(Rate::new(1, Duration::from_secs(1)).unwrap(), 0.1);
        assert_eq!((tiny.requests, tiny.burst), (1, 1));
        assert!(s.validate().is_ok());
    }
}
