//! The token format: `<prefix>_<lookup id><secret><checksum>`.
//!
//! * `prefix` is per deployment (`sk_live`), so secret scanners can match it; `_` keeps
//!   double-click selection whole.
//! * the lookup id ([`LookupId`], 12 base62 characters) is public and finds the record;
//! * the secret (≥ 32 base62 characters, ≥ 190 bits) is never stored;
//! * the checksum (6 base62 characters of CRC32 over everything before it) rejects typos and
//!   random garbage with zero I/O.
//!
//! Tokens of nest-api-key-auth (64 hex characters) parse only when [`TokenFormat::legacy`] is on.

pub mod base62;
mod legacy;

pub use legacy::{LEGACY_LOOKUP_LEN, LEGACY_TOKEN_LEN, LegacyToken};

use crate::error::{Error, Result};
use crate::ids::{LOOKUP_ID_LEN, LookupId};
use crate::secret::Token;

/// Characters of CRC32 checksum at the end of every token (62⁶ > 2³²).
pub const CHECKSUM_LEN: usize = 6;
/// The shortest secret accepted in configuration: 32 base62 characters are 190.5 bits.
pub const MIN_SECRET_LEN: usize = 32;
/// The longest secret accepted in configuration.
pub const MAX_SECRET_LEN: usize = 64;

/// The checksum that ends a token: CRC32 of everything before it (`signed`), in base62, fixed
/// width. Public so secret scanners (GitHub's partner programme takes a validation routine) and
/// other languages can reject look-alikes without asking the service.
pub fn checksum(signed: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut sum = [0u8; CHECKSUM_LEN];
    base62::encode_fixed(u64::from(crc32fast::hash(signed)), &mut sum);
    sum
}

/// How tokens look in this deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFormat {
    prefix: String,
    secret_len: usize,
    legacy: bool,
}

impl TokenFormat {
    /// A format with `prefix` (1–32 characters of `a-z 0-9 _`, starting with a letter; the `_`
    /// separator is added) and the default 32-character secret.
    pub fn new(prefix: &str) -> Result<Self> {
        let ok = (1..=32).contains(&prefix.len())
            && prefix.as_bytes()[0].is_ascii_lowercase()
            && prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !prefix.ends_with('_');
        if !ok {
            return Err(Error::invalid(
                "token prefix",
                "expected 1-32 characters of a-z 0-9 _, starting with a letter and not ending in _",
            ));
        }
        Ok(Self {
            prefix: format!("{prefix}_"),
            secret_len: MIN_SECRET_LEN,
            legacy: false,
        })
    }

    /// Sets the secret length in base62 characters (32–64).
    pub fn with_secret_len(mut self, len: usize) -> Result<Self> {
        if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&len) {
            return Err(Error::invalid(
                "secret length",
                format_args!("must be {MIN_SECRET_LEN}..={MAX_SECRET_LEN} characters"),
            ));
        }
        self.secret_len = len;
        Ok(self)
    }

    /// Also accepts 64-hex tokens of nest-api-key-auth, for keys imported from it.
    #[must_use]
    pub fn with_legacy(mut self, on: bool) -> Self {
        self.legacy = on;
        self
    }

    /// The prefix including its trailing `_`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether legacy tokens are accepted.
    pub fn legacy(&self) -> bool {
        self.legacy
    }

    /// Length of a whole token in this format.
    pub fn token_len(&self) -> usize {
        self.prefix.len() + LOOKUP_ID_LEN + self.secret_len + CHECKSUM_LEN
    }

    /// A fresh token from the OS CSPRNG. The secret is returned inside the [`Token`] only.
    pub fn generate(&self) -> (LookupId, Token) {
        let lookup = LookupId::generate();
        self.generate_for(lookup)
    }

    pub(crate) fn generate_for(&self, lookup: LookupId) -> (LookupId, Token) {
        let mut s = String::with_capacity(self.token_len());
        s.push_str(&self.prefix);
        s.push_str(lookup.as_str());
        let mut secret = vec![0u8; self.secret_len];
        base62::fill_random(&mut secret);
        s.push_str(std::str::from_utf8(&secret).expect("base62 is ASCII"));
        zeroize::Zeroize::zeroize(&mut secret);
        let sum = checksum(s.as_bytes());
        s.push_str(std::str::from_utf8(&sum).expect("base62 is ASCII"));
        (lookup, Token::new(s))
    }

    /// Parses a presented token without any I/O. `None` means malformed: wrong prefix or length,
    /// a character outside base62, or a bad checksum.
    #[inline]
    pub fn parse<'a>(&self, raw: &'a str) -> Option<ParsedToken<'a>> {
        if let Some(t) = self.parse_current(raw) {
            return Some(ParsedToken::Current(t));
        }
        if self.legacy {
            return LegacyToken::parse(raw).map(ParsedToken::Legacy);
        }
        None
    }

    #[inline]
    fn parse_current<'a>(&self, raw: &'a str) -> Option<CurrentToken<'a>> {
        let bytes = raw.as_bytes();
        if bytes.len() != self.token_len() || !raw.starts_with(self.prefix.as_str()) {
            return None;
        }
        let body = &bytes[self.prefix.len()..];
        if !body.iter().all(|&c| base62::is_digit(c)) {
            return None;
        }
        let (signed, sum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        if checksum(signed) != sum {
            return None;
        }
        let lookup = LookupId::from_bytes(&body[..LOOKUP_ID_LEN])?;
        let secret_end = body.len() - CHECKSUM_LEN;
        // The body is ASCII, so this slice is on character boundaries.
        let secret = &raw[self.prefix.len() + LOOKUP_ID_LEN..self.prefix.len() + secret_end];
        Some(CurrentToken { lookup, secret })
    }
}

impl Default for TokenFormat {
    fn default() -> Self {
        Self::new("sk_live").expect("valid default prefix")
    }
}

/// A well-formed token of the current format, borrowed from the request.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CurrentToken<'a> {
    /// The public lookup id.
    pub lookup: LookupId,
    secret: &'a str,
}

impl<'a> CurrentToken<'a> {
    /// The secret part: the only input to the hasher.
    pub fn secret(&self) -> &'a str {
        self.secret
    }

    /// A token put back together from parts a successful parse produced.
    pub(crate) fn from_parts(lookup: LookupId, secret: &'a str) -> Self {
        Self { lookup, secret }
    }
}

impl std::fmt::Debug for CurrentToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurrentToken")
            .field("lookup", &self.lookup)
            .finish_non_exhaustive()
    }
}

/// A token that passed the format checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParsedToken<'a> {
    /// `<prefix>_<lookup><secret><checksum>`.
    Current(CurrentToken<'a>),
    /// 64 hex characters of nest-api-key-auth.
    Legacy(LegacyToken<'a>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_back() {
        let f = TokenFormat::new("sk_test").unwrap();
        let (lookup, token) = f.generate();
        assert_eq!(token.expose().len(), f.token_len());
        assert!(token.expose().starts_with("sk_test_"));
        match f.parse(token.expose()) {
            Some(ParsedToken::Current(t)) => {
                assert_eq!(t.lookup, lookup);
                assert_eq!(t.secret().len(), MIN_SECRET_LEN);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn rejects_wrong_prefix_length_and_checksum() {
        let f = TokenFormat::new("sk_test").unwrap();
        let (_, token) = f.generate();
        let t = token.expose();
        assert!(f.parse(&t.replacen("sk_test", "sk_live", 1)).is_none());
        assert!(f.parse(&t[..t.len() - 1]).is_none());
        let mut flipped = t.to_owned().into_bytes();
        let i = f.prefix().len() + 20;
        flipped[i] = if flipped[i] == b'a' { b'b' } else { b'a' };
        assert!(f.parse(std::str::from_utf8(&flipped).unwrap()).is_none());
        assert!(f.parse("").is_none());
    }

    #[test]
    fn prefix_and_length_are_validated() {
        assert!(TokenFormat::new("").is_err());
        assert!(TokenFormat::new("Sk").is_err());
        assert!(TokenFormat::new("sk_").is_err());
        assert!(TokenFormat::new("sk-live").is_err());
        assert!(TokenFormat::default().with_secret_len(31).is_err());
        assert!(TokenFormat::default().with_secret_len(48).is_ok());
    }

    #[test]
    fn legacy_tokens_need_the_switch() {
        let hex = "0123456789abcdef".repeat(4);
        assert!(TokenFormat::default().parse(&hex).is_none());
        let f = TokenFormat::default().with_legacy(true);
        assert!(matches!(f.parse(&hex), Some(ParsedToken::Legacy(_))));
    }
}
