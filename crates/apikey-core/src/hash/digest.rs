//! The verifier's cache digest: a keyed SHA-256 of a token's secret under a per-process random key,
//! kept in the in-process cache so a hit costs one fast hash and a constant-time compare, whatever
//! hasher the stored hash uses.
//!
//! The key is one whole 64-byte block absorbed into the SHA-256 state up front, so a digest of a
//! secret (≤ 55 bytes) is a single compression: half of what HMAC costs. Length extension does not
//! matter here: digests never leave the process and only compare secrets of one fixed length.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A keyed hash prepared once, cloned per use without allocating.
#[derive(Clone)]
pub struct DigestKey(Sha256);

impl DigestKey {
    /// A fresh random key from the OS CSPRNG.
    pub fn random() -> Self {
        let mut key = zeroize::Zeroizing::new([0u8; 64]);
        getrandom::fill(key.as_mut()).expect("the OS random source is available");
        let mut state = Sha256::new();
        state.update(key.as_ref());
        Self(state)
    }

    /// The digest of `secret`.
    #[inline]
    pub fn digest(&self, secret: &str) -> [u8; 32] {
        let mut h = self.0.clone();
        h.update(secret.as_bytes());
        h.finalize().into()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_and_digests_are_stable() {
        let a = DigestKey::random();
        let b = DigestKey::random();
        assert_eq!(a.digest("secret"), a.digest("secret"));
        assert_ne!(a.digest("secret"), b.digest("secret"));
        assert!(a.matches("secret", &a.digest("secret")));
        assert!(!a.matches("secreT", &a.digest("secret")));
    }
}
