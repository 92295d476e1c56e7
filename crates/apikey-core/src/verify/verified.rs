//! The result of a successful verification, attached to the request for handlers.

use std::sync::Arc;

use crate::ids::{KeyId, LookupId, TenantId};
use crate::limit::LimitStatus;
use crate::record::KeyRecord;
use crate::scope::{Scope, ScopeSet};
use crate::verify::local_cache::CachedEntry;

/// A verified key. Cloning is one reference-count increment.
#[derive(Debug, Clone)]
pub struct Verified {
    entry: Arc<CachedEntry>,
    in_grace: bool,
    limit: Option<LimitStatus>,
    /// Boxed: a verification without a reservation (nearly all) stays one word larger only.
    reservation: Option<Box<crate::limit::Reservation>>,
}

impl Verified {
    pub(crate) fn new(entry: Arc<CachedEntry>, in_grace: bool, limit: Option<LimitStatus>) -> Self {
        Self {
            entry,
            in_grace,
            limit,
            reservation: None,
        }
    }

    pub(crate) fn with_reservation(mut self, r: Option<crate::limit::Reservation>) -> Self {
        self.reservation = r.map(Box::new);
        self
    }

    /// The credit reservation this request made
    /// ([`RequestContext::reserve`](crate::RequestContext::reserve)), to settle once the cost is
    /// known; `None` when none was asked for or the key has no credits. Dropped unsettled, it is
    /// settled by expiry at its estimate.
    pub fn reservation(&self) -> Option<&crate::limit::Reservation> {
        self.reservation.as_deref()
    }

    /// The key's record as of the last cache fill (usage fields are not live).
    pub fn record(&self) -> &KeyRecord {
        &self.entry.record
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.entry.record.id
    }

    /// The public lookup id.
    pub fn lookup_id(&self) -> LookupId {
        self.entry.record.lookup_id
    }

    /// The tenant.
    pub fn tenant_id(&self) -> Option<&TenantId> {
        self.entry.record.tenant_id.as_ref()
    }

    /// The owner.
    pub fn owner(&self) -> Option<&str> {
        self.entry.record.owner.as_deref()
    }

    /// The key's scopes.
    pub fn scopes(&self) -> &ScopeSet {
        &self.entry.record.scopes
    }

    /// Whether the key holds every scope in `required` (for checks inside handlers and resolvers).
    pub fn has_scopes(&self, required: &[Scope]) -> bool {
        self.entry.record.scopes.satisfies(required)
    }

    /// Whether the key is past `expires_at` and working only thanks to the expiry grace period.
    pub fn in_expiry_grace(&self) -> bool {
        self.in_grace
    }

    /// The tightest limit after this request (for `RateLimit` headers).
    pub fn limit(&self) -> Option<&LimitStatus> {
        self.limit.as_ref()
    }
}
