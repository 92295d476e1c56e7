//! The [`LeaseStore`] implementation of [`MongoStore`]: one document per job in
//! `<prefix>job_leases` (`apikey_job_leases`), its `_id` the job name.
//!
//! Every operation is one single-document write whose filter holds the contract's conditions,
//! so the server decides it atomically: a claim is a `findOneAndUpdate` that bumps `fence` where
//! the period is due and no lease is live, a renewal, finish or release an `updateOne` where
//! `fence` and `holder` are still the caller's. A claim upserts, so the first claim of a job
//! creates its document in the same write; when the filter does not match an existing document
//! the upsert's insert collides on `_id`, and that duplicate-key error is the refusal (the race
//! of two first claims ends the same way: one inserts, the other collides). Instants are the
//! caller's, stored as BSON dates (milliseconds); periods and fences as `Int64`, compared exactly.

use apikey_core::jobs::{JobOutcome, JobState, Lease, LeaseStore, Period};
use apikey_core::{Error, ErrorKind, Result};
use async_trait::async_trait;
use bson::{Bson, Document, doc};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use mongodb::options::ReturnDocument;

use crate::doc::date;
use crate::error;
use crate::store::MongoStore;

fn corrupt(field: &'static str) -> Error {
    Error::new(
        ErrorKind::Backend,
        format!("corrupt job lease document: {field}"),
    )
}

fn fence_i64(fence: u64) -> Result<i64> {
    i64::try_from(fence).map_err(|_| Error::invalid("fence", "exceeds the largest storable value"))
}

/// `_id`, `fence` and `holder` are still `lease`'s: only a claim bumps the fence, so a lease
/// that was taken over, finished or released never matches again.
fn held(lease: &Lease) -> Result<Document> {
    Ok(doc! {
        "_id": { "$eq": lease.job.as_str() },
        "fence": { "$eq": fence_i64(lease.fence)? },
        "holder": { "$eq": lease.holder.as_str() },
    })
}

fn int(d: &Document, field: &'static str) -> Result<Option<i64>> {
    match d.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::Int64(n)) => Ok(Some(*n)),
        Some(Bson::Int32(n)) => Ok(Some(i64::from(*n))),
        Some(_) => Err(corrupt(field)),
    }
}

fn time(d: &Document, field: &'static str) -> Result<Option<DateTime<Utc>>> {
    match d.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::DateTime(t)) => Ok(Some(t.to_chrono())),
        Some(_) => Err(corrupt(field)),
    }
}

fn text(d: &Document, field: &'static str) -> Result<Option<String>> {
    match d.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(corrupt(field)),
    }
}

fn fence_of(d: &Document) -> Result<u64> {
    let fence = int(d, "fence")?.unwrap_or(0);
    u64::try_from(fence).map_err(|_| corrupt("fence"))
}

fn state(d: &Document) -> Result<JobState> {
    Ok(JobState {
        job: text(d, "_id")?.ok_or_else(|| corrupt("_id"))?,
        last_period: int(d, "last_period")?,
        last_run_at: time(d, "last_run_at")?,
        last_error: text(d, "last_error")?,
        holder: text(d, "holder")?,
        lease_until: time(d, "lease_until")?,
        fence: fence_of(d)?,
    })
}

#[async_trait]
impl LeaseStore for MongoStore {
    async fn try_claim(
        &self,
        job: &str,
        period: Period,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<Lease>> {
        let until = apikey_core::clock::truncate_ms(until);
        let filter = doc! {
            "_id": { "$eq": job },
            "$and": [
                { "$or": [
                    { "last_period": { "$eq": Bson::Null } },
                    { "last_period": { "$lt": period } },
                ] },
                { "$or": [
                    { "holder": { "$eq": Bson::Null } },
                    { "lease_until": { "$eq": Bson::Null } },
                    { "lease_until": { "$lte": date(now) } },
                ] },
            ],
        };
        let update = doc! {
            "$inc": { "fence": 1_i64 },
            "$set": { "holder": holder, "lease_until": date(until) },
        };
        let claimed = self
            .leases
            .find_one_and_update(filter, update)
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await;
        let claimed = match claimed {
            Ok(Some(d)) => d,
            // Upserted and not returned would be a server bug; either way nothing is held.
            Ok(None) => return Ok(None),
            Err(e) if error::is_duplicate_key(&e) => return Ok(None),
            Err(e) => return Err(error::driver("claim job lease", e)),
        };
        Ok(Some(Lease {
            job: job.to_owned(),
            holder: holder.to_owned(),
            fence: fence_of(&claimed)?,
            period,
            until,
        }))
    }

    async fn renew(&self, lease: &Lease, until: DateTime<Utc>) -> Result<bool> {
        let result = self
            .leases
            .update_one(
                held(lease)?,
                doc! { "$set": { "lease_until": date(until) } },
            )
            .await
            .map_err(|e| error::driver("renew job lease", e))?;
        Ok(result.matched_count > 0)
    }

    async fn finish(&self, lease: &Lease, at: DateTime<Utc>, outcome: &JobOutcome) -> Result<bool> {
        let update = match outcome {
            // `$max` records the period unless a later one is there (or sets it if none is).
            JobOutcome::Ok => doc! {
                "$max": { "last_period": lease.period },
                "$set": { "last_run_at": date(at) },
                "$unset": { "last_error": "", "holder": "", "lease_until": "" },
            },
            JobOutcome::Failed(message) => doc! {
                "$set": { "last_run_at": date(at), "last_error": message.as_str() },
                "$unset": { "holder": "", "lease_until": "" },
            },
        };
        let result = self
            .leases
            .update_one(held(lease)?, update)
            .await
            .map_err(|e| error::driver("finish job lease", e))?;
        Ok(result.matched_count > 0)
    }

    async fn release(&self, lease: &Lease) -> Result<()> {
        self.leases
            .update_one(
                held(lease)?,
                doc! { "$unset": { "holder": "", "lease_until": "" } },
            )
            .await
            .map_err(|e| error::driver("release job lease", e))?;
        Ok(())
    }

    async fn jobs(&self) -> Result<Vec<JobState>> {
        let docs: Vec<Document> = self
            .leases
            .find(doc! {})
            .await
            .map_err(|e| error::driver("list job leases", e))?
            .try_collect()
            .await
            .map_err(|e| error::driver("list job leases", e))?;
        let mut jobs = docs.iter().map(state).collect::<Result<Vec<_>>>()?;
        // By name in byte order, as every store lists them, whatever the server's collation.
        jobs.sort_by(|a, b| a.job.cmp(&b.job));
        Ok(jobs)
    }
}
