//! The [`LeaseStore`] implementation of [`MemoryStore`]: job leases under the store's lock, so
//! several schedulers in one process (or a test standing in for several instances) share them.

use std::collections::BTreeMap;

use apikey_core::Result;
use apikey_core::jobs::{JobOutcome, JobState, Lease, LeaseStore, Period};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MemoryStore;

/// Every job's row, by name.
pub(super) type Leases = BTreeMap<String, JobState>;

/// Whether `lease` is still the job's current claim.
fn holds(state: &JobState, lease: &Lease) -> bool {
    state.fence == lease.fence && state.holder.as_deref() == Some(lease.holder.as_str())
}

#[async_trait]
impl LeaseStore for MemoryStore {
    async fn try_claim(
        &self,
        job: &str,
        period: Period,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<Lease>> {
        let mut t = self.tables.write();
        let state = t.leases.entry(job.to_owned()).or_insert_with(|| JobState {
            job: job.to_owned(),
            last_period: None,
            last_run_at: None,
            last_error: None,
            holder: None,
            lease_until: None,
            fence: 0,
        });
        let done = state.last_period.is_some_and(|p| p >= period);
        let held = state.holder.is_some() && state.lease_until.is_some_and(|u| u > now);
        if done || held {
            return Ok(None);
        }
        state.fence += 1;
        state.holder = Some(holder.to_owned());
        state.lease_until = Some(until);
        Ok(Some(Lease {
            job: job.to_owned(),
            holder: holder.to_owned(),
            fence: state.fence,
            period,
            until,
        }))
    }

    async fn renew(&self, lease: &Lease, until: DateTime<Utc>) -> Result<bool> {
        let mut t = self.tables.write();
        match t.leases.get_mut(&lease.job) {
            Some(state) if holds(state, lease) => {
                state.lease_until = Some(until);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn finish(&self, lease: &Lease, at: DateTime<Utc>, outcome: &JobOutcome) -> Result<bool> {
        let mut t = self.tables.write();
        let Some(state) = t.leases.get_mut(&lease.job).filter(|s| holds(s, lease)) else {
            return Ok(false);
        };
        match outcome {
            JobOutcome::Ok => {
                state.last_period = Some(
                    state
                        .last_period
                        .map_or(lease.period, |p| p.max(lease.period)),
                );
                state.last_error = None;
            }
            JobOutcome::Failed(message) => state.last_error = Some(message.clone()),
        }
        state.last_run_at = Some(at);
        state.holder = None;
        state.lease_until = None;
        Ok(true)
    }

    async fn release(&self, lease: &Lease) -> Result<()> {
        let mut t = self.tables.write();
        if let Some(state) = t.leases.get_mut(&lease.job).filter(|s| holds(s, lease)) {
            state.holder = None;
            state.lease_until = None;
        }
        Ok(())
    }

    async fn jobs(&self) -> Result<Vec<JobState>> {
        Ok(self.tables.read().leases.values().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use apikey_core::jobs::{JobOutcome, LeaseStore};
    use chrono::Duration;

    use crate::MemoryStore;
    use crate::fixtures::t0;

    #[tokio::test]
    async fn a_live_lease_excludes_a_dead_one_is_taken_over_and_the_loser_cannot_finish() {
        let store = MemoryStore::new();
        let now = t0();
        let a = store
            .try_claim("count", 1, "a", now, now + Duration::seconds(30))
            .await
            .unwrap()
            .unwrap();
        assert!(
            store
                .try_claim("count", 1, "b", now, now + Duration::seconds(30))
                .await
                .unwrap()
                .is_none()
        );
        let later = now + Duration::seconds(31);
        let b = store
            .try_claim("count", 1, "b", later, later + Duration::seconds(30))
            .await
            .unwrap()
            .unwrap();
        assert!(b.fence > a.fence);
        assert!(
            !store
                .renew(&a, later + Duration::seconds(60))
                .await
                .unwrap()
        );
        assert!(!store.finish(&a, later, &JobOutcome::Ok).await.unwrap());
        assert!(store.finish(&b, later, &JobOutcome::Ok).await.unwrap());
        assert!(
            store
                .try_claim("count", 1, "c", later, later + Duration::seconds(30))
                .await
                .unwrap()
                .is_none(),
            "a completed period is not run again"
        );
        let jobs = store.jobs().await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].last_period, Some(1));
        assert_eq!(jobs[0].holder, None);
    }

    #[tokio::test]
    async fn a_failed_run_keeps_the_period_due_and_the_error() {
        let store = MemoryStore::new();
        let now = t0();
        let a = store
            .try_claim("count", 7, "a", now, now + Duration::seconds(30))
            .await
            .unwrap()
            .unwrap();
        let failed = JobOutcome::Failed("database down".into());
        assert!(store.finish(&a, now, &failed).await.unwrap());
        let state = &store.jobs().await.unwrap()[0];
        assert_eq!(state.last_period, None);
        assert_eq!(state.last_error.as_deref(), Some("database down"));
        let again = store
            .try_claim("count", 7, "b", now, now + Duration::seconds(30))
            .await
            .unwrap();
        assert!(again.is_some());
        store.release(again.as_ref().unwrap()).await.unwrap();
        assert_eq!(store.jobs().await.unwrap()[0].holder, None);
    }
}
