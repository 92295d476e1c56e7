//! The [`LeaseStore`] implementation: `apikey-sql`'s lease flow over this store's
//! [`Driver`](apikey_sql::Driver) implementation, on the table `apikey_job_leases` (migration
//! 0006), so schedulers on every instance sharing the database run each job once per period.

use apikey_core::Result;
use apikey_core::jobs::{JobOutcome, JobState, Lease, LeaseStore, Period};
use apikey_sql::flow::leases;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::dialect::Dialect;
use crate::store::DieselStore;

#[async_trait]
impl<D: Dialect> LeaseStore for DieselStore<D> {
    async fn try_claim(
        &self,
        job: &str,
        period: Period,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<Lease>> {
        leases::try_claim(self, job, period, holder, now, until).await
    }

    async fn renew(&self, lease: &Lease, until: DateTime<Utc>) -> Result<bool> {
        leases::renew(self, lease, until).await
    }

    async fn finish(&self, lease: &Lease, at: DateTime<Utc>, outcome: &JobOutcome) -> Result<bool> {
        leases::finish(self, lease, at, outcome).await
    }

    async fn release(&self, lease: &Lease) -> Result<()> {
        leases::release(self, lease).await
    }

    async fn jobs(&self) -> Result<Vec<JobState>> {
        leases::jobs(self).await
    }
}
