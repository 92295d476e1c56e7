//! What can go wrong sealing and opening, each case its own variant so callers (and the rotation
//! job) can act on it without parsing messages. No variant carries key or plaintext bytes.

use super::kek::KekId;
use crate::error::{Error, ErrorKind};

/// A sealed value could not be made, read or opened.
#[non_exhaustive]
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SecretBoxError {
    /// The value names a KEK that is not configured: it was removed too early, or the value comes
    /// from another deployment. Re-add the KEK to recover.
    #[error("sealed under KEK {0}, which is not configured")]
    UnknownKek(KekId),
    /// Authentication failed: the value belongs to another owner or purpose, was altered, or the
    /// key under its id is not the one that sealed it. One case on purpose: telling them apart
    /// would tell an attacker which guess was closer.
    #[error("sealed value does not open (wrong owner or purpose, altered, or another key)")]
    Unopenable,
    /// The stored text is not a sealed value; says which part, never the content.
    #[error("malformed sealed value: {0}")]
    Malformed(&'static str),
    /// The plaintext is longer than AES-GCM can seal under one nonce.
    #[error("plaintext too long to seal")]
    TooLong,
    /// The OS random source failed, so no nonce could be drawn.
    #[error("no OS random source for a nonce")]
    NoRandom,
}

impl From<SecretBoxError> for Error {
    fn from(e: SecretBoxError) -> Self {
        let kind = match &e {
            SecretBoxError::UnknownKek(_) => ErrorKind::Config,
            SecretBoxError::TooLong => ErrorKind::InvalidInput,
            SecretBoxError::NoRandom => ErrorKind::Unavailable,
            // A stored value that does not open or parse is corrupt data from the caller's view.
            SecretBoxError::Unopenable | SecretBoxError::Malformed(_) => ErrorKind::Backend,
        };
        Error::new(kind, e.to_string()).with_source(e)
    }
}
