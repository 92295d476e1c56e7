//! A circuit breaker for the limiter's Redis calls, and the counters it reports.
//!
//! Closed: every call goes to Redis; `threshold` consecutive failures open it. Open: calls skip
//! Redis (the failure policy answers at once, without waiting out a time budget) until `cooldown`
//! has passed. Half-open: one probe call goes to Redis; success closes the breaker, failure opens
//! it for another cooldown. Time here is real (`Instant`): it paces network retries, not limits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// What the breaker lets a call do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Call Redis.
    Call,
    /// Call Redis as the half-open probe.
    Probe,
    /// Do not call Redis: the breaker is open.
    Skip,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen,
}

/// The breaker.
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    pub(crate) fn admit(&self) -> Admit {
        let mut s = self.state.lock();
        match *s {
            State::Closed { .. } => Admit::Call,
            State::Open { until } if Instant::now() >= until => {
                *s = State::HalfOpen;
                Admit::Probe
            }
            State::Open { .. } | State::HalfOpen => Admit::Skip,
        }
    }

    pub(crate) fn success(&self) {
        let mut s = self.state.lock();
        if !matches!(*s, State::Closed { failures: 0 }) {
            *s = State::Closed { failures: 0 };
        }
    }

    /// Records a failure; true if this one opened the breaker.
    pub(crate) fn failure(&self, probe: bool) -> bool {
        let mut s = self.state.lock();
        let open = match *s {
            State::Closed { failures } if failures + 1 < self.threshold => {
                *s = State::Closed {
                    failures: failures + 1,
                };
                false
            }
            State::Closed { .. } => true,
            State::HalfOpen => probe,
            State::Open { .. } => false,
        };
        if open {
            *s = State::Open {
                until: Instant::now() + self.cooldown,
            };
        }
        open
    }

    pub(crate) fn is_open(&self) -> bool {
        !matches!(*self.state.lock(), State::Closed { .. })
    }
}

/// Counters of a [`RedisLimiter`](super::RedisLimiter), read with
/// [`stats`](super::RedisLimiter::stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedisLimiterStats {
    /// Decisions Redis made.
    pub decisions: u64,
    /// Decisions the failure policy made instead (fail open, local fallback, or fail closed).
    pub fallbacks: u64,
    /// Redis calls that failed or overran the time budget.
    pub errors: u64,
    /// Times the circuit breaker opened.
    pub breaker_opens: u64,
    /// Whether the breaker is open (or half-open) now.
    pub breaker_open: bool,
    /// Script calls sent to Redis (each one `EVALSHA`, successful or not). In exact mode about
    /// one per decision; in lease mode decisions answered from a lease add nothing.
    pub round_trips: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) decisions: AtomicU64,
    pub(crate) fallbacks: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) breaker_opens: AtomicU64,
    pub(crate) round_trips: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, breaker_open: bool) -> RedisLimiterStats {
        RedisLimiterStats {
            decisions: self.decisions.load(Ordering::Relaxed),
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            breaker_opens: self.breaker_opens.load(Ordering::Relaxed),
            breaker_open,
            round_trips: self.round_trips.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_probes_after_cooldown() {
        let b = Breaker::new(2, Duration::ZERO);
        assert_eq!(b.admit(), Admit::Call);
        assert!(!b.failure(false));
        assert!(b.failure(false));
        // Cooldown zero: the next call is the probe, the one after it waits for the probe.
        assert_eq!(b.admit(), Admit::Probe);
        assert_eq!(b.admit(), Admit::Skip);
        assert!(b.failure(true));
        assert_eq!(b.admit(), Admit::Probe);
        b.success();
        assert_eq!(b.admit(), Admit::Call);
        assert!(!b.is_open());
    }

    #[test]
    fn an_open_breaker_skips_until_the_cooldown_ends() {
        let b = Breaker::new(1, Duration::from_secs(3600));
        assert!(b.failure(false));
        assert_eq!(b.admit(), Admit::Skip);
        assert!(b.is_open());
    }
}
