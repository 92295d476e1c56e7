//! What a detector found, and what was done about it: the `threat.detected` event's content.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::event::{KeyEvent, KeyEventKind};
use crate::ids::{KeyId, TenantId};

/// Which detector fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Detector {
    /// Many lookup ids failing from one network.
    CredentialStuffing,
    /// Revoked or expired keys used again and again from one network.
    RevokedKeyUse,
    /// One key used from many networks.
    NetworkSpread,
    /// One key's rate far above its baseline.
    RateSurge,
}

impl Detector {
    /// The name events carry in `data.detector`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CredentialStuffing => "credential_stuffing",
            Self::RevokedKeyUse => "revoked_key_use",
            Self::NetworkSpread => "network_spread",
            Self::RateSurge => "rate_surge",
        }
    }
}

/// What was done when a detector fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Response {
    /// Reported only.
    Observed,
    /// The network is refused until then.
    Blocked {
        /// The end of the block.
        until: DateTime<Utc>,
    },
    /// The key is suspended.
    Suspended,
}

/// One detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Threat {
    pub(crate) detector: Detector,
    /// The key, for the per-key detectors.
    pub(crate) key: Option<(KeyId, Option<TenantId>)>,
    /// The client network, for the per-network detectors.
    pub(crate) network: Option<IpNet>,
    /// What was counted (ids, uses, networks, requests per minute).
    pub(crate) observed: u64,
    /// What firing needed.
    pub(crate) threshold: u64,
    /// The baseline, for a rate surge (requests per minute, rounded down).
    pub(crate) baseline: Option<u64>,
    pub(crate) window: Duration,
    pub(crate) response: Response,
    pub(crate) at: DateTime<Utc>,
}

impl Threat {
    /// The event that reports it.
    pub(crate) fn event(&self) -> KeyEvent {
        let (key_id, tenant_id) = match &self.key {
            Some((k, t)) => (Some(*k), t.clone()),
            None => (None, None),
        };
        KeyEvent {
            kind: KeyEventKind::ThreatDetected {
                detector: self.detector,
                network: self.network.map(|n| n.to_string()),
                observed: self.observed,
                threshold: self.threshold,
                baseline: self.baseline,
                window_secs: self.window.as_secs(),
                response: self.response,
            },
            key_id,
            tenant_id,
            actor: None,
            at: self.at,
        }
    }
}
