//! Identifiers: the key id (private, stable), the public lookup id, and the tenant id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::error::Error;
use crate::token::base62;

/// The key's stable identifier (a UUIDv7, so ids sort roughly by creation time).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyId(Uuid);

impl KeyId {
    /// A fresh id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// Wraps an existing UUID (for stores that read it back).
    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    /// The UUID.
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl Default for KeyId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

impl FromStr for KeyId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Uuid::parse_str(s)
            .map(Self)
            .map_err(|_| Error::invalid("key id", "not a UUID"))
    }
}

/// Length of a lookup id in base62 characters (71 bits).
pub const LOOKUP_ID_LEN: usize = 12;

/// The public part of a token that finds its record: stored in clear under a unique index, safe to
/// show and log. It is `Copy` and fixed-size, so a cache lookup by it allocates nothing.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LookupId([u8; LOOKUP_ID_LEN]);

impl LookupId {
    /// Parses exactly [`LOOKUP_ID_LEN`] base62 characters (case-sensitive).
    pub fn parse(s: &str) -> Result<Self, Error> {
        Self::from_bytes(s.as_bytes()).ok_or_else(|| {
            Error::invalid(
                "lookup id",
                format_args!("expected {LOOKUP_ID_LEN} base62 characters"),
            )
        })
    }

    pub(crate) fn from_bytes(b: &[u8]) -> Option<Self> {
        let arr: [u8; LOOKUP_ID_LEN] = b.try_into().ok()?;
        arr.iter()
            .all(|&c| base62::is_digit(c))
            .then_some(Self(arr))
    }

    /// A fresh random lookup id from the OS CSPRNG.
    pub fn generate() -> Self {
        let mut arr = [0u8; LOOKUP_ID_LEN];
        base62::fill_random(&mut arr);
        Self(arr)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only base62 ASCII is ever stored in the array.
        std::str::from_utf8(&self.0).expect("base62 is ASCII")
    }
}

impl fmt::Display for LookupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for LookupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LookupId({})", self.as_str())
    }
}

impl FromStr for LookupId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl Serialize for LookupId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for LookupId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A tenant: 1–64 characters of `[A-Za-z0-9_.:-]`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    /// Validates and wraps a tenant id.
    pub fn new(id: impl Into<String>) -> Result<Self, Error> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b));
        if ok {
            Ok(Self(id))
        } else {
            Err(Error::invalid(
                "tenant id",
                "expected 1-64 characters of A-Z a-z 0-9 _ . : -",
            ))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({})", self.0)
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Which keys a management call may see: one tenant's, or every key (operators).
///
/// Reaching another tenant's key by id answers `NotFound`, exactly as a missing key does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TenantScope {
    /// Keys whose `tenant_id` is this tenant.
    Tenant(TenantId),
    /// Every key, with or without a tenant.
    All,
}

impl TenantScope {
    /// Whether a record with `tenant` is visible in this scope.
    pub fn admits(&self, tenant: Option<&TenantId>) -> bool {
        match self {
            Self::All => true,
            Self::Tenant(t) => tenant == Some(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_id_is_case_sensitive_base62() {
        let id = LookupId::generate();
        assert_eq!(LookupId::parse(id.as_str()).unwrap(), id);
        assert!(LookupId::parse("abcdefghijk").is_err());
        assert!(LookupId::parse("abcdefghijk_").is_err());
        assert_ne!(
            LookupId::parse("abcdefghijkl").unwrap(),
            LookupId::parse("Abcdefghijkl").unwrap()
        );
    }

    #[test]
    fn tenant_scope_hides_other_tenants() {
        let a = TenantId::new("a").unwrap();
        let b = TenantId::new("b").unwrap();
        assert!(TenantScope::Tenant(a.clone()).admits(Some(&a)));
        assert!(!TenantScope::Tenant(a.clone()).admits(Some(&b)));
        assert!(!TenantScope::Tenant(a).admits(None));
        assert!(TenantScope::All.admits(None));
        assert!(TenantId::new("").is_err());
        assert!(TenantId::new("a b").is_err());
    }
}
