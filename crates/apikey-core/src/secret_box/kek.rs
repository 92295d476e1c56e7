//! Key-encryption keys: AES-256 keys from configuration (never from the database), by id, with one
//! current id, so a KEK can be rotated while values sealed under the old one still open.

use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind};
use crate::hash::pepper::{is_valid_key_id, parse_keyed_spec};

/// Length of a key-encryption key: AES-256 takes exactly 32 bytes.
pub const KEK_BYTES: usize = 32;

/// A KEK's id: 1–32 characters of `[a-z0-9_-]` (the pepper id rule), stored in each sealed value.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KekId(String);

impl KekId {
    /// Validates an id.
    pub fn new(id: &str) -> Result<Self, Error> {
        is_valid_key_id(id)
            .then(|| Self(id.to_owned()))
            .ok_or_else(|| Error::invalid("KEK id", "expected 1-32 characters of a-z 0-9 _ -"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KekId({})", self.0)
    }
}

/// A key's bytes, wiped when the last clone of the ring drops.
type KeyBytes = Zeroizing<[u8; KEK_BYTES]>;

/// The configured key-encryption keys; the first is current. Cheap to clone. `Debug` lists ids
/// only.
#[derive(Clone)]
pub struct Keks {
    /// Few entries, current first: a linear scan beats hashing the id.
    keys: Arc<Vec<(KekId, KeyBytes)>>,
}

impl Keks {
    /// Keys in order, the first current. Each must be exactly [`KEK_BYTES`] long; ids must be
    /// valid and distinct.
    pub fn new<I, K>(keys: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = (K, Zeroizing<Vec<u8>>)>,
        K: AsRef<str>,
    {
        let mut out: Vec<(KekId, KeyBytes)> = Vec::new();
        for (id, bytes) in keys {
            let id = KekId::new(id.as_ref())?;
            let key: [u8; KEK_BYTES] = bytes.as_slice().try_into().map_err(|_| {
                config(format!(
                    "KEK {id}: must be exactly {KEK_BYTES} bytes (AES-256), got {}",
                    bytes.len()
                ))
            })?;
            if out.iter().any(|(i, _)| *i == id) {
                return Err(config(format!("KEK {id} given twice")));
            }
            out.push((id, Zeroizing::new(key)));
        }
        if out.is_empty() {
            return Err(config("no KEK configured".to_owned()));
        }
        Ok(Self {
            keys: Arc::new(out),
        })
    }

    /// One KEK, which is current.
    pub fn single(id: &str, key: [u8; KEK_BYTES]) -> Result<Self, Error> {
        let key = Zeroizing::new(key);
        Self::new([(id, Zeroizing::new(key.to_vec()))])
    }

    /// Parses `id=base64key[,id=base64key…]`, the form of `APIKEY_KEK` and of `APIKEY_PEPPER`
    /// (same parser); the first entry is current.
    pub fn from_spec(spec: &str) -> Result<Self, Error> {
        Self::new(parse_keyed_spec(spec, "KEK")?)
    }

    /// A random KEK, for tests and examples: values sealed under it die with the process.
    pub fn random() -> Self {
        let mut key = Zeroizing::new([0u8; KEK_BYTES]);
        getrandom::fill(key.as_mut_slice()).expect("the OS random source is available");
        Self::single("ephemeral", *key).expect("valid KEK")
    }

    /// The id new values are sealed under.
    pub fn current_id(&self) -> &KekId {
        &self.keys[0].0
    }

    /// Every configured id, current first.
    pub fn ids(&self) -> impl Iterator<Item = &KekId> {
        self.keys.iter().map(|(id, _)| id)
    }

    pub(crate) fn current_key(&self) -> &[u8; KEK_BYTES] {
        &self.keys[0].1
    }

    pub(crate) fn key(&self, id: &KekId) -> Option<&[u8; KEK_BYTES]> {
        self.keys.iter().find(|(i, _)| i == id).map(|(_, k)| &**k)
    }
}

impl fmt::Debug for Keks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<_> = self.ids().map(KekId::as_str).collect();
        f.debug_struct("Keks")
            .field("current", &self.current_id().as_str())
            .field("ids", &ids)
            .finish()
    }
}

fn config(message: String) -> Error {
    Error::new(ErrorKind::Config, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn spec_first_is_current_and_debug_lists_ids_only() {
        let spec = format!("k2={},k1={}", b64(&[7; 32]), b64(&[9; 32]));
        let keks = Keks::from_spec(&spec).unwrap();
        assert_eq!(keks.current_id().as_str(), "k2");
        assert!(keks.key(&KekId::new("k1").unwrap()).is_some());
        let dbg = format!("{keks:?}");
        assert_eq!(dbg, r#"Keks { current: "k2", ids: ["k2", "k1"] }"#);
    }

    #[test]
    fn bad_specs_are_clear_config_errors_that_never_echo_the_key() {
        let short = b64(b"sixteen-byte-key");
        for (spec, needle) in [
            ("", "no KEK configured"),
            (&*format!("k1={short}"), "exactly 32 bytes"),
            (&*format!("k1={}", b64(&[1; 33])), "exactly 32 bytes"),
            ("k1=not*base64", "not base64"),
            ("k1", "expected id=base64secret"),
            (&*format!("K1={}", b64(&[1; 32])), "KEK id"),
            (&*format!("k1={0},k1={0}", b64(&[1; 32])), "given twice"),
        ] {
            let err = Keks::from_spec(spec).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(needle), "{spec:?}: {text}");
            assert!(
                !text.contains(&short) && !text.contains("not*base64"),
                "{text}"
            );
        }
    }
}
