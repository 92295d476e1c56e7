//! `usage.retention`: deletes usage buckets past their resolution's retention, every hour.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use super::store::{AnalyticsStore, UsageCutoffs};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::jobs::{Job, JobRun};
use crate::store::USAGE_MARK_RETENTION;
use crate::tenant::{TenantSettingsStore, retention_plan};

/// How long each resolution is kept. Coarser buckets outlive finer ones, so a long range is
/// still answered (by hours, then by days) after its minutes are gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageRetention {
    /// Minute buckets (default 7 days).
    pub minutes: TimeDelta,
    /// Hour buckets (default 90 days).
    pub hours: TimeDelta,
    /// Day buckets (default 2 years: 730 days).
    pub days: TimeDelta,
}

impl Default for UsageRetention {
    fn default() -> Self {
        Self {
            minutes: TimeDelta::days(7),
            hours: TimeDelta::days(90),
            days: TimeDelta::days(730),
        }
    }
}

impl UsageRetention {
    /// Refuses a retention that would delete coarse buckets before fine ones, or none at all.
    pub fn validate(&self) -> Result<()> {
        if self.minutes <= TimeDelta::zero() || self.minutes > self.hours || self.hours > self.days
        {
            return Err(Error::invalid(
                "usage retention",
                "needs 0 < minutes <= hours <= days",
            ));
        }
        Ok(())
    }

    /// The cutoffs at `now`.
    pub fn cutoffs(&self, now: DateTime<Utc>) -> UsageCutoffs {
        UsageCutoffs {
            minute: now - self.minutes,
            hour: now - self.hours,
            day: now - self.days,
            marks: now - USAGE_MARK_RETENTION,
        }
    }

    /// This retention under a tenant's `retention.usage_days`
    /// ([`Retention`](crate::tenant::Retention)): day buckets kept exactly `days`, minute and
    /// hour buckets at most that long. Still valid (coarse buckets outlive fine ones).
    pub fn within_days(&self, days: u32) -> Self {
        let keep = TimeDelta::days(i64::from(days));
        Self {
            minutes: self.minutes.min(keep),
            hours: self.hours.min(keep),
            days: keep,
        }
    }
}

/// Purges old usage buckets with [`AnalyticsStore::purge_usage`]; with tenant settings
/// ([`with_tenant_settings`](Self::with_tenant_settings)), each tenant's by its own
/// `retention.usage_days`.
#[derive(Debug)]
pub struct UsageRetentionJob {
    store: Arc<dyn AnalyticsStore>,
    clock: Arc<dyn Clock>,
    retention: UsageRetention,
    settings: Option<Arc<dyn TenantSettingsStore>>,
}

impl UsageRetentionJob {
    /// The job's name, as `apikey jobs run` takes it.
    pub const NAME: &'static str = "usage.retention";

    /// The job over `store`, keeping `retention`.
    ///
    /// # Errors
    ///
    /// When `retention` is not valid ([`UsageRetention::validate`]).
    pub fn new(
        store: Arc<dyn AnalyticsStore>,
        clock: Arc<dyn Clock>,
        retention: UsageRetention,
    ) -> Result<Self> {
        retention.validate()?;
        Ok(Self {
            store,
            clock,
            retention,
            settings: None,
        })
    }

    /// Applies each tenant's `retention.usage_days` to its buckets
    /// ([`UsageRetention::within_days`]), by the same plan as the audit retention job
    /// ([`retention_plan`]): a tenant with a row of its own by that row, everything else (the
    /// unattributed row included) by the default row; no days set: the job's retention. The
    /// settings store must list its rows and the analytics store purge by tenant
    /// ([`AnalyticsStore::purge_usage_scoped`]); a run fails loudly when either cannot.
    #[must_use]
    pub fn with_tenant_settings(mut self, settings: Arc<dyn TenantSettingsStore>) -> Self {
        self.settings = Some(settings);
        self
    }
}

#[async_trait]
impl Job for UsageRetentionJob {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn period(&self) -> Duration {
        Duration::from_secs(60 * 60)
    }

    async fn run(&self, run: &JobRun) -> Result<()> {
        let now = self.clock.now();
        let Some(settings) = &self.settings else {
            let purged = self.store.purge_usage(&self.retention.cutoffs(now)).await?;
            tracing::info!(
                job = Self::NAME,
                period = run.period,
                purged,
                "purged usage buckets past retention"
            );
            return Ok(());
        };
        let mut purged = 0;
        for (scope, days) in retention_plan(settings.as_ref(), |r| r.usage_days).await? {
            let keep = days.map_or(self.retention, |d| self.retention.within_days(d));
            purged += self
                .store
                .purge_usage_scoped(&scope, &keep.cutoffs(now))
                .await?;
        }
        tracing::info!(
            job = Self::NAME,
            period = run.period,
            purged,
            "purged usage buckets past retention"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_must_keep_coarse_buckets_longest() {
        assert!(UsageRetention::default().validate().is_ok());
        let odd = UsageRetention {
            hours: TimeDelta::days(1),
            ..UsageRetention::default()
        };
        assert!(odd.validate().is_err());
        let now = Utc::now();
        let c = UsageRetention::default().cutoffs(now);
        assert!(c.minute > c.hour && c.hour > c.day);
        let short = UsageRetention::default().within_days(30);
        assert!(short.validate().is_ok());
        assert_eq!(short.minutes, TimeDelta::days(7));
        assert_eq!(
            (short.hours, short.days),
            (TimeDelta::days(30), TimeDelta::days(30))
        );
        let long = UsageRetention::default().within_days(3650);
        assert_eq!(long.hours, TimeDelta::days(90));
        assert_eq!(long.days, TimeDelta::days(3650));
    }
}
