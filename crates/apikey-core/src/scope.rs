//! Scopes: `resource:action`, required with AND semantics; `resource:*` grants every action.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

/// Longest accepted scope, in bytes.
pub const MAX_SCOPE_LEN: usize = 128;

/// A validated scope: two non-empty parts of `[A-Za-z0-9_.-]` around one `:`; the action may be `*`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    text: String,
    colon: usize,
}

impl Scope {
    /// Parses and validates a scope.
    pub fn new(s: &str) -> Result<Self, Error> {
        let bad = || {
            Error::invalid(
                "scope",
                format_args!(
                    "{:?} is not resource:action (1-{MAX_SCOPE_LEN} characters of A-Z a-z 0-9 _ . -, action may be *)",
                    truncate(s)
                ),
            )
        };
        if s.len() > MAX_SCOPE_LEN {
            return Err(bad());
        }
        let (resource, action) = s.split_once(':').ok_or_else(bad)?;
        let part_ok = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        };
        if !part_ok(resource) || !(action == "*" || part_ok(action)) {
            return Err(bad());
        }
        Ok(Self {
            text: s.to_owned(),
            colon: resource.len(),
        })
    }

    /// The resource part.
    pub fn resource(&self) -> &str {
        &self.text[..self.colon]
    }

    /// The action part (`*` for a wildcard).
    pub fn action(&self) -> &str {
        &self.text[self.colon + 1..]
    }

    /// Whether this is `resource:*`.
    pub fn is_wildcard(&self) -> bool {
        self.action() == "*"
    }

    /// Whether holding `self` satisfies a requirement of `required`.
    #[inline]
    pub fn grants(&self, required: &Scope) -> bool {
        if self.is_wildcard() {
            self.resource() == required.resource()
        } else {
            self.text == required.text
        }
    }

    /// The scope as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn truncate(s: &str) -> &str {
    let mut end = s.len().min(40);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({})", self.text)
    }
}

impl FromStr for Scope {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// The scopes a key holds: sorted, without duplicates.
///
/// That is the one form a set has, whichever way it was built: every constructor, and
/// deserialisation (a store's column, an import file), validates each scope and sorts and
/// de-duplicates the list, so [`contains`](Self::contains) and equality hold for sets read back as
/// for sets built in code. Scope text itself is exact: case-sensitive, no whitespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ScopeSet(Vec<Scope>);

impl<'de> Deserialize<'de> for ScopeSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<Scope>::deserialize(d).map(Self::from)
    }
}

impl ScopeSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses each string; the first invalid one is the error.
    pub fn parse<I, S>(items: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        items
            .into_iter()
            .map(|s| Scope::new(s.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map(Self::from)
    }

    /// Whether every scope in `required` is granted (AND); an empty requirement is always met.
    #[inline]
    pub fn satisfies(&self, required: &[Scope]) -> bool {
        required
            .iter()
            .all(|r| self.0.iter().any(|held| held.grants(r)))
    }

    /// The first required scope that is not granted.
    pub fn first_missing<'r>(&self, required: &'r [Scope]) -> Option<&'r Scope> {
        required
            .iter()
            .find(|r| !self.0.iter().any(|held| held.grants(r)))
    }

    /// Whether the set literally contains `scope`.
    pub fn contains(&self, scope: &Scope) -> bool {
        self.0.binary_search(scope).is_ok()
    }

    /// Iterates in sorted order.
    pub fn iter(&self) -> std::slice::Iter<'_, Scope> {
        self.0.iter()
    }

    /// Number of scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scopes as a slice.
    pub fn as_slice(&self) -> &[Scope] {
        &self.0
    }
}

impl From<Vec<Scope>> for ScopeSet {
    fn from(mut v: Vec<Scope>) -> Self {
        v.sort();
        v.dedup();
        Self(v)
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Self::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl<'a> IntoIterator for &'a ScopeSet {
    type Item = &'a Scope;
    type IntoIter = std::slice::Iter<'a, Scope>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Scope {
        Scope::new(x).unwrap()
    }

    #[test]
    fn validates_format() {
        for bad in [
            "",
            "read",
            ":x",
            "x:",
            "a:b:c",
            "a b:c",
            "*:read",
            "a:**",
            &"a".repeat(200),
        ] {
            assert!(Scope::new(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(s("projects:read").resource(), "projects");
        assert_eq!(s("projects:read").action(), "read");
    }

    #[test]
    fn and_semantics_with_wildcards() {
        let held = ScopeSet::parse(["projects:*", "users:read"]).unwrap();
        assert!(held.satisfies(&[s("projects:write"), s("users:read")]));
        assert!(!held.satisfies(&[s("users:write")]));
        assert!(!held.satisfies(&[s("projectsx:read")]));
        assert!(held.satisfies(&[]));
        assert_eq!(
            held.first_missing(&[s("users:read"), s("users:write")]),
            Some(&s("users:write"))
        );
        // A literal `*` requirement is only met by a wildcard on the same resource.
        assert!(!ScopeSet::parse(["a:b"]).unwrap().satisfies(&[s("a:*")]));
    }

    #[test]
    fn deserialised_sets_are_sorted_and_deduplicated() {
        let set: ScopeSet =
            serde_json::from_str(r#"["users:read","a:*","users:read","b:w"]"#).unwrap();
        assert_eq!(set, ScopeSet::parse(["a:*", "b:w", "users:read"]).unwrap());
        assert!(set.contains(&s("a:*")));
        assert!(set.contains(&s("users:read")));
        assert_eq!(
            serde_json::to_string(&set).unwrap(),
            r#"["a:*","b:w","users:read"]"#
        );
        assert!(serde_json::from_str::<ScopeSet>(r#"["Users read"]"#).is_err());
    }
}
