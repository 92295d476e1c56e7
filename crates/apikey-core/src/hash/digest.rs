//! The verifier's cache digest: a keyed SHA-256 of a token's secret under a per-process random key,
//! kept in the in-process cache so a hit costs one fast hash and a constant-time compare, whatever
//! hasher the stored hash uses.
//!
//! The key is one whole 64-byte block absorbed into the SHA-256 state up front, so a digest of a
//! secret (≤ 55 bytes) is a single compression: half of what HMAC costs. Length extension does not
//! matter here: digests never leave the process and only compare secrets of one fixed length.
//!
//! A secret that fits one block is padded on the stack and compressed with `sha2::compress256`
//! directly: cloning a prepared `Sha256` and finalizing it costs a third of a hit in buffer
//! bookkeeping and copies (measured with `perf` on `verify/hit`). Longer secrets (legacy tokens)
//! take the ordinary hasher. Both give SHA-256(key ‖ secret); a test holds them equal.

use std::fmt;

use sha2::digest::generic_array::GenericArray;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// SHA-256's initial state (FIPS 180-4, 5.3.3); `sha2` keeps its copy private.
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The longest secret whose padding (one `0x80` byte and the 8-byte length) fits its block.
const ONE_BLOCK: usize = 64 - 1 - 8;

/// A keyed hash prepared once, cloned per use without allocating.
#[derive(Clone)]
pub struct DigestKey {
    /// The state after the key block: one compression per short secret starts here.
    state: [u32; 8],
    /// The same state as a hasher, for secrets longer than one block.
    long: Sha256,
}

impl DigestKey {
    /// A fresh random key from the OS CSPRNG.
    pub fn random() -> Self {
        let mut key = zeroize::Zeroizing::new([0u8; 64]);
        getrandom::fill(key.as_mut()).expect("the OS random source is available");
        Self::from_key(&key)
    }

    fn from_key(key: &[u8; 64]) -> Self {
        let mut state = IV;
        sha2::compress256(&mut state, &[GenericArray::clone_from_slice(key)]);
        let mut long = Sha256::new();
        long.update(key);
        Self { state, long }
    }

    /// The digest of `secret`.
    #[inline]
    pub fn digest(&self, secret: &str) -> [u8; 32] {
        let words = self.words(secret.as_bytes());
        let mut out = [0u8; 32];
        for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&w.to_be_bytes());
        }
        out
    }

    /// Whether `secret` has digest `expected`, in constant time.
    #[inline]
    pub fn matches(&self, secret: &str, expected: &[u8; 32]) -> bool {
        let words = self.words(secret.as_bytes());
        // Differences are folded without branches, then one constant-time comparison: the same
        // guarantee as comparing 32 bytes with `subtle`, for one optimisation barrier instead of 32.
        let mut diff = 0u32;
        for (chunk, w) in expected.chunks_exact(4).zip(words) {
            let e = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            diff |= e ^ w;
        }
        bool::from(diff.ct_eq(&0))
    }

    #[inline]
    fn words(&self, secret: &[u8]) -> [u32; 8] {
        if secret.len() > ONE_BLOCK {
            return self.words_long(secret);
        }
        let mut block = [0u8; 64];
        block[..secret.len()].copy_from_slice(secret);
        block[secret.len()] = 0x80;
        let bits = (64 + secret.len() as u64) * 8;
        block[56..].copy_from_slice(&bits.to_be_bytes());
        let mut state = self.state;
        sha2::compress256(&mut state, &[GenericArray::from(block)]);
        state
    }

    #[cold]
    fn words_long(&self, secret: &[u8]) -> [u32; 8] {
        let mut h = self.long.clone();
        h.update(secret);
        let out: [u8; 32] = h.finalize().into();
        let mut words = [0u32; 8];
        for (w, chunk) in words.iter_mut().zip(out.chunks_exact(4)) {
            *w = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        words
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

    /// The one-block shortcut is SHA-256(key ‖ secret) at every length, across the block edge.
    #[test]
    fn digest_is_sha256_of_key_and_secret_at_every_length() {
        let key = [0x5au8; 64];
        let k = DigestKey::from_key(&key);
        let alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let text: String = alphabet.chars().cycle().take(130).collect();
        for len in 0..=text.len() {
            let secret = &text[..len];
            let mut h = Sha256::new();
            h.update(key);
            h.update(secret.as_bytes());
            let want: [u8; 32] = h.finalize().into();
            assert_eq!(k.digest(secret), want, "length {len}");
            assert!(k.matches(secret, &want), "length {len}");
            let mut wrong = want;
            wrong[31 - len % 32] ^= 1;
            assert!(!k.matches(secret, &wrong), "length {len}");
        }
    }
}
