//! [`SigningSecret`]: the HMAC key a client signs requests with. Shown once as `sig_<base64url>`;
//! tools that want the raw key get standard padded base64 ([`SigningSecret::to_base64`]).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The prefix of a signing secret's text form.
pub const SECRET_PREFIX: &str = "sig_";

/// Bytes of a generated secret: as long as the HMAC-SHA256 output, as RFC 2104 advises.
const SECRET_BYTES: usize = 32;

/// A request-signing secret. Wiped on drop; `Debug` and `Display` show nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Zeroizing<Vec<u8>>);

impl SigningSecret {
    /// 32 fresh random bytes from the OS.
    pub fn generate() -> Result<Self> {
        let mut bytes = Zeroizing::new(vec![0u8; SECRET_BYTES]);
        getrandom::fill(&mut bytes).map_err(|e| Error::backend("signing secret", e))?;
        Ok(Self(bytes))
    }

    /// A secret from raw key bytes (at least 16), for tools and tests.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < 16 {
            return Err(Error::invalid(
                "signing secret",
                "must hold at least 16 bytes",
            ));
        }
        Ok(Self(Zeroizing::new(bytes.to_vec())))
    }

    /// Reads `sig_<base64url>`. The error never shows the text.
    pub fn parse(text: &str) -> Result<Self> {
        let b64 = text
            .strip_prefix(SECRET_PREFIX)
            .ok_or_else(|| Error::invalid("signing secret", "must start with sig_"))?;
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(b64.trim_end_matches('='))
                .map_err(|_| Error::invalid("signing secret", "is not sig_<base64url>"))?,
        );
        Self::from_bytes(&bytes)
    }

    /// The text form, `sig_<base64url>`, to show once.
    pub fn expose(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{SECRET_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(&*self.0)
        ))
    }

    /// Standard padded base64 of the raw key bytes (what other RFC 9421 tools take).
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(&*self.0))
    }

    /// The raw HMAC key.
    pub fn key_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips_and_base64_is_the_raw_key() {
        let s = SigningSecret::generate().unwrap();
        let text = s.expose();
        assert!(text.starts_with("sig_"));
        assert_eq!(SigningSecret::parse(&text).unwrap(), s);
        assert_eq!(STANDARD.decode(&*s.to_base64()).unwrap(), s.key_bytes());
        assert_eq!(format!("{s:?}"), "SigningSecret(<redacted>)");
    }

    #[test]
    fn bad_text_is_refused_without_echoing_it() {
        for bad in ["whsec_abc", "sig_***", "sig_AAAA"] {
            let e = SigningSecret::parse(bad).unwrap_err().to_string();
            assert!(!e.contains(bad), "{e}");
        }
    }
}
