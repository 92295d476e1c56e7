//! Typed key events and the sinks that receive them (audit, webhooks, tracing).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{KeyId, LookupId, TenantId};

/// What happened to a key.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KeyEventKind {
    /// A key was created.
    Created,
    /// Its metadata, scopes, limits or rules changed.
    Updated,
    /// It was revoked.
    Revoked {
        /// Why.
        reason: Option<String>,
    },
    /// It was replaced by `new_key`.
    Rotated {
        /// The replacement.
        new_key: KeyId,
        /// Until when the old key still works.
        grace_until: Option<DateTime<Utc>>,
    },
    /// It was suspended.
    Suspended {
        /// Why.
        reason: Option<String>,
    },
    /// It was unsuspended.
    Unsuspended,
    /// A revoked key was restored.
    Restored,
    /// A pending key was approved.
    Approved,
    /// A pending key was rejected.
    Rejected {
        /// Why.
        reason: Option<String>,
    },
    /// It expired.
    Expired,
    /// Its rotation policy says it is due (notify mode).
    RotationDue {
        /// The policy's period.
        every_days: u32,
    },
    /// It expires within `days` days.
    Expiring {
        /// Days left.
        days: u32,
    },
    /// Failed verifications for one lookup id from one address, aggregated.
    AuthFailed {
        /// The lookup id presented (public); none for legacy tokens, whose prefix is secret.
        lookup_id: Option<LookupId>,
        /// Where from.
        client_ip: Option<IpAddr>,
        /// Failures in the current window so far.
        failures: u32,
        /// Whether that address is now blocked for that lookup id.
        blocked: bool,
    },
    /// The key's calendar quota crossed a threshold (80 % or 100 %) in its current period.
    QuotaThreshold {
        /// The threshold crossed, in percent.
        percent: u8,
        /// The quota's limit.
        limit: u64,
        /// Units used in the period after the charge that crossed it.
        used: u64,
        /// The first instant of the quota period.
        period_start: DateTime<Utc>,
        /// When the quota resets.
        resets_at: DateTime<Utc>,
    },
    /// A canary key's full secret was presented: it was planted, so whoever holds it found it.
    /// Reported once per key and incident window by each instance.
    CanaryTripped {
        /// Where from.
        client_ip: Option<IpAddr>,
        /// The client's `User-Agent`, if it sent one (truncated to 256 bytes).
        user_agent: Option<String>,
        /// The endpoint, when the guard names one (gRPC always; HTTP with endpoint limits on).
        route: Option<String>,
    },
    /// A threat detector fired ([`crate::threat`]): reported by the instance that counted it,
    /// with what it did.
    ThreatDetected {
        /// Which detector.
        detector: crate::threat::Detector,
        /// The client network, for the network detectors (`203.0.113.9/32`).
        network: Option<String>,
        /// What was counted: failing ids, uses of dead keys, networks, or requests per minute.
        observed: u64,
        /// What firing needed.
        threshold: u64,
        /// The key's baseline in requests per minute, for a rate surge.
        baseline: Option<u64>,
        /// The window counted over, in seconds.
        window_secs: u64,
        /// What was done.
        response: crate::threat::Response,
    },
    /// The key's stored hash is of a kind this deployment does not accept (for example a bcrypt
    /// hash on a key that is not a legacy import): someone wrote the row around the library, and
    /// without the pepper such a hash would mint a working key. The key does not verify.
    UntrustedHash {
        /// The hasher the stored hash names (`bcrypt`, `argon2id`).
        algorithm: String,
    },
}

impl KeyEventKind {
    /// A stable dotted name (`key.created`, …), as webhooks name them.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Created => "key.created",
            Self::Updated => "key.updated",
            Self::Revoked { .. } => "key.revoked",
            Self::Rotated { .. } => "key.rotated",
            Self::Suspended { .. } => "key.suspended",
            Self::Unsuspended => "key.unsuspended",
            Self::Restored => "key.restored",
            Self::Approved => "key.approved",
            Self::Rejected { .. } => "key.rejected",
            Self::Expired => "key.expired",
            Self::Expiring { .. } => "key.expiring",
            Self::RotationDue { .. } => "key.rotation_due",
            Self::AuthFailed { .. } => "key.auth_failed",
            Self::QuotaThreshold { .. } => "quota.threshold",
            Self::UntrustedHash { .. } => "key.untrusted_hash",
            Self::CanaryTripped { .. } => "canary.tripped",
            Self::ThreatDetected { .. } => "threat.detected",
        }
    }
}

/// An event about a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEvent {
    /// What happened.
    pub kind: KeyEventKind,
    /// The key, when known (an auth failure for an unknown lookup id has none).
    pub key_id: Option<KeyId>,
    /// The key's tenant.
    pub tenant_id: Option<TenantId>,
    /// Who did it.
    pub actor: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Receives events. Emitting never fails the operation that caused it: a sink that can fail
/// (webhooks) queues and retries on its own.
#[async_trait]
pub trait EventSink: Send + Sync + fmt::Debug + 'static {
    /// Handles one event.
    async fn emit(&self, event: &KeyEvent);
}

/// Logs every event through `tracing` at INFO (auth failures at WARN).
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingSink;

#[async_trait]
impl EventSink for TracingSink {
    async fn emit(&self, e: &KeyEvent) {
        let key = e.key_id.map(|k| k.to_string());
        if let KeyEventKind::AuthFailed {
            lookup_id,
            client_ip,
            failures,
            blocked,
        } = &e.kind
        {
            tracing::warn!(event = e.kind.name(), lookup_id = ?lookup_id, ?client_ip, failures, blocked, "failed API key verifications");
        } else if let KeyEventKind::UntrustedHash { algorithm } = &e.kind {
            tracing::error!(
                event = e.kind.name(),
                key = key.as_deref(),
                algorithm,
                "a key's stored hash is of a kind this deployment does not accept; refused"
            );
        } else {
            tracing::info!(event = e.kind.name(), key = key.as_deref(), tenant = ?e.tenant_id, actor = e.actor.as_deref(), "API key event");
        }
    }
}

/// Sends every event to each sink in turn.
#[derive(Debug, Clone, Default)]
pub struct FanOut(pub Vec<Arc<dyn EventSink>>);

#[async_trait]
impl EventSink for FanOut {
    async fn emit(&self, e: &KeyEvent) {
        for sink in &self.0 {
            sink.emit(e).await;
        }
    }
}

/// Keeps every event in memory; for tests.
#[derive(Debug, Default)]
pub struct CollectingSink(parking_lot::Mutex<Vec<KeyEvent>>);

impl CollectingSink {
    /// A copy of the events so far.
    pub fn events(&self) -> Vec<KeyEvent> {
        self.0.lock().clone()
    }
}

#[async_trait]
impl EventSink for CollectingSink {
    async fn emit(&self, e: &KeyEvent) {
        self.0.lock().push(e.clone());
    }
}
