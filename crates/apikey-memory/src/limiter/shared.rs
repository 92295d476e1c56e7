//! [`MemoryLimiter`]'s shared decisions: the key's own limits and its pools in one critical
//! section, and credit balances read and adjusted under the pool's lock.

use apikey_core::limit::{
    CreditAdjust, CreditBalance, MAX_CREDITS, PoolCharge, Settlement, SharedCharge, Tally,
    settle_amounts,
};
use apikey_core::{Decision, Error, ErrorKind, Result, TenantId};
use parking_lot::{Mutex, MutexGuard};

use super::lineage::LineageState;
use super::pools::PoolState;
use super::{MemoryLimiter, validate};

/// A key is charged against at most one pool of each kind: its credits, owner, group, tenant.
const MAX_POOLS: usize = 4;

impl MemoryLimiter {
    fn check_credits_allowed(&self, pools: &[PoolCharge]) -> Result<()> {
        if !self.volatile_credits && pools.iter().any(|p| p.limits.credits.is_some()) {
            return Err(Error::new(
                ErrorKind::Config,
                "credits need a limiter whose balances outlive the process (apikey-redis); \
                 MemoryLimiter::with_volatile_credits accepts that a restart restores every balance",
            ));
        }
        Ok(())
    }

    /// One all-or-nothing decision over `charge`.
    pub(super) fn decide_shared(&self, charge: &SharedCharge<'_>) -> Result<Decision> {
        let pools = charge.pools;
        if pools.len() > MAX_POOLS {
            return Err(Error::invalid("pools", "at most four pools per decision"));
        }
        validate(&charge.policy)?;
        for p in pools {
            p.limits.validate()?;
        }
        self.check_credits_allowed(pools)?;
        let now_us = self.clock.now_micros();
        let (subject, policy, cost) = (&charge.subject, &charge.policy, charge.cost);

        // Lock order: the lineage, then the pools by counter name. Nothing locks a lineage while
        // holding a pool, so no two decisions can wait on each other in a cycle.
        let lineages = self.lineages.pin();
        let lineage_slot = (!policy.is_empty()).then(|| {
            loop {
                // A lookup first: inserting builds the new value even when the key is there.
                let slot = match lineages.get(&subject.lineage) {
                    Some(slot) => slot,
                    None => lineages.get_or_insert_with(subject.lineage, || {
                        Mutex::new(LineageState::default())
                    }),
                };
                let guard = slot.lock();
                if !guard.retired {
                    break guard;
                }
            }
        });
        let mut lineage: Option<MutexGuard<'_, LineageState>> = lineage_slot;

        let map = self.pools.pin();
        let mut order = [0usize, 1, 2, 3];
        let order = &mut order[..pools.len()];
        order.sort_unstable_by(|&a, &b| pools[a].counter.cmp(&pools[b].counter));
        let mut guards: [Option<MutexGuard<'_, PoolState>>; MAX_POOLS] = [None, None, None, None];
        for &i in order.iter() {
            let counter = &pools[i].counter;
            let slot = match map.get(counter) {
                Some(slot) => slot,
                None => map.get_or_insert_with(counter.clone(), Mutex::default),
            };
            guards[i] = Some(slot.lock());
        }

        let mut tally = Tally::default();
        let own = lineage
            .as_mut()
            .map(|l| l.evaluate(subject, policy, cost, now_us));
        if let Some(own) = &own {
            own.note(&mut tally);
        }
        let verdicts: [_; MAX_POOLS] = std::array::from_fn(|i| {
            let (p, g) = (pools.get(i)?, guards[i].as_ref()?);
            Some(g.evaluate(p, now_us, cost, charge.credit_cost()))
        });
        for v in verdicts.iter().flatten() {
            v.note(&mut tally);
        }
        if tally.admitted() {
            if let (Some(l), Some(own)) = (lineage.as_mut(), own) {
                l.commit(subject, policy, own);
            }
            for (i, v) in verdicts.into_iter().enumerate() {
                if let (Some(v), Some(g)) = (v, guards[i].as_mut()) {
                    g.commit(&pools[i], v);
                }
            }
        }
        drop(guards);
        drop(lineage);
        if let Some(r) = charge.reserve
            && tally.admitted()
        {
            // After the pool locks are released: a settle takes the reservations first, then
            // the pools, so the two never wait on each other in a cycle.
            self.reservations.remember(r, pools, now_us);
        }
        if lineages.len() > self.max_subjects {
            self.sweep(now_us);
        }
        Ok(tally.decision())
    }

    /// The balance of `pool`'s credits now.
    pub(super) fn balance(
        &self,
        _tenant: Option<&TenantId>,
        pool: &PoolCharge,
        adjust: Option<CreditAdjust>,
    ) -> Result<CreditBalance> {
        let plan = pool.credit_plan()?;
        self.check_credits_allowed(std::slice::from_ref(pool))?;
        let now_us = self.clock.now_micros();
        let map = self.pools.pin();
        let mut state = map
            .get_or_insert_with(pool.counter.clone(), Mutex::default)
            .lock();
        let (mut balance, window) = state.balance(plan, now_us);
        if let Some(adjust) = adjust {
            balance = adjust.apply(balance)?;
            state.set_balance(balance, window);
        }
        Ok(CreditBalance {
            balance,
            next_refill: plan.window(self.clock.now()).map(|w| w.next),
        })
    }
}

impl MemoryLimiter {
    /// Settles reservation `id` at `actual`: see [`RateLimiter::settle`].
    pub(super) fn settle_now(&self, id: uuid::Uuid, actual: u64) -> Settlement {
        let now_us = self.clock.now_micros();
        let mut book = self.reservations.lock(now_us);
        let Some(r) = book.get_mut(&id) else {
            return Settlement::Expired;
        };
        if let Some(charged) = r.settled {
            return Settlement::AlreadySettled { charged };
        }
        let map = self.pools.pin();
        let mut order: Vec<usize> = (0..r.credits.len()).collect();
        order.sort_unstable_by(|&a, &b| r.credits[a].0.cmp(&r.credits[b].0));
        let mut guards: Vec<Option<MutexGuard<'_, PoolState>>> =
            r.credits.iter().map(|_| None).collect();
        for &i in &order {
            let counter = &r.credits[i].0;
            let slot = match map.get(counter) {
                Some(slot) => slot,
                None => map.get_or_insert_with(counter.clone(), Mutex::default),
            };
            guards[i] = Some(slot.lock());
        }
        let balances: Vec<_> = r
            .credits
            .iter()
            .zip(&guards)
            .filter_map(|((_, plan), g)| Some(g.as_ref()?.balance(plan, now_us)))
            .collect();
        let smallest = balances.iter().map(|(b, _)| *b).min().unwrap_or(0);
        let (charged, extra, refund) = settle_amounts(r.estimate, actual, smallest);
        for (g, (balance, window)) in guards.iter_mut().zip(balances) {
            if let Some(g) = g {
                let after = (balance - extra).saturating_add(refund).min(MAX_CREDITS);
                g.set_balance(after, window);
            }
        }
        r.settled = Some(charged);
        Settlement::Settled { charged }
    }
}
