//! Signing secrets at rest: sealed in the [`SecretBox`] under a binding to the key's id and the
//! purpose [`SIGNING_PURPOSE`], so a sealed value copied to another key does not open.

use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};
use crate::ids::KeyId;
use crate::secret_box::{Binding, Sealed, SecretBox};

use super::secret::SigningSecret;

/// The secret-box purpose of request-signing secrets.
pub const SIGNING_PURPOSE: &str = "request-signing";

/// The binding of key `id`'s signing secret.
pub fn binding(id: KeyId) -> Binding {
    Binding::new(format!("key:{id}"), SIGNING_PURPOSE)
}

/// Seals `secret` for key `id`; the text goes into [`KeySigning::sealed`](super::KeySigning).
pub fn seal(sbox: &SecretBox, id: KeyId, secret: &SigningSecret) -> Result<String> {
    sbox.seal(secret.key_bytes(), &binding(id))
        .map(|s| s.encode())
        .map_err(|e| Error::new(ErrorKind::Config, "sealing a signing secret").with_source(e))
}

/// Opens key `id`'s sealed signing secret.
pub fn open(sbox: &SecretBox, id: KeyId, sealed: &str) -> Result<SigningSecret> {
    let fail = |e| Error::new(ErrorKind::Config, "opening a signing secret").with_source(e);
    let sealed = Sealed::parse(sealed).map_err(fail)?;
    let bytes: Zeroizing<Vec<u8>> = sbox.open(&sealed, &binding(id)).map_err(fail)?;
    SigningSecret::from_bytes(&bytes)
}
