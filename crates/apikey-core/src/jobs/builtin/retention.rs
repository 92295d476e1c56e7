//! `audit.retention`: deletes audit events older than the retention, once a day, except each live
//! key's newest record and the chain's checkpoints, and records the horizon (`audit.purged`) so
//! verification tells a purge from a removal. Deleting by an instant is idempotent, so a period
//! that runs twice (after a takeover) deletes nothing more.
//!
//! With tenant settings ([`AuditRetention::with_tenant_settings`]), each tenant's rule applies
//! to its own events: a tenant with a settings row of its own keeps its events for its
//! `retention.audit_days` (or the job's retention when it sets none); every other event — of
//! tenants without a row, and without a tenant — for the default row's `audit_days`, else the
//! job's retention.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use chrono::{DateTime, Utc};

use crate::audit::{AuditEvent, AuditStore, EventType, PurgeScope};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::jobs::{Job, JobRun};
use crate::tenant::{TenantSettingsStore, retention_plan};

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
    settings: Option<Arc<dyn TenantSettingsStore>>,
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
        Ok(Self {
            audit,
            clock,
            keep,
            settings: None,
        })
    }

    /// Applies each tenant's `retention.audit_days` to its events (see the [module docs](self)).
    /// The settings store must list its rows and the audit store purge by tenant; a run fails
    /// (and deletes nothing more) when either cannot.
    #[must_use]
    pub fn with_tenant_settings(mut self, settings: Arc<dyn TenantSettingsStore>) -> Self {
        self.settings = Some(settings);
        self
    }

    /// The purges of a run at `now`: each scope and its horizon.
    async fn plan(&self, now: DateTime<Utc>) -> Result<Vec<(PurgeScope, DateTime<Utc>)>> {
        let horizon = |days: Option<u32>| {
            let keep = days.map_or(self.keep, |d| chrono::Duration::days(i64::from(d)));
            now.checked_sub_signed(keep).ok_or_else(|| {
                Error::invalid("audit retention", "reaches before the start of time")
            })
        };
        let Some(settings) = &self.settings else {
            return Ok(vec![(PurgeScope::AllBut(Vec::new()), horizon(None)?)]);
        };
        retention_plan(settings.as_ref(), |r| r.audit_days)
            .await?
            .into_iter()
            .map(|(scope, days)| Ok((scope, horizon(days)?)))
            .collect()
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
        let now = self.clock.now();
        let plan = self.plan(now).await?;
        let mut purged = 0;
        for (scope, before) in &plan {
            purged += self.audit.purge_scoped(scope, *before).await?;
        }
        // The newest horizon: verification takes a listed event older than it as purged (with
        // per-tenant rules, also one of a tenant that keeps longer; docs/audit.md says so).
        let before = plan.iter().map(|(_, b)| *b).max().unwrap_or(now);
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
