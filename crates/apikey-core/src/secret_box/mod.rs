//! A box for secrets that must be used again: webhook signing secrets, request-signing secrets,
//! audit checkpoint keys. Unlike tokens (one-way HMACs under the pepper), these are encrypted so
//! the service can recover them, and bound to the row and purpose they belong to.
//!
//! - **Cipher**: AES-256-GCM from RustCrypto's `aes-gcm` (audited by NCC Group, constant-time
//!   with AES-NI/CLMUL, MIT/Apache-2.0, the crate family `hmac`/`sha2`/`argon2` here come from),
//!   with a fresh random 96-bit nonce per seal from the OS (`getrandom`).
//! - **Keys**: key-encryption keys ([`Keks`]) with ids, from `APIKEY_KEK` in the `APIKEY_PEPPER`
//!   form (`id=base64key[,…]`, 32-byte keys, the first current) — see [`KekConfig`].
//! - **Binding**: the associated data is a canonical, length-prefixed encoding of the format
//!   version, KEK id, owner and purpose ([`Binding`]), so a value copied to another row or
//!   purpose does not open.
//! - **Storage**: [`Sealed::encode`] gives `sb1.<kek id>.<base64url nonce>.<base64url ciphertext>`.
//! - **Rotation**: put a new KEK first and keep the old one; [`SecretBox::open_rewrapped`] hands
//!   back values re-sealed under the new KEK to store, [`SecretBox::needs_rewrap`] finds the rest.
//! - Keys are wiped on drop and plaintexts come back as [`Zeroizing`](zeroize::Zeroizing); no
//!   `Debug` or error shows a key, plaintext or ciphertext.
//!
//! ```
//! use apikey_core::secret_box::{Binding, Keks, Sealed, SecretBox, SecretBoxError};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // In a deployment: KekConfig::from_env().load()?, from APIKEY_KEK.
//! let keks = Keks::from_spec("k1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")?;
//! let sbox = SecretBox::new(keks);
//! let binding = Binding::new("webhook_subscription:42", "webhook-signing");
//!
//! let stored = sbox.seal(b"whsec_abc", &binding)?.encode(); // into the row's column
//! let opened = sbox.open(&Sealed::parse(&stored)?, &binding)?;
//! assert_eq!(&opened[..], b"whsec_abc");
//!
//! // The same value read for another row does not open.
//! let other = Binding::new("webhook_subscription:43", "webhook-signing");
//! assert_eq!(sbox.open(&Sealed::parse(&stored)?, &other), Err(SecretBoxError::Unopenable));
//! # Ok(()) }
//! ```

mod binding;
mod cipher;
mod config;
mod error;
mod file;
mod kek;
mod sealed;

pub use binding::Binding;
pub use cipher::SecretBox;
pub use config::{KEK_ENV, KekConfig};
pub use error::SecretBoxError;
pub use file::{KekSource, kek_file_beside};
pub use kek::{KEK_BYTES, KekId, Keks};
pub use sealed::Sealed;
