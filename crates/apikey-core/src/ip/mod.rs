//! Client networks: per-key allow and deny lists ([`IpRules`]) and the client-address algorithm
//! shared by every integration ([`ClientIpResolver`]).
//!
//! CIDR arithmetic is `ipnet`'s (a `/32` matches one address, IPv6 is first-class). Rules and
//! client addresses are compared in one canonical form, whatever way they arrived:
//!
//! - an address is IPv4 when it is IPv4 or IPv4-mapped IPv6 (`::ffff:10.0.0.1` is `10.0.0.1`);
//! - a network `::ffff:a.b.c.d/(96+n)` is the IPv4 network `a.b.c.d/n`, host bits are cleared
//!   (`10.1.2.3/8` is `10.0.0.0/8`) and a bare address is its host route (`/32`, `/128`);
//! - an IPv6 network shorter than `/96` stays IPv6 and so matches IPv6 clients only: IPv4 space is
//!   written as IPv4 (or as a mapped network of `/96` or longer).
//!
//! [`IpRules`] cannot hold anything else: its lists are private, and every constructor — the
//! parsers, [`IpRules::new`] and deserialisation — canonicalises, sorts and de-duplicates them, so
//! a rule that came through a store, an import or an update decides exactly like the same rule
//! typed at creation.

mod client;

pub use client::ClientIpResolver;

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net};
use serde::{Deserialize, Deserializer, Serialize};

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
///
/// Both lists are canonical (see the [module](self)), sorted and free of duplicates; read them with
/// [`allow`](Self::allow) and [`deny`](Self::deny).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct IpRules {
    allow: Vec<IpNet>,
    deny: Vec<IpNet>,
}

/// The serialised shape of [`IpRules`], as written by any version: two lists of networks, in any
/// spelling `parse_net` reads.
#[derive(Deserialize)]
struct IpRulesRepr {
    #[serde(default)]
    allow: Vec<NetRepr>,
    #[serde(default)]
    deny: Vec<NetRepr>,
}

/// One network as text (`"10.0.0.1"`, `"::ffff:10.0.0.0/104"`, …) or, from a binary format,
/// `ipnet`'s own form.
struct NetRepr(IpNet);

impl<'de> Deserialize<'de> for NetRepr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            parse_net(&s).map(Self).map_err(serde::de::Error::custom)
        } else {
            IpNet::deserialize(d).map(Self)
        }
    }
}

impl<'de> Deserialize<'de> for IpRules {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let repr = IpRulesRepr::deserialize(d)?;
        Self::new(
            repr.allow.into_iter().map(|n| n.0),
            repr.deny.into_iter().map(|n| n.0),
        )
        .map_err(serde::de::Error::custom)
    }
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

fn canonical_list(nets: impl IntoIterator<Item = IpNet>) -> Vec<IpNet> {
    let mut v: Vec<IpNet> = nets.into_iter().map(canonical_net).collect();
    v.sort_unstable();
    v.dedup();
    v
}

impl IpRules {
    /// Rules from networks in any spelling: each is canonicalised, and each list sorted and
    /// de-duplicated. Fails when a list has more than [`MAX_IP_RULES`] distinct networks.
    pub fn new<A, D>(allow: A, deny: D) -> Result<Self, Error>
    where
        A: IntoIterator<Item = IpNet>,
        D: IntoIterator<Item = IpNet>,
    {
        let rules = Self {
            allow: canonical_list(allow),
            deny: canonical_list(deny),
        };
        rules.validate()?;
        Ok(rules)
    }

    /// Parses both lists (see [`parse_net`]).
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
        Self::new(allow, deny)
    }

    /// Networks the key may be used from (canonical, sorted); empty means anywhere.
    pub fn allow(&self) -> &[IpNet] {
        &self.allow
    }

    /// Networks the key may never be used from (canonical, sorted).
    pub fn deny(&self) -> &[IpNet] {
        &self.deny
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

    #[test]
    fn deserialised_rules_are_canonical() {
        // The issue's case: a mapped deny network stored or imported as written used to never
        // match the IPv4 client, so the deny failed open.
        let r: IpRules = serde_json::from_str(
            r#"{"allow":["10.1.2.3/8","::FFFF:192.0.2.1","10.0.0.0/8"],"deny":["::ffff:10.0.0.0/104"]}"#,
        )
        .unwrap();
        assert_eq!(r.check(ip("10.1.2.3")), IpVerdict::Denied);
        assert_eq!(r.check(ip("::ffff:10.1.2.3")), IpVerdict::Denied);
        assert_eq!(r.check(ip("192.0.2.1")), IpVerdict::Allowed);
        assert_eq!(
            r,
            IpRules::parse(["192.0.2.1/32", "10.0.0.0/8"], ["10.0.0.0/8"]).unwrap()
        );
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"allow":["10.0.0.0/8","192.0.2.1/32"],"deny":["10.0.0.0/8"]}"#
        );
        let too_many: Vec<String> = (0..=MAX_IP_RULES)
            .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
            .collect();
        let json = serde_json::json!({ "allow": too_many, "deny": [] });
        assert!(serde_json::from_value::<IpRules>(json).is_err());
        assert!(serde_json::from_str::<IpRules>(r#"{"allow":["nope"],"deny":[]}"#).is_err());
    }

    #[test]
    fn new_canonicalises_networks_given_as_values() {
        let mapped: IpNet = "::ffff:10.0.0.0/104".parse().unwrap();
        let r = IpRules::new([], [mapped]).unwrap();
        assert_eq!(r.deny(), &["10.0.0.0/8".parse::<IpNet>().unwrap()]);
        assert_eq!(r.check(ip("10.1.2.3")), IpVerdict::Denied);
    }
}
