//! A key's validity window in clock microseconds, worked out once when its cache entry is filled,
//! so a hit compares three integers instead of turning the clock into a calendar date (chrono's
//! conversion was a tenth of a hit in `perf`).

use std::time::Duration;

use crate::record::KeyRecord;

/// When a cached key stops being usable, enters its expiry grace, and becomes usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Validity {
    /// From here on the key is expired: `expires_at + grace`, or the end of a rotation's grace,
    /// whichever comes first.
    expired_from_us: i64,
    /// From here on a still-valid key is in its expiry grace (`expires_at`).
    grace_from_us: i64,
    /// Before this the key is not yet valid (`not_before`).
    valid_from_us: i64,
}

impl Validity {
    /// The window `record` has under a verifier whose expiry grace is `grace`; the same answers
    /// as [`KeyRecord::is_expired`], [`KeyRecord::in_expiry_grace`] and `not_before` (a test
    /// compares them), without their overflow on a grace near `Duration::MAX`.
    pub(crate) fn of(record: &KeyRecord, grace: Duration) -> Self {
        let grace_us = i64::try_from(grace.as_micros()).unwrap_or(i64::MAX);
        let expires = record.expires_at.map(|t| t.timestamp_micros());
        let by_expiry = expires.map_or(i64::MAX, |t| t.saturating_add(grace_us));
        let by_rotation = record
            .grace_until
            .map_or(i64::MAX, |t| t.timestamp_micros());
        Self {
            expired_from_us: by_expiry.min(by_rotation),
            grace_from_us: expires.unwrap_or(i64::MAX),
            valid_from_us: record.not_before.map_or(i64::MIN, |t| t.timestamp_micros()),
        }
    }

    #[inline]
    pub(crate) fn is_expired(&self, now_us: i64) -> bool {
        now_us >= self.expired_from_us
    }

    #[inline]
    pub(crate) fn in_expiry_grace(&self, now_us: i64) -> bool {
        now_us >= self.grace_from_us
    }

    #[inline]
    pub(crate) fn is_not_yet_valid(&self, now_us: i64) -> bool {
        now_us < self.valid_from_us
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::verify::test_support::record_with_version;

    fn at(us: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(us).expect("in range")
    }

    /// Every combination of expiry, rotation grace and not-before, probed on both sides of each
    /// edge, gives the record's own answers.
    #[test]
    fn agrees_with_the_record_at_every_edge() {
        let base = 1_900_000_000_000_000;
        let times = [None, Some(base), Some(base + 5_000_000)];
        for expires_at in times {
            for grace_until in times {
                for not_before in times {
                    for grace_s in [0u64, 3] {
                        let mut r = record_with_version(1);
                        r.expires_at = expires_at.map(at);
                        r.grace_until = grace_until.map(at);
                        r.not_before = not_before.map(at);
                        let grace = Duration::from_secs(grace_s);
                        let v = Validity::of(&r, grace);
                        let chrono_grace = chrono::Duration::from_std(grace).unwrap();
                        for probe in [base - 1, base, base + 1, base + 3_000_000, base + 5_000_000]
                            .into_iter()
                            .chain([base + 7_999_999, base + 8_000_000])
                        {
                            let now = at(probe);
                            assert_eq!(v.is_expired(probe), r.is_expired(now, chrono_grace));
                            assert_eq!(v.in_expiry_grace(probe), r.in_expiry_grace(now));
                            assert_eq!(
                                v.is_not_yet_valid(probe),
                                r.not_before.is_some_and(|t| now < t)
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn an_unbounded_grace_never_overflows() {
        let mut r = record_with_version(1);
        r.expires_at = Some(at(1_900_000_000_000_000));
        let v = Validity::of(&r, Duration::MAX);
        assert!(!v.is_expired(i64::MAX - 1));
        assert!(v.in_expiry_grace(1_900_000_000_000_000));
        // The record's own answer agrees instead of panicking on `expires_at + grace`.
        let now = at(1_900_000_100_000_000);
        assert!(!r.is_expired(now, chrono::Duration::MAX));
    }
}
