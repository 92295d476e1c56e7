//! What the verifier tells about its slow paths: `tracing` spans around the I/O and the slow
//! hash, and the limiter's answers as metrics (feature `metrics`). Spans name a key by its
//! lookup id, the public part of a token; the secret never reaches a field.

use tracing::Span;

use super::Verifier;
use crate::error::Result;
use crate::limit::Decision;
use crate::record::KeyRecord;

/// Around a slow (argon2id, bcrypt) hash verification of `record`'s stored hash.
pub(super) fn slow_hash(record: &KeyRecord) -> Span {
    tracing::debug_span!(
        "apikey.hash.verify",
        lookup_id = %record.lookup_id,
        algorithm = record.hash.algorithm()
    )
}

/// Around a legacy token's candidate read: no field, because a legacy token's lookup prefix
/// is part of its secret.
pub(super) fn legacy_fetch() -> Span {
    tracing::debug_span!("apikey.store.fetch_legacy")
}

impl Verifier {
    /// The limiter's answer, counted on its way to `admit` (without the feature, the identity).
    #[inline]
    pub(super) fn decided(&self, decision: Result<Decision>) -> Result<Decision> {
        #[cfg(feature = "metrics")]
        self.inner.metrics.decision(&decision);
        decision
    }
}
