//! The Standard Webhooks signature (<https://www.standardwebhooks.com/>): the signed content is
//! `{webhook-id}.{webhook-timestamp}.{body}`, the signature `v1,` + base64 of its HMAC-SHA256
//! under the secret's bytes, and a header may carry several signatures separated by spaces —
//! which is how a rotated secret keeps signing beside the new one for a grace period.
//!
//! Secrets are `whsec_` + base64 of 32 random bytes, as Svix and the Standard Webhooks libraries
//! take them. HMAC comes from RustCrypto's `hmac` (as the token hashes do), comparison from
//! `subtle`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The secret-box purpose of webhook signing secrets.
pub const SIGNING_PURPOSE: &str = "webhook-signing";

/// The prefix of a secret's text form.
pub const PREFIX: &str = "whsec_";

const SECRET_BYTES: usize = 32;

/// A signing secret. Its bytes are wiped on drop; `Debug` shows nothing.
#[derive(Clone)]
pub struct WebhookSecret(Zeroizing<Vec<u8>>);

impl WebhookSecret {
    /// 32 fresh random bytes from the OS.
    pub fn generate() -> Result<Self> {
        let mut bytes = Zeroizing::new(vec![0u8; SECRET_BYTES]);
        getrandom::fill(&mut bytes).map_err(|e| Error::backend("webhook secret", e))?;
        Ok(Self(bytes))
    }

    /// Reads `whsec_<base64>` (the prefix is optional, as in the reference libraries). The error
    /// never shows the text.
    pub fn parse(text: &str) -> Result<Self> {
        let b64 = text.strip_prefix(PREFIX).unwrap_or(text);
        let bytes = Zeroizing::new(
            STANDARD
                .decode(b64)
                .map_err(|_| Error::invalid("webhook secret", "is not whsec_<base64>"))?,
        );
        if !(24..=64).contains(&bytes.len()) {
            return Err(Error::invalid("webhook secret", "must hold 24 to 64 bytes"));
        }
        Ok(Self(bytes))
    }

    /// The text form, `whsec_<base64>`, to show once or to seal.
    pub fn expose(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{PREFIX}{}", STANDARD.encode(&*self.0)))
    }

    /// `v1,<base64 HMAC-SHA256 of id.timestamp.body>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        // `new_from_slice` accepts a key of any length for HMAC.
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }

    /// Whether `header` (a `webhook-signature` value) holds a `v1` signature of this secret over
    /// the message; constant-time per candidate. Timestamp tolerance is the caller's.
    pub fn verifies(&self, header: &str, id: &str, timestamp: i64, body: &[u8]) -> bool {
        let expected = self.mac(id, timestamp, body);
        header
            .split(' ')
            .filter_map(|s| s.split_once(','))
            .filter(|(v, _)| *v == "v1")
            .filter_map(|(_, sig)| STANDARD.decode(sig).ok())
            .any(|sig| sig.ct_eq(&expected).into())
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// The `webhook-signature` value for `secrets` (the current one first, then one in its grace
/// period), space-separated as the standard allows.
pub fn sign(secrets: &[&WebhookSecret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| s.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference test suite.
    #[test]
    fn matches_the_reference_vector() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn round_trips_and_hides() {
        let a = WebhookSecret::generate().unwrap();
        let b = WebhookSecret::generate().unwrap();
        let text = a.expose();
        assert!(text.starts_with(PREFIX));
        let again = WebhookSecret::parse(&text).unwrap();
        let header = sign(&[&b, &again], "id", 5, b"{}");
        assert!(a.verifies(&header, "id", 5, b"{}"));
        assert!(b.verifies(&header, "id", 5, b"{}"));
        assert!(!a.verifies(&header, "id", 6, b"{}"));
        assert!(!a.verifies(&header, "id", 5, b"{ }"));
        assert_eq!(format!("{a:?}"), "WebhookSecret(<redacted>)");
        let err = WebhookSecret::parse("whsec_!!!").unwrap_err().to_string();
        assert!(!err.contains("!!!"), "{err}");
        assert!(WebhookSecret::parse("whsec_AAAA").is_err(), "too short");
    }
}
