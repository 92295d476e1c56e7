//! The per-tenant lock of checked inserts: one document per tenant in `<prefix>insert_locks`,
//! `_id` the tenant id (`""` for the keys without one, as in
//! [`tenant_settings`](crate::tenant_settings)), `{holder, until, fence, batch, committing}`.
//!
//! Taking it is one conditional single-document write (a `findOneAndUpdate` that upserts, as a job
//! lease claim does): it matches when nobody holds the lock, when the holder's lease has expired
//! (`until` passed: a crashed holder blocks others for one lease at most), or when the caller
//! already holds it (a retry after a lost reply); it bumps `fence`. Any other state makes the
//! upsert collide on `_id`, and the caller waits and tries again, until [`WAIT`] has passed.
//! Every later write of the holder names its `holder` and `fence`, so a holder whose lease was
//! taken over can no longer commit.
//!
//! `batch` names the keys the holder stages (see [`checked`](crate::checked)); `committing` is
//! set, by one conditional write, at the batch's commit point. Releasing the lock clears both.
//! Whoever takes a lock that still names a batch (its holder crashed, or lost its lease) finishes
//! that batch first: rolls it forward when it was committing, else removes its staged keys.

use std::time::Duration;

use apikey_core::{Error, ErrorKind, Result, TenantId};
use bson::{Bson, Document, Uuid as BsonUuid, doc};
use chrono::Utc;
use futures_util::TryStreamExt;
use mongodb::options::ReturnDocument;

use crate::doc::date;
use crate::error;
use crate::store::MongoStore;
use crate::tenant_settings::row_id;

/// How long a holder may keep the lock before another may take it over.
pub(crate) const LEASE: Duration = Duration::from_secs(30);

/// How long a checked insert waits for the lock before it gives up as `Unavailable`.
pub(crate) const WAIT: Duration = Duration::from_secs(60);

/// Whether a failure may pass if tried again: `Unavailable` (an unreachable or busy server;
/// BriskDB resets parallel writers) or `Backend` (BriskDB's other answers to contention).
fn retryable(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::Unavailable | ErrorKind::Backend)
}

/// Runs `step` again while it fails [`retryable`]-ly, a few times with growing pauses. Only for
/// steps that are safe to repeat.
pub(crate) async fn retry_busy<T, F, Fut>(mut step: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut pause = Duration::from_millis(20);
    for _ in 0..6 {
        match step().await {
            Err(e) if retryable(&e) => {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            done => return done,
        }
    }
    step().await
}

/// A held lock.
#[derive(Debug)]
pub(crate) struct InsertLock {
    id: String,
    holder: String,
    fence: i64,
    /// The batch this holder stages under the lock.
    pub(crate) batch: BsonUuid,
}

impl InsertLock {
    /// The filter matching the lock while it is still this holder's.
    fn held(&self) -> Document {
        doc! {
            "_id": { "$eq": self.id.as_str() },
            "holder": { "$eq": self.holder.as_str() },
            "fence": { "$eq": self.fence },
        }
    }
}

fn fence_of(d: &Document) -> Result<i64> {
    match d.get("fence") {
        Some(Bson::Int64(n)) => Ok(*n),
        Some(Bson::Int32(n)) => Ok(i64::from(*n)),
        _ => Err(Error::new(
            ErrorKind::Backend,
            "corrupt insert lock document: fence",
        )),
    }
}

impl MongoStore {
    /// Takes `tenant`'s insert lock for a new batch `batch`, waiting while another holds it, after
    /// finishing any batch a previous holder left.
    pub(crate) async fn lock_inserts(
        &self,
        tenant: Option<&TenantId>,
        batch: BsonUuid,
    ) -> Result<InsertLock> {
        let id = row_id(tenant).to_owned();
        let holder = uuid::Uuid::now_v7().simple().to_string();
        let deadline = std::time::Instant::now() + WAIT;
        let mut pause = Duration::from_millis(5);
        let mut last = None;
        loop {
            // Waiting is polled with reads: a claim is a write, and BriskDB resets parallel
            // writers, the holder's among them.
            let attempt = if self.looks_held(&id, &holder).await {
                Ok(None)
            } else {
                match self.try_lock(&id, &holder).await {
                    Ok(Some(taken)) => self.name_batch(&id, &holder, &taken, batch).await,
                    other => other.map(|_| None),
                }
            };
            match attempt {
                Ok(Some(lock)) => return Ok(lock),
                Ok(None) => {}
                // Busy or reset: the claim matches this holder again, so trying again is safe.
                Err(e) if retryable(&e) => last = Some(e),
                Err(e) => return Err(e),
            }
            if std::time::Instant::now() >= deadline {
                return Err(last.unwrap_or_else(|| {
                    Error::unavailable(
                        "checked insert: the tenant's insert lock stayed held too long",
                    )
                }));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// After a claim: finishes the batch a previous holder left (on failure the lock still names
    /// it, so a later holder finishes it), then names `batch` on the lock. `None` when the lock
    /// was taken over meanwhile.
    async fn name_batch(
        &self,
        id: &str,
        holder: &str,
        taken: &Document,
        batch: BsonUuid,
    ) -> Result<Option<InsertLock>> {
        if let Some(left) = taken.get("batch").cloned() {
            let committed = taken.get_bool("committing").unwrap_or(false);
            retry_busy(|| self.finish_batch(&left, committed)).await?;
        }
        let lock = InsertLock {
            id: id.to_owned(),
            holder: holder.to_owned(),
            fence: fence_of(taken)?,
            batch,
        };
        let named = self
            .locks
            .update_one(
                lock.held(),
                doc! { "$set": { "batch": lock.batch, "committing": false } },
            )
            .await
            .map_err(|e| error::driver("take the insert lock", e))?;
        Ok((named.matched_count == 1).then_some(lock))
    }

    /// Whether the lock seems held by another's live lease (a read; an error counts as held, and
    /// the claim decides anyway).
    async fn looks_held(&self, id: &str, holder: &str) -> bool {
        let found = self
            .locks
            .find_one(doc! {
                "_id": { "$eq": id },
                "holder": { "$nin": [Bson::Null, holder] },
                "until": { "$gt": date(Utc::now()) },
            })
            .projection(doc! { "_id": 1 })
            .await;
        !matches!(found, Ok(None))
    }

    /// One attempt: the lock document after taking it, or `None` when another holds it.
    async fn try_lock(&self, id: &str, holder: &str) -> Result<Option<Document>> {
        let now = Utc::now();
        let until = now + chrono::TimeDelta::from_std(LEASE).unwrap_or(chrono::TimeDelta::MAX);
        let filter = doc! {
            "_id": { "$eq": id },
            "$or": [
                { "holder": { "$eq": Bson::Null } },
                { "until": { "$lte": date(now) } },
                { "holder": { "$eq": holder } },
            ],
        };
        let update = doc! {
            "$inc": { "fence": 1_i64 },
            "$set": { "holder": holder, "until": date(until) },
        };
        match self
            .locks
            .find_one_and_update(filter, update)
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await
        {
            Ok(taken) => Ok(taken),
            Err(e) if error::is_duplicate_key(&e) => Ok(None),
            Err(e) => Err(error::driver("take the insert lock", e)),
        }
    }

    /// The commit point of the holder's batch: `true` when the lock now says `committing`,
    /// `false` when the lock was taken over (the batch must then be discarded).
    pub(crate) async fn mark_committing(&self, lock: &InsertLock) -> Result<bool> {
        let r = self
            .locks
            .update_one(lock.held(), doc! { "$set": { "committing": true } })
            .await
            .map_err(|e| error::driver("commit checked insert", e))?;
        Ok(r.matched_count == 1)
    }

    /// Releases the lock if it is still the holder's. A failure is logged: the lease expires.
    pub(crate) async fn unlock_inserts(&self, lock: &InsertLock) {
        let released = retry_busy(|| async {
            self.locks
                .update_one(
                    lock.held(),
                    doc! { "$unset": { "holder": "", "until": "", "batch": "", "committing": "" } },
                )
                .await
                .map_err(|e| error::driver("release the insert lock", e))
        })
        .await;
        if let Err(e) = released {
            tracing::warn!(error = %e, "insert lock not released; it expires with its lease");
        }
    }

    /// Finishes the batches of holders whose lease has expired (crashed, or gone for good), so
    /// their staged keys do not wait for the tenant's next checked insert. Each lock is taken (one
    /// attempt; a busy one is skipped) and released like a holder's. Run by
    /// [`repair`](Self::repair) before it settles pending events, so a batch made live here has
    /// its events settled by the same repair.
    pub(crate) async fn finish_abandoned_batches(&self) -> Result<()> {
        let docs: Vec<Document> = self
            .locks
            .find(doc! { "batch": { "$exists": true }, "until": { "$lte": date(Utc::now()) } })
            .projection(doc! { "_id": 1 })
            .await
            .map_err(|e| error::driver("find abandoned checked inserts", e))?
            .try_collect()
            .await
            .map_err(|e| error::driver("find abandoned checked inserts", e))?;
        for d in docs {
            let Some(id) = d.get_str("_id").ok().map(str::to_owned) else {
                continue;
            };
            let holder = uuid::Uuid::now_v7().simple().to_string();
            // Best effort: a lock that is busy now is finished by a later repair or holder.
            let Ok(Some(taken)) = self.try_lock(&id, &holder).await else {
                continue;
            };
            if let Some(left) = taken.get("batch").cloned() {
                let committed = taken.get_bool("committing").unwrap_or(false);
                retry_busy(|| self.finish_batch(&left, committed)).await?;
            }
            let lock = InsertLock {
                id,
                holder,
                fence: fence_of(&taken)?,
                batch: BsonUuid::from_bytes([0; 16]),
            };
            self.unlock_inserts(&lock).await;
        }
        Ok(())
    }

    /// Finishes batch `batch` a holder left: makes its staged keys live when it was committing,
    /// else removes them. Idempotent.
    pub(crate) async fn finish_batch(&self, batch: &Bson, committed: bool) -> Result<()> {
        let staged = doc! { "staged": { "$eq": batch.clone() } };
        if committed {
            self.keys
                .update_many(
                    staged,
                    doc! { "$set": { "deleting": false }, "$unset": { "staged": "" } },
                )
                .await
                .map_err(|e| error::driver("finish checked insert", e))?;
        } else {
            self.keys
                .delete_many(staged)
                .await
                .map_err(|e| error::driver("discard checked insert", e))?;
        }
        Ok(())
    }
}
