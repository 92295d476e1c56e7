//! [`AuthFailureLog`]: failed verifications into the audit log, aggregated per client network
//! per interval. The verifier reports a failure once per new (address, lookup id) pair and on
//! each block ([`KeyEventKind::AuthFailed`]); lookup ids are public and free to invent, so
//! writing those reports one by one would let anyone fill the log (and every webhook receiver)
//! with 100,000 events by trying 100,000 random ids. Here they become one `auth.failures` event
//! per network, interval and instance, with counts and a few sample ids.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ipnet::IpNet;
use parking_lot::Mutex;
use serde_json::json;

use super::{AuditEvent, AuditStore, EventType};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::event::{EventSink, KeyEvent, KeyEventKind};
use crate::ids::LookupId;

/// Sample lookup ids kept per event.
const SAMPLES: usize = 10;

/// How reports are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthFailureConfig {
    /// The interval one event covers (one minute by default), aligned to the Unix epoch.
    pub interval: Duration,
    /// IPv4 clients are grouped per network of this prefix length (24).
    pub ipv4_prefix: u8,
    /// IPv6 clients are grouped per network of this prefix length (48).
    pub ipv6_prefix: u8,
    /// Most networks tracked per interval; past it, reports count under `"network": "other"`, so
    /// a botnet cannot grow the table without bound.
    pub max_networks: usize,
}

impl Default for AuthFailureConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            ipv4_prefix: 24,
            ipv6_prefix: 48,
            max_networks: 10_000,
        }
    }
}

#[derive(Debug, Default)]
struct Tally {
    reports: u64,
    blocks: u64,
    samples: BTreeSet<String>,
}

/// `None` is the overflow bucket (and clients with no known address, which share it).
type Bucket = (i64, Option<IpNet>);

/// The open tallies, and how many networks each interval tracks (for the bound).
#[derive(Debug, Default)]
struct Open {
    tallies: HashMap<Bucket, Tally>,
    networks: HashMap<i64, usize>,
}

impl Open {
    fn tally(&mut self, interval: i64, net: Option<IpNet>, max: usize) -> &mut Tally {
        let mut net = net;
        if net.is_some() && !self.tallies.contains_key(&(interval, net)) {
            let n = self.networks.entry(interval).or_default();
            if *n >= max {
                net = None;
            } else {
                *n += 1;
            }
        }
        self.tallies.entry((interval, net)).or_default()
    }

    fn take(&mut self, key: Bucket) -> Option<Tally> {
        let t = self.tallies.remove(&key)?;
        if key.1.is_some()
            && let Some(n) = self.networks.get_mut(&key.0)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.networks.remove(&key.0);
            }
        }
        Some(t)
    }
}

/// An [`EventSink`] that aggregates `AuthFailed` reports (see the [module docs](self)) and
/// writes them with [`flush_ended`](Self::flush_ended) — which [`start`](Self::start) calls on a
/// timer — and [`flush_all`](Self::flush_all) at shutdown. Other events pass by untouched.
#[derive(Debug)]
pub struct AuthFailureLog {
    audit: Arc<dyn AuditStore>,
    clock: Arc<dyn Clock>,
    config: AuthFailureConfig,
    interval_ms: i64,
    /// Distinguishes this process's events from another instance's for the same network and
    /// interval (each counts what it saw; together they add up).
    instance: String,
    open: Mutex<Open>,
}

impl AuthFailureLog {
    /// Aggregates into `audit` on `clock`. `InvalidInput` for an interval under a second or a
    /// prefix longer than the address.
    pub fn new(
        audit: Arc<dyn AuditStore>,
        clock: Arc<dyn Clock>,
        config: AuthFailureConfig,
    ) -> Result<Self> {
        let interval_ms = i64::try_from(config.interval.as_millis()).unwrap_or(i64::MAX);
        if interval_ms < 1000 || config.ipv4_prefix > 32 || config.ipv6_prefix > 128 {
            return Err(Error::invalid(
                "auth failure log",
                "needs an interval of at least 1 s and prefixes within the address length",
            ));
        }
        Ok(Self {
            audit,
            clock,
            config,
            interval_ms,
            instance: uuid::Uuid::now_v7().to_string(),
            open: Mutex::new(Open::default()),
        })
    }

    fn network(&self, ip: IpAddr) -> Option<IpNet> {
        let prefix = match ip {
            IpAddr::V4(_) => self.config.ipv4_prefix,
            IpAddr::V6(_) => self.config.ipv6_prefix,
        };
        IpNet::new(ip, prefix).ok().map(|n| n.trunc())
    }

    fn record(&self, at: DateTime<Utc>, ip: Option<IpAddr>, id: Option<LookupId>, blocked: bool) {
        let interval = at.timestamp_millis().div_euclid(self.interval_ms);
        let net = ip.and_then(|ip| self.network(ip));
        let mut open = self.open.lock();
        let tally = open.tally(interval, net, self.config.max_networks);
        if blocked {
            tally.blocks += 1;
        } else {
            tally.reports += 1;
        }
        if let Some(id) = id
            && tally.samples.len() < SAMPLES
        {
            tally.samples.insert(id.as_str().to_owned());
        }
    }

    /// Writes the intervals that have ended by now; how many events were written. Safe to call
    /// from several tasks (each interval is taken out once; a failed write puts it back).
    pub async fn flush_ended(&self) -> Result<usize> {
        let current = self
            .clock
            .now()
            .timestamp_millis()
            .div_euclid(self.interval_ms);
        self.flush(|interval| interval < current).await
    }

    /// Writes every interval, ended or not (at shutdown).
    pub async fn flush_all(&self) -> Result<usize> {
        self.flush(|_| true).await
    }

    async fn flush(&self, take: impl Fn(i64) -> bool) -> Result<usize> {
        let taken: Vec<(Bucket, Tally)> = {
            let mut open = self.open.lock();
            let keys: Vec<Bucket> = open
                .tallies
                .keys()
                .filter(|(i, _)| take(*i))
                .copied()
                .collect();
            keys.into_iter()
                .filter_map(|k| open.take(k).map(|t| (k, t)))
                .collect()
        };
        let mut written = 0;
        let mut failed = None;
        let mut back = Vec::new();
        for ((interval, net), tally) in taken {
            if failed.is_some() {
                back.push(((interval, net), tally));
                continue;
            }
            match self.audit.append(&self.event(interval, net, &tally)).await {
                Ok(_) => written += 1,
                Err(e) => {
                    failed = Some(e);
                    back.push(((interval, net), tally));
                }
            }
        }
        if !back.is_empty() {
            let mut open = self.open.lock();
            for ((interval, net), t) in back {
                let merged = open.tally(interval, net, usize::MAX);
                merged.reports += t.reports;
                merged.blocks += t.blocks;
                merged.samples.extend(t.samples);
            }
        }
        failed.map_or(Ok(written), Err)
    }

    fn event(&self, interval: i64, net: Option<IpNet>, t: &Tally) -> AuditEvent {
        let from = DateTime::from_timestamp_millis(interval.saturating_mul(self.interval_ms))
            .unwrap_or_default();
        let until = DateTime::from_timestamp_millis(
            interval.saturating_add(1).saturating_mul(self.interval_ms),
        )
        .unwrap_or_default();
        let network = net.map_or_else(|| "other".to_owned(), |n| n.to_string());
        let data = json!({
            "network": network,
            "from": from,
            "until": until,
            "failing_ids": t.reports,
            "blocks": t.blocks,
            "sample_lookup_ids": t.samples,
        });
        AuditEvent::system(
            EventType::AuthFailures,
            None,
            None,
            until,
            Some(data),
            &[&network, &interval.to_string(), &self.instance],
        )
    }

    /// Flushes ended intervals every half interval on tokio's timer until the log is dropped by
    /// every other owner; failures are logged and retried on the next tick.
    pub fn start(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        let every = self.config.interval / 2;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(log) = weak.upgrade() else { return };
                if let Err(e) = log.flush_ended().await {
                    tracing::warn!(error = %e, "could not write aggregated auth failures");
                }
            }
        })
    }
}

#[async_trait]
impl EventSink for AuthFailureLog {
    async fn emit(&self, event: &KeyEvent) {
        if let KeyEventKind::AuthFailed {
            lookup_id,
            client_ip,
            blocked,
            ..
        } = &event.kind
        {
            self.record(event.at, *client_ip, *lookup_id, *blocked);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditFilter;
    use crate::clock::ManualClock;
    use crate::ids::TenantScope;

    fn failed(at: DateTime<Utc>, ip: &str, blocked: bool) -> KeyEvent {
        KeyEvent {
            kind: KeyEventKind::AuthFailed {
                lookup_id: Some(LookupId::generate()),
                client_ip: Some(ip.parse().unwrap()),
                failures: 1,
                blocked,
            },
            key_id: None,
            tenant_id: None,
            actor: None,
            at,
        }
    }

    #[tokio::test]
    async fn a_hundred_thousand_random_ids_are_a_handful_of_events() {
        let store = Arc::new(kept::Log::default());
        let clock = ManualClock::fixed();
        let log = AuthFailureLog::new(
            store.clone(),
            Arc::new(clock.clone()),
            AuthFailureConfig::default(),
        )
        .unwrap();
        let t = clock.now();
        for i in 0..100_000u32 {
            let ip = format!("203.0.113.{}", i % 200);
            log.emit(&failed(t, &ip, false)).await;
        }
        log.emit(&failed(t, "2001:db8:1:2::9", true)).await;
        log.emit(&failed(t, "2001:db8:1:3::9", false)).await;
        assert_eq!(log.flush_ended().await.unwrap(), 0, "interval still open");
        clock.advance(chrono::Duration::seconds(61));
        assert_eq!(log.flush_ended().await.unwrap(), 2);
        let events = store.0.lock().clone();
        let v4 = events
            .iter()
            .find(|e| e.data.as_ref().unwrap()["network"] == "203.0.113.0/24")
            .unwrap();
        let data = v4.data.as_ref().unwrap();
        assert_eq!(data["failing_ids"], 100_000);
        assert_eq!(data["sample_lookup_ids"].as_array().unwrap().len(), SAMPLES);
        assert_eq!(v4.event_type, EventType::AuthFailures);
        let v6 = events
            .iter()
            .find(|e| e.data.as_ref().unwrap()["network"] == "2001:db8:1::/48")
            .unwrap();
        assert_eq!(v6.data.as_ref().unwrap()["blocks"], 1);
        assert_eq!(v6.data.as_ref().unwrap()["failing_ids"], 1);
        assert_eq!(log.flush_all().await.unwrap(), 0, "nothing left");
    }

    #[tokio::test]
    async fn networks_past_the_bound_share_one_bucket() {
        let store = Arc::new(kept::Log::default());
        let clock = ManualClock::fixed();
        let log = AuthFailureLog::new(
            store.clone(),
            Arc::new(clock.clone()),
            AuthFailureConfig {
                max_networks: 3,
                ..AuthFailureConfig::default()
            },
        )
        .unwrap();
        for i in 0..50u32 {
            log.emit(&failed(clock.now(), &format!("198.51.{i}.1"), false))
                .await;
        }
        assert_eq!(
            log.flush_all().await.unwrap(),
            4,
            "three networks and other"
        );
        let events = store.0.lock().clone();
        let other = events
            .iter()
            .find(|e| e.data.as_ref().unwrap()["network"] == "other")
            .unwrap();
        assert_eq!(other.data.as_ref().unwrap()["failing_ids"], 47);
    }

    /// A minimal audit store that keeps what is appended (the memory store's crate would bring
    /// a second copy of this crate's types into its unit tests).
    mod kept {
        use super::*;

        #[derive(Debug, Default)]
        pub(super) struct Log(pub(super) Mutex<Vec<AuditEvent>>);

        #[async_trait]
        impl AuditStore for Log {
            async fn query(&self, _: &TenantScope, _: &AuditFilter) -> Result<Vec<AuditEvent>> {
                Ok(self.0.lock().clone())
            }
            async fn append(&self, e: &AuditEvent) -> Result<bool> {
                self.0.lock().push(e.clone());
                Ok(true)
            }
            async fn read_after(&self, _: u64, _: u32) -> Result<Vec<AuditEvent>> {
                Ok(Vec::new())
            }
            async fn last_position(&self) -> Result<u64> {
                Ok(0)
            }
            async fn cursors(&self) -> Result<Vec<crate::audit::ReaderCursor>> {
                Ok(Vec::new())
            }
            async fn save_cursor(&self, _: &str, _: u64) -> Result<()> {
                Ok(())
            }
            async fn remove_cursor(&self, _: &str) -> Result<bool> {
                Ok(false)
            }
            async fn purge_before(&self, _: DateTime<Utc>) -> Result<u64> {
                Ok(0)
            }
        }
    }
}
