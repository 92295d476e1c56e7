//! A sealed value and its text form for any database column:
//! `sb1.<kek id>.<base64url nonce>.<base64url ciphertext and tag>` (no padding).
//!
//! The KEK id is in the clear so a reader knows which key to use and the rotation job can find
//! values under old keys without opening them; it is also authenticated (in the associated data).

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use super::error::SecretBoxError;
use super::kek::KekId;

/// Format version 1: AES-256-GCM, 96-bit nonce, 128-bit tag.
pub(crate) const VERSION: u8 = 1;
const PREFIX: &str = "sb1";
/// AES-GCM's standard nonce length.
pub(crate) const NONCE_BYTES: usize = 12;
/// AES-GCM's full tag length.
pub(crate) const TAG_BYTES: usize = 16;

/// An encrypted secret: KEK id, nonce, ciphertext with its tag. `Debug` shows the KEK id only.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    kek: KekId,
    nonce: [u8; NONCE_BYTES],
    ciphertext: Vec<u8>,
}

impl Sealed {
    pub(crate) fn new(kek: KekId, nonce: [u8; NONCE_BYTES], ciphertext: Vec<u8>) -> Self {
        Self {
            kek,
            nonce,
            ciphertext,
        }
    }

    /// The KEK this value was sealed under.
    pub fn kek_id(&self) -> &KekId {
        &self.kek
    }

    pub(crate) fn nonce(&self) -> &[u8; NONCE_BYTES] {
        &self.nonce
    }

    pub(crate) fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }

    /// The text form, for storage.
    pub fn encode(&self) -> String {
        format!(
            "{PREFIX}.{}.{}.{}",
            self.kek,
            B64.encode(self.nonce),
            B64.encode(&self.ciphertext)
        )
    }

    /// Reads the text form. Anything else is [`SecretBoxError::Malformed`] naming the part.
    pub fn parse(text: &str) -> Result<Self, SecretBoxError> {
        let mut parts = text.split('.');
        let (Some(prefix), Some(kek), Some(nonce), Some(ciphertext), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(SecretBoxError::Malformed(
                "expected sb1.<kek>.<nonce>.<ciphertext>",
            ));
        };
        if prefix != PREFIX {
            return Err(SecretBoxError::Malformed("unknown format version"));
        }
        let kek = KekId::new(kek).map_err(|_| SecretBoxError::Malformed("KEK id"))?;
        let nonce = B64
            .decode(nonce)
            .ok()
            .and_then(|n| <[u8; NONCE_BYTES]>::try_from(n).ok())
            .ok_or(SecretBoxError::Malformed("nonce"))?;
        let ciphertext = B64
            .decode(ciphertext)
            .ok()
            .filter(|c| c.len() >= TAG_BYTES)
            .ok_or(SecretBoxError::Malformed("ciphertext"))?;
        Ok(Self::new(kek, nonce, ciphertext))
    }
}

impl fmt::Display for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

impl FromStr for Sealed {
    type Err = SecretBoxError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("kek", &self.kek.as_str())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_a_typed_error_naming_the_part() {
        let good = Sealed::new(KekId::new("k1").unwrap(), [3; 12], vec![5; 20]).encode();
        assert_eq!(Sealed::parse(&good).unwrap().encode(), good);
        let nonce = B64.encode([3u8; 12]);
        let ct = B64.encode([5u8; 20]);
        for (text, part) in [
            ("", "expected sb1.<kek>.<nonce>.<ciphertext>"),
            ("sb1.k1.x", "expected sb1.<kek>.<nonce>.<ciphertext>"),
            (
                &*format!("{good}.x"),
                "expected sb1.<kek>.<nonce>.<ciphertext>",
            ),
            (&*format!("sb2.k1.{nonce}.{ct}"), "unknown format version"),
            (&*format!("sb1.K!.{nonce}.{ct}"), "KEK id"),
            (&*format!("sb1.k1.{}.{ct}", B64.encode([3u8; 11])), "nonce"),
            (&*format!("sb1.k1.{nonce}=.{ct}"), "nonce"),
            (
                &*format!("sb1.k1.{nonce}.{}", B64.encode([5u8; 15])),
                "ciphertext",
            ),
            (&*format!("sb1.k1.{nonce}.{ct}+"), "ciphertext"),
        ] {
            assert_eq!(
                Sealed::parse(text),
                Err(SecretBoxError::Malformed(part)),
                "{text}"
            );
        }
    }
}
