//! Fuzzes the `X-Forwarded-For` walk of `ClientIpResolver::resolve`
//! (`crates/apikey-core/src/ip/client.rs`).
//!
//! Input, line by line: line one is the trusted proxy networks (separated by spaces), line two the
//! socket peer (empty: none), every further line one `X-Forwarded-For` header line as raw bytes.
//! The resolved address must be the peer or an address that appeared in the header, must match
//! a plain model of the walk (right to left past trusted hops, stop at the first malformed entry),
//! and must not depend on how the entries are spread over header lines.

#![no_main]

use std::net::IpAddr;

use apikey_core::ClientIpResolver;
use apikey_core::ip::parse_net;
use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;

/// One `X-Forwarded-For` entry as an address: trimmed, `[v6]:port` unwrapped; `None` if malformed.
fn entry(raw: &[u8]) -> Option<IpAddr> {
    let s = std::str::from_utf8(raw).ok()?.trim();
    let s = match s.strip_prefix('[') {
        Some(r) => r.split_once(']').map_or(s, |(inner, _)| inner),
        None => s,
    };
    s.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// The walk as the architecture states it, over a flat list of every entry in order.
fn model(trusted: &[IpNet], peer: Option<IpAddr>, lines: &[&[u8]]) -> Option<IpAddr> {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(&ip));
    let mut hop = peer?.to_canonical();
    if !is_trusted(hop) {
        return Some(hop);
    }
    let entries: Vec<&[u8]> = lines
        .iter()
        .flat_map(|line| line.split(|&b| b == b','))
        .collect();
    for raw in entries.into_iter().rev() {
        match entry(raw) {
            None => break,
            Some(ip) => {
                hop = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
        }
    }
    Some(hop)
}

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n');
    let trusted_line = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let peer_line = lines.next().unwrap_or_default();
    let headers: Vec<&[u8]> = lines.collect();

    let names: Vec<&str> = trusted_line.split_whitespace().collect();
    let Ok(resolver) = ClientIpResolver::with_trusted_proxies(&names) else {
        return;
    };
    let trusted: Vec<IpNet> = names
        .iter()
        .map(|s| parse_net(s).expect("the resolver accepted it"))
        .collect();
    let peer = std::str::from_utf8(peer_line)
        .ok()
        .and_then(|s| s.trim().parse::<IpAddr>().ok());

    let got = resolver.resolve(peer, headers.iter().copied());
    assert_eq!(got.is_none(), peer.is_none(), "an address without a peer");
    let Some(ip) = got else {
        return;
    };
    assert_eq!(ip, ip.to_canonical(), "{ip} is not canonical");
    let appeared = peer.map(|p| p.to_canonical()) == Some(ip)
        || headers
            .iter()
            .flat_map(|line| line.split(|&b| b == b','))
            .any(|raw| entry(raw) == Some(ip));
    assert!(appeared, "{ip} is neither the peer nor in the header");
    assert_eq!(
        got,
        model(&trusted, peer, &headers),
        "the walk differs from the model"
    );

    let joined = headers.join(&b","[..]);
    let as_one_line = resolver.resolve(peer, [joined.as_slice()]);
    // Several header lines and their comma-joined single line are one field (RFC 9110 §5.3).
    assert_eq!(
        got, as_one_line,
        "the answer depends on how lines are split"
    );
    if resolver == ClientIpResolver::new() {
        assert_eq!(got, peer.map(|p| p.to_canonical()));
    }
});
