//! Rate-limited warnings: during an outage a failure path runs once per request, and a log line
//! per request would bury everything else (and cost more than the request). A [`LogThrottle`] lets
//! one line through per interval and counts the ones it held back, so the next line can say how
//! many there were.
//!
//! ```
//! use std::time::Duration;
//! use apikey_core::log_throttle::LogThrottle;
//! # use apikey_core::{Clock, SystemClock};
//! # let clock = SystemClock;
//!
//! static STORE_DOWN: LogThrottle = LogThrottle::new(Duration::from_secs(10));
//! if let Some(suppressed) = STORE_DOWN.allow(clock.now()) {
//!     tracing::warn!(suppressed, "key store unavailable");
//! }
//! ```

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// One line per interval, with the count of the lines held back since the last one.
///
/// Two relaxed atomics and no lock: `allow` is cheap enough for a per-request failure path. Time
/// is passed in (from the injected [`Clock`](crate::Clock)), so tests move it by hand.
#[derive(Debug)]
pub struct LogThrottle {
    interval_ms: i64,
    /// The earliest time (ms since the epoch) the next line may pass.
    next_ms: AtomicI64,
    suppressed: AtomicU64,
}

impl LogThrottle {
    /// A throttle that lets one line through per `interval`; the first line always passes.
    pub const fn new(interval: Duration) -> Self {
        let ms = interval.as_millis();
        Self {
            interval_ms: if ms > i64::MAX as u128 {
                i64::MAX
            } else {
                ms as i64
            },
            next_ms: AtomicI64::new(i64::MIN),
            suppressed: AtomicU64::new(0),
        }
    }

    /// [`allow`](Self::allow) on the process's monotonic clock, for code that has no injected
    /// [`Clock`](crate::Clock) at hand.
    pub fn allow_monotonic(&self) -> Option<u64> {
        static START: OnceLock<Instant> = OnceLock::new();
        let elapsed = START.get_or_init(Instant::now).elapsed();
        let ms = i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
        self.allow(DateTime::from_timestamp_millis(ms).unwrap_or_default())
    }

    /// `Some(suppressed)` when a line may be logged now — `suppressed` is how many were held back
    /// since the last one, to be included in it — or `None` (and this one is counted) otherwise.
    pub fn allow(&self, now: DateTime<Utc>) -> Option<u64> {
        let now_ms = now.timestamp_millis();
        let next = self.next_ms.load(Ordering::Relaxed);
        // A clock set back by more than an interval must not silence the log until it catches up.
        let due = now_ms >= next || now_ms < next.saturating_sub(self.interval_ms);
        if due
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now_ms.saturating_add(self.interval_ms),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    use crate::clock::{Clock, ManualClock};

    #[test]
    fn one_line_per_interval_with_the_count_held_back() {
        let clock = ManualClock::fixed();
        let t = LogThrottle::new(Duration::from_secs(10));
        assert_eq!(t.allow(clock.now()), Some(0), "the first line passes");
        for _ in 0..1000 {
            assert_eq!(t.allow(clock.now()), None);
        }
        clock.advance(TimeDelta::milliseconds(9_999));
        assert_eq!(t.allow(clock.now()), None, "still inside the interval");
        clock.advance(TimeDelta::milliseconds(1));
        assert_eq!(
            t.allow(clock.now()),
            Some(1001),
            "says how many it held back"
        );
        assert_eq!(t.allow(clock.now()), None);
        clock.advance(TimeDelta::seconds(10));
        assert_eq!(
            t.allow(clock.now()),
            Some(1),
            "the count restarts after each line"
        );
    }

    #[test]
    fn the_monotonic_reading_throttles_too() {
        let t = LogThrottle::new(Duration::from_secs(3600));
        assert_eq!(t.allow_monotonic(), Some(0));
        assert_eq!(t.allow_monotonic(), None);
        assert_eq!(t.allow_monotonic(), None);
    }

    #[test]
    fn a_clock_set_back_does_not_silence_it() {
        let clock = ManualClock::fixed();
        let t = LogThrottle::new(Duration::from_secs(10));
        clock.advance(TimeDelta::seconds(3600));
        assert_eq!(t.allow(clock.now()), Some(0));
        clock.set(clock.now() - TimeDelta::hours(1));
        assert_eq!(t.allow(clock.now()), Some(0));
    }

    #[test]
    fn threads_racing_let_exactly_one_line_through() {
        let clock = ManualClock::fixed();
        let t = LogThrottle::new(Duration::from_secs(10));
        let now = clock.now();
        let passed: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..10_000).filter(|_| t.allow(now).is_some()).count()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(passed, 1);
        clock.advance(TimeDelta::seconds(10));
        assert_eq!(t.allow(clock.now()), Some(39_999));
    }
}
