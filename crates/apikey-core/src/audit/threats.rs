//! [`ThreatLog`]: the verifier's threat detections into the audit log as `threat.detected`
//! (and so to webhooks), one event per detector, subject and hour across instances.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

use super::{AuditEvent, AuditStore, EventSubject, EventType};
use crate::event::{EventSink, KeyEvent, KeyEventKind};

/// An [`EventSink`] writing [`KeyEventKind::ThreatDetected`] as `threat.detected` audit events
/// (`data`: `detector`, `network`, `observed`, `threshold`, `baseline`, `window_secs`,
/// `response`). The event id is derived from the detector, the key or network, and the hour,
/// so instances that each detect the same attack store it once. Other events pass by untouched.
#[derive(Debug)]
pub struct ThreatLog {
    audit: Arc<dyn AuditStore>,
    retry_after: Duration,
}

impl ThreatLog {
    /// Writes into `audit`.
    pub fn new(audit: Arc<dyn AuditStore>) -> Self {
        Self {
            audit,
            retry_after: Duration::from_millis(500),
        }
    }

    /// The event a detection becomes; `None` for other events.
    pub fn event_of(e: &KeyEvent) -> Option<AuditEvent> {
        let KeyEventKind::ThreatDetected {
            detector,
            network,
            observed,
            threshold,
            baseline,
            window_secs,
            response,
        } = &e.kind
        else {
            return None;
        };
        let about = match (e.key_id, network) {
            (Some(k), _) => k.to_string(),
            (None, Some(n)) => n.clone(),
            (None, None) => String::new(),
        };
        let hour = e.at.timestamp().div_euclid(3600);
        Some(AuditEvent::system(
            EventType::ThreatDetected,
            e.key_id.map(EventSubject::Key),
            e.tenant_id.clone(),
            e.at,
            Some(json!({
                "detector": detector,
                "network": network,
                "observed": observed,
                "threshold": threshold,
                "baseline": baseline,
                "window_secs": window_secs,
                "response": response,
            })),
            &[detector.as_str(), &about, &hour.to_string()],
        ))
    }
}

#[async_trait]
impl EventSink for ThreatLog {
    async fn emit(&self, e: &KeyEvent) {
        if let Some(event) = Self::event_of(e) {
            super::append_retry::append_with_retry(
                self.audit.as_ref(),
                &event,
                self.retry_after,
                "threat.detected",
            )
            .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threat::{Detector, Response};

    fn detected(at: &str, network: &str, observed: u64) -> KeyEvent {
        KeyEvent {
            kind: KeyEventKind::ThreatDetected {
                detector: Detector::CredentialStuffing,
                network: Some(network.to_owned()),
                observed,
                threshold: 30,
                baseline: None,
                window_secs: 600,
                response: Response::Blocked {
                    until: "2026-01-01T11:05:00Z".parse().unwrap(),
                },
            },
            key_id: None,
            tenant_id: None,
            actor: None,
            at: at.parse().unwrap(),
        }
    }

    #[test]
    fn one_event_per_detector_network_and_hour() {
        let a =
            ThreatLog::event_of(&detected("2026-01-01T10:05:00Z", "203.0.113.9/32", 30)).unwrap();
        let b =
            ThreatLog::event_of(&detected("2026-01-01T10:40:00Z", "203.0.113.9/32", 31)).unwrap();
        let c =
            ThreatLog::event_of(&detected("2026-01-01T10:40:00Z", "198.51.100.1/32", 30)).unwrap();
        assert_eq!(a.id, b.id, "two instances, one attack");
        assert_ne!(a.id, c.id);
        assert_eq!(a.event_type, EventType::ThreatDetected);
        let data = a.data.unwrap();
        assert_eq!(data["detector"], "credential_stuffing");
        assert_eq!(data["response"]["action"], "blocked");
        assert_eq!(data["response"]["until"], "2026-01-01T11:05:00Z");
    }
}
