//! `audit.retention`: deletes audit events older than the retention, once a day, except each live
//! key's newest record and the chain's checkpoints, and records the horizon (`audit.purged`) so
//! verification tells a purge from a removal. Deleting by an instant is idempotent, so a period
//! that runs twice (after a takeover) deletes nothing more.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::audit::{AuditEvent, AuditStore, EventType};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::jobs::{Job, JobRun};

/// How long audit events are kept by default: a year, what audits commonly ask to see.
pub const DEFAULT_AUDIT_RETENTION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Deletes audit events older than its retention with
/// [`AuditStore::purge_before`]`(now - retention)`, once a day.
#[derive(Debug)]
pub struct AuditRetention {
    audit: Arc<dyn AuditStore>,
    clock: Arc<dyn Clock>,
    keep: chrono::Duration,
}

impl AuditRetention {
    /// The job's name, as `apikey jobs run` takes it.
    pub const NAME: &'static str = "audit.retention";

    /// Keeps `keep` of audit history. `InvalidInput` if it is zero (which would delete the whole
    /// log, including what was just written) or too large to compute with.
    pub fn new(audit: Arc<dyn AuditStore>, clock: Arc<dyn Clock>, keep: Duration) -> Result<Self> {
        if keep.is_zero() {
            return Err(Error::invalid("audit retention", "must not be zero"));
        }
        let keep = chrono::Duration::from_std(keep)
            .map_err(|_| Error::invalid("audit retention", "is too long"))?;
        Ok(Self { audit, clock, keep })
    }
}

#[async_trait]
impl Job for AuditRetention {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn period(&self) -> Duration {
        DAY
    }

    async fn run(&self, run: &JobRun) -> Result<()> {
        let before = self
            .clock
            .now()
            .checked_sub_signed(self.keep)
            .ok_or_else(|| Error::invalid("audit retention", "reaches before the start of time"))?;
        let purged = self.audit.purge_before(before).await?;
        if purged > 0 {
            // Tells `audit verify` that events listed in checkpoints before this instant went by
            // retention. Its id is the horizon's, so a takeover's second run records it once.
            let before_ms = before.timestamp_millis();
            let marker = AuditEvent::system(
                EventType::AuditPurged,
                None,
                None,
                self.clock.now(),
                Some(serde_json::json!({ "before": before_ms, "purged": purged })),
                &[&before_ms.to_string()],
            );
            self.audit.append(&marker).await?;
        }
        tracing::info!(job = Self::NAME, period = run.period, purged, %before, "purged audit events");
        Ok(())
    }
}
