//! Calendar quota windows in UTC, computed here once for every limiter (memory, Redis, …).
//!
//! Months are real calendar months: the window holding Jan 31 ends at Feb 1 00:00 UTC, never at
//! Mar 1 (the trap of adding "one month" to Jan 31).

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// A quota period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaPeriod {
    /// A UTC calendar day.
    Day,
    /// A UTC calendar month.
    Month,
    /// A UTC calendar year.
    Year,
}

impl QuotaPeriod {
    /// The stable lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Month => "month",
            Self::Year => "year",
        }
    }
}

impl fmt::Display for QuotaPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for QuotaPeriod {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, crate::Error> {
        match s {
            "day" | "daily" => Ok(Self::Day),
            "month" | "monthly" => Ok(Self::Month),
            "year" | "yearly" => Ok(Self::Year),
            _ => Err(crate::Error::invalid(
                "quota period",
                "expected day, month or year",
            )),
        }
    }
}

/// One window of a period: counters are keyed by `id`, and reset at `reset_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaWindow {
    /// A number unique to this window within its period kind (days since the epoch, `year*12+month0`,
    /// or the year).
    pub id: i64,
    /// First instant of the window.
    pub start: DateTime<Utc>,
    /// First instant of the next window.
    pub reset_at: DateTime<Utc>,
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

fn first_of_month(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).expect("the first of a month exists")
}

/// The window of `period` that holds `now`.
pub fn quota_window(period: QuotaPeriod, now: DateTime<Utc>) -> QuotaWindow {
    let today = now.date_naive();
    match period {
        QuotaPeriod::Day => {
            let next = today.succ_opt().expect("date in range");
            QuotaWindow {
                id: now.timestamp().div_euclid(86_400),
                start: midnight(today),
                reset_at: midnight(next),
            }
        }
        QuotaPeriod::Month => {
            let (y, m) = (today.year(), today.month());
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            QuotaWindow {
                id: i64::from(y) * 12 + i64::from(m - 1),
                start: midnight(first_of_month(y, m)),
                reset_at: midnight(first_of_month(ny, nm)),
            }
        }
        QuotaPeriod::Year => {
            let y = today.year();
            QuotaWindow {
                id: i64::from(y),
                start: midnight(first_of_month(y, 1)),
                reset_at: midnight(first_of_month(y + 1, 1)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn january_31_resets_on_february_1() {
        let w = quota_window(QuotaPeriod::Month, at("2030-01-31T23:59:59Z"));
        assert_eq!(w.start, at("2030-01-01T00:00:00Z"));
        assert_eq!(w.reset_at, at("2030-02-01T00:00:00Z"));
        let feb = quota_window(QuotaPeriod::Month, at("2030-02-01T00:00:00Z"));
        assert_eq!(feb.id, w.id + 1);
        assert_eq!(feb.reset_at, at("2030-03-01T00:00:00Z"));
    }

    #[test]
    fn leap_day_december_and_year_edges() {
        let d = quota_window(QuotaPeriod::Day, at("2028-02-29T10:00:00Z"));
        assert_eq!(d.reset_at, at("2028-03-01T00:00:00Z"));
        let dec = quota_window(QuotaPeriod::Month, at("2030-12-15T00:00:00Z"));
        assert_eq!(dec.reset_at, at("2031-01-01T00:00:00Z"));
        let y = quota_window(QuotaPeriod::Year, at("2030-12-31T23:59:59.999Z"));
        assert_eq!(y.reset_at, at("2031-01-01T00:00:00Z"));
        assert_eq!(quota_window(QuotaPeriod::Year, y.reset_at).id, y.id + 1);
    }

    #[test]
    fn day_ids_are_consecutive_and_pre_epoch_safe() {
        let a = quota_window(QuotaPeriod::Day, at("1969-12-31T23:00:00Z"));
        let b = quota_window(QuotaPeriod::Day, at("1970-01-01T01:00:00Z"));
        assert_eq!(a.id + 1, b.id);
    }
}
