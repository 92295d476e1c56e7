//! `webhooks.retention`: deletes delivered and dead-lettered deliveries older than the retention,
//! once a day. Pending ones are never deleted, whatever their age (a redeliver may be in
//! progress). Deleting by an instant is idempotent, so a period run twice deletes nothing more.

use std::sync::Arc;
use std::time::Duration;

use apikey_core::jobs::{Job, JobRun};
use apikey_core::webhook::WebhookStore;
use apikey_core::{Clock, Error, Result};
use async_trait::async_trait;

/// How long finished deliveries are kept by default: thirty days, long enough to investigate a
/// receiver's outage after the fact.
pub const DEFAULT_DELIVERY_RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Purges finished deliveries older than its retention (see the [module docs](self)).
#[derive(Debug)]
pub struct DeliveryRetention {
    store: Arc<dyn WebhookStore>,
    clock: Arc<dyn Clock>,
    keep: chrono::Duration,
}

impl DeliveryRetention {
    /// The job's name, as `apikey jobs` lists it.
    pub const NAME: &'static str = "webhooks.retention";

    /// Keeps `keep` of finished deliveries. `InvalidInput` if it is zero or too long.
    pub fn new(
        store: Arc<dyn WebhookStore>,
        clock: Arc<dyn Clock>,
        keep: Duration,
    ) -> Result<Self> {
        if keep.is_zero() {
            return Err(Error::invalid("delivery retention", "must not be zero"));
        }
        let keep = chrono::Duration::from_std(keep)
            .map_err(|_| Error::invalid("delivery retention", "is too long"))?;
        Ok(Self { store, clock, keep })
    }
}

#[async_trait]
impl Job for DeliveryRetention {
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
            .ok_or_else(|| {
                Error::invalid("delivery retention", "reaches before the start of time")
            })?;
        let purged = self.store.purge_deliveries(before).await?;
        tracing::info!(job = Self::NAME, period = run.period, purged, %before, "purged webhook deliveries");
        Ok(())
    }
}
