//! [`SignatureCheck`]: the guard's rule for keys with a signing secret, added once to a guard and
//! so applied by every integration (see [`RequestCheck`]).

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::clock::Clock;
use crate::http::{CheckRejection, RequestCheck, RequestHead, Wants};
use crate::secret_box::SecretBox;
use crate::verify::Verified;

use super::error::SignatureError;
use super::nonce::NonceStore;
use super::opened::OpenedSecrets;
use super::protection::SigningMode;
use super::verify::{SignaturePolicy, is_signed, verify_signature};

/// Verifies RFC 9421 signatures for keys that have a signing secret: required for keys in
/// [`Required`](SigningMode::Required) and [`InsteadOfToken`](SigningMode::InsteadOfToken) mode,
/// checked when present for [`Optional`](SigningMode::Optional) ones; keys without a secret skip
/// it at the cost of one comparison.
///
/// Every refusal is the same 401 (the reason goes to a `debug` log line without the request's
/// fields); a nonce store that cannot answer is a 503.
#[derive(Debug, Clone)]
pub struct SignatureCheck {
    sbox: SecretBox,
    nonces: Arc<dyn NonceStore>,
    clock: Arc<dyn Clock>,
    policy: SignaturePolicy,
    opened: Arc<OpenedSecrets>,
    #[cfg(feature = "metrics")]
    counts: Arc<CheckCounts>,
}

/// The check's metric handles, registered when it is built.
#[cfg(feature = "metrics")]
#[derive(Debug)]
struct CheckCounts {
    accepted: metrics::Counter,
    refused: metrics::Counter,
    unavailable: metrics::Counter,
}

#[cfg(feature = "metrics")]
impl CheckCounts {
    fn register() -> Self {
        use crate::metrics::SIGNATURE_CHECKS;
        Self {
            accepted: metrics::counter!(SIGNATURE_CHECKS, "result" => "accepted"),
            refused: metrics::counter!(SIGNATURE_CHECKS, "result" => "refused"),
            unavailable: metrics::counter!(SIGNATURE_CHECKS, "result" => "unavailable"),
        }
    }
}

/// The one answer to a refused signature.
pub(crate) fn unauthorized() -> CheckRejection {
    CheckRejection::unauthorized("The request signature is missing or invalid.")
        .with_code("invalid_signature")
}

impl SignatureCheck {
    /// A check opening signing secrets with `sbox` and claiming nonces in `nonces`, on `clock`,
    /// with the default [`SignaturePolicy`].
    pub fn new(sbox: SecretBox, nonces: Arc<dyn NonceStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            sbox,
            nonces,
            clock,
            policy: SignaturePolicy::default(),
            opened: Arc::default(),
            #[cfg(feature = "metrics")]
            counts: Arc::new(CheckCounts::register()),
        }
    }

    /// Replaces the policy (tolerance, nonce requirement, scheme).
    #[must_use]
    pub fn with_policy(mut self, policy: SignaturePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The policy in force.
    pub fn policy(&self) -> &SignaturePolicy {
        &self.policy
    }

    async fn verify(
        &self,
        key: &Verified,
        head: &RequestHead<'_>,
        body: Option<&Bytes>,
    ) -> Result<(), Refusal> {
        let record = key.record();
        let signing = record
            .protection
            .signing
            .as_ref()
            .ok_or(Refusal::Bad(SignatureError::Missing))?;
        let now = self.clock.now();
        let opened = |sealed: &str| {
            self.opened
                .get(&self.sbox, record.id, sealed)
                .map_err(Refusal::Secret)
        };
        let current = opened(&signing.sealed)?;
        let previous = match (&signing.previous, signing.previous_until) {
            (Some(sealed), Some(until)) if until > now => Some(opened(sealed)?),
            _ => None,
        };
        let mut keys = vec![current.key_bytes()];
        keys.extend(previous.as_ref().map(|p| p.key_bytes()));
        // gRPC cannot hand over its messages; every other transport buffers the body, so a
        // `None` there would be a bug that must not pass as "no body".
        if body.is_none() && !is_grpc(head) {
            return Err(Refusal::Bad(SignatureError::Digest));
        }
        let keyid = record.lookup_id.to_string();
        let accepted = verify_signature(
            head,
            body.map(|b| &b[..]),
            &keyid,
            &keys,
            &self.policy,
            now.timestamp(),
        )
        .map_err(Refusal::Bad)?;
        if let Some(nonce) = &accepted.nonce {
            let window = i64::try_from(self.policy.tolerance.as_millis()).unwrap_or(i64::MAX);
            let until = (accepted.created * 1000).saturating_add(window);
            match self.nonces.claim(&keyid, nonce, until).await {
                Ok(true) => {}
                Ok(false) => return Err(Refusal::Bad(SignatureError::Replayed)),
                Err(e) => return Err(Refusal::NonceStore(e)),
            }
        }
        Ok(())
    }
}

enum Refusal {
    Bad(SignatureError),
    Secret(crate::Error),
    NonceStore(crate::Error),
}

fn is_grpc(head: &RequestHead<'_>) -> bool {
    head.header("content-type")
        .is_some_and(|v| v.starts_with(b"application/grpc"))
}

#[async_trait]
impl RequestCheck for SignatureCheck {
    fn wants(&self, key: &Verified, head: &RequestHead<'_>) -> Wants {
        let needed = match key.record().protection.signing_mode() {
            None => false,
            Some(SigningMode::Optional) => is_signed(head),
            Some(_) => true,
        };
        match (needed, is_grpc(head)) {
            (false, _) => Wants::Skip,
            (true, true) => Wants::Head,
            (true, false) => Wants::Body,
        }
    }

    async fn check(
        &self,
        key: &Verified,
        head: &RequestHead<'_>,
        body: Option<&Bytes>,
    ) -> Result<(), CheckRejection> {
        let verdict = self.verify(key, head, body).await;
        #[cfg(feature = "metrics")]
        match &verdict {
            Ok(()) => self.counts.accepted.increment(1),
            Err(Refusal::NonceStore(_)) => self.counts.unavailable.increment(1),
            Err(_) => self.counts.refused.increment(1),
        }
        match verdict {
            Ok(()) => Ok(()),
            Err(Refusal::Bad(reason)) => {
                tracing::debug!(key = %key.key_id(), %reason, "request signature refused");
                Err(unauthorized())
            }
            Err(Refusal::Secret(e)) => {
                tracing::error!(key = %key.key_id(), error = %e, "the key's signing secret cannot be opened (is APIKEY_KEK the one it was sealed with?); refusing");
                Err(unauthorized())
            }
            Err(Refusal::NonceStore(e)) => {
                tracing::warn!(error = %e, "nonce store unavailable; refusing signed request");
                Err(CheckRejection::new(
                    503,
                    "The service cannot check request signatures right now.",
                )
                .with_code("unavailable")
                .with_retry_after(std::time::Duration::from_secs(1)))
            }
        }
    }

    fn authenticates_signed(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "SignatureCheck"
    }
}
