//! Peppers: server-side HMAC keys from configuration (never from the database), by id, with one
//! current id, so a pepper can be rotated while digests made under the old one still verify.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind};

/// A pepper's id: 1–32 characters of `[a-z0-9_-]`, stored beside each digest.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PepperId(String);

impl PepperId {
    /// Validates an id.
    pub fn new(id: &str) -> Result<Self, Error> {
        is_valid_key_id(id)
            .then(|| Self(id.to_owned()))
            .ok_or_else(|| Error::invalid("pepper id", "expected 1-32 characters of a-z 0-9 _ -"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PepperId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PepperId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PepperId({})", self.0)
    }
}

impl Serialize for PepperId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PepperId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// The id rule shared by peppers and key-encryption keys: 1–32 characters of `[a-z0-9_-]`, so an
/// id fits any column and never contains the separators of the stored forms (`.`, `$`, `,`, `=`).
pub(crate) fn is_valid_key_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// One `id=base64secret` entry: the id as written (unchecked) and the decoded bytes.
pub(crate) type KeyedSecret<'a> = (&'a str, Zeroizing<Vec<u8>>);

/// Splits `id=base64secret[,id=base64secret…]` into `(id, bytes)` in order, for every keyed secret
/// configured in this form (`APIKEY_PEPPER`, `APIKEY_KEK`), so they cannot drift apart. `what`
/// names the secret in errors; errors name the id, never the secret. Ids are checked by the
/// caller's builder, along with lengths and duplicates.
pub(crate) fn parse_keyed_spec<'a>(
    spec: &'a str,
    what: &str,
) -> Result<Vec<KeyedSecret<'a>>, Error> {
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, secret) = part.split_once('=').ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!("{what} spec: expected id=base64secret"),
            )
        })?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(secret.trim())
            .map_err(|_| {
                Error::new(
                    ErrorKind::Config,
                    format!("{what} {id}: secret is not base64"),
                )
            })?;
        out.push((id, Zeroizing::new(bytes)));
    }
    Ok(out)
}

/// Shortest pepper accepted, in bytes.
pub const MIN_PEPPER_BYTES: usize = 16;

/// A pepper's HMAC with the key schedule already done: verifying clones it instead of re-keying.
type PreparedMac = Hmac<Sha256>;

/// The configured peppers. `Debug` lists ids only. Only the prepared HMAC states are kept, not the
/// raw pepper bytes (those are zeroized once the states are built).
#[derive(Clone)]
pub struct Peppers {
    current: PepperId,
    /// Few entries: a linear scan beats hashing the id.
    macs: Arc<Vec<(PepperId, PreparedMac)>>,
}

impl Peppers {
    /// One pepper, which is current.
    pub fn single(id: &str, secret: impl Into<Vec<u8>>) -> Result<Self, Error> {
        Self::builder().add(id, secret)?.current(id)
    }

    /// Starts a set of peppers.
    pub fn builder() -> PeppersBuilder {
        PeppersBuilder {
            keys: HashMap::new(),
        }
    }

    /// Parses `id=base64secret[,id=base64secret…]`; the first entry is current. This is the form of
    /// the `APIKEY_PEPPER` variable.
    pub fn from_spec(spec: &str) -> Result<Self, Error> {
        let mut builder = Self::builder();
        let mut first = None;
        for (id, bytes) in parse_keyed_spec(spec, "pepper")? {
            builder = builder.add(id, bytes.to_vec())?;
            first.get_or_insert(id);
        }
        let first = first.ok_or_else(|| Error::new(ErrorKind::Config, "pepper spec is empty"))?;
        builder.current(first)
    }

    /// A random pepper, for tests and examples (digests die with the process).
    pub fn random() -> Self {
        let mut bytes = vec![0u8; 32];
        getrandom::fill(&mut bytes).expect("the OS random source is available");
        Self::single("ephemeral", bytes).expect("valid pepper")
    }

    /// The id new digests are made under.
    pub fn current_id(&self) -> &PepperId {
        &self.current
    }

    pub(crate) fn mac(&self, id: &PepperId) -> Option<&PreparedMac> {
        self.macs.iter().find(|(i, _)| i == id).map(|(_, m)| m)
    }

    /// Every pepper's prepared HMAC, by id.
    pub(crate) fn all_macs(&self) -> impl Iterator<Item = (&PepperId, &PreparedMac)> {
        self.macs.iter().map(|(id, m)| (id, m))
    }

    pub(crate) fn current_mac(&self) -> &PreparedMac {
        self.mac(&self.current)
            .expect("current pepper is present by construction")
    }
}

impl fmt::Debug for Peppers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<_> = self.macs.iter().map(|(id, _)| id.as_str()).collect();
        ids.sort_unstable();
        f.debug_struct("Peppers")
            .field("current", &self.current.as_str())
            .field("ids", &ids)
            .finish()
    }
}

/// Builds [`Peppers`].
#[derive(Debug)]
pub struct PeppersBuilder {
    keys: HashMap<PepperId, Zeroizing<Vec<u8>>>,
}

impl PeppersBuilder {
    /// Adds a pepper of at least [`MIN_PEPPER_BYTES`] bytes.
    pub fn add(mut self, id: &str, secret: impl Into<Vec<u8>>) -> Result<Self, Error> {
        let id = PepperId::new(id)?;
        let secret = Zeroizing::new(secret.into());
        if secret.len() < MIN_PEPPER_BYTES {
            return Err(Error::new(
                ErrorKind::Config,
                format!("pepper {id}: at least {MIN_PEPPER_BYTES} bytes"),
            ));
        }
        if self.keys.insert(id.clone(), secret).is_some() {
            return Err(Error::new(
                ErrorKind::Config,
                format!("pepper {id} given twice"),
            ));
        }
        Ok(self)
    }

    /// Finishes with `id` as the current pepper.
    pub fn current(self, id: &str) -> Result<Peppers, Error> {
        let id = PepperId::new(id)?;
        if !self.keys.contains_key(&id) {
            return Err(Error::new(
                ErrorKind::Config,
                format!("current pepper {id} is not configured"),
            ));
        }
        let macs = self
            .keys
            .iter()
            .map(|(id, key)| {
                let mac =
                    <PreparedMac as Mac>::new_from_slice(key).expect("HMAC takes any key length");
                (id.clone(), mac)
            })
            .collect();
        Ok(Peppers {
            current: id,
            macs: Arc::new(macs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses_and_debug_hides_secrets() {
        let spec =
            "v2=c2VjcmV0LXBlcHBlci10d28tdHdvLXR3bw==,v1=c2VjcmV0LXBlcHBlci1vbmUtb25lLW9uZQ==";
        let p = Peppers::from_spec(spec).unwrap();
        assert_eq!(p.current_id().as_str(), "v2");
        assert!(p.mac(&PepperId::new("v1").unwrap()).is_some());
        let dbg = format!("{p:?}");
        assert!(dbg.contains("v1") && !dbg.contains("secret"));
        assert!(Peppers::from_spec("v1=c2hvcnQ=").is_err());
        assert!(Peppers::from_spec("").is_err());
    }
}
