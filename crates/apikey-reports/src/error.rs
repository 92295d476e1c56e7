//! What can go wrong making a report. Nothing here carries a token or a secret: a report reads
//! public views of keys.

/// A report that could not be made. Bad input changes nothing: the output is written only once
/// the whole document is ready.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The period is not a month like `2026-11`.
    #[error("period {0:?}: expected a month like 2026-11")]
    BadPeriod(String),
    /// The period has not started yet.
    #[error("period {0} has not started yet")]
    FuturePeriod(String),
    /// A store did not answer.
    #[error(transparent)]
    Store(#[from] apikey_core::Error),
    /// The CSV could not be written.
    #[error("writing the CSV: {0}")]
    Csv(#[from] csv::Error),
    /// The PDF could not be made.
    #[error("making the PDF: {0}")]
    Pdf(String),
}
