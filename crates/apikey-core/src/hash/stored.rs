//! A stored hash that names its hasher, so several hashers coexist and old hashes upgrade on use.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;
use crate::hash::pepper::PepperId;

/// The hash of a key's secret, as stored.
///
/// Text forms: `$hmac-sha256$v1$<pepper id>$<base64 digest>`, or a PHC string for argon2id
/// (`$argon2id$…`) and bcrypt (`$2b$…`). `Debug` shows the hasher, never the digest.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredHash {
    /// HMAC-SHA-256 of the secret under the pepper `pepper`.
    HmacSha256 {
        /// Which configured pepper keyed it.
        pepper: PepperId,
        /// The MAC.
        digest: [u8; 32],
    },
    /// An argon2id PHC string.
    Argon2id(String),
    /// A bcrypt hash (`$2a$`, `$2b$`, `$2y$`).
    Bcrypt(String),
}

const HMAC_TAG: &str = "$hmac-sha256$v1$";

impl StoredHash {
    /// The hasher's name.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Self::HmacSha256 { .. } => "hmac-sha256",
            Self::Argon2id(_) => "argon2id",
            Self::Bcrypt(_) => "bcrypt",
        }
    }

    /// Whether verifying it costs a slow hash.
    pub fn is_slow(&self) -> bool {
        !matches!(self, Self::HmacSha256 { .. })
    }
}

impl fmt::Display for StoredHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HmacSha256 { pepper, digest } => {
                write!(f, "{HMAC_TAG}{pepper}${}", B64.encode(digest))
            }
            Self::Argon2id(s) | Self::Bcrypt(s) => f.write_str(s),
        }
    }
}

impl fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HmacSha256 { pepper, .. } => {
                write!(f, "StoredHash(hmac-sha256, pepper {pepper})")
            }
            other => write!(f, "StoredHash({})", other.algorithm()),
        }
    }
}

impl FromStr for StoredHash {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::invalid("stored hash", "unrecognised hash format");
        if let Some(rest) = s.strip_prefix(HMAC_TAG) {
            let (pepper, digest) = rest.split_once('$').ok_or_else(bad)?;
            let bytes = B64.decode(digest).map_err(|_| bad())?;
            return Ok(Self::HmacSha256 {
                pepper: PepperId::new(pepper)?,
                digest: bytes.try_into().map_err(|_| bad())?,
            });
        }
        if s.starts_with("$argon2id$") {
            return Ok(Self::Argon2id(s.to_owned()));
        }
        if ["$2a$", "$2b$", "$2y$"].iter().any(|p| s.starts_with(p)) && s.len() == 60 {
            return Ok(Self::Bcrypt(s.to_owned()));
        }
        Err(bad())
    }
}

impl Serialize for StoredHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StoredHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}
