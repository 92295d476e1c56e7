//! Fuzzes IP rule and CIDR parsing: `apikey_core::ip::parse_net` and `IpRules::parse`.
//!
//! Input, line by line: `+net` goes to the allow list, `-net` to the deny list, `?addr` is an
//! address to check; every line is also parsed on its own. A parsed net must be canonical (parsing
//! its own rendering gives it back, host bits clear, no IPv4-mapped IPv6 form left), and rules
//! written in any accepted spelling must decide every address exactly like the same rules written
//! canonically — for the address and for its IPv4-mapped IPv6 spelling alike.

#![no_main]

use std::net::IpAddr;

use apikey_core::IpRules;
use apikey_core::ip::{IpVerdict, canonical_net, parse_net};
use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;

fn check_net(text: &str) -> Option<IpNet> {
    let net = parse_net(text).ok()?;
    assert_eq!(
        canonical_net(net),
        net,
        "{text:?} parsed to a non-canonical {net}"
    );
    assert_eq!(net.trunc(), net, "{text:?} kept host bits");
    if let IpNet::V6(v6) = net {
        assert!(
            v6.addr().to_ipv4_mapped().is_none() || v6.prefix_len() < 96,
            "{text:?} stayed an IPv4-mapped network: {net}"
        );
    }
    let rendered = net.to_string();
    assert_eq!(
        parse_net(&rendered).ok(),
        Some(net),
        "a canonical net does not parse to itself"
    );
    Some(net)
}

/// The addresses worth asking about: the ones given, and each rule's first and last address, in
/// both their own and their IPv4-mapped spelling.
fn probes(given: &[IpAddr], nets: &[IpNet]) -> Vec<IpAddr> {
    let mut all: Vec<IpAddr> = given.to_vec();
    for n in nets {
        all.extend([n.network(), n.broadcast()]);
    }
    let mapped: Vec<IpAddr> = all
        .iter()
        .filter_map(|ip| match ip {
            IpAddr::V4(v4) => Some(IpAddr::V6(v4.to_ipv6_mapped())),
            IpAddr::V6(_) => None,
        })
        .collect();
    all.extend(mapped);
    all
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (mut allow, mut deny, mut given) = (Vec::new(), Vec::new(), Vec::new());
    let mut nets = Vec::new();
    for line in text.lines() {
        if let Some(net) = check_net(line) {
            nets.push(net);
        }
        match line.split_at_checked(1) {
            Some(("+", rest)) => allow.push(rest),
            Some(("-", rest)) => deny.push(rest),
            Some(("?", rest)) => given.extend(rest.trim().parse::<IpAddr>().ok()),
            _ => {}
        }
    }

    let Ok(rules) = IpRules::parse(&allow, &deny) else {
        return;
    };
    let canonical = |list: &[&str]| -> Vec<String> {
        list.iter()
            .map(|s| parse_net(s).expect("parsed once already").to_string())
            .collect()
    };
    let again = IpRules::parse(canonical(&allow), canonical(&deny))
        .expect("the canonical spelling of accepted rules is accepted");
    assert_eq!(rules, again, "rules differ from their canonical spelling");

    nets.extend(
        allow
            .iter()
            .chain(&deny)
            .map(|s| parse_net(s).expect("parsed once already")),
    );
    assert_eq!(
        rules.check(None) == IpVerdict::Unknown,
        !rules.is_empty(),
        "rules without a client address must refuse, and no rules must allow"
    );
    for ip in probes(&given, &nets) {
        let verdict = rules.check(Some(ip));
        assert_ne!(verdict, IpVerdict::Unknown);
        assert_eq!(verdict, again.check(Some(ip)), "{ip} decided differently");
        let other = match ip {
            IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_mapped()),
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        };
        assert_eq!(
            verdict,
            rules.check(Some(other)),
            "{ip} and {other} are one client but decided differently"
        );
        if deny.is_empty() && allow.is_empty() {
            assert_eq!(verdict, IpVerdict::Allowed);
        }
    }
});
