//! Serving stale entries during a store outage ([`VerifierConfig::serve_stale`]): an entry this
//! very secret verified, past its cache lifetime by less than the configured bound, answers when
//! the store (and the shared cache) cannot. It is not refilled, so each request tries the store
//! again and fresh answers resume the moment it is back.
//!
//! [`VerifierConfig::serve_stale`]: super::VerifierConfig::serve_stale

use std::sync::Arc;

use super::local_cache::CachedEntry;
use super::{Verifier, micros};
use crate::token::CurrentToken;

impl Verifier {
    /// The expired entry `t`'s secret verified, if serving stale is on and it is recent enough.
    #[cold]
    pub(super) fn stale(&self, t: &CurrentToken<'_>, now_us: i64) -> Option<Arc<CachedEntry>> {
        let inner = &*self.inner;
        if inner.config.serve_stale.is_zero() {
            return None;
        }
        let entry = inner
            .cache
            .stale(&t.lookup, now_us, micros(inner.config.serve_stale))?;
        inner
            .digest
            .matches(t.secret(), &entry.digest)
            .then_some(entry)
    }
}
