//! What the verifier tells about itself beyond its answer: the limiter's decisions as metrics
//! (feature `metrics`).

use super::Verifier;
use crate::error::Result;
use crate::limit::Decision;

impl Verifier {
    /// The limiter's answer, counted on its way to `admit` (without the feature, the identity).
    #[inline]
    pub(super) fn decided(&self, decision: Result<Decision>) -> Result<Decision> {
        #[cfg(feature = "metrics")]
        self.inner.metrics.decision(&decision);
        decision
    }
}
