//! `apikey audit`: the flags of the audit-log queries.

use apikey_core::EventType;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use crate::cli_requests::parse_when;

/// `audit …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Events oldest first, filtered by key, owner, type and time, a page at a time.
    List(AuditListArgs),
    /// Events per day, type and actor over a time range.
    Stats(AuditStatsArgs),
    /// Checks the tamper-evident chain: every event against its hash, every key's chain link by
    /// link, every checkpoint against its MAC (with the KEK). Names the first record altered,
    /// removed or inserted; exit 1 when there is one.
    Verify,
    /// Makes checkpoints now over the events written since the last (the `audit.checkpoint` job
    /// does it hourly). Needs the KEK.
    Checkpoint,
}

/// `audit list`.
#[derive(Debug, Args)]
pub(crate) struct AuditListArgs {
    /// Only events about this key (id, lookup id or alias).
    #[arg(long, value_name = "ID", conflicts_with = "owner")]
    pub(crate) key: Option<String>,
    /// Only events about this owner (transfers, erasures).
    #[arg(long)]
    pub(crate) owner: Option<String>,
    /// Only events done by this actor (`system` for the library's own).
    #[arg(long)]
    pub(crate) actor: Option<String>,
    /// Only events of these types (key.created, key.revoked, …), comma-separated or repeated.
    #[arg(long = "type", value_name = "TYPE", value_delimiter = ',', value_parser = parse_type)]
    pub(crate) types: Vec<EventType>,
    /// From this instant on: RFC 3339 or a time ago (90m, 24h, 7d).
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub(crate) since: Option<DateTime<Utc>>,
    /// Before this instant (same forms).
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub(crate) until: Option<DateTime<Utc>>,
    /// At most this many.
    #[arg(long, default_value = "100", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) limit: u32,
    /// The next page: the cursor the previous page printed.
    #[arg(long, value_name = "CURSOR")]
    pub(crate) after: Option<String>,
}

/// `audit stats`.
#[derive(Debug, Args)]
pub(crate) struct AuditStatsArgs {
    /// From this instant on (default: 30 days ago).
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub(crate) since: Option<DateTime<Utc>>,
    /// Before this instant (default: now).
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub(crate) until: Option<DateTime<Utc>>,
}

fn parse_type(s: &str) -> Result<EventType, String> {
    s.trim()
        .parse::<EventType>()
        .map_err(|e| format!("{s:?}: {e}"))
}
