//! The box: seals under the current KEK, opens under whichever KEK a value names, and re-seals
//! values under an older KEK so rotation completes as values are read.

use std::fmt;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::{Zeroize as _, Zeroizing};

use super::binding::Binding;
use super::error::SecretBoxError;
use super::kek::{KEK_BYTES, Keks};
use super::sealed::{NONCE_BYTES, Sealed, TAG_BYTES, VERSION};

/// Seals and opens recoverable secrets under [`Keks`]. Cheap to clone; `Debug` shows KEK ids only.
#[derive(Clone)]
pub struct SecretBox {
    keks: Keks,
}

impl SecretBox {
    /// A box over these KEKs; new values are sealed under the first.
    pub fn new(keks: Keks) -> Self {
        Self { keks }
    }

    /// The KEKs.
    pub fn keks(&self) -> &Keks {
        &self.keks
    }

    /// Encrypts `plaintext` for `binding` under the current KEK with a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8], binding: &Binding) -> Result<Sealed, SecretBoxError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|_| SecretBoxError::NoRandom)?;
        let kek = self.keks.current_id().clone();
        let aad = binding.aad(VERSION, &kek);
        let ciphertext = seal_raw(self.keks.current_key(), &nonce, &aad, plaintext)?;
        Ok(Sealed::new(kek, nonce, ciphertext))
    }

    /// Decrypts `sealed` if it was sealed for exactly `binding` under a configured KEK. The
    /// plaintext is wiped when the returned buffer drops.
    pub fn open(
        &self,
        sealed: &Sealed,
        binding: &Binding,
    ) -> Result<Zeroizing<Vec<u8>>, SecretBoxError> {
        let key = self
            .keks
            .key(sealed.kek_id())
            .ok_or_else(|| SecretBoxError::UnknownKek(sealed.kek_id().clone()))?;
        let aad = binding.aad(VERSION, sealed.kek_id());
        open_raw(key, sealed.nonce(), &aad, sealed.ciphertext())
    }

    /// As [`open`](Self::open), plus the value re-sealed under the current KEK when it was sealed
    /// under an older one. Store the new value (in place of the old, for the same binding) and
    /// the old KEK can be removed once no value names it.
    pub fn open_rewrapped(
        &self,
        sealed: &Sealed,
        binding: &Binding,
    ) -> Result<(Zeroizing<Vec<u8>>, Option<Sealed>), SecretBoxError> {
        let plaintext = self.open(sealed, binding)?;
        let rewrapped = if self.needs_rewrap(sealed) {
            Some(self.seal(&plaintext, binding)?)
        } else {
            None
        };
        Ok((plaintext, rewrapped))
    }

    /// Whether `sealed` is under a KEK other than the current one, for the rotation job. Needs
    /// no key and opens nothing.
    pub fn needs_rewrap(&self, sealed: &Sealed) -> bool {
        sealed.kek_id() != self.keks.current_id()
    }
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretBox")
            .field("keks", &self.keks)
            .finish()
    }
}

/// AES-256-GCM encryption; the ciphertext carries its 16-byte tag at the end.
pub(crate) fn seal_raw(
    key: &[u8; KEK_BYTES],
    nonce: &[u8; NONCE_BYTES],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, SecretBoxError> {
    let cipher = Aes256Gcm::new(key.into());
    let mut buffer = Vec::with_capacity(plaintext.len() + TAG_BYTES);
    buffer.extend_from_slice(plaintext);
    // Encrypting in place overwrites the only copy of the plaintext this function made.
    if cipher
        .encrypt_in_place(Nonce::from_slice(nonce), aad, &mut buffer)
        .is_err()
    {
        buffer.zeroize();
        return Err(SecretBoxError::TooLong);
    }
    Ok(buffer)
}

/// AES-256-GCM decryption and tag check.
pub(crate) fn open_raw(
    key: &[u8; KEK_BYTES],
    nonce: &[u8; NONCE_BYTES],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SecretBoxError> {
    let cipher = Aes256Gcm::new(key.into());
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    cipher
        .decrypt_in_place(Nonce::from_slice(nonce), aad, &mut *buffer)
        .map_err(|_| SecretBoxError::Unopenable)?;
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test case 16 of McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)" (the NIST
    /// submission): AES-256, 96-bit IV, 60-byte plaintext, 20-byte AAD.
    #[test]
    fn known_answer_gcm_spec_test_case_16() {
        let hex = |s: &str| {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect::<Vec<u8>>()
        };
        let key: [u8; 32] = hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
            .try_into()
            .unwrap();
        let nonce: [u8; 12] = hex("cafebabefacedbaddecaf888").try_into().unwrap();
        let plaintext = hex(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        );
        let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let expected = hex(
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662\
             76fc6ece0f4e1768cddf8853bb2d551b",
        );
        assert_eq!(seal_raw(&key, &nonce, &aad, &plaintext).unwrap(), expected);
        assert_eq!(*open_raw(&key, &nonce, &aad, &expected).unwrap(), plaintext);
    }
}
