//! `apikey report`: the flags of the usage report.

use clap::{Args, ValueEnum};

/// A report's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    /// One RFC 4180 table, a `section` column per row.
    Csv,
    /// A document with a title page, charts and tables.
    Pdf,
}

/// `report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The month: 2026-11. A month in progress is reported up to now.
    #[arg(long, value_name = "YYYY-MM")]
    pub(crate) period: String,
    /// Only this owner's keys.
    #[arg(long)]
    pub(crate) owner: Option<String>,
    /// csv or pdf (default: from --out's extension, else csv). --json prints JSON instead.
    #[arg(long, value_enum)]
    pub(crate) format: Option<ReportFormat>,
    /// Write here (mode 0600, replaced whole or not at all). Without it a CSV or JSON goes to
    /// stdout; a PDF needs a file.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<std::path::PathBuf>,
}
