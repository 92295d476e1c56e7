//! [`Protection`]: what a key carries besides its token — a request-signing secret and whether it
//! is a canary. Stored with the record (one nullable JSON column on SQL, a field on MongoDB), so
//! the verifier's cache holds it and a signed request costs no extra store read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How a key uses request signatures ([RFC 9421](https://www.rfc-editor.org/rfc/rfc9421)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SigningMode {
    /// The token is required; a signature, when the request carries one, must verify.
    Optional,
    /// The token and a valid signature are both required.
    Required,
    /// No token: `keyid` names the key and the signature proves the caller holds its signing
    /// secret, so the token never travels (like cloud request signing).
    InsteadOfToken,
}

impl SigningMode {
    /// The name used by the CLI and in JSON: `optional`, `required`, `instead-of-token`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Optional => "optional",
            Self::Required => "required",
            Self::InsteadOfToken => "instead-of-token",
        }
    }

    /// Whether every request must carry a valid signature.
    pub fn requires_signature(self) -> bool {
        !matches!(self, Self::Optional)
    }
}

impl std::str::FromStr for SigningMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "optional" => Ok(Self::Optional),
            "required" => Ok(Self::Required),
            "instead-of-token" => Ok(Self::InsteadOfToken),
            _ => Err(Error::invalid(
                "signing mode",
                "must be optional, required or instead-of-token",
            )),
        }
    }
}

impl std::fmt::Display for SigningMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key's request-signing configuration. The secret is stored only sealed
/// ([`SecretBox`](crate::secret_box::SecretBox), bound to the key's id and the purpose
/// [`SIGNING_PURPOSE`](super::SIGNING_PURPOSE)); `Debug` omits it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySigning {
    /// How the key uses signatures.
    pub mode: SigningMode,
    /// The current secret, sealed (`sb1.…`).
    pub sealed: String,
    /// After a rotation, the previous secret keeps verifying until `previous_until`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// When the previous secret stops verifying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_until: Option<DateTime<Utc>>,
    /// When the current secret was issued.
    pub issued_at: DateTime<Utc>,
}

impl std::fmt::Debug for KeySigning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySigning")
            .field("mode", &self.mode)
            .field("issued_at", &self.issued_at)
            .field("previous_until", &self.previous_until)
            .finish_non_exhaustive()
    }
}

/// What a key carries besides its token. The default (no signing, not a canary) is what every key
/// created before this existed has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Protection {
    /// Request signing, when the key has a signing secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing: Option<KeySigning>,
    /// A canary key never authorizes: a request whose full secret verifies is answered like an
    /// unknown key's and reported as `canary.tripped`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub canary: bool,
}

impl Protection {
    /// Whether this is the default (nothing to store).
    pub fn is_none(&self) -> bool {
        self.signing.is_none() && !self.canary
    }

    /// The key's signing mode, if it has a signing secret.
    pub fn signing_mode(&self) -> Option<SigningMode> {
        self.signing.as_ref().map(|s| s.mode)
    }
}
