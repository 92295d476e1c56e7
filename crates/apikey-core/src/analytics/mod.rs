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

pub use counts::{Outcome, UsageCounts};
pub use query::{
    MAX_SUBJECT_KEYS, MAX_TOP_KEYS, Ranking, Resolution, SeriesQuery, TopQuery, UsageRange,
    UsageSubject,
};
pub use retention::{UsageRetention, UsageRetentionJob};
pub use store::{AnalyticsStore, KeyUsage, UsageCutoffs, UsagePoint, UsageRow};

/// The sum of a series.
pub fn total<'a>(points: impl IntoIterator<Item = &'a UsagePoint>) -> UsageCounts {
    let mut sum = UsageCounts::default();
    for p in points {
        sum.add(&p.counts);
    }
    sum
}
