//! The GCRA arithmetic every limiter shares (the Redis script mirrors it line for line).

use crate::limit::policy::Rate;

/// The outcome of one GCRA step in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GcraStep {
    /// Admitted: store `new_tat`.
    Allowed {
        /// Theoretical arrival time to store.
        new_tat: i64,
        /// Requests still admissible right now.
        remaining: u64,
        /// Microseconds until the bucket is full again.
        reset_after: i64,
    },
    /// Refused: store nothing.
    Limited {
        /// Microseconds until `cost` would be admitted.
        retry_after: i64,
    },
}

/// One GCRA decision: `tat` is the stored theoretical arrival time (absent for a new subject).
///
/// A request of `cost` is admitted when, after adding it, the bucket holds at most `burst` emission
/// intervals of debt. So any window of length `T` admits at most `burst + rate·T` requests.
#[inline]
pub fn gcra(rate: &Rate, tat: Option<i64>, now: i64, cost: u32) -> GcraStep {
    let interval = rate.interval_us();
    let capacity = interval.saturating_mul(i64::from(rate.burst));
    let tat = tat.map_or(now, |t| t.max(now));
    let new_tat = tat.saturating_add(interval.saturating_mul(i64::from(cost)));
    let allow_at = new_tat - capacity;
    if allow_at > now {
        GcraStep::Limited {
            retry_after: allow_at - now,
        }
    } else {
        GcraStep::Allowed {
            new_tat,
            remaining: u64::try_from((capacity - (new_tat - now)) / interval).unwrap_or(0),
            reset_after: new_tat - now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_steady_rate() {
        let r = Rate::with_burst(1, Duration::from_secs(1), 2).unwrap();
        let GcraStep::Allowed {
            new_tat,
            remaining: 1,
            ..
        } = gcra(&r, None, 0, 1)
        else {
            panic!()
        };
        let GcraStep::Allowed {
            new_tat,
            remaining: 0,
            ..
        } = gcra(&r, Some(new_tat), 0, 1)
        else {
            panic!()
        };
        assert_eq!(
            gcra(&r, Some(new_tat), 0, 1),
            GcraStep::Limited {
                retry_after: 1_000_000
            }
        );
        assert!(matches!(
            gcra(&r, Some(new_tat), 1_000_000, 1),
            GcraStep::Allowed { .. }
        ));
    }

    #[test]
    fn cost_above_burst_is_never_admitted_now() {
        let r = Rate::new(5, Duration::from_secs(1)).unwrap();
        assert!(matches!(gcra(&r, None, 0, 6), GcraStep::Limited { .. }));
        assert!(matches!(
            gcra(&r, None, 0, 5),
            GcraStep::Allowed { remaining: 0, .. }
        ));
    }
}
