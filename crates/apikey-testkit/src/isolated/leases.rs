//! [`Isolated`] forwards [`LeaseStore`] too, so a store on its own database can run the lease
//! suite and still drop its database when the case ends.

use apikey_core::Result;
use apikey_core::jobs::{JobOutcome, JobState, Lease, LeaseStore, Period};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Isolated;

#[async_trait]
impl<S: LeaseStore> LeaseStore for Isolated<S> {
    async fn try_claim(
        &self,
        job: &str,
        period: Period,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<Lease>> {
        self.store.try_claim(job, period, holder, now, until).await
    }
    async fn renew(&self, lease: &Lease, until: DateTime<Utc>) -> Result<bool> {
        self.store.renew(lease, until).await
    }
    async fn finish(&self, lease: &Lease, at: DateTime<Utc>, outcome: &JobOutcome) -> Result<bool> {
        self.store.finish(lease, at, outcome).await
    }
    async fn release(&self, lease: &Lease) -> Result<()> {
        self.store.release(lease).await
    }
    async fn jobs(&self) -> Result<Vec<JobState>> {
        self.store.jobs().await
    }
}
