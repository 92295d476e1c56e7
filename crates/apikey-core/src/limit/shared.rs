//! Shared limits: pools of an owner, a group or a tenant, and credits, charged in the same
//! all-or-nothing decision as the key's own limits ([`RateLimiter::check_shared`]).
//!
//! [`RateLimiter::check_shared`]: super::RateLimiter::check_shared

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::credits::{CreditPlan, CreditWindow};
use super::policy::{LimitPolicy, Quota, Rate};
use super::verdict::Verdict;
use super::{LimitKind, LimitStatus, Subject};
use crate::ids::TenantId;

/// What a pool belongs to. A key is charged against at most one pool of each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    /// The key's own credits (counted per rotation lineage, like its quota).
    Key,
    /// Every key of one owner.
    Owner,
    /// Every key of one group.
    Group,
    /// Every key of the tenant.
    Tenant,
}

impl PoolKind {
    /// The lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Key => "key",
            Self::Owner => "owner",
            Self::Group => "group",
            Self::Tenant => "tenant",
        }
    }
}

impl fmt::Display for PoolKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The numbers of a pool: any of a rate, a calendar quota and credits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolLimits {
    /// A GCRA rate shared by every member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    /// A calendar quota shared by every member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
    /// A credit balance shared by every member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credits: Option<CreditPlan>,
}

impl PoolLimits {
    /// Whether there is nothing to charge.
    pub fn is_empty(&self) -> bool {
        self.rate.is_none() && self.quota.is_none() && self.credits.is_none()
    }

    /// Checks every number.
    pub fn validate(&self) -> crate::Result<()> {
        if let Some(r) = &self.rate {
            r.validate()?;
        }
        if let Some(q) = &self.quota {
            q.validate()?;
        }
        if let Some(c) = &self.credits {
            c.validate()?;
        }
        Ok(())
    }
}

/// One pool a decision charges, resolved for the key (overrides applied).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolCharge {
    /// What the pool belongs to.
    pub kind: PoolKind,
    /// The pool as operators name it: `owner:acme`, `group:free`, `tenant`, `key:<lineage>`.
    pub name: Arc<str>,
    /// The counter's identity across tenants, `<tenant>/<name>` (`-/<name>` for keys without a
    /// tenant; tenant ids never hold `/`): what limiters key the pool's state by.
    pub counter: Arc<str>,
    /// Its numbers for this key.
    pub limits: PoolLimits,
}

/// One decision over a key's own limits and every pool it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct SharedCharge<'a> {
    /// The key, its lineage and endpoint.
    pub subject: Subject<'a>,
    /// The key's own limits.
    pub policy: LimitPolicy,
    /// The key's tenant: pools are counted per tenant.
    pub tenant: Option<&'a TenantId>,
    /// The pools (and the key's own credits), at most one of each kind.
    pub pools: &'a [PoolCharge],
    /// What the request costs (0 is allowed: a free endpoint is refused by nothing but rates of
    /// zero burst, which cannot exist).
    pub cost: u32,
    /// A reservation: credits are charged its estimate instead of `cost`, and it is remembered
    /// for [`RateLimiter::settle`](super::RateLimiter::settle).
    pub reserve: Option<super::Reserve>,
}

impl PoolCharge {
    /// A charge of `limits` against pool `name` of `tenant`.
    pub fn new(
        tenant: Option<&TenantId>,
        kind: PoolKind,
        name: impl Into<Arc<str>>,
        limits: PoolLimits,
    ) -> Self {
        let name = name.into();
        let counter = format!("{}/{name}", tenant.map_or("-", TenantId::as_str));
        Self {
            kind,
            name,
            counter: Arc::from(counter),
            limits,
        }
    }
}

impl PoolCharge {
    /// Its credit plan, or an `InvalidInput` error naming the pool when it holds none.
    pub fn credit_plan(&self) -> crate::Result<&CreditPlan> {
        self.limits.credits.as_ref().ok_or_else(|| {
            crate::Error::invalid("credits", format_args!("{} holds no credits", self.name))
        })
    }
}

impl SharedCharge<'_> {
    /// Whether only the key's own limits are charged.
    pub fn is_plain(&self) -> bool {
        self.pools.is_empty()
    }

    /// What the credits of this decision are charged: the reservation's estimate, or the cost.
    pub fn credit_cost(&self) -> u64 {
        self.reserve.map_or(u64::from(self.cost), |r| r.estimate)
    }
}

/// A change of a credit balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op", content = "amount")]
pub enum CreditAdjust {
    /// Adds to the balance (after any refill that is due).
    TopUp(u64),
    /// Sets the balance.
    Set(u64),
}

/// A credit balance as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditBalance {
    /// Credits left.
    pub balance: u64,
    /// When the next refill is due (`None`: one-time credits).
    pub next_refill: Option<DateTime<Utc>>,
}

impl CreditAdjust {
    /// The balance after this adjustment of `balance`, or an error naming the limit.
    pub fn apply(self, balance: u64) -> crate::Result<u64> {
        let after = match self {
            Self::TopUp(n) => balance.checked_add(n),
            Self::Set(n) => Some(n),
        };
        after
            .filter(|b| *b <= super::credits::MAX_CREDITS)
            .ok_or_else(|| crate::Error::invalid("credits", "a balance is at most 10^15"))
    }
}

fn until(from_us: i64, to: DateTime<Utc>) -> Duration {
    Duration::from_micros(u64::try_from(to.timestamp_micros() - from_us).unwrap_or(0))
}

/// A credit balance's verdict for `cost` at `now_us`, given the balance after refills: admitted
/// with the balance to store, or refused with the wait until the next refill (zero for one-time
/// credits, which never come back on their own).
pub fn credit_verdict(
    kind: PoolKind,
    plan: &CreditPlan,
    balance: u64,
    window: Option<&CreditWindow>,
    now_us: i64,
    cost: u64,
) -> Verdict<u64> {
    let (reset_after, length) = window.map_or((Duration::ZERO, Duration::ZERO), |w| {
        (
            until(now_us, w.next),
            until(w.start.timestamp_micros(), w.next),
        )
    });
    let status = |remaining| LimitStatus {
        kind: LimitKind::Credits(kind),
        limit: plan.refill.as_ref().map_or(plan.initial, |r| r.amount),
        remaining,
        reset_after,
        window: length,
    };
    match balance.checked_sub(cost) {
        Some(after) => Ok((status(after), after)),
        None => Err((
            status(balance),
            i64::try_from(reset_after.as_micros()).unwrap_or(i64::MAX),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_refuse_past_zero_and_free_requests_pass() {
        let plan = CreditPlan::once(2);
        let ok = credit_verdict(PoolKind::Key, &plan, 2, None, 0, 2).unwrap();
        assert_eq!((ok.0.remaining, ok.1), (0, 0));
        let (status, wait) = credit_verdict(PoolKind::Key, &plan, 1, None, 0, 2).unwrap_err();
        assert_eq!(
            (status.kind, status.remaining, wait),
            (LimitKind::Credits(PoolKind::Key), 1, 0)
        );
        assert!(credit_verdict(PoolKind::Owner, &plan, 0, None, 0, 0).is_ok());
    }

    #[test]
    fn adjustments_stay_in_range() {
        assert_eq!(CreditAdjust::TopUp(5).apply(10).unwrap(), 15);
        assert_eq!(CreditAdjust::Set(3).apply(10).unwrap(), 3);
        assert!(CreditAdjust::TopUp(u64::MAX).apply(1).is_err());
        assert!(
            CreditAdjust::Set(super::super::credits::MAX_CREDITS + 1)
                .apply(0)
                .is_err()
        );
    }
}
