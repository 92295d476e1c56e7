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
    // i128 so no product or sum can overflow whatever the inputs; a validated rate keeps every
    // result well inside i64 (its capacity is at most a century).
    let interval = i128::from(rate.interval_us());
    let capacity = interval * i128::from(rate.burst);
    let now_w = i128::from(now);
    let tat = tat.map_or(now_w, |t| i128::from(t).max(now_w));
    let new_tat = tat + interval * i128::from(cost);
    let allow_at = new_tat - capacity;
    let clamp = |v: i128| i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX });
    match i64::try_from(new_tat) {
        Ok(stored) if allow_at <= now_w => GcraStep::Allowed {
            new_tat: stored,
            remaining: u64::try_from((capacity - (new_tat - now_w)) / interval).unwrap_or(0),
            reset_after: clamp(new_tat - now_w),
        },
        // Not admissible now, or a state that could not be stored faithfully: refuse.
        _ => GcraStep::Limited {
            retry_after: clamp((allow_at - now_w).max(1)),
        },
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
