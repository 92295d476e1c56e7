//! `requests.retention`: deletes request-log records past their expiry, every hour. Each record
//! carries its expiry (set from its tenant's retention when it was logged), so one statement
//! serves every tenant, and a period that runs twice deletes nothing more.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::store::RequestLogStore;
use crate::clock::Clock;
use crate::error::Result;
use crate::jobs::{Job, JobRun};

/// Purges expired request-log records with [`RequestLogStore::purge_requests`].
#[derive(Debug)]
pub struct RequestLogRetention {
    store: Arc<dyn RequestLogStore>,
    clock: Arc<dyn Clock>,
}

impl RequestLogRetention {
    /// The job's name, as `apikey jobs run` takes it.
    pub const NAME: &'static str = "requests.retention";

    /// The job over `store`.
    pub fn new(store: Arc<dyn RequestLogStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }
}

#[async_trait]
impl Job for RequestLogRetention {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn period(&self) -> Duration {
        Duration::from_secs(60 * 60)
    }

    async fn run(&self, run: &JobRun) -> Result<()> {
        let now = self.clock.now();
        let purged = self.store.purge_requests(now).await?;
        tracing::info!(
            job = Self::NAME,
            period = run.period,
            purged,
            "purged expired request-log records"
        );
        Ok(())
    }
}
