//! Property tests of IP rules and client-address resolution against reference models written with
//! integer masks on `u32`/`u128` (no `ipnet`), and of the rules' one canonical form: a rule in any
//! spelling, entering by any path, decides like its canonical form.

mod common;

use apikey_core::Change;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use apikey_core::ip::{IpVerdict, canonical_net, parse_net};
use apikey_core::{
    ClientIpResolver, Credential, IpRules, KeyFilter, KeyUpdate, NewKey, RejectionKind,
    RequestContext, TenantScope,
};
use ipnet::IpNet;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::json;

/// An address as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Addr {
    V4(u32),
    V6(u128),
}

impl Addr {
    fn ip(self) -> IpAddr {
        match self {
            Self::V4(a) => IpAddr::V4(Ipv4Addr::from(a)),
            Self::V6(a) => IpAddr::V6(Ipv6Addr::from(a)),
        }
    }

    fn from_ip(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => Self::V4(u32::from(a)),
            IpAddr::V6(a) => Self::V6(u128::from(a)),
        }
    }

    /// `::ffff:a.b.c.d` is `a.b.c.d`; nothing else changes.
    fn canonical(self) -> Self {
        match self {
            Self::V6(a) if a >> 32 == 0xffff => Self::V4(a as u32),
            other => other,
        }
    }
}

fn mapped(a: u32) -> u128 {
    0xffff_u128 << 32 | u128::from(a)
}

fn mask32(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

fn mask128(len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

/// A network as written in a rule: an address (host bits possibly set) and a prefix length.
#[derive(Debug, Clone, Copy)]
struct Net {
    addr: Addr,
    len: u8,
    bare: bool,
}

impl Net {
    fn text(self) -> String {
        match (self.addr, self.bare) {
            (Addr::V4(a), true) if self.len == 32 => format!(" {} ", Ipv4Addr::from(a)),
            (Addr::V6(a), true) if self.len == 128 => Ipv6Addr::from(a).to_string(),
            (a, _) => format!("{}/{}", a.ip(), self.len),
        }
    }

    /// The network after canonicalisation: mapped `/96+n` becomes v4 `/n`; host bits cleared.
    fn model(self) -> (Addr, u8) {
        match self.addr {
            Addr::V4(a) => (Addr::V4(a & mask32(self.len)), self.len),
            Addr::V6(a) if a >> 32 == 0xffff && self.len >= 96 => {
                let n = self.len - 96;
                (Addr::V4(a as u32 & mask32(n)), n)
            }
            Addr::V6(a) => (Addr::V6(a & mask128(self.len)), self.len),
        }
    }

    fn contains(self, ip: Addr) -> bool {
        match (self.model(), ip.canonical()) {
            ((Addr::V4(n), len), Addr::V4(a)) => a & mask32(len) == n,
            ((Addr::V6(n), len), Addr::V6(a)) => a & mask128(len) == n,
            _ => false,
        }
    }
}

const V4_BASES: [u32; 3] = [0x0A00_0000, 0xC0A8_0100, 0xCB00_7100];
const V6_BASES: [u128; 2] = [0x2001_0db8_u128 << 96, 0xfe80_u128 << 112];

/// v4 addresses clustered around a few bases (so networks and addresses often overlap).
fn v4() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => (select(&V4_BASES[..]), any::<u32>(), 0u32..=32)
            .prop_map(|(b, r, s)| b ^ r.checked_shr(s).unwrap_or(0)),
        1 => any::<u32>(),
    ]
}

fn v6() -> impl Strategy<Value = u128> {
    prop_oneof![
        4 => (select(&V6_BASES[..]), any::<u128>(), 0u32..=128)
            .prop_map(|(b, r, s)| b ^ r.checked_shr(s).unwrap_or(0)),
        1 => any::<u128>(),
    ]
}

fn addr() -> impl Strategy<Value = Addr> {
    prop_oneof![
        4 => v4().prop_map(Addr::V4),
        3 => v6().prop_map(Addr::V6),
        2 => v4().prop_map(|a| Addr::V6(mapped(a))),
    ]
}

fn net() -> impl Strategy<Value = Net> {
    prop_oneof![
        4 => (v4(), 0u8..=32).prop_map(|(a, len)| (Addr::V4(a), len)),
        3 => (v6(), 0u8..=128).prop_map(|(a, len)| (Addr::V6(a), len)),
        // Mapped networks, mostly /96 or longer (they become v4 rules).
        2 => (v4(), 0u8..=32).prop_map(|(a, n)| (Addr::V6(mapped(a)), 96 + n)),
        1 => (v4(), 0u8..=128).prop_map(|(a, len)| (Addr::V6(mapped(a)), len)),
    ]
    .prop_flat_map(|(addr, len)| any::<bool>().prop_map(move |bare| Net { addr, len, bare }))
}

fn rules(allow: &[Net], deny: &[Net]) -> IpRules {
    IpRules::parse(
        allow.iter().map(|n| n.text()),
        deny.iter().map(|n| n.text()),
    )
    .expect("valid rules")
}

/// The reference verdict: deny first, then an allow list (if any) must match.
fn model_check(allow: &[Net], deny: &[Net], client: Option<Addr>) -> IpVerdict {
    if allow.is_empty() && deny.is_empty() {
        return IpVerdict::Allowed;
    }
    let Some(ip) = client else {
        return IpVerdict::Unknown;
    };
    if deny.iter().any(|n| n.contains(ip)) {
        IpVerdict::Denied
    } else if allow.is_empty() || allow.iter().any(|n| n.contains(ip)) {
        IpVerdict::Allowed
    } else {
        IpVerdict::Denied
    }
}

/// One `X-Forwarded-For` entry: an address in some spelling, or garbage.
#[derive(Debug, Clone)]
enum Entry {
    Good(Addr, u8),
    Bad(&'static str),
}

const GARBAGE: &[&str] = &[
    "unknown",
    "garbage",
    "",
    " ",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "[::1",
    "::g",
    "_hidden",
    "1.2.3.4/8",
    "2001:db8::/32",
];

impl Entry {
    fn text(&self) -> String {
        match *self {
            Self::Bad(s) => s.to_owned(),
            Self::Good(a, style) => match (a, style % 4) {
                (_, 0) => a.ip().to_string(),
                (_, 1) => format!("  {}\t", a.ip()),
                (Addr::V6(v), 2) => format!("[{}]", Ipv6Addr::from(v)),
                (Addr::V6(v), _) => format!(" [{}]:8443", Ipv6Addr::from(v)),
                (Addr::V4(_), _) => format!(" {}", a.ip()),
            },
        }
    }
}

fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        6 => (addr(), any::<u8>()).prop_map(|(a, s)| Entry::Good(a, s)),
        1 => select(GARBAGE).prop_map(Entry::Bad),
    ]
}

fn header_lines() -> impl Strategy<Value = Vec<Vec<Entry>>> {
    proptest::collection::vec(proptest::collection::vec(entry(), 1..4), 0..4)
}

/// The reference walk: an untrusted peer is the client; otherwise entries right to left, past
/// trusted hops; the first untrusted wins; garbage stops at the last good hop; all trusted →
/// the leftmost hop.
fn model_resolve(trusted: &[Net], peer: Option<Addr>, lines: &[Vec<Entry>]) -> Option<Addr> {
    let is_trusted = |a: Addr| trusted.iter().any(|n| n.contains(a));
    let mut hop = peer?.canonical();
    if !is_trusted(hop) {
        return Some(hop);
    }
    for e in lines.iter().rev().flat_map(|l| l.iter().rev()) {
        match *e {
            Entry::Bad(_) => return Some(hop),
            Entry::Good(a, _) => {
                hop = a.canonical();
                if !is_trusted(hop) {
                    return Some(hop);
                }
            }
        }
    }
    Some(hop)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// `IpRules::check` equals the mask model for random v4/v6/mapped networks and addresses.
    #[test]
    fn check_matches_the_mask_model(
        allow in proptest::collection::vec(net(), 0..4),
        deny in proptest::collection::vec(net(), 0..3),
        client in proptest::option::weighted(0.95, addr()),
    ) {
        let r = rules(&allow, &deny);
        prop_assert_eq!(r.check(client.map(Addr::ip)), model_check(&allow, &deny, client));
    }

    /// An IPv4-mapped IPv6 client gets the verdict of its IPv4 address.
    #[test]
    fn mapped_clients_get_the_v4_verdict(
        allow in proptest::collection::vec(net(), 0..4),
        deny in proptest::collection::vec(net(), 0..3),
        a in v4(),
    ) {
        let r = rules(&allow, &deny);
        let v4 = r.check(Some(Addr::V4(a).ip()));
        prop_assert_eq!(r.check(Some(Addr::V6(mapped(a)).ip())), v4);
        prop_assert_eq!(v4, model_check(&allow, &deny, Some(Addr::V4(a))));
    }

    /// `::ffff:a.b.c.d/(96+n)` parses to `a.b.c.d/n`, with host bits cleared.
    #[test]
    fn mapped_networks_parse_as_v4(a in v4(), n in 0u8..=32) {
        let mapped_net = parse_net(&format!("::ffff:{}/{}", Ipv4Addr::from(a), 96 + n)).unwrap();
        let v4_net = parse_net(&format!("{}/{n}", Ipv4Addr::from(a))).unwrap();
        prop_assert_eq!(mapped_net, v4_net);
        let IpNet::V4(v4_net) = v4_net else {
            return Err(TestCaseError::fail("not a v4 network"));
        };
        prop_assert_eq!(u32::from(v4_net.addr()), a & mask32(n));
        prop_assert_eq!(v4_net.prefix_len(), n);
    }

    /// Any network parses to the model's canonical form.
    #[test]
    fn parse_net_matches_the_model(n in net()) {
        let got = parse_net(&n.text()).unwrap();
        let bits = match got {
            IpNet::V4(v) => (Addr::V4(u32::from(v.addr())), v.prefix_len()),
            IpNet::V6(v) => (Addr::V6(u128::from(v.addr())), v.prefix_len()),
        };
        prop_assert_eq!(bits, n.model());
    }

    /// A `/32` (or `/128`) rule matches exactly one address: never any single-bit neighbour nor
    /// any other random address.
    #[test]
    fn host_routes_match_exactly_one_address(x in addr(), y in addr()) {
        let host = Net { addr: x, len: if matches!(x, Addr::V4(_)) { 32 } else { 128 }, bare: false };
        let allow = rules(&[host], &[]);
        let deny = rules(&[], &[host]);
        prop_assert_eq!(allow.check(Some(x.ip())), IpVerdict::Allowed);
        prop_assert_eq!(deny.check(Some(x.ip())), IpVerdict::Denied);
        let neighbours: Vec<Addr> = match x {
            Addr::V4(a) => (0..32).map(|k| Addr::V4(a ^ (1 << k))).collect(),
            Addr::V6(a) => (0..128).map(|k| Addr::V6(a ^ (1 << k))).collect(),
        };
        for other in neighbours.into_iter().chain([y]) {
            if other.canonical() == x.canonical() {
                continue;
            }
            prop_assert_eq!(allow.check(Some(other.ip())), IpVerdict::Denied, "{:?}", other);
            prop_assert_eq!(deny.check(Some(other.ip())), IpVerdict::Allowed, "{:?}", other);
        }
    }

    /// `ClientIpResolver::resolve` equals the reference right-to-left walk.
    #[test]
    fn resolve_matches_the_walk(
        trusted in proptest::collection::vec(net(), 0..4),
        peer in proptest::option::weighted(0.95, addr()),
        lines in header_lines(),
    ) {
        let texts: Vec<String> = lines
            .iter()
            .map(|l| l.iter().map(Entry::text).collect::<Vec<_>>().join(","))
            .collect();
        let r = ClientIpResolver::with_trusted_proxies(trusted.iter().map(|n| n.text())).unwrap();
        let got = r.resolve(peer.map(Addr::ip), texts.iter().map(|s| s.as_bytes()));
        prop_assert_eq!(got.map(Addr::from_ip), model_resolve(&trusted, peer, &lines), "{:?}", texts);

        // Without trusted proxies the headers are ignored.
        let none = ClientIpResolver::new().resolve(peer.map(Addr::ip), texts.iter().map(|s| s.as_bytes()));
        prop_assert_eq!(none.map(Addr::from_ip), peer.map(Addr::canonical));
    }

    /// With every hop trusted, the leftmost entry is the client.
    #[test]
    fn all_trusted_gives_the_leftmost(
        lines in proptest::collection::vec(proptest::collection::vec((addr(), any::<u8>()), 1..4), 1..4),
        peer in addr(),
    ) {
        let everything = ["0.0.0.0/0", "::/0"];
        let r = ClientIpResolver::with_trusted_proxies(everything).unwrap();
        let texts: Vec<String> = lines
            .iter()
            .map(|l| l.iter().map(|&(a, s)| Entry::Good(a, s).text()).collect::<Vec<_>>().join(","))
            .collect();
        let got = r.resolve(Some(peer.ip()), texts.iter().map(|s| s.as_bytes()));
        prop_assert_eq!(got.map(Addr::from_ip), Some(lines[0][0].0.canonical()));
    }
}

/// The canonical text of a network, from the model.
fn canonical_text(n: Net) -> String {
    match n.model() {
        (Addr::V4(a), len) => format!("{}/{len}", Ipv4Addr::from(a)),
        (Addr::V6(a), len) => format!("{}/{len}", Ipv6Addr::from(a)),
    }
}

/// All eight groups of an IPv6 address, zero-padded.
fn expanded(a: u128) -> String {
    (0..8)
        .rev()
        .map(|g| format!("{:04x}", (a >> (16 * g)) & 0xffff))
        .collect::<Vec<_>>()
        .join(":")
}

/// Texts that all mean the network `n`: host bits set or not, IPv4 or IPv4-mapped IPv6 (dotted,
/// hex, upper case, fully expanded), a bare address for a host route, surrounding whitespace.
fn spellings(n: Net) -> Vec<String> {
    let mut out = vec![n.text(), canonical_text(n)];
    match (n.model(), n.addr) {
        ((Addr::V4(_), len), written) => {
            let hb = match written {
                Addr::V4(a) => a,
                Addr::V6(m) => m as u32,
            };
            let d = Ipv4Addr::from(hb);
            let m = 96 + len;
            out.push(format!("{d}/{len}"));
            out.push(format!("\t::ffff:{d}/{m} "));
            out.push(format!("::FFFF:{:X}:{:X}/{m}", hb >> 16, hb & 0xffff));
            out.push(format!("0:0:0:0:0:ffff:{d}/{m}"));
            out.push(format!("{}/{m}", expanded(mapped(hb)).to_uppercase()));
            if len == 32 {
                out.push(d.to_string());
                out.push(format!("::ffff:{d}"));
                out.push(expanded(mapped(hb)));
            }
        }
        ((Addr::V6(_), len), Addr::V6(hb)) => {
            let ip = Ipv6Addr::from(hb);
            out.push(format!("{ip}/{len}"));
            out.push(format!("{}/{len}", ip.to_string().to_uppercase()));
            out.push(format!(" {}/{len}", expanded(hb)));
            out.push(format!("{}/{len}", expanded(hb).to_uppercase()));
            if len == 128 {
                out.push(ip.to_string().to_uppercase());
                out.push(expanded(hb));
            }
        }
        ((Addr::V6(_), _), Addr::V4(_)) => {}
    }
    out
}

/// The network as `ipnet` reads the text on its own: host bits and mapped form kept — what a
/// caller could put in a rule list before the lists were private.
fn raw(s: &str) -> IpNet {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .expect("a spelling ipnet reads")
}

fn spelled(nets: &[(Net, Index)]) -> Vec<String> {
    nets.iter()
        .map(|(n, i)| {
            let all = spellings(*n);
            all[i.index(all.len())].clone()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// Rules in any spelling, entering through the parser, `IpRules::new` with raw `ipnet` values,
    /// JSON (text and `ipnet`'s own serialised form) and the `NewKey` builder, are equal to the
    /// canonical rules, serialise the same, and decide like the model for arbitrary clients.
    #[test]
    fn any_spelling_decides_like_its_canonical_form(
        allow in proptest::collection::vec((net(), any::<Index>()), 0..4),
        deny in proptest::collection::vec((net(), any::<Index>()), 0..3),
        clients in proptest::collection::vec(addr(), 1..8),
    ) {
        let (a_txt, d_txt) = (spelled(&allow), spelled(&deny));
        let a_nets: Vec<Net> = allow.iter().map(|p| p.0).collect();
        let d_nets: Vec<Net> = deny.iter().map(|p| p.0).collect();
        let canonical = IpRules::parse(
            a_nets.iter().map(|n| canonical_text(*n)),
            d_nets.iter().map(|n| canonical_text(*n)),
        )
        .unwrap();
        let a_raw: Vec<IpNet> = a_txt.iter().map(|s| raw(s)).collect();
        let d_raw: Vec<IpNet> = d_txt.iter().map(|s| raw(s)).collect();
        let ways_in = [
            ("parse", IpRules::parse(&a_txt, &d_txt).unwrap()),
            ("new", IpRules::new(a_raw.clone(), d_raw.clone()).unwrap()),
            (
                "json text",
                serde_json::from_value(json!({ "allow": a_txt, "deny": d_txt })).unwrap(),
            ),
            (
                "json ipnet",
                serde_json::from_value(json!({ "allow": a_raw, "deny": d_raw })).unwrap(),
            ),
            ("builder", NewKey::new("k").ip_rules(&a_txt, &d_txt).unwrap().ip_rules),
        ];
        let canonical_json = serde_json::to_value(&canonical).unwrap();
        for (way, r) in &ways_in {
            prop_assert_eq!(r, &canonical, "{} {:?} {:?}", way, a_txt, d_txt);
            prop_assert_eq!(serde_json::to_value(r).unwrap(), canonical_json.clone());
            for list in [r.allow(), r.deny()] {
                prop_assert!(list.iter().all(|n| canonical_net(*n) == *n));
                prop_assert!(list.windows(2).all(|w| w[0] < w[1]));
            }
            for c in &clients {
                prop_assert_eq!(
                    r.check(Some(c.ip())),
                    model_check(&a_nets, &d_nets, Some(*c)),
                    "{} {:?} {:?} {:?}", way, a_txt, d_txt, c
                );
            }
        }
    }
}

async fn ip_kind(f: &common::Fixture, token: &str, ip: &str) -> Option<RejectionKind> {
    let ctx = RequestContext::new().client_ip(Some(ip.parse().expect("an address")));
    f.keys
        .verifier()
        .verify(Credential::new(token), &ctx)
        .await
        .err()
        .map(|r| r.kind())
}

/// The issue's case through the manager: a deny of `::ffff:10.0.0.0/104` that reaches a key by an
/// update (rules read from JSON) or an import denies the IPv4 client 10.1.2.3.
#[tokio::test]
async fn mapped_rules_entered_by_update_or_import_deny_the_v4_client() {
    let f = common::fixture();
    let m = f.keys.manager();
    let k = m.create(NewKey::new("svc")).await.unwrap();
    let t = k.token.expose().to_owned();
    assert_eq!(ip_kind(&f, &t, "10.1.2.3").await, None);

    let rules: IpRules =
        serde_json::from_str(r#"{"allow":[],"deny":["::ffff:10.0.0.0/104"]}"#).unwrap();
    let update = KeyUpdate {
        ip_rules: Some(rules),
        ..KeyUpdate::default()
    };
    let r = m
        .update(&TenantScope::All, k.record.id, update, Change::new())
        .await
        .unwrap();
    assert_eq!(r.ip_rules.deny(), &[raw("10.0.0.0/8")]);
    for client in ["10.1.2.3", "::ffff:10.1.2.3"] {
        assert_eq!(
            ip_kind(&f, &t, client).await,
            Some(RejectionKind::IpDenied),
            "{client}"
        );
    }
    assert_eq!(ip_kind(&f, &t, "192.0.2.1").await, None);

    // An export edited by hand (or written by an older version) imports canonical.
    let export = m
        .export(&TenantScope::All, &KeyFilter::default())
        .await
        .unwrap();
    let mut export = serde_json::to_value(export).unwrap();
    export["keys"][0]["ip_rules"] =
        json!({ "allow": ["::FFFF:10.0.0.0/104"], "deny": ["::ffff:10.1.2.3", "10.1.2.3/32"] });
    let g = common::fixture();
    g.keys
        .manager()
        .import(
            &TenantScope::All,
            serde_json::from_value(export).unwrap(),
            Change::new(),
        )
        .await
        .unwrap();
    let imported = g
        .keys
        .manager()
        .get(&TenantScope::All, k.record.id)
        .await
        .unwrap();
    assert_eq!(
        imported.ip_rules,
        IpRules::parse(["10.0.0.0/8"], ["10.1.2.3"]).unwrap()
    );
    assert_eq!(
        ip_kind(&g, &t, "10.1.2.3").await,
        Some(RejectionKind::IpDenied)
    );
    assert_eq!(ip_kind(&g, &t, "::ffff:10.1.2.4").await, None);
    assert_eq!(
        ip_kind(&g, &t, "192.0.2.1").await,
        Some(RejectionKind::IpDenied)
    );
}
