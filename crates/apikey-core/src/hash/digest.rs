//! The verifier's cache digest: an HMAC of a token's secret under a per-process random key, kept in
//! the in-process cache so a hit costs one fast MAC and a constant-time compare, whatever hasher
//! the stored hash uses.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// A keyed MAC prepared once (the key schedule is done), cloned per use without allocating.
#[derive(Clone)]
pub struct DigestKey(Hmac<Sha256>);

impl DigestKey {
    /// A fresh random key from the OS CSPRNG.
    pub fn random() -> Self {
        let mut key = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut()).expect("the OS random source is available");
        Self(
            <Hmac<Sha256> as Mac>::new_from_slice(key.as_ref()).expect("HMAC takes any key length"),
        )
    }

    /// The digest of `secret`.
    #[inline]
    pub fn digest(&self, secret: &str) -> [u8; 32] {
        let mut mac = self.0.clone();
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Whether `secret` has digest `expected`, in constant time.
    #[inline]
    pub fn matches(&self, secret: &str, expected: &[u8; 32]) -> bool {
        bool::from(self.digest(secret).ct_eq(expected))
    }
}

impl fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DigestKey(<redacted>)")
    }
}
