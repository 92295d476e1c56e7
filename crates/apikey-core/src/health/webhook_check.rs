//! [`WebhookBacklogCheck`]: whether webhook deliveries keep up. Two reads: how many are pending,
//! and the earliest one due. A backlog warns (receivers hear late); it never fails readiness,
//! since verification does not depend on it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::HealthCheck;
use crate::clock::Clock;
use crate::webhook::WebhookStore;

/// Warns when more than `max_pending` deliveries are pending, or the earliest due one has waited
/// longer than `max_delay` past its due time; fails only when the store cannot be read.
pub struct WebhookBacklogCheck {
    store: Arc<dyn WebhookStore>,
    clock: Arc<dyn Clock>,
    max_pending: u64,
    max_delay: Duration,
}

impl std::fmt::Debug for WebhookBacklogCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookBacklogCheck")
            .field("max_pending", &self.max_pending)
            .field("max_delay", &self.max_delay)
            .finish_non_exhaustive()
    }
}

impl WebhookBacklogCheck {
    /// Checks `store` on `clock`: warns past 10,000 pending deliveries or a due one five minutes
    /// late (a delivery job runs every few seconds, so either means it is not keeping up).
    pub fn new(store: Arc<dyn WebhookStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            max_pending: 10_000,
            max_delay: Duration::from_secs(300),
        }
    }

    /// Sets the thresholds.
    #[must_use]
    pub fn thresholds(mut self, max_pending: u64, max_delay: Duration) -> Self {
        self.max_pending = max_pending;
        self.max_delay = max_delay;
        self
    }
}

#[async_trait]
impl HealthCheck for WebhookBacklogCheck {
    fn name(&self) -> &str {
        "webhooks"
    }

    async fn check(&self) -> Result<Option<String>, String> {
        let failed = |e: crate::Error| format!("webhooks: {}", e.kind());
        let pending = self.store.pending_count().await.map_err(failed)?;
        let now = self.clock.now();
        let oldest = self.store.due(now, 1).await.map_err(failed)?;
        let late = oldest
            .first()
            .and_then(|d| d.next_attempt_at)
            .and_then(|due| (now - due).to_std().ok())
            .filter(|late| *late > self.max_delay);
        let mut notes = Vec::new();
        if pending > self.max_pending {
            notes.push(format!("{pending} deliveries pending"));
        }
        if let Some(late) = late {
            notes.push(format!(
                "the earliest due delivery is {} s late",
                late.as_secs()
            ));
        }
        Ok((!notes.is_empty()).then(|| notes.join("; ")))
    }
}
