//! The lease suite is not vacuous: each deliberately broken `LeaseStore` below (the memory store
//! with one bug added) must make the named case fail.

mod common;

use apikey_core::Result;
use apikey_core::jobs::{JobOutcome, JobState, Lease, LeaseStore, Period};
use apikey_memory::MemoryStore;
use apikey_testkit::{__private::block_on, __private::block_on_multi_thread, leases};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::{caught, seconds};

#[derive(Debug, Clone, Copy, PartialEq)]
enum LeaseBug {
    /// Claims over a live lease (as if every claim came after `until`).
    ClaimsOverLiveLease,
    /// Finishes whatever lease the job has now, not checking the caller's fence.
    FinishIgnoresFence,
    /// Keeps `until` to the second.
    SecondLeaseUntil,
    /// Claims take the store's now, not the caller's.
    ReadsItsOwnClock,
}

#[derive(Debug)]
struct LeaseMutant {
    inner: MemoryStore,
    bug: LeaseBug,
}

#[async_trait]
impl LeaseStore for LeaseMutant {
    async fn try_claim(
        &self,
        job: &str,
        period: Period,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<Lease>> {
        let (now, until) = match self.bug {
            LeaseBug::ClaimsOverLiveLease => (DateTime::<Utc>::MAX_UTC, until),
            LeaseBug::SecondLeaseUntil => (now, seconds(until)),
            LeaseBug::ReadsItsOwnClock => (Utc::now(), until),
            LeaseBug::FinishIgnoresFence => (now, until),
        };
        self.inner.try_claim(job, period, holder, now, until).await
    }
    async fn renew(&self, lease: &Lease, until: DateTime<Utc>) -> Result<bool> {
        let until = match self.bug {
            LeaseBug::SecondLeaseUntil => seconds(until),
            _ => until,
        };
        self.inner.renew(lease, until).await
    }
    async fn finish(&self, lease: &Lease, at: DateTime<Utc>, outcome: &JobOutcome) -> Result<bool> {
        if self.bug == LeaseBug::FinishIgnoresFence
            && let Some(now) = self
                .inner
                .jobs()
                .await?
                .into_iter()
                .find(|s| s.job == lease.job)
            && let Some(holder) = now.holder
        {
            let current = Lease {
                holder,
                fence: now.fence,
                ..lease.clone()
            };
            return self.inner.finish(&current, at, outcome).await;
        }
        self.inner.finish(lease, at, outcome).await
    }
    async fn release(&self, lease: &Lease) -> Result<()> {
        self.inner.release(lease).await
    }
    async fn jobs(&self) -> Result<Vec<JobState>> {
        self.inner.jobs().await
    }
}

fn lease_bug(bug: LeaseBug) -> LeaseMutant {
    LeaseMutant {
        inner: MemoryStore::new(),
        bug,
    }
}

#[test]
fn lease_suite_catches_lease_bugs() {
    use LeaseBug::*;
    caught("claim over a live lease", || {
        block_on(leases::first_claim_wins(&lease_bug(ClaimsOverLiveLease)));
    });
    caught("claim over a live lease (concurrent)", || {
        block_on_multi_thread(leases::concurrent_claims_admit_exactly_one(&lease_bug(
            ClaimsOverLiveLease,
        )));
    });
    caught("finish without the fence", || {
        block_on(leases::taken_over_holder_is_fenced_out(&lease_bug(
            FinishIgnoresFence,
        )));
    });
    caught("until kept to the second", || {
        block_on(leases::instants_round_trip_at_millisecond_precision(
            &lease_bug(SecondLeaseUntil),
        ));
    });
    caught("the store's clock instead of the caller's", || {
        block_on(leases::claim_after_until_is_a_takeover(&lease_bug(
            ReadsItsOwnClock,
        )));
    });
}

/// Compares periods as doubles, as a Lua script or a JSON number would.
#[derive(Debug, Default)]
struct DoublePeriods(MemoryStore);

#[async_trait]
impl LeaseStore for DoublePeriods {
    async fn try_claim(
        &self,
        job: &str,
        period: Period,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<Lease>> {
        let done = self
            .0
            .jobs()
            .await?
            .into_iter()
            .find(|s| s.job == job)
            .and_then(|s| s.last_period)
            .is_some_and(|p| {
                #[allow(clippy::cast_precision_loss)]
                let p = p as f64;
                #[allow(clippy::cast_precision_loss)]
                let q = period as f64;
                p >= q
            });
        if done {
            return Ok(None);
        }
        self.0.try_claim(job, period, holder, now, until).await
    }
    async fn renew(&self, lease: &Lease, until: DateTime<Utc>) -> Result<bool> {
        self.0.renew(lease, until).await
    }
    async fn finish(&self, lease: &Lease, at: DateTime<Utc>, outcome: &JobOutcome) -> Result<bool> {
        self.0.finish(lease, at, outcome).await
    }
    async fn release(&self, lease: &Lease) -> Result<()> {
        self.0.release(lease).await
    }
    async fn jobs(&self) -> Result<Vec<JobState>> {
        self.0.jobs().await
    }
}

#[test]
fn lease_suite_catches_periods_compared_as_doubles() {
    caught("periods compared as doubles", || {
        block_on(leases::periods_compare_exactly(&DoublePeriods::default()));
    });
}
