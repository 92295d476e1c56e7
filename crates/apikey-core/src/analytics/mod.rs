//! Usage analytics: requests per key by outcome, in minute, hour and day buckets, counted on
//! the hot path without a store write and queried in milliseconds.
//!
//! - Counting: the verifier's write-behind usage cells hold one atomic per [`Outcome`] and the
//!   cost units, bumped where a verification ends (no allocation on a cache hit). Refusals
//!   before a key is known are counted once per process, never per presented id, so random
//!   tokens create no rows. The interval flusher sends the counts with the key store's usage
//!   batch, under the same batch id, to the store's [`AnalyticsStore`] (when it has one:
//!   [`KeyStore::analytics`](crate::KeyStore::analytics)); a retried batch counts once.
//! - Buckets: a flush lands in the minute, hour and day that hold the flush's time, so a bucket
//!   may hold up to one flush interval (default 10 s) of the previous one's traffic.
//! - [`AnalyticsStore`]: the backend capability, with the conformance suite
//!   `apikey_testkit::analytics_suite!`.
//! - [`UsageRetentionJob`]: the scheduler job that applies [`UsageRetention`].

mod counts;
mod query;
mod retention;
mod store;
mod subject;

pub use counts::{Outcome, UsageCounts};
pub use query::{
    MAX_SUBJECT_KEYS, MAX_TOP_KEYS, Ranking, Resolution, SeriesQuery, TopQuery, UsageRange,
    UsageSubject,
};
pub use retention::{UsageRetention, UsageRetentionJob};
pub use store::{
    AnalyticsStore, KeyUsage, RowKind, UsageCutoffs, UsagePoint, UsageRow, tenant_totals,
};
pub use subject::keys_matching;

/// The sum of a series.
pub fn total<'a>(points: impl IntoIterator<Item = &'a UsagePoint>) -> UsageCounts {
    let mut sum = UsageCounts::default();
    for p in points {
        sum.add(&p.counts);
    }
    sum
}

/// Every bucket of `range` at `resolution`, oldest first: the stored points, and zero counts
/// where nothing was stored (for charts, which need the gaps).
pub fn filled(
    points: &[UsagePoint],
    range: &UsageRange,
    resolution: Resolution,
) -> Vec<UsagePoint> {
    let (mut at, until) = range.buckets(resolution);
    let mut stored = points.iter().peekable();
    let mut out = Vec::new();
    while at < until {
        let counts = match stored.peek() {
            Some(p) if p.bucket == at => stored.next().map(|p| p.counts).unwrap_or_default(),
            _ => UsageCounts::default(),
        };
        out.push(UsagePoint { bucket: at, counts });
        at += resolution.step();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_filled_with_zeros() {
        let since: chrono::DateTime<chrono::Utc> = "2026-11-05T10:00:00Z".parse().unwrap();
        let range = UsageRange {
            since,
            until: since + chrono::TimeDelta::hours(4),
        };
        let one = UsagePoint {
            bucket: since + chrono::TimeDelta::hours(2),
            counts: UsageCounts {
                success: 3,
                ..UsageCounts::default()
            },
        };
        let all = filled(&[one], &range, Resolution::Hour);
        assert_eq!(all.len(), 4);
        assert_eq!(
            all.iter().map(|p| p.counts.success).collect::<Vec<_>>(),
            [0, 0, 3, 0]
        );
        assert_eq!(
            Resolution::for_span(chrono::TimeDelta::days(7)),
            Resolution::Hour
        );
    }
}
