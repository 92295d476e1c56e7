//! `apikey requests`: the flags of the request-log query.

use apikey_core::request_log::MAX_REQUEST_PAGE;
use chrono::{DateTime, Utc};
use clap::Args;

/// `requests`.
#[derive(Debug, Args)]
pub(crate) struct RequestsArgs {
    /// Only requests made with this key (id, lookup id or alias).
    #[arg(long, value_name = "ID")]
    pub(crate) key: Option<String>,
    /// Only requests from this address or network (203.0.113.7, 203.0.113.0/24, 2001:db8::/48).
    #[arg(long, value_name = "CIDR", value_parser = parse_network)]
    pub(crate) ip: Option<ipnet::IpNet>,
    /// Only requests to this route template (as the framework names it: /projects/{id}).
    #[arg(long)]
    pub(crate) route: Option<String>,
    /// `admitted`, `rejected` (every refusal), or one outcome (`revoked`, `rate_limited`, …).
    #[arg(long)]
    pub(crate) outcome: Option<String>,
    /// From this instant on: RFC 3339 (2030-01-31T00:00:00Z) or a time ago (90m, 24h, 7d).
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub(crate) since: Option<DateTime<Utc>>,
    /// Before this instant (same forms as --since).
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub(crate) until: Option<DateTime<Utc>>,
    /// At most this many, newest first.
    #[arg(long, default_value = "100", value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_REQUEST_PAGE)))]
    pub(crate) limit: u32,
    /// The next page: the cursor the previous page printed.
    #[arg(long, value_name = "CURSOR")]
    pub(crate) before: Option<String>,
}

/// An address (a network of one) or a network.
fn parse_network(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    if let Ok(net) = s.parse::<ipnet::IpNet>() {
        return Ok(net.trunc());
    }
    s.parse::<std::net::IpAddr>()
        .map(ipnet::IpNet::from)
        .map_err(|_| format!("{s:?} is neither an address nor a network like 203.0.113.0/24"))
}

/// RFC 3339, or a duration before now.
pub(crate) fn parse_when(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = crate::cli::parse_instant(s) {
        return Ok(t);
    }
    let ago = crate::cli::parse_duration(s).map_err(|_| {
        format!("{s:?}: expected RFC 3339 like 2030-01-31T00:00:00Z or a time ago like 24h")
    })?;
    let ago = chrono::Duration::from_std(ago).map_err(|_| "too long ago".to_owned())?;
    Utc::now()
        .checked_sub_signed(ago)
        .ok_or_else(|| "too long ago".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_and_addresses() {
        assert_eq!(
            parse_network("203.0.113.7").unwrap().to_string(),
            "203.0.113.7/32"
        );
        assert_eq!(
            parse_network("203.0.113.9/24").unwrap().to_string(),
            "203.0.113.0/24"
        );
        assert!(parse_network("nope").is_err());
    }

    #[test]
    fn instants_and_times_ago() {
        assert!(parse_when("2030-01-31T00:00:00Z").is_ok());
        let day = parse_when("24h").unwrap();
        assert!(
            (Utc::now() - day - chrono::Duration::hours(24))
                .num_seconds()
                .abs()
                < 5
        );
        assert!(parse_when("yesterday").is_err());
    }
}
