//! What a subscription and a delivery look like to an operator (the CLI's `--json`, the
//! service's answers): everything but the sealed secrets and the payload.

use apikey_core::TenantId;
use apikey_core::webhook::{Delivery, DeliveryState, Subscription, SubscriptionId};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// A subscription without its sealed secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionView {
    /// Its id.
    pub id: SubscriptionId,
    /// Whose events.
    pub tenant_id: Option<TenantId>,
    /// Where they go.
    pub url: String,
    /// Which event types (empty: all).
    pub events: Vec<String>,
    /// Whether new events are delivered.
    pub enabled: bool,
    /// `http://` allowed.
    pub allow_http: bool,
    /// Loopback, private and link-local targets allowed.
    pub allow_private_network: bool,
    /// A note.
    pub description: Option<String>,
    /// Until when the previous secret signs beside the current one.
    pub previous_secret_until: Option<DateTime<Utc>>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version (compare-and-set).
    pub version: u64,
}

impl From<&Subscription> for SubscriptionView {
    fn from(s: &Subscription) -> Self {
        Self {
            id: s.id,
            tenant_id: s.tenant_id.clone(),
            url: s.url.clone(),
            events: s.events.types().to_vec(),
            enabled: s.enabled,
            allow_http: s.allow_http,
            allow_private_network: s.allow_private_network,
            description: s.description.clone(),
            previous_secret_until: s.previous_until,
            created_at: s.created_at,
            updated_at: s.updated_at,
            version: s.version,
        }
    }
}

/// A delivery without its payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryView {
    /// Its id.
    pub id: Uuid,
    /// To which subscription.
    pub subscription_id: SubscriptionId,
    /// The audit event it carries.
    pub event_id: Uuid,
    /// That event's type.
    pub event_type: String,
    /// Pending, delivered or failed (dead-lettered).
    pub state: DeliveryState,
    /// Attempts so far.
    pub attempts: u32,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When it is tried next (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it is given up.
    pub give_up_at: DateTime<Utc>,
    /// When it was last tried.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's last status.
    pub last_status: Option<u16>,
    /// The last failure, when it was not a status.
    pub last_error: Option<String>,
    /// When a receiver answered 2xx.
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        Self {
            id: d.id,
            subscription_id: d.subscription_id,
            event_id: d.event_id,
            event_type: d.event_type.clone(),
            state: d.state,
            attempts: d.attempts,
            created_at: d.created_at,
            next_attempt_at: d.next_attempt_at,
            give_up_at: d.give_up_at,
            last_attempt_at: d.last_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            delivered_at: d.delivered_at,
        }
    }
}
