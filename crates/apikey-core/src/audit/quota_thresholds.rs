//! [`QuotaThresholdLog`]: the verifier's `quota.threshold` reports into the audit log (and so to
//! webhooks), one event per key, period and threshold.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::SecondsFormat;
use serde_json::json;

use super::{AuditEvent, AuditStore, EventSubject, EventType};
use crate::event::{EventSink, KeyEvent, KeyEventKind};

/// An [`EventSink`] writing [`KeyEventKind::QuotaThreshold`] as `quota.threshold` audit events
/// (`data`: `percent`, `limit`, `used`, `period_start`, `resets_at`). The event id is derived
/// from (key, period, threshold), so a report made twice — two instances, a retry — is stored
/// once. Other events pass by untouched.
#[derive(Debug)]
pub struct QuotaThresholdLog {
    audit: Arc<dyn AuditStore>,
    retry_after: Duration,
}

impl QuotaThresholdLog {
    /// Writes into `audit`.
    pub fn new(audit: Arc<dyn AuditStore>) -> Self {
        Self {
            audit,
            retry_after: Duration::from_millis(500),
        }
    }

    /// The event a report becomes; `None` for other events.
    pub fn event_of(e: &KeyEvent) -> Option<AuditEvent> {
        let KeyEventKind::QuotaThreshold {
            percent,
            limit,
            used,
            period_start,
            resets_at,
        } = &e.kind
        else {
            return None;
        };
        let key = e.key_id?;
        let start = period_start.to_rfc3339_opts(SecondsFormat::Millis, true);
        Some(AuditEvent::system(
            EventType::QuotaThreshold,
            Some(EventSubject::Key(key)),
            e.tenant_id.clone(),
            e.at,
            Some(json!({
                "percent": percent,
                "limit": limit,
                "used": used,
                "period_start": period_start,
                "resets_at": resets_at,
            })),
            &[&key.to_string(), &start, &percent.to_string()],
        ))
    }
}

#[async_trait]
impl EventSink for QuotaThresholdLog {
    async fn emit(&self, e: &KeyEvent) {
        let Some(event) = Self::event_of(e) else {
            return;
        };
        super::append_retry::append_with_retry(
            self.audit.as_ref(),
            &event,
            self.retry_after,
            "quota.threshold",
        )
        .await;
    }
}
