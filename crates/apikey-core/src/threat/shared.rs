//! Counts the network detectors share across instances ([`SharedThreatCounts`]), so an attack
//! spread over the instances behind a load balancer is judged on its whole.
//!
//! The network-spread detector shares its per-key network sketches the same way
//! ([`SharedThreatCounts::merge_sketches`]): merged by OR into a fixed window, so a key used from
//! twenty networks through four instances is seen from twenty on each.
//!
//! Each instance keeps counting in process (that judges without any call), and also gathers
//! what it counted into [`NetworkTally`]s, one per network, detector and shared window. At
//! every usage flush it adds them to the shared counts in one call and learns the totals of all
//! instances; a total past the threshold fires the detector here, as a local count would (a
//! block, shared in turn; one `threat.detected` per window, the audit log keeping one across
//! instances). Nothing of this is on a verification's path.
//!
//! Shared windows are fixed on the clock — each starts at a multiple of its length since the
//! Unix epoch — so every instance counts into the same one. A failed call is dropped and
//! logged: the local counts still judge, so an outage of the shared store weakens detection to
//! what it is on one instance, and loses nothing else.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ipnet::IpNet;

use super::finding::Detector;
use crate::error::Result;
use crate::ids::KeyId;

/// Where the instances add up their network detectors' counts (`apikey_redis::RedisThreatShare`).
#[async_trait]
pub trait SharedThreatCounts: Send + Sync + fmt::Debug + 'static {
    /// Adds each tally to its shared window and returns, in the same order, what all instances
    /// have counted there: events added up, or distinct ids counted once whoever saw them (an
    /// estimate is fine: within a few percent).
    async fn add(&self, tallies: &[NetworkTally]) -> Result<Vec<u64>>;

    /// ORs each key's network sketch into its shared window and returns, in the same order,
    /// the window's sketch over all instances (the network-spread detector). The default
    /// shares nothing: it returns the sketches given, so the detector judges one instance's
    /// share of the key's networks.
    async fn merge_sketches(&self, sketches: &[KeySketch]) -> Result<Vec<u64>> {
        Ok(sketches.iter().map(|s| s.sketch).collect())
    }
}

/// The networks one instance saw a key used from, in one shared window of the network-spread
/// detector, since its last [`SharedThreatCounts::merge_sketches`]: bits of a 64-bit sketch
/// keyed alike on every instance (from the current pepper), so sketches merge by OR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySketch {
    /// The key.
    pub key: KeyId,
    /// The window's start: a multiple of `window` since the Unix epoch.
    pub window_start: DateTime<Utc>,
    /// The window's length (the detector's).
    pub window: Duration,
    /// The sketch's bits.
    pub sketch: u64,
}

/// What one instance counted of one detector, from one network, in one shared window, since
/// its last [`SharedThreatCounts::add`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkTally {
    /// The detector.
    pub detector: Detector,
    /// The client network (the failed-auth limiter's prefix).
    pub network: IpNet,
    /// The window's start: a multiple of `window` since the Unix epoch.
    pub window_start: DateTime<Utc>,
    /// The window's length (the detector's).
    pub window: Duration,
    /// Events counted (revoked key use); 0 for distinct counts.
    pub events: u64,
    /// Hashes of the failing lookup ids seen (credential stuffing), each once.
    pub distinct: Vec<u64>,
}

impl NetworkTally {
    /// The shared window of `window` holding `now_ms`, as (start ms, end ms).
    pub(crate) fn window_of(now_ms: i64, window: Duration) -> (i64, i64) {
        let len = i64::try_from(window.as_millis()).unwrap_or(i64::MAX).max(1);
        let start = now_ms.div_euclid(len) * len;
        (start, start.saturating_add(len))
    }

    /// When the window ends: its shared state may go then.
    pub fn window_end(&self) -> DateTime<Utc> {
        self.window_start + self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instance_agrees_on_the_window() {
        let w = Duration::from_secs(600);
        let (a, end) = NetworkTally::window_of(1_790_000_123_456, w);
        let (b, _) = NetworkTally::window_of(a + 599_999, w);
        assert_eq!(a, b);
        assert_eq!(a % 600_000, 0);
        assert_eq!(end - a, 600_000);
        assert_eq!(NetworkTally::window_of(end, w).0, end);
    }
}
