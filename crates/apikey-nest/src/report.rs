//! What an import did, row by row, with the source's ids so a person can find each row.

use apikey_core::KeyId;

use crate::shape::Shape;

/// A source row that was not imported, and why (never with its hash or prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowFailure {
    /// The row's id in the source (`id`, or Mongo's `_id`); empty when even that was unreadable.
    pub source_id: String,
    /// Why.
    pub reason: String,
}

/// A source row that became a key (or, in a dry run, would), or was already imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedRow {
    /// The row's id in the source.
    pub source_id: String,
    /// The key it became (deterministic: see [`key_id_for`](crate::key_id_for)).
    pub key: KeyId,
    /// The key's name.
    pub name: String,
    /// What the key could not hold, one sentence each.
    pub notes: Vec<String>,
}

/// What [`import_nest`](crate::import_nest) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NestReport {
    /// The source's table shape.
    pub shape: Shape,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Rows imported (in a dry run: that would be).
    pub imported: Vec<ImportedRow>,
    /// Rows whose key exists already (an earlier import), left as they are.
    pub skipped: Vec<ImportedRow>,
    /// Rows that could not be read or mapped; the others were imported all the same.
    pub failed: Vec<RowFailure>,
    /// Imported keys whose legacy prefix is shared by more keys than the verifier tries per
    /// request (see [`ImportReport::crowded_legacy`](apikey_core::manage::ImportReport::crowded_legacy)):
    /// re-issue them or raise that limit. Always empty in a dry run.
    pub crowded_legacy: Vec<KeyId>,
}
