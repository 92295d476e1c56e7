//! Property tests of scopes: `Scope::new` against a hand-written grammar predicate, and
//! `ScopeSet::satisfies` against a reference model of AND semantics with `resource:*` wildcards.

use apikey_core::scope::MAX_SCOPE_LEN;
use apikey_core::{Scope, ScopeSet};
use proptest::prelude::*;

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
