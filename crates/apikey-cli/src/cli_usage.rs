//! `apikey usage`: the flags of the usage analytics queries.

use apikey_core::analytics::{MAX_TOP_KEYS, Ranking, Resolution};
use chrono::{DateTime, Utc};
use clap::Args;

use crate::cli_requests::parse_when;

/// `usage`.
#[derive(Debug, Args)]
pub(crate) struct UsageArgs {
    /// One key (id, lookup id or alias). Without it (and without --owner or --group), every key
    /// of the tenant, and the requests refused before a key was known.
    #[arg(conflicts_with_all = ["owner", "group"])]
    pub(crate) id: Option<String>,
    /// The keys of this owner, together.
    #[arg(long, conflicts_with = "group")]
    pub(crate) owner: Option<String>,
    /// The keys of this group, together.
    #[arg(long)]
    pub(crate) group: Option<String>,
    /// From this instant on: RFC 3339 or a time ago (90m, 24h, 7d). Default: 24h.
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub(crate) since: Option<DateTime<Utc>>,
    /// Before this instant (same forms as --since). Default: now.
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub(crate) until: Option<DateTime<Utc>>,
    /// Bucket width: minute, hour or day. Default: the finest that keeps the series short
    /// (minutes up to 6 hours, hours up to 31 days, days beyond).
    #[arg(long, value_parser = parse_resolution)]
    pub(crate) resolution: Option<Resolution>,
    /// Rank the keys instead: the N with the most requests (or --by rejections).
    #[arg(long, value_name = "N", conflicts_with_all = ["id", "owner", "group"], value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_TOP_KEYS)))]
    pub(crate) top: Option<u32>,
    /// What --top ranks by: requests or rejections.
    #[arg(long, default_value = "requests", value_parser = parse_ranking, requires = "top")]
    pub(crate) by: Ranking,
}

fn parse_resolution(s: &str) -> Result<Resolution, String> {
    s.parse()
        .map_err(|e: apikey_core::Error| e.message().to_owned())
}

fn parse_ranking(s: &str) -> Result<Ranking, String> {
    s.parse()
        .map_err(|e: apikey_core::Error| e.message().to_owned())
}
