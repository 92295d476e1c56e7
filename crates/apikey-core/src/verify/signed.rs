//! Keys named by a signature's `keyid` alone ([`SigningMode::InsteadOfToken`]): the record is
//! found and authorized like a token's, but nothing here proves the caller holds anything — the
//! guard's [`SignatureCheck`](crate::signing::SignatureCheck) does, and the guard takes this path
//! only when it has one (see [`GuardSettings`](crate::http::GuardSettings)).

use std::sync::Arc;

use super::failures::FailSubject;
use super::flight::FetchedRecord;
use super::local_cache::{CachedEntry, Lookup};
use super::rejection::{Rejection, RejectionKind};
use super::{RequestContext, Verified, Verifier, client_net, micros};
use crate::ids::LookupId;
use crate::signing::SigningMode;

impl Verifier {
    /// [`verify_signed_keyid`](Self::verify_signed_keyid) as a pending attempt, for guards.
    pub(crate) fn signed_keyid_pending(
        &self,
        lookup: LookupId,
        ctx: &RequestContext<'_>,
    ) -> super::Attempt {
        super::Attempt::Pending(super::PendingVerification(super::pending::Resume::Signed {
            lookup,
            request: super::pending::OwnedRequest::new(ctx),
        }))
    }

    /// Finds and authorizes the key whose lookup id a signature names, **without** any secret:
    /// the caller must verify the request's signature before trusting the result. Keys not in
    /// [`SigningMode::InsteadOfToken`] mode, and unknown ids, get the uniform 401 rejection
    /// (counted as failures like a wrong token).
    pub async fn verify_signed_keyid(
        &self,
        lookup: LookupId,
        ctx: &RequestContext<'_>,
    ) -> Result<Verified, Rejection> {
        let inner = &*self.inner;
        let now_us = inner.clock.now_micros();
        if let Some(refused) = self.network_refused(ctx, now_us) {
            return Err(refused);
        }
        let subject = FailSubject::Lookup(lookup);
        let entry = match inner.cache.lookup(&lookup, now_us) {
            Lookup::Hit(entry) => entry,
            Lookup::Unknown => {
                return Err(self.failed(RejectionKind::Unknown, ctx, subject, now_us));
            }
            Lookup::Miss { usage } => {
                let net = client_net(ctx.failure_ip(), inner.failures.policy());
                if !inner.reads.may_read(net, now_us) {
                    return Err(self.failed(RejectionKind::Unknown, ctx, subject, now_us));
                }
                let fetched = inner.flights.fetch(lookup, || self.fetch(lookup)).await;
                let FetchedRecord { record, life } = match fetched {
                    Ok(Some(fetched)) => fetched,
                    Ok(None) => {
                        inner.reads.charge_unknown(net, now_us);
                        return Err(self.failed(RejectionKind::Unknown, ctx, subject, now_us));
                    }
                    Err(_) => return Err(Rejection::new(RejectionKind::Unavailable)),
                };
                let charges = self.pool_charges(&record, now_us).await?;
                let usage =
                    usage.unwrap_or_else(|| inner.usage.cell(record.id, record.tenant_id.as_ref()));
                let mut entry = CachedEntry::new(
                    record,
                    [0; 32],
                    now_us + micros(life),
                    usage,
                    inner.config.expiry_grace,
                );
                entry.signed_only = true;
                entry.charges = charges;
                let entry = Arc::new(entry);
                inner.cache.fill(&entry, now_us);
                entry
            }
        };
        if entry.record.protection.signing_mode() != Some(SigningMode::InsteadOfToken) {
            return Err(self.failed(RejectionKind::WrongSecret, ctx, subject, now_us));
        }
        self.authorize(entry, ctx, now_us).await
    }
}
