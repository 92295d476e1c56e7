//! The JSON body of a webhook, version 1. Stable: fields are only ever added.
//!
//! ```json
//! {
//!   "type": "key.revoked",
//!   "timestamp": "2026-12-04T21:30:00.000Z",
//!   "schema_version": 1,
//!   "data": {
//!     "event_id": "0193…",            // also the `webhook-id` header
//!     "tenant_id": "acme",            // or null
//!     "actor": "alice", "reason": "leaked",
//!     "subject": {"kind": "key", "id": "…"},
//!     "version": 4,                   // the key's version after a key change, 0 otherwise
//!     "key": { …the key's public view after the change (before it, for a deletion)… },
//!     "previous": { …the public view before, for changes of an existing key… },
//!     "details": { …the system event's payload, e.g. "threshold_days": 7… }
//!   }
//! }
//! ```
//!
//! Absent parts are omitted. `key` and `previous` are [`KeyView`]s: no token, hash, legacy
//! prefix or pepper can appear, because the audit log never held them. A `ping` (sent by `apikey
//! webhooks test`) has `data: {"subscription_id": …}`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::subscription::SubscriptionId;
use crate::audit::{AuditEvent, EventSubject};
use crate::error::{Error, Result};
use crate::ids::TenantId;
use crate::view::KeyView;

/// The payload format's version, in every body as `schema_version`.
pub const SCHEMA_VERSION: u32 = 1;

/// The type of the test event `apikey webhooks test` sends.
pub const PING: &str = "ping";

/// A webhook body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookPayload<'a> {
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: &'a str,
    /// When the event happened (RFC 3339, milliseconds, UTC).
    pub timestamp: String,
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// What happened.
    pub data: Data<'a>,
}

/// The `data` of a [`WebhookPayload`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Data<'a> {
    /// An audit event.
    Event(EventData<'a>),
    /// A ping.
    Ping {
        /// The subscription pinged.
        subscription_id: SubscriptionId,
    },
}

/// The `data` of an audit event's payload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventData<'a> {
    /// The event id (the `webhook-id` header).
    pub event_id: Uuid,
    /// The tenant.
    pub tenant_id: Option<&'a TenantId>,
    /// Who did it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<&'a str>,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    /// What it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<&'a EventSubject>,
    /// The key's version after a key change; 0 otherwise.
    pub version: u64,
    /// The key after the change (before it, for a deletion).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<&'a KeyView>,
    /// The key before a change of an existing key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<&'a KeyView>,
    /// A system event's payload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<&'a serde_json::Value>,
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl<'a> WebhookPayload<'a> {
    /// The body of `event`.
    pub fn of(event: &'a AuditEvent) -> Self {
        let (key, previous) = match (event.after.as_deref(), event.before.as_deref()) {
            (Some(after), before) => (Some(after), before),
            (None, before) => (before, None),
        };
        Self {
            event_type: event.event_type.as_str(),
            timestamp: timestamp(event.at),
            schema_version: SCHEMA_VERSION,
            data: Data::Event(EventData {
                event_id: event.id,
                tenant_id: event.tenant_id.as_ref(),
                actor: event.actor.as_deref(),
                reason: event.reason.as_deref(),
                subject: event.subject.as_ref(),
                version: event.version,
                key,
                previous,
                details: event.data.as_ref(),
            }),
        }
    }

    /// The body of a ping to `subscription` at `at`.
    pub fn ping(subscription: SubscriptionId, at: DateTime<Utc>) -> Self {
        Self {
            event_type: PING,
            timestamp: timestamp(at),
            schema_version: SCHEMA_VERSION,
            data: Data::Ping {
                subscription_id: subscription,
            },
        }
    }

    /// The body as sent.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::backend("webhook payload", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::EventType;

    #[test]
    fn system_events_carry_their_details_and_no_key() {
        let at = DateTime::from_timestamp_millis(1_764_000_000_123).unwrap();
        let e = AuditEvent::system(
            EventType::Expiring,
            None,
            None,
            at,
            Some(serde_json::json!({"threshold_days": 7})),
            &["k"],
        );
        let body: serde_json::Value =
            serde_json::from_str(&WebhookPayload::of(&e).to_json().unwrap()).unwrap();
        assert_eq!(body["type"], "key.expiring");
        assert_eq!(body["schema_version"], 1);
        assert_eq!(body["timestamp"], "2025-11-24T16:00:00.123Z");
        assert_eq!(body["data"]["details"]["threshold_days"], 7);
        assert_eq!(body["data"]["event_id"], e.id.to_string());
        assert_eq!(body["data"]["actor"], "system");
        assert!(body["data"].get("key").is_none());
    }

    #[test]
    fn pings_name_the_subscription() {
        let id = SubscriptionId::generate();
        let at = DateTime::from_timestamp_millis(0).unwrap();
        let body: serde_json::Value =
            serde_json::from_str(&WebhookPayload::ping(id, at).to_json().unwrap()).unwrap();
        assert_eq!(body["type"], PING);
        assert_eq!(body["data"]["subscription_id"], id.to_string());
    }
}
