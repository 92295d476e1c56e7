//! The period a report covers: one calendar month in UTC.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use crate::error::ReportError;

/// One calendar month, `[start, end)` in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    /// The first instant of the month.
    pub start: DateTime<Utc>,
    /// The first instant of the next month.
    pub end: DateTime<Utc>,
}

impl Period {
    /// Parses `YYYY-MM`.
    ///
    /// # Errors
    ///
    /// [`ReportError::BadPeriod`] for anything else.
    pub fn month(text: &str) -> Result<Self, ReportError> {
        let bad = || ReportError::BadPeriod(text.to_owned());
        let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let y: i32 = y.parse().map_err(|_| bad())?;
        let m: u32 = m.parse().map_err(|_| bad())?;
        let first = NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(bad)?;
        let next = if m == 12 {
            NaiveDate::from_ymd_opt(y + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(y, m + 1, 1)
        }
        .ok_or_else(bad)?;
        let at = |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default());
        Ok(Self {
            start: at(first),
            end: at(next),
        })
    }

    /// Refuses a month that has not started at `now`; a month in progress is reported up to now.
    ///
    /// # Errors
    ///
    /// [`ReportError::FuturePeriod`].
    pub fn started_by(self, now: DateTime<Utc>) -> Result<Self, ReportError> {
        if self.start > now {
            return Err(ReportError::FuturePeriod(self.label()));
        }
        Ok(self)
    }

    /// `2026-11`.
    pub fn label(&self) -> String {
        format!("{:04}-{:02}", self.start.year(), self.start.month())
    }

    /// `November 2026`.
    pub fn title(&self) -> String {
        self.start.format("%B %Y").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_end_where_the_next_begins() {
        let p = Period::month("2026-12").unwrap();
        assert_eq!(p.start.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(p.end.to_rfc3339(), "2027-01-01T00:00:00+00:00");
        assert_eq!(p.label(), "2026-12");
        assert_eq!(p.title(), "December 2026");
        for bad in ["2026-13", "2026-1", "26-11", "november", "2026-00", ""] {
            assert!(Period::month(bad).is_err(), "{bad}");
        }
        let now = Utc.with_ymd_and_hms(2026, 11, 15, 0, 0, 0).unwrap();
        assert!(Period::month("2026-11").unwrap().started_by(now).is_ok());
        assert!(matches!(
            Period::month("2026-12").unwrap().started_by(now),
            Err(ReportError::FuturePeriod(_))
        ));
    }
}
