//! The failed-auth limiter: counts failed verifications per (client network, lookup id) in a fixed
//! window and blocks that pair once it passes the limit. Lookup ids are public, so without it anyone
//! could make the server run argon2 or bcrypt at will.
//!
//! Unknown ids are counted exactly like known ones, so a block reveals nothing about existence.
//! Failures are reported as aggregated events: on the first failure of a window and on blocking.
//!
//! The table is bounded, and an attacker must not be able to empty it by filling it: when full,
//! it drops ended windows, then windows that block nothing, never an active block. A table full of
//! active blocks counts further failures per client network alone (a coarser key), so a flood of
//! fresh ids from one network still ends in a block rather than in nothing.
//!
//! The threat detectors' network blocks ([`NetworkAction::Block`](crate::threat::NetworkAction))
//! live here too, as network-wide entries with their own end: they refuse every request from
//! the network, a correct secret included, and count as active blocks for the table's bound.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use ipnet::IpNet;
use parking_lot::Mutex;

use crate::ids::LookupId;

/// What the failure counter is keyed by besides the client network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FailSubject {
    Lookup(LookupId),
    /// A legacy token's 8-character prefix (secret: never logged).
    Legacy([u8; 8]),
}

/// The counter's key: the subject, or the whole network once the table is full of blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Counted {
    Subject(FailSubject),
    Network,
    /// A threat detector's block of the whole network (until [`Window::until_ms`]).
    Blocked,
}

/// Limits of the failed-auth limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedAuthPolicy {
    /// Failures allowed per window before the pair is blocked.
    pub max_failures: u32,
    /// The window.
    pub window: Duration,
    /// Most (network, id) pairs tracked. When full: ended windows go first, then windows that
    /// block nothing; active blocks are never dropped.
    pub max_tracked: usize,
    /// IPv4 clients are counted per network of this prefix length (32: one address).
    pub ipv4_prefix: u8,
    /// IPv6 clients are counted per network of this prefix length (64: one client usually holds
    /// a whole /64, so counting single addresses would let it rotate through 2⁶⁴ of them).
    pub ipv6_prefix: u8,
    /// Store reads per client network for lookup ids that turn out unknown: `burst` at once, then
    /// one per `refill`. Past it, a cache miss from that network is answered 401 without reading
    /// the store until the budget refills (keys already cached keep verifying).
    pub unknown_reads: UnknownReadBudget,
}

/// See [`FailedAuthPolicy::unknown_reads`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownReadBudget {
    /// Unknown-id reads a network may make back to back.
    pub burst: u32,
    /// How long it takes to earn one read back.
    pub refill: Duration,
}

impl Default for FailedAuthPolicy {
    fn default() -> Self {
        Self {
            max_failures: 20,
            window: Duration::from_secs(60),
            max_tracked: 100_000,
            ipv4_prefix: 32,
            ipv6_prefix: 64,
            unknown_reads: UnknownReadBudget {
                burst: 100,
                refill: Duration::from_millis(100),
            },
        }
    }
}

/// The network `ip` is counted under (IPv4-mapped IPv6 counts as IPv4).
pub(crate) fn client_net(ip: Option<IpAddr>, policy: &FailedAuthPolicy) -> Option<IpNet> {
    let ip = ip?.to_canonical();
    let prefix = match ip {
        IpAddr::V4(_) => policy.ipv4_prefix.min(32),
        IpAddr::V6(_) => policy.ipv6_prefix.min(128),
    };
    IpNet::new(ip, prefix).ok().map(|n| n.trunc())
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start_ms: i64,
    failures: u32,
    /// A detector's block ends then (0: none).
    until_ms: i64,
}

impl Window {
    const fn new(start_ms: i64) -> Self {
        Self {
            start_ms,
            failures: 0,
            until_ms: 0,
        }
    }
}

/// What recording a failure led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recorded {
    pub(crate) failures: u32,
    /// Report this one (first failure in the window, or the one that blocked).
    pub(crate) report: bool,
    /// `Some(retry_after)` when the pair (or its network) is now blocked.
    pub(crate) blocked: Option<Duration>,
}

type Key = (Option<IpNet>, Counted);

#[derive(Debug, Default)]
struct Table {
    windows: HashMap<Key, Window, foldhash::fast::RandomState>,
    /// Until when the table is known to hold nothing it may drop (all active blocks).
    full_until_ms: i64,
}

#[derive(Debug)]
pub(crate) struct FailedAuth {
    policy: FailedAuthPolicy,
    table: Mutex<Table>,
    /// Whether any failure was ever recorded: until then the check on a miss takes no lock.
    any: AtomicBool,
    /// The end of the latest detector block: before it, every verification looks its network up;
    /// after it (the usual case), none takes the lock.
    blocks_until_ms: AtomicI64,
}

impl FailedAuth {
    pub(crate) fn new(policy: FailedAuthPolicy) -> Self {
        Self {
            policy,
            table: Mutex::new(Table::default()),
            any: AtomicBool::new(false),
            blocks_until_ms: AtomicI64::new(0),
        }
    }

    pub(crate) fn policy(&self) -> &FailedAuthPolicy {
        &self.policy
    }

    fn window_ms(&self) -> i64 {
        i64::try_from(self.policy.window.as_millis())
            .unwrap_or(i64::MAX)
            .max(1)
    }

    fn block_left(&self, w: &Window, now_ms: i64) -> Option<Duration> {
        let window_ends = w.start_ms.saturating_add(self.window_ms());
        let ends = if w.failures >= self.policy.max_failures {
            window_ends.max(w.until_ms)
        } else {
            w.until_ms
        };
        (ends > now_ms).then(|| Duration::from_millis(u64::try_from(ends - now_ms).unwrap_or(0)))
    }

    /// When the entry stops mattering: its window's end, or its block's.
    fn ends(&self, w: &Window) -> i64 {
        w.start_ms.saturating_add(self.window_ms()).max(w.until_ms)
    }

    /// Refuses every request from `ip`'s network until `until_ms` (a threat detector's block);
    /// a longer block already there stays. The network is returned for the report.
    pub(crate) fn block_network(&self, ip: IpAddr, now_ms: i64, until_ms: i64) -> Option<IpNet> {
        let net = client_net(Some(ip), &self.policy)?;
        let mut table = self.table.lock();
        let key = (Some(net), Counted::Blocked);
        if !table.windows.contains_key(&key) && !self.make_room(&mut table, now_ms) {
            // Full of active blocks: the network's own failure counter carries this one.
            let w = table
                .windows
                .entry((Some(net), Counted::Network))
                .or_insert(Window::new(now_ms));
            w.until_ms = w.until_ms.max(until_ms);
        } else {
            let w = table.windows.entry(key).or_insert(Window::new(now_ms));
            w.until_ms = w.until_ms.max(until_ms);
        }
        self.any.store(true, Ordering::Relaxed);
        self.blocks_until_ms.fetch_max(until_ms, Ordering::Relaxed);
        Some(net)
    }

    /// `Some(retry_after)` while a detector's block covers `ip`'s network. One atomic load
    /// unless a block is active somewhere.
    #[inline]
    pub(crate) fn network_blocked(&self, ip: Option<IpAddr>, now_ms: i64) -> Option<Duration> {
        if now_ms >= self.blocks_until_ms.load(Ordering::Relaxed) {
            return None;
        }
        self.network_block_left(ip?, now_ms)
    }

    #[cold]
    fn network_block_left(&self, ip: IpAddr, now_ms: i64) -> Option<Duration> {
        let net = client_net(Some(ip), &self.policy);
        let table = self.table.lock();
        [Counted::Blocked, Counted::Network]
            .iter()
            .filter_map(|c| table.windows.get(&(net, *c)))
            .filter(|w| w.until_ms > now_ms)
            .filter_map(|w| self.block_left(w, now_ms))
            .max()
    }

    /// `Some(retry_after)` when the pair, or its whole network, is blocked.
    pub(crate) fn blocked(
        &self,
        ip: Option<IpAddr>,
        subject: FailSubject,
        now_ms: i64,
    ) -> Option<Duration> {
        if !self.any.load(Ordering::Relaxed) {
            return None;
        }
        let net = client_net(ip, &self.policy);
        let table = self.table.lock();
        [
            Counted::Subject(subject),
            Counted::Network,
            Counted::Blocked,
        ]
        .iter()
        .filter_map(|c| table.windows.get(&(net, *c)))
        .filter_map(|w| self.block_left(w, now_ms))
        .max()
    }

    pub(crate) fn record(&self, ip: Option<IpAddr>, subject: FailSubject, now_ms: i64) -> Recorded {
        let window_ms = self.window_ms();
        self.any.store(true, Ordering::Relaxed);
        let net = client_net(ip, &self.policy);
        let mut table = self.table.lock();
        let mut key = (net, Counted::Subject(subject));
        if !table.windows.contains_key(&key) && !self.make_room(&mut table, now_ms) {
            key = (net, Counted::Network);
        }
        let w = table.windows.entry(key).or_insert(Window::new(now_ms));
        if w.start_ms.saturating_add(window_ms) <= now_ms {
            let until_ms = w.until_ms;
            *w = Window::new(now_ms);
            w.until_ms = until_ms;
        }
        w.failures = w.failures.saturating_add(1);
        let w = *w;
        let network = [Counted::Network, Counted::Blocked]
            .iter()
            .filter_map(|c| table.windows.get(&(net, *c)))
            .filter_map(|n| self.block_left(n, now_ms))
            .max();
        Recorded {
            failures: w.failures,
            report: w.failures == 1 || w.failures == self.policy.max_failures,
            blocked: self.block_left(&w, now_ms).max(network),
        }
    }

    /// Makes room for one more window; `false` when the table holds only active blocks.
    fn make_room(&self, table: &mut Table, now_ms: i64) -> bool {
        if table.windows.len() < self.policy.max_tracked.max(1) {
            return true;
        }
        if table.full_until_ms > now_ms {
            return false;
        }
        let max = self.policy.max_failures;
        // Ended windows first.
        table.windows.retain(|_, w| self.ends(w) > now_ms);
        let target = self.policy.max_tracked.max(1) * 9 / 10;
        if table.windows.len() > target {
            // Then windows that block nothing, most failures kept longest.
            let mut open: Vec<(Key, u32)> = table
                .windows
                .iter()
                .filter(|(_, w)| w.failures < max && w.until_ms <= now_ms)
                .map(|(k, w)| (*k, w.failures))
                .collect();
            open.sort_unstable_by_key(|(_, failures)| *failures);
            let excess = table.windows.len() - target;
            for (k, _) in open.into_iter().take(excess) {
                table.windows.remove(&k);
            }
        }
        if table.windows.len() < self.policy.max_tracked.max(1) {
            return true;
        }
        // Only active blocks are left: nothing can be dropped before the first of them ends.
        table.full_until_ms = table
            .windows
            .values()
            .map(|w| self.ends(w))
            .min()
            .unwrap_or(now_ms);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_tracked: usize) -> FailedAuthPolicy {
        FailedAuthPolicy {
            max_failures: 3,
            window: Duration::from_secs(10),
            max_tracked,
            ..FailedAuthPolicy::default()
        }
    }

    #[test]
    fn blocks_after_max_failures_until_window_ends() {
        let f = FailedAuth::new(policy(10));
        let ip = Some("10.0.0.1".parse().unwrap());
        let s = FailSubject::Lookup(LookupId::generate());
        assert!(f.record(ip, s, 0).report);
        assert!(!f.record(ip, s, 1).report);
        assert_eq!(f.blocked(ip, s, 2), None);
        let third = f.record(ip, s, 2);
        assert!(third.blocked.is_some() && third.report);
        assert_eq!(f.blocked(ip, s, 4_000), Some(Duration::from_secs(6)));
        assert_eq!(
            f.blocked(None, s, 4_000),
            None,
            "other addresses are not affected"
        );
        assert_eq!(f.blocked(ip, s, 10_000), None);
    }

    #[test]
    fn a_full_table_never_drops_an_active_block() {
        let f = FailedAuth::new(policy(100));
        let victim_ip = Some("192.0.2.7".parse().unwrap());
        let victim = FailSubject::Lookup(LookupId::generate());
        for t in 0..3 {
            f.record(victim_ip, victim, t);
        }
        assert!(f.blocked(victim_ip, victim, 10).is_some());
        // An attacker floods the table with fresh ids from many addresses.
        for i in 0..10_000u32 {
            let ip = Some(IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i)));
            f.record(ip, FailSubject::Lookup(LookupId::generate()), 20);
        }
        assert!(
            f.blocked(victim_ip, victim, 30).is_some(),
            "the block survived the flood"
        );
        assert!(f.table.lock().windows.len() <= 100);
    }

    #[test]
    fn a_table_full_of_blocks_falls_back_to_the_network() {
        let f = FailedAuth::new(policy(4));
        for n in 0..4u8 {
            let ip = Some(IpAddr::from([10, 0, 0, n]));
            let s = FailSubject::Lookup(LookupId::generate());
            for t in 0..3 {
                f.record(ip, s, t);
            }
        }
        let attacker = Some("203.0.113.9".parse().unwrap());
        let mut last = None;
        for _ in 0..3 {
            last = Some(f.record(attacker, FailSubject::Lookup(LookupId::generate()), 5));
        }
        assert!(last.unwrap().blocked.is_some(), "counted per network");
        let fresh = FailSubject::Lookup(LookupId::generate());
        assert!(
            f.blocked(attacker, fresh, 6).is_some(),
            "the network is blocked"
        );
    }

    #[test]
    fn a_detector_block_refuses_the_network_until_it_ends_and_survives_a_flood() {
        let f = FailedAuth::new(policy(50));
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(f.network_blocked(Some(ip), 0), None);
        let net = f.block_network(ip, 0, 60_000).unwrap();
        assert_eq!(net.to_string(), "203.0.113.9/32");
        assert_eq!(
            f.network_blocked(Some(ip), 1_000),
            Some(Duration::from_secs(59))
        );
        assert_eq!(
            f.network_blocked(Some("203.0.113.10".parse().unwrap()), 1_000),
            None,
            "only that network"
        );
        assert_eq!(f.network_blocked(None, 1_000), None);
        for i in 0..5_000u32 {
            let other = Some(IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i)));
            f.record(other, FailSubject::Lookup(LookupId::generate()), 2_000);
        }
        assert!(f.network_blocked(Some(ip), 30_000).is_some(), "kept");
        let s = FailSubject::Lookup(LookupId::generate());
        assert!(
            f.record(Some(ip), s, 30_000).blocked.is_some(),
            "a failure from the network reports the block"
        );
        assert_eq!(f.network_blocked(Some(ip), 60_000), None, "ended");
    }

    #[test]
    fn ipv6_clients_count_per_64_and_mapped_ipv4_as_ipv4() {
        let f = FailedAuth::new(policy(100));
        let s = FailSubject::Lookup(LookupId::generate());
        for (t, ip) in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9"]
            .into_iter()
            .enumerate()
        {
            f.record(Some(ip.parse().unwrap()), s, i64::try_from(t).unwrap());
        }
        let neighbour = Some("2001:db8:1:2:abcd::1".parse().unwrap());
        assert!(
            f.blocked(neighbour, s, 5).is_some(),
            "one /64 is one client"
        );
        let elsewhere = Some("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(f.blocked(elsewhere, s, 5), None);

        let s4 = FailSubject::Lookup(LookupId::generate());
        for t in 0..3 {
            f.record(Some("::ffff:198.51.100.4".parse().unwrap()), s4, t);
        }
        assert!(
            f.blocked(Some("198.51.100.4".parse().unwrap()), s4, 5)
                .is_some()
        );
    }
}
