//! What each event carries of the chain: the link to its predecessor, its own hash, and the salt
//! of its personal fields' commitments (or, once erased, the commitments themselves).

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

use crate::error::{Error, Result};

/// A SHA-256 (or HMAC-SHA-256) output, written as unpadded base64url.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    /// The `prev` of the first event of a chain.
    pub const GENESIS: Self = Self([0; 32]);

    /// Parses the base64url form.
    pub fn parse(s: &str) -> Result<Self> {
        let bytes = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| Error::invalid("chain hash", "not base64url"))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::invalid("chain hash", "not 32 bytes"))?;
        Ok(Self(arr))
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({self})")
    }
}

impl Serialize for ChainHash {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ChainHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The random key of one event's commitments. Erasing an event's personal fields removes it,
/// after which the values cannot be tested against the commitments any more.
#[derive(Clone, PartialEq, Eq, Zeroize)]
#[zeroize(drop)]
pub struct Salt(pub [u8; 16]);

impl Salt {
    /// 16 random bytes from the OS.
    pub fn random() -> Self {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).expect("the OS random source is available");
        Self(b)
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Salt(..)")
    }
}

impl Serialize for Salt {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Salt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(&s)
            .map_err(|_| serde::de::Error::custom("salt: not base64url"))?;
        let arr: [u8; 16] = bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("salt: not 16 bytes"))?;
        Ok(Self(arr))
    }
}

/// An event's place in the log's chains (see the [module docs](super)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainLink {
    /// The hash of the previous event of the same key's chain ([`ChainHash::GENESIS`] for the
    /// first, and for events that are not changes of a key).
    pub prev: ChainHash,
    /// `SHA-256(domain ‖ prev ‖ canonical form)`; the canonical form holds commitments in place of
    /// personal fields. Serialized as `sum`, so that no export or API answer carries a field
    /// named `hash` that could be taken for a stored key hash.
    #[serde(rename = "sum")]
    pub hash: ChainHash,
    /// The commitments' salt; absent once the event's personal fields were erased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<Salt>,
    /// After erasure, the commitment of each erased field by its path (`actor`, `after.owner`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub erased: BTreeMap<String, ChainHash>,
}

impl ChainLink {
    /// The stored text form (compact JSON).
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("a chain link always serializes")
    }

    /// Parses the stored text form.
    pub fn from_text(s: &str) -> Result<Self> {
        serde_json::from_str(s).map_err(|e| Error::invalid("audit chain link", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_round_trip_through_text_without_showing_the_salt_in_debug() {
        let link = ChainLink {
            prev: ChainHash::GENESIS,
            hash: ChainHash([7; 32]),
            salt: Some(Salt([9; 16])),
            erased: BTreeMap::new(),
        };
        let text = link.to_text();
        assert_eq!(ChainLink::from_text(&text).unwrap(), link);
        assert!(!format!("{link:?}").contains("CQkJ"));
        assert!(ChainLink::from_text("{\"prev\":\"x\"}").is_err());
    }
}
