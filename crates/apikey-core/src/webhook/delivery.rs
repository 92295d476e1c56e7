//! One event on its way to one subscription, and what became of it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::subscription::SubscriptionId;
use crate::error::{Error, Result};
use crate::ids::TenantId;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt (at [`Delivery::next_attempt_at`]).
    Pending,
    /// A receiver answered 2xx.
    Delivered,
    /// Given up after the retry policy's maximum age: dead-lettered, visible, and sent again only
    /// by a manual redeliver.
    Failed,
}

impl DeliveryState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeliveryState {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "failed" => Ok(Self::Failed),
            other => Err(Error::invalid(
                "delivery state",
                format_args!("unknown state {other:?} (pending, delivered, failed)"),
            )),
        }
    }
}

/// One (subscription, event) pair. The body is fixed when the event is fanned out, so every
/// attempt sends the same bytes under the same `webhook-id` (the event id): receivers
/// deduplicate on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Derived from the pair ([`Delivery::id_for`]), so enqueuing twice stores it once.
    pub id: Uuid,
    /// The subscription.
    pub subscription_id: SubscriptionId,
    /// The subscription's tenant (deliveries are seen only within it).
    pub tenant_id: Option<TenantId>,
    /// The event: the `webhook-id` header.
    pub event_id: Uuid,
    /// Its type (`key.revoked`, `ping`, …).
    pub event_type: String,
    /// The JSON body sent (see [`payload`](super::payload)).
    pub payload: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// After this instant a failed attempt dead-letters it instead of scheduling another.
    pub give_up_at: DateTime<Utc>,
    /// When the last attempt was made.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's status code in the last attempt, if it answered.
    pub last_status: Option<u16>,
    /// Why the last attempt failed (never a secret: an address class, a timeout, a status).
    pub last_error: Option<String>,
    /// When a receiver answered 2xx.
    pub delivered_at: Option<DateTime<Utc>>,
}

impl Delivery {
    /// The id of the delivery of `event` to `subscription`: a UUIDv8 over both, so the fan-out
    /// of one event is idempotent however often it runs.
    pub fn id_for(subscription: SubscriptionId, event: Uuid) -> Uuid {
        crate::audit::AuditEvent::deterministic_id(&[
            "webhook.delivery",
            &subscription.to_string(),
            &event.to_string(),
        ])
    }

    /// A pending delivery due at `now`, given up after `give_up_at`.
    #[allow(clippy::too_many_arguments)]
    pub fn pending(
        subscription_id: SubscriptionId,
        tenant_id: Option<TenantId>,
        event_id: Uuid,
        event_type: impl Into<String>,
        payload: String,
        now: DateTime<Utc>,
        give_up_at: DateTime<Utc>,
    ) -> Self {
        let now = crate::clock::truncate_ms(now);
        Self {
            id: Self::id_for(subscription_id, event_id),
            subscription_id,
            tenant_id,
            event_id,
            event_type: event_type.into(),
            payload,
            state: DeliveryState::Pending,
            attempts: 0,
            created_at: now,
            next_attempt_at: Some(now),
            give_up_at: crate::clock::truncate_ms(give_up_at),
            last_attempt_at: None,
            last_status: None,
            last_error: None,
            delivered_at: None,
        }
    }

    /// Records an attempt made at `at`: delivered, or pending again at `retry_at`, or dead when
    /// `retry_at` is `None` (the policy gave up).
    pub fn record(
        &mut self,
        at: DateTime<Utc>,
        outcome: &AttemptOutcome,
        retry_at: Option<DateTime<Utc>>,
    ) {
        let at = crate::clock::truncate_ms(at);
        self.attempts = self.attempts.saturating_add(1);
        self.last_attempt_at = Some(at);
        self.last_status = outcome.status;
        self.last_error = outcome.error.clone();
        if outcome.delivered() {
            self.state = DeliveryState::Delivered;
            self.delivered_at = Some(at);
            self.next_attempt_at = None;
        } else if let Some(next) = retry_at {
            self.state = DeliveryState::Pending;
            self.next_attempt_at = Some(crate::clock::truncate_ms(next));
        } else {
            self.state = DeliveryState::Failed;
            self.next_attempt_at = None;
        }
    }
}

/// What one attempt gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    /// Why it failed, if it did (a status outside 2xx is a failure with its own message).
    pub error: Option<String>,
}

/// Longest error message kept with a delivery.
const MAX_ERROR: usize = 500;

impl AttemptOutcome {
    /// The receiver answered `status`: delivered if 2xx, a failure otherwise (3xx included:
    /// redirects are not followed).
    pub fn answered(status: u16) -> Self {
        let error = (!(200..300).contains(&status)).then(|| match status {
            300..=399 => format!("receiver answered {status}; redirects are not followed"),
            _ => format!("receiver answered {status}"),
        });
        Self {
            status: Some(status),
            error,
        }
    }

    /// No answer: `why` (truncated to a few hundred bytes).
    pub fn failed(why: impl fmt::Display) -> Self {
        let mut error = why.to_string();
        if error.len() > MAX_ERROR {
            let mut cut = MAX_ERROR;
            while !error.is_char_boundary(cut) {
                cut -= 1;
            }
            error.truncate(cut);
        }
        Self {
            status: None,
            error: Some(error),
        }
    }

    /// Whether the receiver took it.
    pub fn delivered(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Which deliveries to list, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeliveryFilter {
    /// Only this subscription's.
    pub subscription_id: Option<SubscriptionId>,
    /// Only in this state.
    pub state: Option<DeliveryState>,
    /// At most this many (1..=1000; 100 when `None`).
    pub limit: Option<u32>,
}

impl DeliveryFilter {
    /// The limit, clamped to 1..=1000.
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(100).clamp(1, 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes() {
        assert!(AttemptOutcome::answered(204).delivered());
        assert!(!AttemptOutcome::answered(302).delivered());
        assert!(
            AttemptOutcome::answered(302)
                .error
                .unwrap()
                .contains("redirect")
        );
        assert!(!AttemptOutcome::answered(500).delivered());
        let long = AttemptOutcome::failed("é".repeat(400));
        assert!(long.error.unwrap().len() <= MAX_ERROR);
    }

    #[test]
    fn recording_moves_the_state() {
        let t = DateTime::from_timestamp_millis(1_000).unwrap();
        let sub = SubscriptionId::generate();
        let mut d = Delivery::pending(sub, None, Uuid::now_v7(), "ping", "{}".into(), t, t);
        assert_eq!(d.id, Delivery::id_for(sub, d.event_id));
        d.record(t, &AttemptOutcome::answered(500), Some(t));
        assert_eq!((d.state, d.attempts), (DeliveryState::Pending, 1));
        d.record(t, &AttemptOutcome::failed("timed out"), None);
        assert_eq!(d.state, DeliveryState::Failed);
        d.record(t, &AttemptOutcome::answered(200), None);
        assert_eq!(d.state, DeliveryState::Delivered);
        assert_eq!(d.delivered_at, Some(t));
        assert_eq!(
            "failed".parse::<DeliveryState>().unwrap(),
            DeliveryState::Failed
        );
    }
}
