//! Credits: a balance each request's cost is taken from, refused at zero, refilled on the
//! customer's own calendar (daily, or monthly on a chosen day, in a chosen time zone) or never.
//!
//! Limiters keep the balance with the window it was last refilled in and refill lazily, when a
//! decision or an adjustment finds a later window: no job has to run at midnight, and a refill
//! that several instances see at once happens once (the window moves with the balance).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The largest balance, amount or top-up: 10¹⁵ units (exact in every backend, Redis's Lua
/// numbers included).
pub const MAX_CREDITS: u64 = 1_000_000_000_000_000;

/// How often credits refill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "every")]
pub enum RefillPeriod {
    /// Every day at midnight.
    Day,
    /// Every month at midnight of `day` (1..=31; past a month's end, its last day: the 31st is
    /// "the last day of every month").
    Month {
        /// The day of the month.
        day: u8,
    },
}

/// What a refill does to the balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefillMode {
    /// The balance becomes the amount (unspent credits and top-ups of the last period lapse).
    To,
    /// The amount is added to the balance (for every period that passed).
    By,
}

/// A periodic refill.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Refill {
    /// When.
    #[serde(flatten)]
    pub period: RefillPeriod,
    /// To or by.
    pub mode: RefillMode,
    /// How much.
    pub amount: u64,
    /// The time zone whose midnight starts a period (IANA name); `None` is UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<Tz>,
}

/// A credit plan: the balance a holder starts with and how it refills.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CreditPlan {
    /// The starting balance.
    pub initial: u64,
    /// `None`: one-time credits, which stay one-time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refill: Option<Refill>,
}

impl CreditPlan {
    /// One-time credits.
    pub fn once(initial: u64) -> Self {
        Self {
            initial,
            refill: None,
        }
    }

    /// Checks the amounts and the day of the month.
    pub fn validate(&self) -> Result<()> {
        if self.initial > MAX_CREDITS {
            return Err(Error::invalid("credits", "at most 10^15"));
        }
        if let Some(r) = &self.refill {
            if r.amount == 0 || r.amount > MAX_CREDITS {
                return Err(Error::invalid("credits refill", "amount must be 1..=10^15"));
            }
            if let RefillPeriod::Month { day } = r.period
                && !(1..=31).contains(&day)
            {
                return Err(Error::invalid("credits refill", "day must be 1..=31"));
            }
        }
        Ok(())
    }

    /// The refill window holding `now`: `None` for one-time credits.
    pub fn window(&self, now: DateTime<Utc>) -> Option<CreditWindow> {
        self.refill.as_ref().map(|r| r.window(now))
    }

    /// The balance at `window`, given what was stored (balance and the window it belongs to),
    /// with every refill since applied; `None` stored is a holder never charged: the initial
    /// amount.
    pub fn balance(&self, stored: Option<(u64, i64)>, window: Option<&CreditWindow>) -> u64 {
        let Some((balance, at)) = stored else {
            return self.initial;
        };
        match (&self.refill, window) {
            (Some(r), Some(w)) if w.id > at => match r.mode {
                RefillMode::To => r.amount,
                RefillMode::By => {
                    let periods = u64::try_from(w.id - at).unwrap_or(u64::MAX);
                    balance
                        .saturating_add(r.amount.saturating_mul(periods))
                        .min(MAX_CREDITS)
                }
            },
            _ => balance,
        }
    }
}

/// One refill period: balances are stored with its `id`, and the next refill is at `next`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditWindow {
    /// Consecutive per period kind (days since the common era, or `year × 12 + month`).
    pub id: i64,
    /// When it began.
    pub start: DateTime<Utc>,
    /// When the next refill is due.
    pub next: DateTime<Utc>,
}

/// The first instant of `date` in `tz`: midnight, or the first moment after a daylight-saving gap
/// that swallowed it.
fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight: NaiveDateTime = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    for minutes in (0..=180).step_by(15) {
        if let Some(t) = tz
            .from_local_datetime(&(midnight + chrono::TimeDelta::minutes(minutes)))
            .earliest()
        {
            return t.with_timezone(&Utc);
        }
    }
    Utc.from_utc_datetime(&midnight)
}

fn refill_day(year: i32, month: u32, day: u8) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(year, month, 1).expect("month in range");
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day());
    NaiveDate::from_ymd_opt(year, month, u32::from(day).min(last)).expect("clamped day exists")
}

fn month_before(year: i32, month: u32) -> (i32, u32) {
    if month == 1 {
        (year - 1, 12)
    } else {
        (year, month - 1)
    }
}

fn month_after(year: i32, month: u32) -> (i32, u32) {
    if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    }
}

impl Refill {
    fn tz(&self) -> Tz {
        self.time_zone.unwrap_or(Tz::UTC)
    }

    /// The period holding `now`.
    pub fn window(&self, now: DateTime<Utc>) -> CreditWindow {
        let tz = self.tz();
        let today = now.with_timezone(&tz).date_naive();
        match self.period {
            RefillPeriod::Day => {
                // A midnight inside a gap moves later, so `now` may sit before today's start.
                let (day, start) = match local_midnight(tz, today) {
                    s if s <= now => (today, s),
                    _ => {
                        let y = today - Days::new(1);
                        (y, local_midnight(tz, y))
                    }
                };
                CreditWindow {
                    id: i64::from(day.num_days_from_ce()),
                    start,
                    next: local_midnight(tz, day + Days::new(1)),
                }
            }
            RefillPeriod::Month { day } => {
                let (y, m) = (today.year(), today.month());
                let this = local_midnight(tz, refill_day(y, m, day));
                let (sy, sm) = if now >= this {
                    (y, m)
                } else {
                    month_before(y, m)
                };
                let (ny, nm) = month_after(sy, sm);
                CreditWindow {
                    id: i64::from(sy) * 12 + i64::from(sm - 1),
                    start: local_midnight(tz, refill_day(sy, sm, day)),
                    next: local_midnight(tz, refill_day(ny, nm, day)),
                }
            }
        }
    }
}

impl fmt::Display for CreditPlan {
    /// The CLI's form: `500` (one-time), `1000/month@15`, `+100/day`, `1000/month@31 Europe/Paris`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(r) = &self.refill else {
            return write!(f, "{} (one-time)", self.initial);
        };
        let sign = if r.mode == RefillMode::By { "+" } else { "" };
        write!(f, "{} then {sign}{}", self.initial, r.amount)?;
        match r.period {
            RefillPeriod::Day => f.write_str("/day")?,
            RefillPeriod::Month { day } => write!(f, "/month@{day}")?,
        }
        if let Some(tz) = r.time_zone {
            write!(f, " {tz}")?;
        }
        Ok(())
    }
}

impl FromStr for Refill {
    type Err = Error;

    /// `1000/month@15`, `100/day`, `+100/day` (add instead of reset), with an optional time zone
    /// after a space: `1000/month@1 America/New_York`. `month` alone means the 1st.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid("credits refill", why.to_owned());
        let s = s.trim();
        let (spec, time_zone) =
            match s.split_once(char::is_whitespace) {
                Some((spec, tz)) => (
                    spec,
                    Some(tz.trim().parse::<Tz>().map_err(|_| {
                        bad("unknown time zone (an IANA name such as Europe/Paris)")
                    })?),
                ),
                None => (s, None),
            };
        let (mode, spec) = match spec.strip_prefix('+') {
            Some(rest) => (RefillMode::By, rest),
            None => (RefillMode::To, spec),
        };
        let (amount, period) = spec
            .split_once('/')
            .ok_or_else(|| bad("expected AMOUNT/day or AMOUNT/month[@DAY]"))?;
        let amount: u64 = amount
            .parse()
            .map_err(|_| bad("the amount must be a whole number"))?;
        let period = match period.split_once('@') {
            None if period == "day" => RefillPeriod::Day,
            None if period == "month" => RefillPeriod::Month { day: 1 },
            Some(("month", day)) => RefillPeriod::Month {
                day: day.parse().map_err(|_| bad("the day must be 1..=31"))?,
            },
            _ => return Err(bad("expected AMOUNT/day or AMOUNT/month[@DAY]")),
        };
        let refill = Self {
            period,
            mode,
            amount,
            time_zone,
        };
        CreditPlan {
            initial: 0,
            refill: Some(refill.clone()),
        }
        .validate()?;
        Ok(refill)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_31st_is_the_last_day_of_every_month() {
        let r: Refill = "1000/month@31".parse().unwrap();
        let feb = r.window(at("2027-02-28T00:00:00Z"));
        assert_eq!(feb.start, at("2027-02-28T00:00:00Z"));
        assert_eq!(feb.next, at("2027-03-31T00:00:00Z"));
        let before = r.window(at("2027-02-27T23:59:59Z"));
        assert_eq!(before.start, at("2027-01-31T00:00:00Z"));
        assert_eq!(before.id + 1, feb.id);
        let leap = r.window(at("2028-02-29T12:00:00Z"));
        assert_eq!(leap.start, at("2028-02-29T00:00:00Z"));
    }

    #[test]
    fn the_15th_in_a_time_zone() {
        let r: Refill = "1000/month@15 America/New_York".parse().unwrap();
        // 04:59 UTC on the 15th is still the 14th in New York (UTC-5 in January).
        let w = r.window(at("2027-01-15T04:59:00Z"));
        assert_eq!(w.start, at("2026-12-15T05:00:00Z"));
        assert_eq!(w.next, at("2027-01-15T05:00:00Z"));
        assert_eq!(r.window(w.next).id, w.id + 1);
        // Across the March change to daylight time the period is one hour shorter.
        let m = r.window(at("2027-03-20T00:00:00Z"));
        assert_eq!(m.start, at("2027-03-15T04:00:00Z"));
    }

    #[test]
    fn daily_windows_follow_local_midnight() {
        let r: Refill = "+100/day Asia/Tokyo".parse().unwrap();
        assert_eq!(r.mode, RefillMode::By);
        let w = r.window(at("2027-06-01T14:59:59Z"));
        assert_eq!(w.start, at("2027-05-31T15:00:00Z"));
        assert_eq!(w.next, at("2027-06-01T15:00:00Z"));
        assert_eq!(r.window(w.next).id, w.id + 1);
    }

    #[test]
    fn refills_reset_or_add_and_one_time_credits_stay_one_time() {
        let once = CreditPlan::once(50);
        assert_eq!(once.balance(None, None), 50);
        assert_eq!(once.balance(Some((3, 0)), None), 3);
        let to = CreditPlan {
            initial: 10,
            refill: Some("100/day".parse().unwrap()),
        };
        let w = to.window(at("2027-01-10T00:00:00Z")).unwrap();
        assert_eq!(to.balance(Some((7, w.id)), Some(&w)), 7);
        assert_eq!(to.balance(Some((7, w.id - 3)), Some(&w)), 100);
        let by = CreditPlan {
            initial: 10,
            refill: Some("+100/day".parse().unwrap()),
        };
        assert_eq!(by.balance(Some((7, w.id - 3)), Some(&w)), 307);
    }

    #[test]
    fn bad_specs_are_refused_with_a_reason() {
        for bad in [
            "",
            "100",
            "100/week",
            "0/day",
            "100/month@32",
            "100/month@0",
            "x/day",
            "100/day Mars/Olympus",
        ] {
            assert!(bad.parse::<Refill>().is_err(), "{bad:?}");
        }
        assert_eq!(
            "7/month".parse::<Refill>().unwrap().period,
            RefillPeriod::Month { day: 1 }
        );
    }
}
