//! What a usage query asks: a subject, a resolution and a range.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::KeyId;

/// The width of a bucket. Every flush adds to the minute, the hour and the day it falls in, so
/// each resolution answers on its own and is purged on its own schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// One-minute buckets.
    Minute,
    /// One-hour buckets.
    Hour,
    /// One-day buckets (UTC days).
    Day,
}

impl Resolution {
    /// Every resolution, finest first.
    pub const ALL: [Self; 3] = [Self::Minute, Self::Hour, Self::Day];

    /// A bucket's width.
    pub fn step(self) -> TimeDelta {
        match self {
            Self::Minute => TimeDelta::minutes(1),
            Self::Hour => TimeDelta::hours(1),
            Self::Day => TimeDelta::days(1),
        }
    }

    /// The longest range one query may cover at this resolution: 2 days of minutes (2,880
    /// buckets), 93 days of hours (2,232), 1,000 days of days.
    pub fn max_span(self) -> TimeDelta {
        match self {
            Self::Minute => TimeDelta::days(2),
            Self::Hour => TimeDelta::days(93),
            Self::Day => TimeDelta::days(1000),
        }
    }

    /// The start of the bucket holding `at`.
    pub fn bucket(self, at: DateTime<Utc>) -> DateTime<Utc> {
        at.duration_trunc(self.step()).unwrap_or(at)
    }

    /// The finest resolution that answers a range of `span` in at most a few hundred buckets:
    /// minutes up to 6 hours, hours up to 31 days, days beyond.
    pub fn for_span(span: TimeDelta) -> Self {
        if span <= TimeDelta::hours(6) {
            Self::Minute
        } else if span <= TimeDelta::days(31) {
            Self::Hour
        } else {
            Self::Day
        }
    }

    /// The stored code (0, 1, 2).
    pub const fn code(self) -> i16 {
        match self {
            Self::Minute => 0,
            Self::Hour => 1,
            Self::Day => 2,
        }
    }

    /// The name a command line or a URL uses.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }
}

impl std::str::FromStr for Resolution {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| Error::invalid("resolution", "expected minute, hour or day"))
    }
}

/// Whose usage a query sums.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageSubject {
    /// One key.
    Key(KeyId),
    /// Several keys together (an owner's or a group's, resolved by the caller); at most
    /// [`MAX_SUBJECT_KEYS`].
    Keys(Vec<KeyId>),
    /// Every key the scope admits.
    Scope,
    /// The requests refused before a key was known (only in [`TenantScope::All`](crate::TenantScope)).
    Unattributed,
}

/// Most keys one [`UsageSubject::Keys`] names.
pub const MAX_SUBJECT_KEYS: usize = 10_000;

/// The half-open range `[since, until)`, checked against a resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageRange {
    /// First instant counted (rounded down to its bucket).
    pub since: DateTime<Utc>,
    /// First instant not counted.
    pub until: DateTime<Utc>,
}

impl UsageRange {
    /// Refuses a reversed or empty range, or one longer than `resolution` answers.
    pub fn validate(&self, resolution: Resolution) -> Result<()> {
        if self.since >= self.until {
            return Err(Error::invalid("range", "since must be before until"));
        }
        if self.until - self.since > resolution.max_span() {
            return Err(Error::invalid(
                "range",
                format_args!(
                    "at most {} days at {} resolution; ask a coarser resolution",
                    resolution.max_span().num_days(),
                    resolution.as_str()
                ),
            ));
        }
        Ok(())
    }

    /// The bucket starts a query selects: from `since`'s bucket, before `until`.
    pub fn buckets(&self, resolution: Resolution) -> (DateTime<Utc>, DateTime<Utc>) {
        (resolution.bucket(self.since), self.until)
    }
}

/// A time series: the subject's buckets in a range, oldest first, empty buckets left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesQuery {
    /// Whose usage.
    pub subject: UsageSubject,
    /// Bucket width.
    pub resolution: Resolution,
    /// The range.
    pub range: UsageRange,
}

impl SeriesQuery {
    /// Refuses a query no store should run.
    pub fn validate(&self) -> Result<()> {
        self.range.validate(self.resolution)?;
        if let UsageSubject::Keys(keys) = &self.subject
            && keys.len() > MAX_SUBJECT_KEYS
        {
            return Err(Error::invalid(
                "keys",
                format_args!("at most {MAX_SUBJECT_KEYS} keys in one query"),
            ));
        }
        Ok(())
    }
}

/// What [`TopQuery`] ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ranking {
    /// Every request.
    Requests,
    /// Refused requests.
    Rejections,
}

impl std::str::FromStr for Ranking {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "requests" => Ok(Self::Requests),
            "rejections" => Ok(Self::Rejections),
            _ => Err(Error::invalid("by", "expected requests or rejections")),
        }
    }
}

/// Most keys one [`TopQuery`] returns.
pub const MAX_TOP_KEYS: u32 = 1000;

/// The keys with the most requests (or rejections) in a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopQuery {
    /// The ranking.
    pub by: Ranking,
    /// Which resolution to sum (the coarsest whose buckets fit the range is cheapest).
    pub resolution: Resolution,
    /// The range.
    pub range: UsageRange,
    /// At most this many keys (1..=[`MAX_TOP_KEYS`]).
    pub limit: u32,
}

impl TopQuery {
    /// Refuses a query no store should run.
    pub fn validate(&self) -> Result<()> {
        self.range.validate(self.resolution)?;
        if !(1..=MAX_TOP_KEYS).contains(&self.limit) {
            return Err(Error::invalid(
                "limit",
                format_args!("must be 1..={MAX_TOP_KEYS}"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn buckets_start_on_their_boundary() {
        let t = at("2026-11-05T13:47:31.250Z");
        assert_eq!(Resolution::Minute.bucket(t), at("2026-11-05T13:47:00Z"));
        assert_eq!(Resolution::Hour.bucket(t), at("2026-11-05T13:00:00Z"));
        assert_eq!(Resolution::Day.bucket(t), at("2026-11-05T00:00:00Z"));
        for r in Resolution::ALL {
            assert_eq!(r.as_str().parse::<Resolution>().unwrap(), r);
        }
        assert!("week".parse::<Resolution>().is_err());
    }

    #[test]
    fn reversed_or_too_long_ranges_are_refused() {
        let since = at("2026-11-01T00:00:00Z");
        let reversed = UsageRange {
            since,
            until: since,
        };
        assert!(reversed.validate(Resolution::Day).is_err());
        let month = UsageRange {
            since,
            until: at("2026-12-01T00:00:00Z"),
        };
        assert!(month.validate(Resolution::Hour).is_ok());
        let e = month.validate(Resolution::Minute).unwrap_err();
        assert!(e.to_string().contains("coarser"), "{e}");
        let top = TopQuery {
            by: Ranking::Requests,
            resolution: Resolution::Day,
            range: month,
            limit: 0,
        };
        assert!(top.validate().is_err());
    }
}
