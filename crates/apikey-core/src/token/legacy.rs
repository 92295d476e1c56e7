//! Tokens of nest-api-key-auth: 64 hex characters, found by their first 8 (which are part of the
//! secret, so they live in their own column and are never shown or logged).

use std::fmt;

/// Length of a legacy token.
pub const LEGACY_TOKEN_LEN: usize = 64;
/// Length of the legacy lookup prefix (32 bits of the secret).
pub const LEGACY_LOOKUP_LEN: usize = 8;

/// A 64-hex token. `Debug` is redacted: every character of it is secret.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct LegacyToken<'a>(&'a str);

impl<'a> LegacyToken<'a> {
    /// Accepts exactly 64 lowercase or uppercase hex characters.
    pub fn parse(raw: &'a str) -> Option<Self> {
        (raw.len() == LEGACY_TOKEN_LEN && raw.bytes().all(|b| b.is_ascii_hexdigit()))
            .then_some(Self(raw))
    }

    /// The lookup prefix (secret material: never display it).
    pub fn lookup_prefix(&self) -> &'a str {
        &self.0[..LEGACY_LOOKUP_LEN]
    }

    /// The whole token, which is what nest-api-key-auth hashed.
    pub fn secret(&self) -> &'a str {
        self.0
    }

    /// A token whose text a successful [`parse`](Self::parse) already checked.
    pub(crate) fn from_verified(raw: &'a str) -> Self {
        debug_assert!(Self::parse(raw).is_some());
        Self(raw)
    }
}

impl fmt::Debug for LegacyToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LegacyToken(<redacted>)")
    }
}
