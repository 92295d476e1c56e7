//! Reserve and settle, for costs known only after the response (tokens streamed, bytes served):
//! a verification charges an estimate to the key's credits and remembers it; the handler then
//! settles the actual cost (or releases it), once — a retried settle answers as the first did —
//! and a reservation never settled expires, settled at the estimate.
//!
//! Only credits are reserved: a request's rates and quotas are charged its cost at
//! verification as usual. Across every sequence of reservations, settles (repeated or
//! concurrent) and abandoned reservations, what a balance is charged is the sum of the settled
//! amounts and the estimates of the expired reservations, and never more than it held.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{PoolCharge, RateLimiter};
use crate::error::Result;
use crate::ids::TenantId;

/// A reservation asked with a shared charge: its credits are charged `estimate` instead of the
/// request's cost, remembered under `id` until `ttl` has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reserve {
    /// The reservation's id (what settles it).
    pub id: Uuid,
    /// Credits charged now.
    pub estimate: u64,
    /// How long it waits for its settlement before it is settled at the estimate.
    pub ttl: Duration,
}

/// What a settle did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Settlement {
    /// Settled now: `charged` in all (the estimate's difference refunded or charged on top, the
    /// extra capped at what the balances held).
    Settled {
        /// What the reservation cost in the end.
        charged: u64,
    },
    /// Settled before (a retry): the first settle's answer.
    AlreadySettled {
        /// What the reservation cost in the end.
        charged: u64,
    },
    /// Not known: it expired (and so cost its estimate) or never existed.
    Expired,
}

/// A reservation made for a verified request: settle it when the cost is known.
///
/// Dropped without a settle, it is settled by expiry at its estimate (nothing is spawned on
/// drop: the estimate was charged already, so doing nothing is exactly "settled at the
/// estimate").
#[derive(Clone)]
pub struct Reservation {
    pub(crate) id: Uuid,
    pub(crate) estimate: u64,
    pub(crate) tenant: Option<TenantId>,
    pub(crate) pools: Arc<[PoolCharge]>,
    pub(crate) limiter: Arc<dyn RateLimiter>,
}

impl Reservation {
    /// Its id (to settle it elsewhere, with [`RateLimiter::settle`]).
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The credits charged at verification.
    pub fn estimate(&self) -> u64 {
        self.estimate
    }

    /// Settles the actual cost: the difference to the estimate is refunded, or charged on top
    /// as far as the balances allow. Idempotent.
    pub async fn settle(&self, actual: u64) -> Result<Settlement> {
        self.limiter
            .settle(self.tenant.as_ref(), &self.pools, self.id, actual)
            .await
    }

    /// Gives the whole estimate back (the work was not done). Idempotent.
    pub async fn release(&self) -> Result<Settlement> {
        self.settle(0).await
    }
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("id", &self.id)
            .field("estimate", &self.estimate)
            .finish_non_exhaustive()
    }
}

/// What settling `actual` against a reservation of `estimate` charges on top (`extra`) or gives
/// back (`refund`), given the smallest balance among its pools now: the extra never takes a
/// balance below zero, so every pool is charged the same.
pub fn settle_amounts(estimate: u64, actual: u64, smallest_balance: u64) -> (u64, u64, u64) {
    if actual <= estimate {
        (actual, 0, estimate - actual)
    } else {
        let extra = (actual - estimate).min(smallest_balance);
        (estimate + extra, extra, 0)
    }
}
