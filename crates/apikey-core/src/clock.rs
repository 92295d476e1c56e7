//! Injected time: every expiry, window and quota reads a [`Clock`], so tests move time instead of sleeping.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Duration, TimeZone, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;

    /// Now, in microseconds since the Unix epoch: the same instant as [`now`](Self::now) without
    /// the calendar conversion a `DateTime` needs, which the verifier's hit path avoids. Override
    /// it only with the same instant (tests compare the two).
    fn now_micros(&self) -> i64 {
        self.now().timestamp_micros()
    }
}

/// The system clock (`Utc::now`, a vDSO call: no syscall on Linux).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    #[inline]
    fn now_micros(&self) -> i64 {
        let micros = |d: std::time::Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) => micros(since),
            Err(before) => -micros(before.duration()),
        }
    }
}

/// A clock that only moves when told to; clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    micros: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock stopped at `start` (kept at microsecond precision).
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            micros: Arc::new(AtomicI64::new(start.timestamp_micros())),
        }
    }

    /// A clock stopped at 2030-01-15 12:00:00 UTC, a date far from any calendar edge.
    pub fn fixed() -> Self {
        Self::new(
            Utc.with_ymd_and_hms(2030, 1, 15, 12, 0, 0)
                .single()
                .expect("valid date"),
        )
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let micros = by
            .num_microseconds()
            .expect("duration fits in i64 microseconds");
        self.micros.fetch_add(micros, Ordering::SeqCst);
    }

    /// Sets the clock.
    pub fn set(&self, to: DateTime<Utc>) {
        self.micros.store(to.timestamp_micros(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.micros.load(Ordering::SeqCst)).expect("clock in range")
    }

    fn now_micros(&self) -> i64 {
        self.micros.load(Ordering::SeqCst)
    }
}

/// Truncates to whole milliseconds: every stored timestamp has this precision (BSON's), so a record
/// reads back equal from every backend.
pub fn truncate_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).expect("in range")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::fixed();
        let t0 = clock.now();
        assert_eq!(clock.now(), t0);
        clock.clone().advance(Duration::seconds(90));
        assert_eq!(clock.now() - t0, Duration::seconds(90));
    }

    #[test]
    fn truncates_to_millis() {
        let t = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        assert_eq!(truncate_ms(t).timestamp_micros(), 1_700_000_000_123_000);
    }

    #[test]
    fn micros_are_the_same_instant_as_now() {
        let manual = ManualClock::fixed();
        manual.advance(Duration::microseconds(7));
        assert_eq!(manual.now_micros(), manual.now().timestamp_micros());

        let before = SystemClock.now().timestamp_micros();
        let micros = SystemClock.now_micros();
        let after = SystemClock.now().timestamp_micros();
        assert!(
            before <= micros && micros <= after,
            "{before} <= {micros} <= {after}"
        );
    }
}
