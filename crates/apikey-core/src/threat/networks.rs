//! The per-network detectors' counts: failing lookup ids (credential stuffing) and uses of dead
//! keys, per client network (the failed-auth limiter's networks) in a fixed window. Both are
//! fed from refusal paths only, so an admitted request never touches this table.

use std::collections::HashMap;
use std::time::Duration;

use ipnet::IpNet;
use parking_lot::Mutex;

use super::finding::Detector;
use super::policy::ThreatPolicy;

#[derive(Debug, Clone)]
struct Count {
    start_ms: i64,
    count: u32,
    /// Fired in this window already: one report (and one block) per window.
    fired: bool,
    /// For distinct counts, the hashes counted so far (at most the threshold).
    seen: Vec<u64>,
}

impl Count {
    const fn new(start_ms: i64) -> Self {
        Self {
            start_ms,
            count: 0,
            fired: false,
            seen: Vec::new(),
        }
    }
}

/// A window's count reaching its threshold, once per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Crossed {
    pub(crate) count: u32,
    pub(crate) threshold: u32,
    pub(crate) window: Duration,
}

#[derive(Debug)]
pub(crate) struct NetworkWatch {
    policy: ThreatPolicy,
    counts: Mutex<HashMap<(IpNet, Detector), Count, foldhash::fast::RandomState>>,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

impl NetworkWatch {
    pub(crate) fn new(policy: ThreatPolicy) -> Self {
        Self {
            policy,
            counts: Mutex::default(),
        }
    }

    fn limits(&self, detector: Detector) -> Option<(u32, Duration)> {
        match detector {
            Detector::CredentialStuffing => self
                .policy
                .credential_stuffing
                .map(|d| (d.distinct_ids, d.window)),
            Detector::RevokedKeyUse => self.policy.revoked_key_use.map(|d| (d.uses, d.window)),
            _ => None,
        }
    }

    /// Counts one event of `detector` from `net` — with `distinct`, only a hash not counted yet
    /// in the window; `Some` when this one reaches the threshold.
    pub(crate) fn count(
        &self,
        detector: Detector,
        net: IpNet,
        distinct: Option<u64>,
        now_ms: i64,
    ) -> Option<Crossed> {
        let (threshold, window) = self.limits(detector)?;
        let window_ms = ms(window);
        let mut counts = self.counts.lock();
        if !counts.contains_key(&(net, detector)) && counts.len() >= self.policy.max_tracked {
            // Ended windows go; open ones stay, so a flood of fresh networks cannot reset the
            // count of the one that is attacking.
            counts.retain(|(_, d), c| {
                let w = self.limits(*d).map_or(1, |(_, w)| ms(w));
                c.start_ms.saturating_add(w) > now_ms
            });
            if counts.len() >= self.policy.max_tracked {
                return None;
            }
        }
        let c = counts
            .entry((net, detector))
            .or_insert_with(|| Count::new(now_ms));
        if c.start_ms.saturating_add(window_ms) <= now_ms {
            *c = Count::new(now_ms);
        }
        if c.fired {
            return None;
        }
        if let Some(h) = distinct {
            if c.seen.contains(&h) {
                return None;
            }
            c.seen.push(h);
        }
        c.count = c.count.saturating_add(1);
        if c.count < threshold {
            return None;
        }
        c.fired = true;
        c.seen = Vec::new();
        Some(Crossed {
            count: c.count,
            threshold,
            window,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threat::policy::CredentialStuffing;

    #[test]
    fn fires_once_per_window_and_a_full_table_keeps_open_counts() {
        let policy = ThreatPolicy {
            credential_stuffing: Some(CredentialStuffing {
                distinct_ids: 3,
                window: Duration::from_secs(10),
                ..CredentialStuffing::default()
            }),
            max_tracked: 4,
            ..ThreatPolicy::default()
        };
        let w = NetworkWatch::new(policy);
        let net: IpNet = "203.0.113.9/32".parse().unwrap();
        let d = Detector::CredentialStuffing;
        assert_eq!(w.count(d, net, Some(1), 0), None);
        assert_eq!(w.count(d, net, Some(2), 1), None);
        assert_eq!(w.count(d, net, Some(2), 1), None, "the same id again");
        for i in 0..10u8 {
            w.count(d, format!("198.51.100.{i}/32").parse().unwrap(), Some(9), 2);
        }
        let third = w.count(d, net, Some(3), 3).expect("the third id fires");
        assert_eq!((third.count, third.threshold), (3, 3));
        assert_eq!(w.count(d, net, Some(4), 4), None, "once per window");
        assert_eq!(
            w.count(d, net, Some(5), 10_000),
            None,
            "a new window starts at one"
        );
        assert_eq!(
            w.count(Detector::RevokedKeyUse, net, None, 5),
            None,
            "an unconfigured detector counts nothing"
        );
    }
}
