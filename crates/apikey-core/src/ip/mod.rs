//! Client networks: per-key allow and deny lists ([`IpRules`]) and the client-address algorithm
//! shared by every integration ([`ClientIpResolver`]).
//!
//! CIDR arithmetic is `ipnet`'s (a `/32` matches one address, IPv6 is first-class); every address
//! and network is canonicalised so an IPv4-mapped IPv6 peer (`::ffff:10.0.0.1`) matches IPv4 rules.

mod client;

pub use client::ClientIpResolver;

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Most networks in one list.
pub const MAX_IP_RULES: usize = 256;

/// Parses `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or network; canonicalises IPv4-mapped IPv6 and
/// clears host bits (`10.1.2.3/8` → `10.0.0.0/8`).
pub fn parse_net(s: &str) -> Result<IpNet, Error> {
    let s = s.trim();
    let net = match s.parse::<IpNet>() {
        Ok(n) => n,
        Err(_) => s.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
            Error::invalid(
                "ip rule",
                format_args!("{s:?} is not an IP address or CIDR network"),
            )
        })?,
    };
    Ok(canonical_net(net))
}

/// Rewrites `::ffff:a.b.c.d/(96+n)` as `a.b.c.d/n` and clears host bits.
pub fn canonical_net(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && v6.prefix_len() >= 96
    {
        let n = Ipv4Net::new(v4, v6.prefix_len() - 96).expect("prefix within 0..=32");
        return IpNet::V4(n.trunc());
    }
    net.trunc()
}

/// A key's network rules: deny wins, then an allow list (if any) must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IpRules {
    /// Networks the key may be used from; empty means anywhere.
    pub allow: Vec<IpNet>,
    /// Networks the key may never be used from.
    pub deny: Vec<IpNet>,
}

/// The verdict of [`IpRules::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpVerdict {
    /// The address may use the key.
    Allowed,
    /// The address is denied or not allowed.
    Denied,
    /// The key has rules but there is no client address to check them against.
    Unknown,
}

impl IpRules {
    /// Parses both lists.
    pub fn parse<A, D>(allow: A, deny: D) -> Result<Self, Error>
    where
        A: IntoIterator,
        A::Item: AsRef<str>,
        D: IntoIterator,
        D::Item: AsRef<str>,
    {
        let allow = allow
            .into_iter()
            .map(|s| parse_net(s.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let deny = deny
            .into_iter()
            .map(|s| parse_net(s.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let rules = Self { allow, deny };
        rules.validate()?;
        Ok(rules)
    }

    /// Checks list sizes.
    pub fn validate(&self) -> Result<(), Error> {
        if self.allow.len() > MAX_IP_RULES || self.deny.len() > MAX_IP_RULES {
            return Err(Error::invalid(
                "ip rules",
                format_args!("at most {MAX_IP_RULES} networks per list"),
            ));
        }
        Ok(())
    }

    /// Whether there are no rules at all.
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }

    /// Deny list first, then allow list. With rules and no address: [`IpVerdict::Unknown`].
    #[inline]
    pub fn check(&self, client: Option<IpAddr>) -> IpVerdict {
        if self.is_empty() {
            return IpVerdict::Allowed;
        }
        let Some(ip) = client.map(|ip| ip.to_canonical()) else {
            return IpVerdict::Unknown;
        };
        if self.deny.iter().any(|n| n.contains(&ip)) {
            return IpVerdict::Denied;
        }
        if self.allow.is_empty() || self.allow.iter().any(|n| n.contains(&ip)) {
            IpVerdict::Allowed
        } else {
            IpVerdict::Denied
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn slash_32_matches_one_address() {
        let r = IpRules::parse(["10.0.0.1/32"], [] as [&str; 0]).unwrap();
        assert_eq!(r.check(ip("10.0.0.1")), IpVerdict::Allowed);
        assert_eq!(r.check(ip("10.0.0.2")), IpVerdict::Denied);
    }

    #[test]
    fn deny_wins_and_mapped_addresses_match_v4_rules() {
        let r = IpRules::parse(["10.0.0.0/8", "2001:db8::/32"], ["10.9.0.0/16"]).unwrap();
        assert_eq!(r.check(ip("10.1.2.3")), IpVerdict::Allowed);
        assert_eq!(r.check(ip("::ffff:10.1.2.3")), IpVerdict::Allowed);
        assert_eq!(r.check(ip("10.9.9.9")), IpVerdict::Denied);
        assert_eq!(r.check(ip("::ffff:10.9.9.9")), IpVerdict::Denied);
        assert_eq!(r.check(ip("2001:db8::1")), IpVerdict::Allowed);
        assert_eq!(r.check(ip("192.168.0.1")), IpVerdict::Denied);
        assert_eq!(r.check(None), IpVerdict::Unknown);
        assert_eq!(IpRules::default().check(None), IpVerdict::Allowed);
    }

    #[test]
    fn mapped_rules_are_canonicalised() {
        assert_eq!(
            parse_net("::ffff:10.0.0.0/104").unwrap(),
            parse_net("10.0.0.0/8").unwrap()
        );
        assert_eq!(parse_net("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert!(parse_net("10.0.0.0/33").is_err());
        assert!(parse_net("nope").is_err());
    }
}
