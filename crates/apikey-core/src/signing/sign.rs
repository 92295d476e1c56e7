//! Signing a request as a client: what `apikey-reqwest` and the tonic interceptor call. The base
//! is built by the same code the guard verifies with.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::http::{HeaderFields, RequestHead};

use super::base::signature_base;
use super::digest::content_digest;
use super::input::{Param, SignatureInput};
use super::secret::SigningSecret;
use super::verify::ALGORITHM;

/// The label signatures are made under.
pub const LABEL: &str = "apikey";

/// The header fields to add to a signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedFields {
    /// `Content-Digest`, when the request has a body (add it before sending: it is covered).
    pub content_digest: Option<String>,
    /// `Signature-Input`.
    pub signature_input: String,
    /// `Signature`.
    pub signature: String,
}

/// Signs requests for one key: `keyid` is the key's lookup id, the secret its signing secret.
#[derive(Clone)]
pub struct Signer {
    keyid: String,
    secret: SigningSecret,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("keyid", &self.keyid)
            .finish_non_exhaustive()
    }
}

/// `head`'s fields plus a `content-digest` the signer is about to add.
struct WithDigest<'a> {
    inner: &'a dyn HeaderFields,
    digest: Option<&'a str>,
}

impl HeaderFields for WithDigest<'_> {
    fn line(&self, name: &str, index: usize) -> Option<&[u8]> {
        match (name, self.digest) {
            ("content-digest", Some(d)) => (index == 0).then_some(d.as_bytes()),
            _ => self.inner.line(name, index),
        }
    }

    fn for_each(&self, f: &mut dyn FnMut(&str, &[u8])) {
        self.inner.for_each(&mut |n, v| {
            if !(n == "content-digest" && self.digest.is_some()) {
                f(n, v);
            }
        });
        if let Some(d) = self.digest {
            f("content-digest", d.as_bytes());
        }
    }
}

impl Signer {
    /// A signer for the key whose lookup id is `keyid`.
    pub fn new(keyid: impl Into<String>, secret: SigningSecret) -> Self {
        Self {
            keyid: keyid.into(),
            secret,
        }
    }

    /// A fresh random nonce (16 bytes, base64url).
    pub fn nonce() -> Result<String> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| Error::backend("signature nonce", e))?;
        Ok(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Signs `head` (and `body`, when not empty) at `created` (Unix seconds) with `nonce`,
    /// covering `@method`, `@authority`, `@path`, `@query` and `content-digest`. The head must
    /// carry the authority (a `Host` field or [`RequestHead::with_authority`]).
    pub fn sign(
        &self,
        head: &RequestHead<'_>,
        body: &[u8],
        created: i64,
        nonce: &str,
    ) -> Result<SignedFields> {
        let digest = (!body.is_empty()).then(|| content_digest(body));
        let fields = WithDigest {
            inner: head.fields(),
            digest: digest.as_deref(),
        };
        let head = RequestHead::new(head.method(), head.path(), &fields)
            .with_query(head.query())
            .with_authority(head.authority());
        let mut components: Vec<String> = ["@method", "@authority", "@path", "@query"]
            .map(str::to_owned)
            .to_vec();
        if digest.is_some() {
            components.push("content-digest".to_owned());
        }
        let input = SignatureInput {
            label: LABEL.to_owned(),
            components,
            params: vec![
                ("created".to_owned(), Param::Int(created)),
                ("nonce".to_owned(), Param::Str(nonce.to_owned())),
                ("keyid".to_owned(), Param::Str(self.keyid.clone())),
                ("alg".to_owned(), Param::Str(ALGORITHM.to_owned())),
            ],
        };
        let invalid = |e| Error::invalid("request to sign", e);
        let base = signature_base(&head, "https", &input).map_err(invalid)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.key_bytes())
            .map_err(|_| Error::invalid("signing secret", "is not a usable HMAC key"))?;
        mac.update(base.as_bytes());
        let signature = mac.finalize().into_bytes();
        let params = super::base::signature_params(&input).map_err(invalid)?;
        let mut ser = sfv::DictSerializer::new();
        ser.bare_item(sfv::key_ref(LABEL), signature.as_slice());
        Ok(SignedFields {
            content_digest: digest,
            signature_input: format!("{LABEL}={params}"),
            signature: ser.finish().unwrap_or_default(),
        })
    }
}
