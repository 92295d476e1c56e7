//! `apikey compliance`: the flags of data-subject requests.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `compliance …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ComplianceCommand {
    /// Everything held about an owner as one JSON document: their keys (public view, never a
    /// hash), the audit events about those keys and the owner, and the request log's records of
    /// those keys.
    Export(ComplianceExportArgs),
    /// Erases an owner: their keys revoked and stripped of personal fields, the personal fields of
    /// every audit event about them erased (the tamper-evident chain still verifies), their usage
    /// and request-log records deleted, and a `subject.erased` event naming the keys, not the
    /// owner.
    Erase(ComplianceEraseArgs),
}

/// `compliance erase`.
#[derive(Debug, Args)]
pub(crate) struct ComplianceEraseArgs {
    /// The owner (as set with `--owner` on the keys).
    #[arg(long)]
    pub(crate) owner: String,
    /// Say what would be erased, and change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `compliance export`.
#[derive(Debug, Args)]
pub(crate) struct ComplianceExportArgs {
    /// The owner (as set with `--owner` on the keys).
    #[arg(long)]
    pub(crate) owner: String,
    /// Write the document to this file (mode 0600) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
}
