//! The report as one RFC 4180 table (the `csv` crate quotes and escapes): a `section` column
//! says what each row is — `total`, `unattributed`, `day`, `key` (top keys), `expiring`,
//! `unused`, `security` — and the columns a section does not use are empty.

use std::io::Write;

use apikey_core::analytics::{Outcome, UsageCounts};
use chrono::{DateTime, SecondsFormat, Utc};

use crate::data::Report;
use crate::error::ReportError;

/// The header row.
pub const HEADER: [&str; 16] = [
    "section",
    "date",
    "key_id",
    "name",
    "owner",
    "event",
    "requests",
    "success",
    "scope",
    "ip",
    "state",
    "rate_limited",
    "quota",
    "unavailable",
    "invalid",
    "cost",
];

fn counts(c: &UsageCounts) -> Vec<String> {
    let mut out = vec![c.requests().to_string()];
    out.extend(Outcome::ALL.iter().map(|o| c.get(*o).to_string()));
    out.push(c.cost.to_string());
    out
}

fn date(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// A row: the section, six descriptive columns, then the counts (or empty ones).
fn row(section: &str, text: [String; 5], c: Option<&UsageCounts>) -> Vec<String> {
    let mut out = vec![section.to_owned()];
    out.extend(text);
    match c {
        Some(c) => out.extend(counts(c)),
        None => out.extend(std::iter::repeat_n(String::new(), 10)),
    }
    out
}

/// Writes `report` to `out` as CSV.
///
/// # Errors
///
/// When `out` refuses a write.
pub fn write_csv(report: &Report, out: impl Write) -> Result<(), ReportError> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADER)?;
    let none = String::new;
    w.write_record(row(
        "total",
        [
            report.period.label(),
            none(),
            none(),
            report.owner.clone().unwrap_or_default(),
            none(),
        ],
        Some(&report.totals),
    ))?;
    if let Some(u) = &report.unattributed {
        w.write_record(row(
            "unattributed",
            [report.period.label(), none(), none(), none(), none()],
            Some(u),
        ))?;
    }
    for d in &report.daily {
        w.write_record(row(
            "day",
            [
                d.day.format("%Y-%m-%d").to_string(),
                none(),
                none(),
                none(),
                none(),
            ],
            Some(&d.counts),
        ))?;
    }
    for k in &report.top_keys {
        w.write_record(row(
            "key",
            [
                report.period.label(),
                k.key_id.to_string(),
                k.name.clone(),
                k.owner.clone().unwrap_or_default(),
                none(),
            ],
            Some(&k.counts),
        ))?;
    }
    for (section, keys) in [("expiring", &report.expiring), ("unused", &report.unused)] {
        for k in keys {
            w.write_record(row(
                section,
                [
                    date(k.at),
                    k.key_id.to_string(),
                    k.name.clone(),
                    k.owner.clone().unwrap_or_default(),
                    none(),
                ],
                None,
            ))?;
        }
    }
    for e in &report.security {
        w.write_record(row(
            "security",
            [
                date(Some(e.at)),
                e.key_id.map(|k| k.to_string()).unwrap_or_default(),
                none(),
                e.actor.clone().unwrap_or_default(),
                e.event.to_owned(),
            ],
            None,
        ))?;
    }
    w.flush().map_err(|e| ReportError::Csv(e.into()))?;
    Ok(())
}
