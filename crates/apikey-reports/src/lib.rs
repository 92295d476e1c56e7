//! `apikey-reports`: usage reports people read — what the keys did in a month, as CSV for
//! spreadsheets and as PDF with charts for people — made from apikey's usage analytics
//! (`apikey_core::analytics`), the keys and the audit log. `apikey report` is its command line.
//!
//! A report holds the period's totals, the daily series (every day, zeros included), the top
//! keys, the refusals by reason, the keys expiring within 30 days and unused for 30 days, and
//! the security events of the period (revocations, suspensions, leaks, canary trips, threats,
//! failed-authentication bursts): [`gather`] reads them into a [`Report`], which renders as
//! [`write_csv`], [`render_pdf`] or JSON (it is `Serialize`). A period with no request makes a
//! document that says so, not an error; a month that has not started is refused.
//!
//! Why these dependencies:
//! - `csv`: RFC 4180 quoting and escaping, which a `format!` per line gets wrong on the first
//!   key name with a comma or a quote.
//! - `krilla` (the PDF layer of typst, pure Rust): embeds a subset of the bundled font with a
//!   ToUnicode map, so the text of every page extracts and searches; nothing to install, no
//!   system fonts, quick to build beside the rest.
//! - `plotters` (without its bitmap, SVG and TrueType back ends): lays out axes, ticks, labels
//!   and bars; this crate's own back end draws them as PDF vectors and text.
//! - `skrifa` (the font reader krilla uses): the bundled font's character map and advance
//!   widths; glyphs are placed one per character (krilla's own shaping pulls in unmaintained
//!   crates), which suits labels, names and numbers.
//! - The font, DejaVu Sans, is bundled (`fonts/`, Bitstream Vera license) so a report looks
//!   the same on every machine.

mod csv_out;
mod data;
mod error;
mod pdf;
mod period;

pub use csv_out::{HEADER, write_csv};
pub use data::{
    Day, EXPIRING_WITHIN_DAYS, KeyLine, MAX_ROWS, Report, ReportRequest, SecurityEvent, Sources,
    TOP_KEYS, TopKey, UNUSED_FOR_DAYS, gather,
};
pub use error::ReportError;
pub use pdf::render_pdf;
pub use period::Period;
