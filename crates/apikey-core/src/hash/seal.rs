//! Seals for data that leaves the process and comes back, such as shared-cache entries in Redis.
//!
//! Whoever can write to the shared cache must not be able to make a verifier trust a record (with
//! a hash of their choosing) that the store never held. Each entry carries a MAC under a key
//! derived from a pepper, which only the services have. The seal names its pepper, so entries
//! written before a pepper rotation still check as long as the old pepper stays configured (it
//! must anyway, for the digests made under it).
//!
//! Keys are derived as `HMAC(pepper, "apikey seal v1\0" || purpose)`, so a seal never equals a
//! token digest made under the same pepper, and two purposes never share a key.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::hash::pepper::{PepperId, Peppers};

type SealMac = Hmac<Sha256>;

/// Makes and checks seals (MACs) for one purpose. Cheap to clone; `Debug` shows ids only.
#[derive(Clone)]
pub struct Sealer {
    purpose: Arc<str>,
    current: PepperId,
    keys: Arc<Vec<(PepperId, SealMac)>>,
}

impl Sealer {
    /// Derives the keys for `purpose` (for example `"redis-cache"`) from every configured pepper.
    pub fn new(peppers: &Peppers, purpose: &str) -> Self {
        let keys = peppers
            .all_macs()
            .map(|(id, pepper)| {
                let mut mac = pepper.clone();
                mac.update(b"apikey seal v1\0");
                mac.update(purpose.as_bytes());
                let derived: [u8; 32] = mac.finalize().into_bytes().into();
                let key = <SealMac as Mac>::new_from_slice(&derived).expect("any key length");
                (id.clone(), key)
            })
            .collect();
        Self {
            purpose: purpose.into(),
            current: peppers.current_id().clone(),
            keys: Arc::new(keys),
        }
    }

    fn tag(key: &SealMac, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = key.clone();
        for part in parts {
            // Length-prefixed, so moving bytes from one part to the next changes the tag.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// The seal of `parts` under the current pepper: `<pepper id>.<base64 tag>`.
    pub fn seal(&self, parts: &[&[u8]]) -> String {
        let key = self
            .keys
            .iter()
            .find(|(id, _)| *id == self.current)
            .map(|(_, k)| k)
            .expect("the current pepper is configured by construction");
        format!("{}.{}", self.current, B64.encode(Self::tag(key, parts)))
    }

    /// Whether `seal` is a valid seal of `parts` under any configured pepper (constant time in the
    /// tag).
    pub fn check(&self, parts: &[&[u8]], seal: &str) -> bool {
        let Some((id, tag)) = seal.split_once('.') else {
            return false;
        };
        let Some((_, key)) = self.keys.iter().find(|(k, _)| k.as_str() == id) else {
            return false;
        };
        let Ok(tag) = B64.decode(tag) else {
            return false;
        };
        tag.len() == 32 && bool::from(Self::tag(key, parts).ct_eq(tag.as_slice()))
    }
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("purpose", &&*self.purpose)
            .field("current", &self.current.as_str())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peppers(current: &str) -> Peppers {
        Peppers::builder()
            .add("p1", b"0123456789abcdef0123".to_vec())
            .unwrap()
            .add("p2", b"fedcba9876543210fedc".to_vec())
            .unwrap()
            .current(current)
            .unwrap()
    }

    #[test]
    fn seals_check_and_any_change_breaks_them() {
        let s = Sealer::new(&peppers("p1"), "cache");
        let seal = s.seal(&[b"12", b"record"]);
        assert!(seal.starts_with("p1."));
        assert!(s.check(&[b"12", b"record"], &seal));
        assert!(!s.check(&[b"13", b"record"], &seal), "another version");
        assert!(!s.check(&[b"12", b"recorD"], &seal), "another record");
        assert!(
            !s.check(&[b"1", b"2record"], &seal),
            "bytes moved between parts"
        );
        assert!(!s.check(&[b"12", b"record"], "p1.AAAA"), "a short tag");
        assert!(!s.check(&[b"12", b"record"], "nonsense"));
        let other = Sealer::new(&peppers("p1"), "other purpose");
        assert!(
            !other.check(&[b"12", b"record"], &seal),
            "purposes do not share keys"
        );
        let unpeppered = Sealer::new(&Peppers::single("p1", vec![7u8; 32]).unwrap(), "cache");
        assert!(
            !unpeppered.check(&[b"12", b"record"], &seal),
            "another pepper under the same id"
        );
    }

    #[test]
    fn seals_made_before_a_rotation_still_check() {
        let before = Sealer::new(&peppers("p1"), "cache").seal(&[b"x"]);
        let after = Sealer::new(&peppers("p2"), "cache");
        assert!(after.check(&[b"x"], &before));
        assert!(after.seal(&[b"x"]).starts_with("p2."));
        assert!(!format!("{after:?}").contains("0123"));
    }
}
