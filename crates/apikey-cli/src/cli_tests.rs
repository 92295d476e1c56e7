//! The CLI definitions' own checks: clap's consistency and the value parsers.

use crate::cli::*;
use apikey_core::QuotaPeriod;
use clap::CommandFactory;
use std::time::Duration;

#[test]
fn definitions_are_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn parses_rates_quotas_and_durations() {
    assert_eq!(
        parse_rate("100/1m").unwrap(),
        RateSpec {
            requests: 100,
            per: Duration::from_secs(60)
        }
    );
    assert_eq!(parse_rate("10/s").unwrap().per, Duration::from_secs(1));
    assert!(parse_rate("x/1m").is_err());
    assert!(parse_rate("100").is_err());
    assert_eq!(parse_quota("5/month").unwrap().period, QuotaPeriod::Month);
    assert!(parse_quota("5/week").is_err());
    assert!(parse_quota("0/day").is_err());
    assert_eq!(
        parse_duration("30d").unwrap(),
        Duration::from_secs(30 * 86400)
    );
    assert!(parse_duration("soon").is_err());
    assert!(parse_scope("read").unwrap_err().contains("\"read\""));
}
