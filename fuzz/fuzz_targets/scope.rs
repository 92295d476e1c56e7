//! Fuzzes scope parsing: `Scope::new` and `ScopeSet`.
//!
//! Input: scopes one per line; lines starting with `!` are required scopes, the others are held.
//! A parsed scope must parse back to itself from its own text (whatever canonical form it has),
//! split into resource and action at its one `:`, survive a JSON round trip, and grant itself; a
//! set must be sorted without duplicates and decide requirements with AND semantics and
//! `resource:*` wildcards. Errors must render without panicking.

#![no_main]

use apikey_core::scope::MAX_SCOPE_LEN;
use apikey_core::{Scope, ScopeSet};
use libfuzzer_sys::fuzz_target;

fn check_scope(text: &str) -> Option<Scope> {
    let scope = match Scope::new(text) {
        Ok(s) => s,
        Err(e) => {
            // The message quotes (a prefix of) the input: it must cut on a character boundary.
            let _ = e.to_string();
            return None;
        }
    };
    let s = scope.as_str();
    assert!(s.len() <= MAX_SCOPE_LEN);
    assert_eq!(
        Scope::new(s).ok().as_ref(),
        Some(&scope),
        "{s:?} does not parse to itself"
    );
    assert_eq!(format!("{}:{}", scope.resource(), scope.action()), s);
    assert!(!scope.resource().is_empty() && !scope.action().is_empty());
    assert!(!scope.resource().contains(':') && !scope.action().contains(':'));
    assert_eq!(scope.is_wildcard(), scope.action() == "*");
    assert_eq!(scope.to_string(), s);
    assert!(scope.grants(&scope));
    let json = serde_json::to_string(&scope).expect("a scope serialises");
    let back: Scope = serde_json::from_str(&json).expect("a serialised scope deserialises");
    assert_eq!(back, scope);
    Some(scope)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (mut held_text, mut required) = (Vec::new(), Vec::new());
    for line in text.split('\n') {
        match line.strip_prefix('!') {
            Some(r) => required.extend(check_scope(r)),
            None => {
                if check_scope(line).is_some() {
                    held_text.push(line);
                }
            }
        }
    }

    let held = ScopeSet::parse(&held_text).expect("every line parsed on its own");
    assert!(
        held.as_slice().windows(2).all(|w| w[0] < w[1]),
        "a scope set is not sorted and unique"
    );
    for t in &held_text {
        assert!(held.contains(&Scope::new(t).expect("parsed above")));
    }
    assert!(
        held.satisfies(held.as_slice()),
        "a set does not satisfy itself"
    );
    assert!(held.satisfies(&[]));

    let satisfied = held.satisfies(&required);
    assert_eq!(satisfied, held.first_missing(&required).is_none());
    for r in &required {
        let granted = held
            .iter()
            .any(|h| h.as_str() == r.as_str() || (h.is_wildcard() && h.resource() == r.resource()));
        assert_eq!(
            held.satisfies(std::slice::from_ref(r)),
            granted,
            "{r:?} against {held:?}"
        );
        if !granted && satisfied {
            panic!("{r:?} is not granted but the set satisfied the requirements");
        }
    }
    if let Some(missing) = held.first_missing(&required) {
        let first = required
            .iter()
            .find(|r| !held.satisfies(std::slice::from_ref(*r)))
            .expect("something is missing");
        assert_eq!(missing, first);
    }

    let json = serde_json::to_string(&held).expect("a scope set serialises");
    let back: ScopeSet = serde_json::from_str(&json).expect("a serialised set deserialises");
    assert_eq!(back, held);
});
