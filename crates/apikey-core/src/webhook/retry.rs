//! When to try a failed delivery again: exponential backoff with full jitter (each wait drawn
//! uniformly from zero to the exponential bound, so receivers coming back from an outage are not
//! hit by every sender at once), up to a maximum age, then dead letter.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};

/// The retry schedule of deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    base: Duration,
    cap: Duration,
    max_age: Duration,
}

/// No wait is shorter than this, so a receiver is never retried in a tight loop.
const MIN_WAIT: Duration = Duration::from_secs(1);

impl Default for RetryPolicy {
    /// Waits bounded by 5 s, 10 s, 20 s, … up to an hour; given up after three days (a weekend's
    /// outage), like the schedules of the common webhook services.
    fn default() -> Self {
        Self {
            base: Duration::from_secs(5),
            cap: Duration::from_secs(60 * 60),
            max_age: Duration::from_secs(3 * 24 * 60 * 60),
        }
    }
}

impl RetryPolicy {
    /// Bounds the `n`-th wait by `base · 2^(n-1)`, never above `cap`, and gives up `max_age`
    /// after enqueuing. `InvalidInput` if `base` is zero, `cap < base` or `max_age` is zero.
    pub fn new(base: Duration, cap: Duration, max_age: Duration) -> Result<Self> {
        if base.is_zero() || cap < base || max_age.is_zero() {
            return Err(Error::invalid(
                "webhook retry policy",
                "needs 0 < base <= cap and a non-zero maximum age",
            ));
        }
        Ok(Self { base, cap, max_age })
    }

    /// How long a delivery is tried.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// When a delivery enqueued (or redelivered) at `now` is given up.
    pub fn give_up_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        chrono::Duration::from_std(self.max_age)
            .ok()
            .and_then(|d| now.checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// The bound of the wait after `attempts` failed attempts (1 for the first).
    pub fn bound(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(40);
        self.base
            .checked_mul(1u32 << doublings.min(31))
            .unwrap_or(self.cap)
            .min(self.cap)
    }

    /// When to try again after `attempts` failed attempts at `now`, or `None` to give up (the
    /// delivery is past `give_up_at`). The last retry lands at `give_up_at` at the latest.
    pub fn next_attempt(
        &self,
        attempts: u32,
        now: DateTime<Utc>,
        give_up_at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if now >= give_up_at {
            return None;
        }
        let bound = self.bound(attempts).max(MIN_WAIT);
        let wait = jitter(bound).max(MIN_WAIT);
        let at = chrono::Duration::from_std(wait)
            .ok()
            .and_then(|d| now.checked_add_signed(d))
            .unwrap_or(give_up_at);
        Some(at.min(give_up_at))
    }
}

/// A duration drawn uniformly from `[0, bound]` (millisecond steps).
fn jitter(bound: Duration) -> Duration {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return bound;
    }
    let ms = u64::try_from(bound.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(u64::from_le_bytes(bytes) % ms.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_double_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.bound(1), Duration::from_secs(5));
        assert_eq!(p.bound(2), Duration::from_secs(10));
        assert_eq!(p.bound(5), Duration::from_secs(80));
        assert_eq!(p.bound(30), Duration::from_secs(3600));
        assert_eq!(p.bound(u32::MAX), Duration::from_secs(3600));
    }

    #[test]
    fn waits_are_jittered_within_the_bound_and_stop_at_the_age() {
        let p = RetryPolicy::new(
            Duration::from_secs(10),
            Duration::from_secs(60),
            Duration::from_secs(600),
        )
        .unwrap();
        let now = DateTime::from_timestamp_millis(0).unwrap();
        let give_up = p.give_up_at(now);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let at = p.next_attempt(3, now, give_up).unwrap();
            let wait = (at - now).num_milliseconds();
            assert!((1_000..=40_000).contains(&wait), "{wait}");
            seen.insert(wait);
        }
        assert!(seen.len() > 50, "jittered: {} distinct waits", seen.len());
        let late = give_up - chrono::Duration::seconds(2);
        assert!(p.next_attempt(9, late, give_up).unwrap() <= give_up);
        assert_eq!(p.next_attempt(1, give_up, give_up), None);
        assert!(RetryPolicy::new(Duration::ZERO, Duration::ZERO, Duration::ZERO).is_err());
    }
}
