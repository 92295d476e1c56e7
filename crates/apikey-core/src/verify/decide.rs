//! The limiter's part of a verification: the key's own limits, and with them every pool the key
//! belongs to (resolved when the key was cached), in one decision; then admission or the 429.

use std::sync::Arc;
use std::time::Duration;

use super::local_cache::CachedEntry;
use super::{Authorized, RequestContext, Verified, Verifier, limit_subject};
use super::{Rejection, RejectionKind};
use crate::error::Result;
use crate::event::{KeyEvent, KeyEventKind};
use crate::limit::{Decision, LimitKind, PoolCharge, Reservation, Reserve, SharedCharge};
use crate::record::KeyRecord;

impl Verifier {
    /// The pools `record` is charged against, when a catalog is wired: read with the key, so a
    /// hit never reads them. A catalog that cannot answer refuses the key (503) rather than admit
    /// it uncounted.
    pub(super) async fn pool_charges(
        &self,
        record: &KeyRecord,
        now_us: i64,
    ) -> std::result::Result<Option<Arc<[PoolCharge]>>, Rejection> {
        let Some(book) = &self.inner.pools else {
            return Ok(None);
        };
        book.charges_for(record, now_us).await.map_err(|e| {
            if let Some(suppressed) = self.log_now(&self.inner.logs.store) {
                tracing::error!(error = %e, key = %record.id, suppressed, "pools could not be read; refusing");
            }
            Rejection::new(RejectionKind::Unavailable).for_record(record)
        })
    }

    /// The limiter's decision when it needs no I/O (the in-process limiter), or a hand-off to
    /// [`limit`](Self::limit).
    #[inline]
    // `Rejection` is returned by value as `verify` returns it; boxing would allocate per refusal.
    #[allow(clippy::result_large_err)]
    pub(super) fn limit_now(
        &self,
        entry: Arc<CachedEntry>,
        ctx: &RequestContext<'_>,
        now_us: i64,
    ) -> std::result::Result<Authorized, Rejection> {
        let inner = &*self.inner;
        let r = &entry.record;
        let policy = r.limit_policy(ctx.endpoint);
        let pools: &[PoolCharge] = entry.charges.as_deref().unwrap_or(&[]);
        if policy.is_empty() && pools.is_empty() {
            let allowed = Ok(Decision::Allowed {
                tightest: None,
                quota: None,
            });
            return self
                .admit(entry, allowed, ctx.cost, now_us)
                .map(Authorized::Done);
        }
        let Some(limiter) = &inner.limiter else {
            if let Some(suppressed) = self.log_now(&inner.logs.limiter) {
                tracing::error!(key = %r.id, suppressed, "key has limits but no rate limiter is configured; refusing");
            }
            return Err(Rejection::new(RejectionKind::Unavailable).for_record(r));
        };
        let reserve = self.reserve(pools, ctx);
        let decision = if pools.is_empty() {
            limiter.check_now(&limit_subject(r, ctx), &policy, ctx.cost)
        } else {
            limiter.check_shared_now(&SharedCharge {
                subject: limit_subject(r, ctx),
                policy,
                tenant: r.tenant_id.as_ref(),
                pools,
                cost: ctx.cost,
                reserve,
            })
        };
        match decision {
            Some(decision) => {
                let reservation = self.reservation(&entry, reserve, &decision);
                self.admit(entry, self.decided(decision), ctx.cost, now_us)
                    .map(|v| Authorized::Done(v.with_reservation(reservation)))
            }
            None => Ok(Authorized::NeedsLimiter(entry)),
        }
    }

    /// The limiter's decision with I/O, for an entry that passed every other check.
    #[tracing::instrument(name = "apikey.limiter.check", level = "debug", skip_all, fields(lookup_id = %entry.record.lookup_id))]
    pub(super) async fn limit(
        &self,
        entry: Arc<CachedEntry>,
        ctx: &RequestContext<'_>,
        now_us: i64,
    ) -> std::result::Result<Verified, Rejection> {
        let r = &entry.record;
        let Some(limiter) = &self.inner.limiter else {
            return Err(Rejection::new(RejectionKind::Unavailable).for_record(r));
        };
        let policy = r.limit_policy(ctx.endpoint);
        let mut reserve = None;
        #[cfg(feature = "metrics")]
        let started = std::time::Instant::now();
        let decision = match entry.charges.as_deref() {
            None => {
                limiter
                    .check(&limit_subject(r, ctx), &policy, ctx.cost)
                    .await
            }
            Some(pools) => {
                reserve = self.reserve(pools, ctx);
                limiter
                    .check_shared(&SharedCharge {
                        subject: limit_subject(r, ctx),
                        policy,
                        tenant: r.tenant_id.as_ref(),
                        pools,
                        cost: ctx.cost,
                        reserve,
                    })
                    .await
            }
        };
        #[cfg(feature = "metrics")]
        self.inner
            .metrics
            .limiter_round_trip
            .record(started.elapsed().as_secs_f64());
        let reservation = self.reservation(&entry, reserve, &decision);
        self.admit(entry, self.decided(decision), ctx.cost, now_us)
            .map(|v| v.with_reservation(reservation))
    }

    /// The reservation a request asks for, when its key has credits to reserve.
    fn reserve(&self, pools: &[PoolCharge], ctx: &RequestContext<'_>) -> Option<Reserve> {
        let estimate = ctx.reserve?;
        pools
            .iter()
            .any(|p| p.limits.credits.is_some())
            .then(|| Reserve {
                id: uuid::Uuid::now_v7(),
                estimate,
                ttl: self.inner.config.reservation_ttl,
            })
    }

    /// The handle of a reservation the limiter admitted.
    #[cold]
    fn reservation(
        &self,
        entry: &CachedEntry,
        reserve: Option<Reserve>,
        decision: &Result<Decision>,
    ) -> Option<Reservation> {
        let reserve = reserve?;
        if !matches!(decision, Ok(Decision::Allowed { .. })) {
            return None;
        }
        Some(Reservation {
            id: reserve.id,
            estimate: reserve.estimate,
            tenant: entry.record.tenant_id.clone(),
            pools: Arc::clone(entry.charges.as_ref()?),
            limiter: Arc::clone(self.inner.limiter.as_ref()?),
        })
    }

    /// Applies the limiter's decision; on admission records usage and builds the [`Verified`].
    #[inline]
    // `Rejection` is returned by value as `verify` returns it; boxing would allocate per refusal.
    #[allow(clippy::result_large_err)]
    pub(super) fn admit(
        &self,
        entry: Arc<CachedEntry>,
        decision: Result<Decision>,
        cost: u32,
        now_us: i64,
    ) -> std::result::Result<Verified, Rejection> {
        let r = &entry.record;
        let tightest = match decision {
            Ok(Decision::Allowed { tightest, quota }) => {
                if let Some(q) = quota
                    && crate::limit::crossed_thresholds(q.limit, q.remaining, cost)
                        .next()
                        .is_some()
                {
                    self.quota_crossed(r, q, cost);
                }
                tightest
            }
            Ok(Decision::Limited { limit, retry_after }) => {
                return Err(limited(&entry, limit, retry_after));
            }
            Err(e) => {
                if let Some(suppressed) = self.log_now(&self.inner.logs.limiter) {
                    tracing::error!(error = %e, key = %r.id, suppressed, "rate limiter unavailable");
                }
                return Err(Rejection::new(RejectionKind::Unavailable).for_record(r));
            }
        };
        entry.usage.record(now_us.div_euclid(1000), cost);
        let in_grace = entry.validity.in_expiry_grace(now_us);
        Ok(Verified::new(entry, in_grace, tightest))
    }

    /// Reports the quota thresholds a charge crossed (`quota.threshold`, once per period: the
    /// count only grows within it).
    #[cold]
    fn quota_crossed(&self, record: &KeyRecord, q: crate::limit::LimitStatus, cost: u32) {
        let Some(quota) = record.quota else { return };
        let now = self.inner.clock.now();
        let window = crate::limit::quota_window(quota.period, now);
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        for percent in crate::limit::crossed_thresholds(q.limit, q.remaining, cost) {
            let event = KeyEvent {
                kind: KeyEventKind::QuotaThreshold {
                    percent,
                    limit: q.limit,
                    used: q.limit.saturating_sub(q.remaining),
                    period_start: window.start,
                    resets_at: window.reset_at,
                },
                key_id: Some(record.id),
                tenant_id: record.tenant_id.clone(),
                actor: None,
                at: now,
            };
            let events = Arc::clone(&self.inner.events);
            rt.spawn(async move { events.emit(&event).await });
        }
    }
}

/// The 429 for `limit`: `credits_exhausted` for credits (with no `Retry-After` when they never
/// refill), naming the pool when the limit is a pool's.
#[cold]
fn limited(
    entry: &CachedEntry,
    limit: crate::limit::LimitStatus,
    retry_after: Duration,
) -> Rejection {
    let kind = match limit.kind {
        LimitKind::Credits(_) => RejectionKind::CreditsExhausted,
        _ => RejectionKind::RateLimited,
    };
    let mut rejection = Rejection::new(kind).for_record(&entry.record);
    rejection = if kind == RejectionKind::CreditsExhausted && retry_after.is_zero() {
        rejection.limit_only(limit)
    } else {
        rejection.limited(limit, retry_after)
    };
    let pool = limit.kind.pool().and_then(|k| {
        entry
            .charges
            .as_deref()?
            .iter()
            .find(|c| c.kind == k)
            .map(|c| Arc::clone(&c.name))
    });
    match pool {
        Some(name) => rejection.pool(name),
        None => rejection,
    }
}
