//! Rate limits, endpoint limits and quotas: one [`RateLimiter::check`] decides them all together.

mod credits;
mod gcra;
mod policy;
mod reserve;
mod shared;
mod threshold;
mod verdict;
mod window;

pub use credits::{CreditPlan, CreditWindow, MAX_CREDITS, Refill, RefillMode, RefillPeriod};
pub use gcra::{GcraStep, gcra};
pub use policy::{
    Endpoint, EndpointLimit, FailurePolicy, LimitPolicy, MAX_CAPACITY_US, MAX_RATE_WINDOW_MS,
    Quota, Rate,
};
pub use reserve::{Reservation, Reserve, Settlement, settle_amounts};
pub use shared::{
    CreditAdjust, CreditBalance, PoolCharge, PoolKind, PoolLimits, SharedCharge, credit_verdict,
};
pub use threshold::{QUOTA_THRESHOLDS, crossed_thresholds};
pub use verdict::{Tally, Verdict, quota_verdict, rate_verdict};
pub use window::{QuotaPeriod, QuotaWindow, quota_window};

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::{Error, ErrorKind, Result};
use crate::ids::{KeyId, TenantId};

/// Whose budget a decision spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    /// The key: its own rate and its endpoint rates are counted per key.
    pub key: KeyId,
    /// The first key of the rotation lineage: quotas are counted per lineage, so rotating or cloning
    /// a key does not reset them.
    pub lineage: KeyId,
    /// The endpoint being called, for the endpoint rate.
    pub endpoint: Option<&'a str>,
}

/// Which limit a status describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKind {
    /// The key's own rate.
    Rate,
    /// The endpoint's rate for this key.
    Endpoint,
    /// The calendar quota.
    Quota,
    /// The rate of a pool the key belongs to.
    PoolRate(PoolKind),
    /// The calendar quota of a pool the key belongs to.
    PoolQuota(PoolKind),
    /// Credits: the key's own ([`PoolKind::Key`]) or a pool's.
    Credits(PoolKind),
}

impl LimitKind {
    /// A short name for headers and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rate => "rate",
            Self::Endpoint => "endpoint",
            Self::Quota => "quota",
            Self::PoolRate(PoolKind::Key) => "key-rate",
            Self::PoolRate(PoolKind::Owner) => "owner-rate",
            Self::PoolRate(PoolKind::Group) => "group-rate",
            Self::PoolRate(PoolKind::Tenant) => "tenant-rate",
            Self::PoolQuota(PoolKind::Key) => "key-quota",
            Self::PoolQuota(PoolKind::Owner) => "owner-quota",
            Self::PoolQuota(PoolKind::Group) => "group-quota",
            Self::PoolQuota(PoolKind::Tenant) => "tenant-quota",
            Self::Credits(PoolKind::Key) => "credits",
            Self::Credits(PoolKind::Owner) => "owner-credits",
            Self::Credits(PoolKind::Group) => "group-credits",
            Self::Credits(PoolKind::Tenant) => "tenant-credits",
        }
    }

    /// The pool this limit belongs to, if it is a pool's.
    pub const fn pool(self) -> Option<PoolKind> {
        match self {
            Self::Rate | Self::Endpoint | Self::Quota => None,
            Self::PoolRate(k) | Self::PoolQuota(k) | Self::Credits(k) => Some(k),
        }
    }
}

/// One limit's state after a decision: what `RateLimit` headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitStatus {
    /// Which limit.
    pub kind: LimitKind,
    /// Its size: the burst of a rate, or the limit of a quota.
    pub limit: u64,
    /// Requests left now.
    pub remaining: u64,
    /// Time until the limit is whole again (rates) or the window resets (quotas).
    pub reset_after: Duration,
    /// The policy window: a rate's window, or the quota period's length.
    pub window: Duration,
}

impl LimitStatus {
    /// The tighter of two statuses: fewer remaining, then the later reset.
    pub fn tightest(a: Option<Self>, b: Self) -> Self {
        match a {
            Some(a)
                if (a.remaining, std::cmp::Reverse(a.reset_after))
                    <= (b.remaining, std::cmp::Reverse(b.reset_after)) =>
            {
                a
            }
            _ => b,
        }
    }
}

/// The verdict of one limiter call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Admitted; every limit was charged. `tightest` is the limit with the least room, if any.
    Allowed {
        /// The tightest limit after charging.
        tightest: Option<LimitStatus>,
        /// The calendar quota after charging, when the policy has one and the limiter counted it
        /// exactly (limiters that decide from local leases report `None`): what quota threshold
        /// events (`quota.threshold` at 80 % and 100 %) are computed from.
        quota: Option<LimitStatus>,
    },
    /// Refused; nothing was charged.
    Limited {
        /// The limit that refused (the one with the longest wait when several did).
        limit: LimitStatus,
        /// When the same request would be admitted.
        retry_after: Duration,
    },
}

impl Decision {
    /// Whether the request was admitted.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed { .. })
    }
}

/// A limiter: per-key GCRA rate, per-(key, endpoint) GCRA rate and the lineage's calendar quota,
/// checked and charged all-or-nothing in one call (for Redis, one round trip).
#[async_trait]
pub trait RateLimiter: Send + Sync + fmt::Debug + 'static {
    /// Decides and, if admitted, charges `cost` to every limit in `policy`.
    async fn check(
        &self,
        subject: &Subject<'_>,
        policy: &LimitPolicy,
        cost: u32,
    ) -> Result<Decision>;

    /// The same decision made synchronously, for limiters that need no I/O (the in-process one):
    /// the verifier calls this first, so a cache hit with a local limit never boxes a future.
    /// `None` means "use [`check`](Self::check)".
    fn check_now(
        &self,
        subject: &Subject<'_>,
        policy: &LimitPolicy,
        cost: u32,
    ) -> Option<Result<Decision>> {
        let _ = (subject, policy, cost);
        None
    }

    /// Decides the key's own limits and every pool in `charge` together, all-or-nothing. The
    /// default decides a charge without pools with [`check`](Self::check) and refuses one with
    /// pools (a `Config` error, which the verifier answers with 503): a limiter that cannot
    /// count pools exactly must not pretend to.
    async fn check_shared(&self, charge: &SharedCharge<'_>) -> Result<Decision> {
        if charge.is_plain() {
            return self
                .check(&charge.subject, &charge.policy, charge.cost)
                .await;
        }
        Err(unsupported())
    }

    /// [`check_shared`](Self::check_shared) without I/O, for limiters that need none; `None`
    /// means "use `check_shared`".
    fn check_shared_now(&self, charge: &SharedCharge<'_>) -> Option<Result<Decision>> {
        if charge.is_plain() {
            return self.check_now(&charge.subject, &charge.policy, charge.cost);
        }
        None
    }

    /// The credit balance of `pool` (a pool or a key's own credits) in `tenant`, refills applied.
    async fn credits(&self, tenant: Option<&TenantId>, pool: &PoolCharge) -> Result<CreditBalance> {
        let _ = (tenant, pool);
        Err(unsupported())
    }

    /// Settles reservation `id` (made by a [`check_shared`](Self::check_shared) whose charge
    /// asked for one) at `actual` against the credit pools among `pools`: see
    /// [`Settlement`]. Idempotent: a repeated or concurrent settle answers as the first did.
    async fn settle(
        &self,
        tenant: Option<&TenantId>,
        pools: &[PoolCharge],
        id: uuid::Uuid,
        actual: u64,
    ) -> Result<Settlement> {
        let _ = (tenant, pools, id, actual);
        Err(unsupported())
    }

    /// Tops up or sets the credit balance of `pool` in `tenant`, atomically with any due refill;
    /// returns the balance after.
    async fn adjust_credits(
        &self,
        tenant: Option<&TenantId>,
        pool: &PoolCharge,
        adjust: CreditAdjust,
    ) -> Result<CreditBalance> {
        let _ = (tenant, pool, adjust);
        Err(unsupported())
    }
}

fn unsupported() -> Error {
    Error::new(
        ErrorKind::Config,
        "this rate limiter does not count shared pools or credits",
    )
}
