//! [`MemoryLimiter`]: the in-process [`RateLimiter`] — per-key GCRA rate, per-(key, endpoint)
//! GCRA rate and the lineage's calendar quota, decided together under one mutex per lineage.

mod lineage;
mod pools;
mod reservations;
mod shared;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use apikey_core::limit::{CreditAdjust, CreditBalance, PoolCharge, SharedCharge};
use apikey_core::{Clock, Decision, KeyId, LimitPolicy, RateLimiter, Result, Subject, TenantId};
use async_trait::async_trait;
use parking_lot::Mutex;

use self::lineage::LineageState;
use self::pools::PoolState;

/// How many lineages a [`MemoryLimiter`] tracks by default before it evicts.
pub const DEFAULT_MAX_SUBJECTS: usize = 100_000;

type Lineages = papaya::HashMap<KeyId, Mutex<LineageState>>;
type Pools = papaya::HashMap<Arc<str>, Mutex<PoolState>>;

/// An in-process [`RateLimiter`]: exact, allocation-free for subjects it has seen, and local to
/// this process (several instances each count on their own; use the Redis limiter to share).
///
/// All state of one rotation lineage (its quota and the rates of every key in it) sits behind one
/// small mutex, so a decision is atomic and all-or-nothing while different lineages never
/// contend; the map of lineages is lock-free to read. Memory is bounded by
/// [`with_max_subjects`](Self::with_max_subjects): past it, idle lineages are dropped first, then
/// the least recently used (whose budgets then start afresh).
///
/// Pools ([`check_shared`](RateLimiter::check_shared)): each pool counter has its own small
/// state, locked after the key's lineage, so a key and its pools are decided in one critical
/// section. Pool states are never evicted (there are as many as pools and keys with credits).
/// Credits are refused unless [`with_volatile_credits`](Self::with_volatile_credits) accepts that
/// they live only as long as the process.
pub struct MemoryLimiter {
    clock: Arc<dyn Clock>,
    lineages: Lineages,
    pools: Pools,
    reservations: reservations::Reservations,
    volatile_credits: bool,
    max_subjects: usize,
    /// Lets one thread sweep while the others carry on deciding.
    sweeping: AtomicBool,
}

impl MemoryLimiter {
    /// A limiter timed by `clock`, tracking up to [`DEFAULT_MAX_SUBJECTS`] lineages.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            lineages: Lineages::new(),
            pools: Pools::new(),
            reservations: reservations::Reservations::default(),
            volatile_credits: false,
            max_subjects: DEFAULT_MAX_SUBJECTS,
            sweeping: AtomicBool::new(false),
        }
    }

    /// Tracks up to `n` lineages (at least 1) before evicting.
    #[must_use]
    pub fn with_max_subjects(mut self, n: usize) -> Self {
        self.max_subjects = n.max(1);
        self
    }

    /// Counts credits in this process. A restart starts every balance again from its plan's
    /// initial amount — one-time credits granted twice — so turn this on only for tests and for
    /// services whose credits are not worth money; otherwise a decision with credits is refused
    /// (a `Config` error, 503) and `apikey-redis` holds them.
    #[must_use]
    pub fn with_volatile_credits(mut self) -> Self {
        self.volatile_credits = true;
        self
    }

    /// How many lineages are tracked now.
    pub fn tracked(&self) -> usize {
        self.lineages.len()
    }

    fn decide(&self, subject: &Subject<'_>, policy: &LimitPolicy, cost: u32) -> Result<Decision> {
        if policy.is_empty() {
            return Ok(Decision::Allowed {
                tightest: None,
                quota: None,
            });
        }
        validate(policy)?;
        let now_us = self.clock.now_micros();
        let map = self.lineages.pin();
        loop {
            let (slot, inserted) = match map.get(&subject.lineage) {
                Some(slot) => (slot, false),
                None => (
                    map.get_or_insert_with(subject.lineage, || Mutex::new(LineageState::default())),
                    true,
                ),
            };
            let mut state = slot.lock();
            if state.retired {
                // Swept between the lookup and the lock: it is gone from the map, so look again.
                continue;
            }
            let decision = state.decide(subject, policy, cost, now_us);
            drop(state);
            if inserted && map.len() > self.max_subjects {
                self.sweep(now_us);
            }
            return Ok(decision);
        }
    }

    /// Brings the map back under the bound. One thread sweeps at a time; it re-checks the size
    /// after releasing the flag, so a subject inserted while it worked (whose own thread skipped
    /// sweeping) is still accounted for.
    fn sweep(&self, now_us: i64) {
        while self.lineages.len() > self.max_subjects {
            if self.sweeping.swap(true, Ordering::Acquire) {
                return;
            }
            let removed = self.sweep_once(now_us);
            self.sweeping.store(false, Ordering::Release);
            if removed == 0 {
                // Everything left is locked by deciding threads; a later insertion sweeps again.
                return;
            }
        }
    }

    /// Shrinks the map to a low-water mark below the bound, so sweeps (a pass over every lineage)
    /// happen once per many new subjects rather than on each one. Returns how many it dropped.
    fn sweep_once(&self, now_us: i64) -> usize {
        let map = self.lineages.pin();
        let target = self.max_subjects - self.max_subjects / 8;
        let mut removed = 0;
        let mut retire = |key: &KeyId, slot: &Mutex<LineageState>, state: &mut LineageState| {
            // Unlinked and marked under the same lock hold, so a retired state is never in the map
            // and a thread that still holds a reference to it retries instead of spinning.
            if let Ok(Some(_)) = map.remove_if(key, |_, cur| std::ptr::eq(cur, slot)) {
                state.retired = true;
                removed += 1;
            }
        };

        // Idle lineages first: dropping them changes no decision. Locked ones are in use.
        for (key, slot) in map.iter() {
            if let Some(mut state) = slot.try_lock()
                && !state.retired
                && state.is_idle(now_us)
            {
                retire(key, slot, &mut state);
            }
        }

        let excess = map.len().saturating_sub(target);
        if excess > 0 {
            let mut by_age: Vec<(i64, KeyId)> = map
                .iter()
                .filter_map(|(key, slot)| slot.try_lock().map(|s| (s.last_seen, *key)))
                .collect();
            let excess = excess.min(by_age.len());
            if excess < by_age.len() {
                by_age.select_nth_unstable(excess);
            }
            for (_, key) in &by_age[..excess] {
                if let Some(slot) = map.get(key)
                    && let Some(mut state) = slot.try_lock()
                    && !state.retired
                {
                    retire(key, slot, &mut state);
                }
            }
        }
        removed
    }
}

/// Rejects rates and quotas outside their documented ranges, which would otherwise divide by zero
/// or never admit anything.
fn validate(policy: &LimitPolicy) -> Result<()> {
    if let Some(r) = &policy.rate {
        r.validate()?;
    }
    if let Some(r) = &policy.endpoint {
        r.validate()?;
    }
    if let Some(q) = &policy.quota {
        q.validate()?;
    }
    Ok(())
}

impl fmt::Debug for MemoryLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryLimiter")
            .field("tracked", &self.lineages.len())
            .field("max_subjects", &self.max_subjects)
            .field("pools", &self.pools.len())
            .field("volatile_credits", &self.volatile_credits)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl RateLimiter for MemoryLimiter {
    async fn check(
        &self,
        subject: &Subject<'_>,
        policy: &LimitPolicy,
        cost: u32,
    ) -> Result<Decision> {
        self.decide(subject, policy, cost)
    }

    fn check_now(
        &self,
        subject: &Subject<'_>,
        policy: &LimitPolicy,
        cost: u32,
    ) -> Option<Result<Decision>> {
        Some(self.decide(subject, policy, cost))
    }

    async fn check_shared(&self, charge: &SharedCharge<'_>) -> Result<Decision> {
        self.check_shared_now(charge)
            .unwrap_or_else(|| self.decide(&charge.subject, &charge.policy, charge.cost))
    }

    fn check_shared_now(&self, charge: &SharedCharge<'_>) -> Option<Result<Decision>> {
        Some(if charge.is_plain() {
            self.decide(&charge.subject, &charge.policy, charge.cost)
        } else {
            self.decide_shared(charge)
        })
    }

    async fn credits(&self, tenant: Option<&TenantId>, pool: &PoolCharge) -> Result<CreditBalance> {
        self.balance(tenant, pool, None)
    }

    async fn adjust_credits(
        &self,
        tenant: Option<&TenantId>,
        pool: &PoolCharge,
        adjust: CreditAdjust,
    ) -> Result<CreditBalance> {
        self.balance(tenant, pool, Some(adjust))
    }

    async fn settle(
        &self,
        _tenant: Option<&TenantId>,
        _pools: &[PoolCharge],
        id: uuid::Uuid,
        actual: u64,
    ) -> Result<apikey_core::limit::Settlement> {
        Ok(self.settle_now(id, actual))
    }
}
