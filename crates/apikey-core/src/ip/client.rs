//! The client address of a request: the socket peer, unless the peer is a trusted proxy, in which
//! case `X-Forwarded-For` is walked from the right past trusted hops.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::error::Error;
use crate::ip::parse_net;

/// Resolves client addresses. Without trusted proxies, forwarding headers are ignored entirely.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientIpResolver {
    trusted: Vec<IpNet>,
}

impl ClientIpResolver {
    /// Trusts no proxy: the peer address is the client.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts these proxy networks.
    pub fn with_trusted_proxies<I>(nets: I) -> Result<Self, Error>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        Ok(Self {
            trusted: nets
                .into_iter()
                .map(|s| parse_net(s.as_ref()))
                .collect::<Result<_, _>>()?,
        })
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|n| n.contains(&ip))
    }

    /// The client address. `peer` is the socket peer (never a framework helper that already trusted
    /// headers); `forwarded_for` yields every `X-Forwarded-For` header line in order.
    ///
    /// Walks entries right to left, skipping trusted hops, and answers the first untrusted one; a
    /// malformed entry stops the walk at the last good hop. Allocation-free.
    pub fn resolve<'h, I>(&self, peer: Option<IpAddr>, forwarded_for: I) -> Option<IpAddr>
    where
        I: IntoIterator<Item = &'h [u8]>,
        I::IntoIter: DoubleEndedIterator,
    {
        let mut hop = peer?.to_canonical();
        if !self.is_trusted(hop) {
            return Some(hop);
        }
        for line in forwarded_for.into_iter().rev() {
            for entry in line.rsplit(|&b| b == b',') {
                let Some(ip) = parse_entry(entry) else {
                    return Some(hop);
                };
                hop = ip;
                if !self.is_trusted(hop) {
                    return Some(hop);
                }
            }
        }
        Some(hop)
    }
}

fn parse_entry(raw: &[u8]) -> Option<IpAddr> {
    let s = std::str::from_utf8(raw).ok()?.trim();
    let s = s
        .strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .map_or(s, |(inner, _)| inner);
    s.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn lines<'a>(v: &'a [&'a str]) -> impl DoubleEndedIterator<Item = &'a [u8]> {
        v.iter().map(|s| s.as_bytes())
    }

    #[test]
    fn untrusted_peer_ignores_headers() {
        let r = ClientIpResolver::with_trusted_proxies(["10.0.0.0/8"]).unwrap();
        assert_eq!(
            r.resolve(ip("203.0.113.9"), lines(&["1.2.3.4"])),
            ip("203.0.113.9")
        );
        assert_eq!(
            ClientIpResolver::new().resolve(ip("10.0.0.1"), lines(&["1.2.3.4"])),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn walks_all_lines_from_the_right_past_trusted_hops() {
        let r = ClientIpResolver::with_trusted_proxies(["10.0.0.0/8"]).unwrap();
        let xff = ["6.6.6.6, 1.2.3.4", "10.0.0.7"];
        assert_eq!(r.resolve(ip("10.0.0.1"), lines(&xff)), ip("1.2.3.4"));
        // Everything trusted: the leftmost hop.
        assert_eq!(
            r.resolve(ip("10.0.0.1"), lines(&["10.1.1.1"])),
            ip("10.1.1.1")
        );
        // No header: the proxy itself.
        assert_eq!(r.resolve(ip("10.0.0.1"), lines(&[])), ip("10.0.0.1"));
    }

    #[test]
    fn malformed_entry_stops_at_last_good_hop() {
        let r = ClientIpResolver::with_trusted_proxies(["10.0.0.0/8"]).unwrap();
        assert_eq!(
            r.resolve(ip("10.0.0.1"), lines(&["1.2.3.4, garbage, 10.0.0.9"])),
            ip("10.0.0.9")
        );
        assert_eq!(
            r.resolve(ip("::ffff:10.0.0.1"), lines(&["[2001:db8::1]:443"])),
            ip("2001:db8::1")
        );
        assert_eq!(r.resolve(None, lines(&["1.2.3.4"])), None);
    }
}
