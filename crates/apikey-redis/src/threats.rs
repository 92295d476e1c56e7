//! [`RedisThreatShare`]: a network block one instance's threat detector made
//! ([`apikey_core::threat`]) applied by every instance. Each block is kept in one hash (network →
//! end, so an instance that subscribes later catches up) and published on the cache's channel as
//! `"block <network> <until ms>"`, which every [`RevocationListener`](crate::RevocationListener)
//! applies with [`Verifier::block_network`](apikey_core::Verifier::block_network).
//!
//! It also merges the network-spread detector's per-key sketches (one Redis string per key and
//! window, its bits set with `SETBIT`, an atomic OR) and adds up the network detectors' counts
//! across instances
//! ([`SharedThreatCounts`]): each usage flush adds an instance's tallies to one key per shared
//! window — a counter for revoked-key uses, a HyperLogLog of failing lookup ids for credential
//! stuffing (distinct across instances; Redis's estimate is exact at the sizes a threshold
//! has) — in one pipeline, each key expiring a minute after its window. So an attack spread
//! over the instances behind a load balancer is judged on its whole, and the block it earns
//! holds on every instance.

use std::fmt;
use std::time::Duration;

use apikey_core::log_throttle::LogThrottle;
use apikey_core::threat::{Detector, KeySketch, NetworkTally, Response, SharedThreatCounts};
use apikey_core::{Error, EventSink, KeyEvent, KeyEventKind, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ipnet::IpNet;
use redis::AsyncCommands;

use crate::cache::RedisCache;
use crate::conn::RedisConnection;

/// How long one share may take before it is given up (the block still holds on this instance).
const SHARE_BUDGET: Duration = Duration::from_secs(2);

/// An [`EventSink`] sharing the network blocks in `threat.detected` events through Redis (other
/// events pass by), and the [`SharedThreatCounts`] of the network detectors. Add it to the
/// verifier's events with the audit sink ([`FanOut`](apikey_core::event::FanOut)) and as its
/// [`threat_counts`](apikey_core::ApiKeysBuilder::threat_counts); the listeners on the same
/// cache apply the blocks.
#[derive(Clone)]
pub struct RedisThreatShare {
    conn: RedisConnection,
    channel: String,
    key: String,
    prefix: crate::keys::KeyPrefix,
}

impl fmt::Debug for RedisThreatShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisThreatShare")
            .field("channel", &self.channel)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The block a listener message carries: `"block <network> <until ms>"`.
pub(crate) fn parse_block(payload: &str) -> Option<(IpNet, DateTime<Utc>)> {
    let rest = payload.strip_prefix("block ")?;
    let (net, until) = rest.split_once(' ')?;
    Some((
        net.parse().ok()?,
        DateTime::from_timestamp_millis(until.parse().ok()?)?,
    ))
}

impl RedisThreatShare {
    /// Shares on `conn` under `cache`'s prefix and channel (the listeners' own).
    pub fn new(conn: RedisConnection, cache: &RedisCache) -> Self {
        Self {
            conn,
            channel: cache.channel().to_owned(),
            key: cache.prefix().threat_blocks(),
            prefix: cache.prefix().clone(),
        }
    }

    /// Records and publishes a block of `network` until `until`.
    pub async fn share(&self, network: IpNet, until: DateTime<Utc>) -> Result<()> {
        let until_ms = until.timestamp_millis();
        let mut conn = self.conn.clone();
        let net = network.to_string();
        // Two commands, not one pipeline: on a cluster the hash and the channel live in
        // different slots. Recorded first, so an instance that subscribes between the two
        // still reads it.
        let work = async {
            let _: () = conn.hset(&self.key, &net, until_ms).await?;
            let _: i64 = conn
                .publish(&self.channel, format!("block {net} {until_ms}"))
                .await?;
            Ok::<_, redis::RedisError>(())
        };
        tokio::time::timeout(SHARE_BUDGET, work)
            .await
            .map_err(|_| Error::unavailable("sharing a network block timed out"))?
            .map_err(|e| Error::unavailable("could not share a network block").with_source(e))
    }

    /// The blocks still running at `now` (and forgets the ended ones).
    pub async fn active(&self, now: DateTime<Utc>) -> Result<Vec<(IpNet, DateTime<Utc>)>> {
        let mut conn = self.conn.clone();
        let all: Vec<(String, i64)> = conn.hgetall(&self.key).await.map_err(|e| {
            Error::unavailable("could not read shared network blocks").with_source(e)
        })?;
        let now_ms = now.timestamp_millis();
        let mut active = Vec::new();
        let mut ended = Vec::new();
        for (net, until_ms) in all {
            match (
                net.parse::<IpNet>(),
                DateTime::from_timestamp_millis(until_ms),
            ) {
                (Ok(n), Some(until)) if until_ms > now_ms => active.push((n, until)),
                _ => ended.push(net),
            }
        }
        if !ended.is_empty() {
            let _: i64 = conn.hdel(&self.key, &ended).await.map_err(|e| {
                Error::unavailable("could not forget ended network blocks").with_source(e)
            })?;
        }
        Ok(active)
    }
}

#[async_trait]
impl SharedThreatCounts for RedisThreatShare {
    async fn add(&self, tallies: &[NetworkTally]) -> Result<Vec<u64>> {
        if tallies.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for t in tallies {
            let key = self.prefix.threat_count(
                t.detector.as_str(),
                &t.network.to_string(),
                t.window_start.timestamp_millis(),
            );
            if t.detector == Detector::CredentialStuffing {
                // The hashes as decimal strings: what is counted is only their distinctness.
                let ids: Vec<String> = t.distinct.iter().map(u64::to_string).collect();
                pipe.cmd("PFADD").arg(&key).arg(ids).ignore();
                pipe.cmd("PFCOUNT").arg(&key);
            } else {
                pipe.incr(&key, t.events);
            }
            let expire_ms = t.window_end().timestamp_millis().saturating_add(60_000);
            pipe.cmd("PEXPIREAT").arg(&key).arg(expire_ms).ignore();
        }
        let mut conn = self.conn.clone();
        let totals: Vec<u64> = tokio::time::timeout(SHARE_BUDGET, pipe.query_async(&mut conn))
            .await
            .map_err(|_| Error::unavailable("adding up threat counts timed out"))?
            .map_err(|e| Error::unavailable("could not add up threat counts").with_source(e))?;
        Ok(totals)
    }

    async fn merge_sketches(&self, sketches: &[KeySketch]) -> Result<Vec<u64>> {
        if sketches.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for s in sketches {
            let key = self.prefix.threat_count(
                Detector::NetworkSpread.as_str(),
                &s.key.to_string(),
                s.window_start.timestamp_millis(),
            );
            // Bit i of the sketch is offset i of the string: SETBIT is an atomic OR of one bit.
            for i in 0..64u32 {
                if s.sketch & (1 << i) != 0 {
                    pipe.cmd("SETBIT").arg(&key).arg(i).arg(1).ignore();
                }
            }
            pipe.get(&key);
            let expire_ms = (s.window_start + s.window)
                .timestamp_millis()
                .saturating_add(60_000);
            pipe.cmd("PEXPIREAT").arg(&key).arg(expire_ms).ignore();
        }
        let mut conn = self.conn.clone();
        let merged: Vec<Option<Vec<u8>>> =
            tokio::time::timeout(SHARE_BUDGET, pipe.query_async(&mut conn))
                .await
                .map_err(|_| Error::unavailable("merging network sketches timed out"))?
                .map_err(|e| {
                    Error::unavailable("could not merge network sketches").with_source(e)
                })?;
        Ok(merged.iter().map(|b| sketch_of(b.as_deref())).collect())
    }
}

/// A sketch from its Redis string: offset `i` (bit `7 - i % 8` of byte `i / 8`) is bit `i`.
fn sketch_of(bytes: Option<&[u8]>) -> u64 {
    let mut sketch = 0u64;
    for (i, byte) in bytes.unwrap_or_default().iter().take(8).enumerate() {
        for b in 0..8 {
            if byte & (0x80 >> b) != 0 {
                sketch |= 1 << (i * 8 + b);
            }
        }
    }
    sketch
}

#[async_trait]
impl EventSink for RedisThreatShare {
    async fn emit(&self, e: &KeyEvent) {
        let KeyEventKind::ThreatDetected {
            network: Some(network),
            response: Response::Blocked { until },
            ..
        } = &e.kind
        else {
            return;
        };
        let Ok(net) = network.parse::<IpNet>() else {
            return;
        };
        if let Err(err) = self.share(net, *until).await {
            static SHARE_LOG: LogThrottle = LogThrottle::new(crate::OUTAGE_LOG_INTERVAL);
            if let Some(suppressed) = SHARE_LOG.allow_monotonic() {
                tracing::warn!(error = %err, %net, suppressed, "a network block was not shared; it holds on this instance only");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sketch_reads_back_from_its_setbit_offsets() {
        // Offsets 0, 9 and 63 set: bytes 0x80, 0x40, …, 0x01.
        let bytes = [0x80, 0x40, 0, 0, 0, 0, 0, 0x01];
        assert_eq!(sketch_of(Some(&bytes)), 1 | (1 << 9) | (1 << 63));
        assert_eq!(sketch_of(None), 0);
        assert_eq!(sketch_of(Some(&[0xff])), 0xff);
    }

    #[test]
    fn block_messages_parse_and_nonsense_does_not() {
        let (net, until) = parse_block("block 203.0.113.9/32 1790000000000").unwrap();
        assert_eq!(net.to_string(), "203.0.113.9/32");
        assert_eq!(until.timestamp_millis(), 1_790_000_000_000);
        assert!(parse_block("block 2001:db8::/64 5").is_some());
        for bad in [
            "block",
            "block x 5",
            "block 10.0.0.0/8",
            "blocks 10.0.0.0/8 5",
            "block 10.0.0.0/8 x",
        ] {
            assert!(parse_block(bad).is_none(), "{bad}");
        }
    }
}
