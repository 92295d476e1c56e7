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
