//! The store-read budget for unknown lookup ids, per client network.
//!
//! A random checksum-valid token costs its sender nothing and the server one store read (the
//! checksum only stops typos). Each network may spend a refilling budget of reads that turn out
//! unknown; past it, its cache misses are answered "invalid" without touching the store until the
//! budget refills, so a flood from one network costs the store at most `burst + elapsed / refill`
//! reads while its neighbours' keys (already cached) keep verifying and a new key verifies once
//! the budget is back: nobody behind the same NAT is locked out for good.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ipnet::IpNet;
use parking_lot::Mutex;

use crate::limit::{GcraStep, Rate, gcra};
use crate::verify::failures::UnknownReadBudget;

/// Most networks tracked; beyond it, networks whose budget is full again are forgotten first.
const MAX_NETWORKS: usize = 65_536;

#[derive(Debug)]
pub(crate) struct ReadBudget {
    rate: Option<Rate>,
    /// GCRA theoretical arrival time per network, microseconds.
    tats: Mutex<HashMap<Option<IpNet>, i64, foldhash::fast::RandomState>>,
    /// Whether any unknown id was ever charged: until then a miss takes no lock here (a cold
    /// cache over an in-process store misses at microsecond cost).
    any: AtomicBool,
}

impl ReadBudget {
    pub(crate) fn new(budget: UnknownReadBudget) -> Self {
        let refill_ms = u64::try_from(budget.refill.as_millis()).unwrap_or(u64::MAX);
        let rate = Rate::with_burst(
            1,
            Duration::from_millis(refill_ms.max(1)),
            budget.burst.max(1),
        )
        .ok();
        Self {
            rate,
            tats: Mutex::new(HashMap::default()),
            any: AtomicBool::new(false),
        }
    }

    /// Whether `net` may read the store for an id not in the cache (it has budget left).
    pub(crate) fn may_read(&self, net: Option<IpNet>, now_us: i64) -> bool {
        let Some(rate) = &self.rate else { return true };
        if !self.any.load(Ordering::Relaxed) {
            return true;
        }
        let tats = self.tats.lock();
        let Some(&tat) = tats.get(&net) else {
            return true;
        };
        matches!(gcra(rate, Some(tat), now_us, 1), GcraStep::Allowed { .. })
    }

    /// Charges one read that found nothing.
    pub(crate) fn charge_unknown(&self, net: Option<IpNet>, now_us: i64) {
        let Some(rate) = &self.rate else { return };
        self.any.store(true, Ordering::Relaxed);
        let mut tats = self.tats.lock();
        if tats.len() >= MAX_NETWORKS && !tats.contains_key(&net) {
            // A network whose tat is in the past has its whole budget back: forgetting it
            // changes nothing.
            tats.retain(|_, tat| *tat > now_us);
            if tats.len() >= MAX_NETWORKS {
                return;
            }
        }
        let tat = tats.get(&net).copied();
        match gcra(rate, tat, now_us, 1) {
            GcraStep::Allowed { new_tat, .. } => {
                tats.insert(net, new_tat);
            }
            // Already empty: stays empty (a read may have started before the last one was charged).
            GcraStep::Limited { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let b = ReadBudget::new(UnknownReadBudget {
            burst: 3,
            refill: Duration::from_secs(1),
        });
        let net: Option<IpNet> = Some("10.0.0.1/32".parse().unwrap());
        let other: Option<IpNet> = Some("10.0.0.2/32".parse().unwrap());
        for _ in 0..3 {
            assert!(b.may_read(net, 0));
            b.charge_unknown(net, 0);
        }
        assert!(!b.may_read(net, 0), "budget spent");
        assert!(b.may_read(other, 0), "per network");
        assert!(!b.may_read(net, 999_999));
        assert!(b.may_read(net, 1_000_000), "one read back after one refill");
    }
}
