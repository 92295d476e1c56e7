//! Property tests of scopes: `Scope::new` against a hand-written grammar predicate,
//! `ScopeSet::satisfies` against a reference model of AND semantics with `resource:*` wildcards,
//! and the one canonical form of scope sets and endpoint names, however they enter.

mod common;

use apikey_core::Change;
use std::time::Duration;

use apikey_core::limit::{Endpoint, EndpointLimit};
use apikey_core::scope::MAX_SCOPE_LEN;
use apikey_core::{
    Credential, KeyUpdate, NewKey, Rate, RejectionKind, RequestContext, Scope, ScopeSet,
    TenantScope,
};
use proptest::prelude::*;
use proptest::sample::select;

/// `[A-Za-z0-9_.-]`
fn name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_uppercase() || c.is_ascii_digit() || "_.-".contains(c)
}

/// The reference grammar `[A-Za-z0-9_.-]+:([A-Za-z0-9_.-]+|\*)`, at most 128 bytes, as a small
/// state machine over characters. Returns `(resource, action)` when accepted.
fn reference(s: &str) -> Option<(&str, &str)> {
    if s.len() > 128 {
        return None;
    }
    enum St {
        Resource(usize),
        Action(usize),
        Star,
    }
    let mut st = St::Resource(0);
    let mut colon = 0;
    for (i, c) in s.char_indices() {
        st = match st {
            St::Resource(n) if name_char(c) => St::Resource(n + 1),
            St::Resource(n) if c == ':' && n > 0 => {
                colon = i;
                St::Action(0)
            }
            St::Action(0) if c == '*' => St::Star,
            St::Action(n) if name_char(c) => St::Action(n + 1),
            _ => return None,
        };
    }
    match st {
        St::Action(n) if n > 0 => Some((&s[..colon], &s[colon + 1..])),
        St::Star => Some((&s[..colon], "*")),
        _ => None,
    }
}

/// Candidate scope strings: mostly from the relevant alphabet (including `:`, `*`, space and a
/// non-ASCII letter), structured near-valid shapes around the 128-byte limit, and arbitrary text.
fn scope_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Za-z0-9_.:*é -]{0,12}",
        3 => "[a-z.-]{1,8}:([a-z_]{1,8}|\\*)",
        2 => "[A-Za-z0-9_.-]{1,70}:([A-Za-z0-9_.-]{1,70}|\\*)",
        1 => "[A-Za-z0-9_.-]{60,70}:[A-Za-z0-9_.-]{55,62}",
        2 => "[a-z]{1,4}[:*]{1,3}[a-z*]{0,3}",
        1 => any::<String>(),
        1 => "\\PC{0,20}",
    ]
}

/// A small universe, so held and required scopes overlap often.
fn small_scope() -> impl Strategy<Value = Scope> {
    (
        proptest::sample::select(&["a", "b", "c", "a.b"][..]),
        proptest::sample::select(&["r", "w", "*", "x-y"][..]),
    )
        .prop_map(|(r, a)| Scope::new(&format!("{r}:{a}")).expect("valid"))
}

/// The reference model: each required scope is held literally or under `resource:*`.
fn model(held: &[Scope], required: &[Scope]) -> bool {
    required.iter().all(|r| {
        held.iter().any(|h| {
            h.as_str() == r.as_str() || (h.action() == "*" && h.resource() == r.resource())
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// `Scope::new` accepts exactly the grammar, and the accessors split where the grammar does.
    #[test]
    fn new_accepts_exactly_the_grammar(s in scope_text()) {
        let got = Scope::new(&s);
        match reference(&s) {
            Some((resource, action)) => {
                let scope = got.expect("a scope the grammar accepts");
                prop_assert_eq!(scope.as_str(), s.as_str());
                prop_assert_eq!(scope.resource(), resource);
                prop_assert_eq!(scope.action(), action);
                prop_assert_eq!(scope.is_wildcard(), action == "*");
                prop_assert_eq!(s.parse::<Scope>().ok(), Some(scope));
            }
            None => prop_assert!(got.is_err(), "{:?} accepted", s),
        }
    }

    /// The length limit is exactly 128 bytes for otherwise valid scopes.
    #[test]
    fn length_limit_is_128_bytes(r in 1usize..=140, a in 1usize..=140, star in any::<bool>()) {
        let s = format!("{}:{}", "r".repeat(r), if star { "*".to_owned() } else { "a".repeat(a) });
        prop_assert_eq!(Scope::new(&s).is_ok(), s.len() <= MAX_SCOPE_LEN);
        prop_assert_eq!(MAX_SCOPE_LEN, 128);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// `satisfies` and `first_missing` agree with the model; the held set's order and duplicates
    /// do not matter.
    #[test]
    fn satisfies_matches_the_model(
        (held, shuffled) in proptest::collection::vec(small_scope(), 0..6)
            .prop_flat_map(|h| (Just(h.clone()), Just(h).prop_shuffle())),
        required in proptest::collection::vec(small_scope(), 0..4),
        dups in proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let set = ScopeSet::from(held.clone());
        let expected = model(&held, &required);
        prop_assert_eq!(set.satisfies(&required), expected);
        prop_assert_eq!(
            set.first_missing(&required),
            required.iter().find(|r| !model(&held, std::slice::from_ref(*r)))
        );

        // Shuffled and with duplicates: the same set and the same answers.
        let mut other = shuffled;
        if !held.is_empty() {
            other.extend(dups.iter().map(|i| held[i.index(held.len())].clone()));
        }
        prop_assert_eq!(model(&other, &required), expected);
        let other_set: ScopeSet = other.into_iter().collect();
        prop_assert_eq!(&other_set, &set);
        prop_assert_eq!(other_set.satisfies(&required), expected);

        // The set is sorted and free of duplicates; `contains` is literal membership.
        prop_assert!(set.as_slice().windows(2).all(|w| w[0] < w[1]));
        for s in &held {
            prop_assert!(set.contains(s));
        }
        for r in &required {
            prop_assert_eq!(set.contains(r), held.contains(r));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// A scope list read from JSON in any order, with duplicates, is the set built in code: same
    /// value, same serialised form, and `contains` (a binary search) finds every member.
    #[test]
    fn deserialised_scope_sets_are_canonical(
        held in proptest::collection::vec(small_scope(), 0..8),
    ) {
        let texts: Vec<&str> = held.iter().map(Scope::as_str).collect();
        let read: ScopeSet = serde_json::from_value(serde_json::json!(texts)).unwrap();
        let built = ScopeSet::from(held.clone());
        prop_assert_eq!(&read, &built);
        prop_assert_eq!(serde_json::to_string(&read).unwrap(), serde_json::to_string(&built).unwrap());
        prop_assert!(read.as_slice().windows(2).all(|w| w[0] < w[1]));
        for s in &held {
            prop_assert!(read.contains(s), "{:?} not found in {:?}", s, read);
        }
    }
}

/// An endpoint as generated: its method (if any) and path, and a spelling of the two.
#[derive(Debug, Clone)]
struct Spelled {
    method: Option<&'static str>,
    path: &'static str,
    text: String,
}

const METHODS: &[&str] = &["GET", "get", "Get", "POST", "post", "DeLeTe", "PATCH"];
const PATHS: &[&str] = &[
    "/projects/{id}",
    "/Projects/{id}",
    "/projects/{id}/",
    "/projects/{id} x",
    "/pkg.Svc/Method",
    "/pkg.svc/method",
];
const GAPS: &[&str] = &[" ", "  ", "\t", " \t ", "\u{a0}"];
const EDGES: &[&str] = &["", "", " ", "\t", "\n "];

fn spelled_endpoint() -> impl Strategy<Value = Spelled> {
    (
        proptest::option::weighted(0.8, select(METHODS)),
        select(PATHS),
        select(GAPS),
        select(EDGES),
        select(EDGES),
    )
        .prop_map(|(method, path, gap, lead, trail)| Spelled {
            method,
            path,
            text: match method {
                Some(m) => format!("{lead}{m}{gap}{path}{trail}"),
                None => format!("{lead}{path}{trail}"),
            },
        })
}

/// The reference meaning: the same method (HTTP methods compare without case) and the same path,
/// byte for byte.
fn same_endpoint(a: &Spelled, b: &Spelled) -> bool {
    let method = match (a.method, b.method) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        (None, None) => true,
        _ => false,
    };
    method && a.path == b.path
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Every spelling of an endpoint, entering by `Endpoint::new`, the `NewKey` builder or JSON,
    /// has the canonical text (`METHOD path`), and a limit on it matches a request's endpoint
    /// exactly when the two mean the same endpoint.
    #[test]
    fn endpoints_mean_one_thing(stored in spelled_endpoint(), request in spelled_endpoint()) {
        let rate = Rate::new(1, Duration::from_secs(60)).unwrap();
        let canonical = match stored.method {
            Some(m) => format!("{} {}", m.to_ascii_uppercase(), stored.path),
            None => stored.path.to_owned(),
        };
        let limit: EndpointLimit =
            serde_json::from_value(serde_json::json!({ "endpoint": stored.text, "rate": rate }))
                .unwrap();
        let ways_in = [
            Endpoint::new(&stored.text),
            Endpoint::from(stored.text.clone()),
            NewKey::new("k").endpoint_limit(stored.text.as_str(), rate).endpoint_limits[0].endpoint.clone(),
            limit.endpoint,
        ];
        for e in &ways_in {
            prop_assert_eq!(e.as_str(), canonical.as_str());
            prop_assert_eq!(&Endpoint::new(e.as_str()), e);
            prop_assert_eq!(
                e.matches(&request.text),
                same_endpoint(&stored, &request),
                "{:?} vs {:?}", stored.text, request.text
            );
            prop_assert_eq!(e.matches(&request.text), *e == Endpoint::new(&request.text));
        }
    }
}

async fn limited(f: &common::Fixture, token: &str, endpoint: &str) -> bool {
    let ctx = RequestContext::new().endpoint(endpoint);
    f.keys
        .verifier()
        .verify(Credential::new(token), &ctx)
        .await
        .err()
        .map(|r| r.kind())
        == Some(RejectionKind::RateLimited)
}

/// Limits written with a lower-case method or extra spaces — by the builder or by an update read
/// from JSON — apply to the endpoint the integrations name (`"GET /x"`), and two spellings of one
/// endpoint are one limit.
#[tokio::test]
async fn endpoint_limits_apply_however_written() {
    let f = common::fixture();
    let m = f.keys.manager();
    let rate = Rate::new(1, Duration::from_secs(60)).unwrap();
    let k = m
        .create(NewKey::new("svc").endpoint_limit(" get   /x", rate))
        .await
        .unwrap();
    let t = k.token.expose().to_owned();
    assert!(!limited(&f, &t, "GET /x").await);
    assert!(limited(&f, &t, "GET /x").await);
    assert!(!limited(&f, &t, "GET /X").await);

    let limits: Vec<EndpointLimit> = serde_json::from_value(serde_json::json!([
        { "endpoint": "post\t/y", "rate": rate }
    ]))
    .unwrap();
    let update = KeyUpdate {
        endpoint_limits: Some(limits),
        ..KeyUpdate::default()
    };
    let r = m
        .update(&TenantScope::All, k.record.id, update, Change::new())
        .await
        .unwrap();
    assert_eq!(r.endpoint_limits[0].endpoint.as_str(), "POST /y");
    assert!(!limited(&f, &t, "POST /y").await);
    assert!(limited(&f, &t, "POST /y").await);

    let twice = NewKey::new("dup")
        .endpoint_limit("GET /z", rate)
        .endpoint_limit("get /z", rate);
    assert!(m.create(twice).await.is_err());
}
