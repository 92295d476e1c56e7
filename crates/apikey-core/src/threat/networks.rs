//! The per-network detectors' counts: failing lookup ids (credential stuffing) and uses of dead
//! keys, per client network (the failed-auth limiter's networks) in a fixed window. Both are
//! fed from refusal paths only, so an admitted request never touches this table.

use std::collections::HashMap;
use std::time::Duration;

use ipnet::IpNet;
use parking_lot::Mutex;

use super::finding::Detector;
use super::policy::ThreatPolicy;
use super::shared::NetworkTally;

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

/// A shared window: network, detector, start (ms).
type SharedKey = (IpNet, Detector, i64);

/// What this instance counted in one shared window since its last share.
#[derive(Debug, Default)]
struct Gathered {
    events: u64,
    distinct: Vec<u64>,
}

#[derive(Debug)]
pub(crate) struct NetworkWatch {
    policy: ThreatPolicy,
    counts: Mutex<HashMap<(IpNet, Detector), Count, foldhash::fast::RandomState>>,
    /// Counts gathered for the shared windows, once something is shared: until then a refusal
    /// takes no lock for them.
    gathered: std::sync::OnceLock<Mutex<HashMap<SharedKey, Gathered, foldhash::fast::RandomState>>>,
    /// Shared windows that fired here, until they end: one report per window.
    shared_fired: Mutex<HashMap<SharedKey, i64, foldhash::fast::RandomState>>,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

impl NetworkWatch {
    pub(crate) fn new(policy: ThreatPolicy) -> Self {
        Self {
            policy,
            counts: Mutex::default(),
            gathered: std::sync::OnceLock::new(),
            shared_fired: Mutex::default(),
        }
    }

    /// From now on, counts are also gathered for the shared windows.
    pub(crate) fn gather(&self) {
        self.gathered.get_or_init(Mutex::default);
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
        self.gather_one(detector, net, distinct, now_ms, threshold, window);
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

impl NetworkWatch {
    fn gather_one(
        &self,
        detector: Detector,
        net: IpNet,
        distinct: Option<u64>,
        now_ms: i64,
        threshold: u32,
        window: Duration,
    ) {
        let Some(gathered) = self.gathered.get() else {
            return;
        };
        let mut g = gathered.lock();
        let (start, _) = NetworkTally::window_of(now_ms, window);
        let k = (net, detector, start);
        if !g.contains_key(&k) && g.len() >= self.policy.max_tracked {
            return;
        }
        let entry = g.entry(k).or_default();
        match distinct {
            // More ids than the threshold from one instance fire it here anyway.
            Some(h)
                if !entry.distinct.contains(&h) && entry.distinct.len() < threshold as usize =>
            {
                entry.distinct.push(h);
            }
            Some(_) => {}
            None => entry.events = entry.events.saturating_add(1),
        }
    }

    /// What was gathered since the last call, as tallies to share.
    pub(crate) fn take_tallies(&self) -> Vec<NetworkTally> {
        let Some(gathered) = self.gathered.get() else {
            return Vec::new();
        };
        let g = std::mem::take(&mut *gathered.lock());
        g.into_iter()
            .filter_map(|((network, detector, start), gathered)| {
                let (_, window) = self.limits(detector)?;
                Some(NetworkTally {
                    detector,
                    network,
                    window_start: chrono::DateTime::from_timestamp_millis(start)?,
                    window,
                    events: gathered.events,
                    distinct: gathered.distinct,
                })
            })
            .collect()
    }

    /// Whether the instances' `total` in `tally`'s window fires its detector here: once per
    /// shared window, and not when this instance fired on its own count in it already.
    pub(crate) fn shared_crossed(
        &self,
        tally: &NetworkTally,
        total: u64,
        now_ms: i64,
    ) -> Option<Crossed> {
        let (threshold, window) = self.limits(tally.detector)?;
        if total < u64::from(threshold) {
            return None;
        }
        let start = tally.window_start.timestamp_millis();
        let end = tally.window_end().timestamp_millis();
        {
            let mut fired = self.shared_fired.lock();
            fired.retain(|_, until| *until > now_ms);
            if fired
                .insert((tally.network, tally.detector, start), end)
                .is_some()
            {
                return None;
            }
        }
        let mut counts = self.counts.lock();
        if let Some(c) = counts.get_mut(&(tally.network, tally.detector))
            && c.start_ms.saturating_add(ms(window)) > now_ms
        {
            if c.fired {
                return None;
            }
            // The local window fired too: no second report from its own count.
            c.fired = true;
            c.seen = Vec::new();
        }
        Some(Crossed {
            count: u32::try_from(total).unwrap_or(u32::MAX),
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

    #[test]
    fn shared_totals_fire_once_per_window_and_gathering_is_bounded() {
        let policy = ThreatPolicy {
            credential_stuffing: Some(CredentialStuffing {
                distinct_ids: 3,
                window: Duration::from_secs(10),
                ..CredentialStuffing::default()
            }),
            max_tracked: 2,
            ..ThreatPolicy::default()
        };
        let w = NetworkWatch::new(policy);
        let d = Detector::CredentialStuffing;
        let net: IpNet = "203.0.113.9/32".parse().unwrap();
        assert!(
            w.take_tallies().is_empty(),
            "nothing gathered before sharing"
        );
        w.gather();
        for id in [1, 2, 2, 3, 4, 5] {
            w.count(d, net, Some(id), 1_000);
        }
        for i in 0..5u8 {
            w.count(
                d,
                format!("198.51.100.{i}/32").parse().unwrap(),
                Some(9),
                1_000,
            );
        }
        let tallies = w.take_tallies();
        assert_eq!(tallies.len(), 2, "at most max_tracked windows: {tallies:?}");
        let mine = tallies.iter().find(|t| t.network == net).unwrap();
        assert_eq!(
            mine.distinct,
            [1, 2, 3],
            "each id once, at most the threshold"
        );
        assert_eq!(mine.window_start.timestamp_millis(), 0);
        assert!(w.take_tallies().is_empty(), "taken");
        // The local count fired at the third id; a total in the same window adds no report.
        assert_eq!(w.shared_crossed(mine, 7, 2_000), None);
        let other = NetworkTally {
            network: "192.0.2.1/32".parse().unwrap(),
            ..mine.clone()
        };
        assert_eq!(w.shared_crossed(&other, 2, 2_000), None, "below");
        assert!(w.shared_crossed(&other, 3, 2_000).is_some());
        assert_eq!(w.shared_crossed(&other, 9, 3_000), None, "once per window");
        let next = NetworkTally {
            window_start: chrono::DateTime::from_timestamp_millis(10_000).unwrap(),
            ..other
        };
        assert!(
            w.shared_crossed(&next, 3, 11_000).is_some(),
            "the next window"
        );
    }
}
