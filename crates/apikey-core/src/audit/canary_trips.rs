//! [`CanaryLog`]: the verifier's canary trips into the audit log as `canary.tripped` (and so to
//! webhooks), one event per key and incident hour across instances.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

use super::{AuditEvent, AuditStore, EventSubject, EventType};
use crate::event::{EventSink, KeyEvent, KeyEventKind};
use crate::verify::CANARY_INCIDENT;

/// An [`EventSink`] writing [`KeyEventKind::CanaryTripped`] as `canary.tripped` audit events
/// (`data`: `client_ip`, `user_agent`, `route`). The event id is derived from the key and the
/// hour of the trip, so instances that each see the same incident store it once. Other events
/// pass by untouched.
#[derive(Debug)]
pub struct CanaryLog {
    audit: Arc<dyn AuditStore>,
    retry_after: Duration,
}

impl CanaryLog {
    /// Writes into `audit`.
    pub fn new(audit: Arc<dyn AuditStore>) -> Self {
        Self {
            audit,
            retry_after: Duration::from_millis(500),
        }
    }

    /// The event a trip becomes; `None` for other events.
    pub fn event_of(e: &KeyEvent) -> Option<AuditEvent> {
        let KeyEventKind::CanaryTripped {
            client_ip,
            user_agent,
            route,
        } = &e.kind
        else {
            return None;
        };
        let key = e.key_id?;
        let window = i64::try_from(CANARY_INCIDENT.as_secs()).unwrap_or(i64::MAX);
        let incident = e.at.timestamp().div_euclid(window);
        Some(AuditEvent::system(
            EventType::CanaryTripped,
            Some(EventSubject::Key(key)),
            e.tenant_id.clone(),
            e.at,
            Some(json!({
                "client_ip": client_ip,
                "user_agent": user_agent,
                "route": route,
            })),
            &[&key.to_string(), &incident.to_string()],
        ))
    }
}

#[async_trait]
impl EventSink for CanaryLog {
    async fn emit(&self, e: &KeyEvent) {
        if let Some(event) = Self::event_of(e) {
            super::append_retry::append_with_retry(
                self.audit.as_ref(),
                &event,
                self.retry_after,
                "canary.tripped",
            )
            .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::KeyId;

    fn trip(at: &str, ip: &str) -> KeyEvent {
        KeyEvent {
            kind: KeyEventKind::CanaryTripped {
                client_ip: Some(ip.parse().unwrap()),
                user_agent: Some("curl/8".into()),
                route: None,
            },
            key_id: Some(KeyId::from_uuid(uuid::Uuid::nil())),
            tenant_id: None,
            actor: None,
            at: at.parse().unwrap(),
        }
    }

    #[test]
    fn one_event_per_key_and_incident_hour() {
        let a = CanaryLog::event_of(&trip("2026-01-01T10:05:00Z", "203.0.113.1")).unwrap();
        let b = CanaryLog::event_of(&trip("2026-01-01T10:55:00Z", "198.51.100.7")).unwrap();
        let c = CanaryLog::event_of(&trip("2026-01-01T11:00:00Z", "203.0.113.1")).unwrap();
        assert_eq!(a.id, b.id, "two instances, one incident");
        assert_ne!(a.id, c.id);
        assert_eq!(a.event_type, EventType::CanaryTripped);
        assert_eq!(a.data.as_ref().unwrap()["client_ip"], "203.0.113.1");
        assert_eq!(a.data.as_ref().unwrap()["user_agent"], "curl/8");
    }
}
