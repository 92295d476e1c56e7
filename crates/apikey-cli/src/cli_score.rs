//! `apikey score`: the flags of the security score.

use clap::Args;

/// `score`.
#[derive(Debug, Args)]
pub(crate) struct ScoreArgs {
    /// One key (id, lookup id or alias): its factors and what to do about each shortfall.
    /// Without it, every active, pending or suspended key, lowest first, and a summary.
    pub(crate) id: Option<String>,
    /// Only keys scoring under this (0–100).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=100), conflicts_with = "id")]
    pub(crate) below: Option<u8>,
}
