//! `<prefix>webhook_deliveries`: one document per (subscription, event), `_id` the delivery id
//! (derived from the pair, so a repeated fan-out collides on `_id` instead of storing twice).
//!
//! The delivery job reads it by `(state, next_attempt_at, _id)`; people list it by
//! `(tenant_id, created_at, _id)` or `(subscription_id, created_at, _id)`, newest first;
//! retention deletes by `(state, created_at)`. Every write but [`enqueue`] and retention is one
//! single-document write.
//!
//! [`enqueue`]: MongoStore::enqueue_webhook_deliveries

use apikey_core::clock::truncate_ms;
use apikey_core::webhook::{Delivery, DeliveryFilter, DeliveryState};
use apikey_core::{Result, TenantScope};
use bson::{Document, doc};
use chrono::{DateTime, TimeDelta, Utc};
use futures_util::TryStreamExt;
use uuid::Uuid;

use super::doc::{DeliveryDoc, attempt_fields};
use super::scoped;
use crate::doc::{date, uuid};
use crate::error;
use crate::insert_new::insert_new;
use crate::store::MongoStore;

const PENDING: &str = "pending";

/// The smallest whole millisecond at or after `t`: stored instants are whole milliseconds, so
/// `x < t` ⟺ `x < ceil_ms(t)`.
fn ceil_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    let down = truncate_ms(t);
    if down == t {
        t
    } else {
        down + TimeDelta::milliseconds(1)
    }
}

impl MongoStore {
    /// Inserts the deliveries whose `_id` is not stored; how many were new.
    ///
    /// One unordered `insert_many`: every document is tried, a duplicate `_id` (the delivery is
    /// stored already, or twice in the batch) is a write error that leaves the stored document
    /// alone and is not counted. Any other error is returned; without a transaction some of the
    /// batch may be stored by then (the contract's "all or none" does not hold here). That is
    /// safe to retry: the fan-out enqueues the same ids again, the stored ones are skipped and
    /// the rest stored.
    pub(crate) async fn enqueue_webhook_deliveries(&self, batch: &[Delivery]) -> Result<u64> {
        if batch.is_empty() {
            return Ok(0);
        }
        // Every document is built (and checked) before anything is sent.
        let docs = batch
            .iter()
            .map(|d| DeliveryDoc::from_delivery(d).to_document())
            .collect::<Result<Vec<_>>>()?;
        insert_new(&self.webhook_deliveries, docs, "enqueue webhook deliveries").await
    }

    /// Up to `limit` pending deliveries with `next_attempt_at <= now`, earliest first.
    pub(crate) async fn due_webhook_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        // A limit of 0 is "no limit" to MongoDB.
        if limit == 0 {
            return Ok(Vec::new());
        }
        let filter = doc! {
            "state": { "$eq": PENDING },
            // Stored instants are whole milliseconds: `x <= now` ⟺ `x <= floor_ms(now)`.
            "next_attempt_at": { "$lte": date(truncate_ms(now)) },
        };
        let sort = doc! { "next_attempt_at": 1, "_id": 1 };
        self.find_deliveries(filter, sort, limit, "due webhook deliveries")
            .await
    }

    /// The deliveries `scope` admits matching `filter`, newest first.
    pub(crate) async fn list_webhook_deliveries(
        &self,
        scope: &TenantScope,
        filter: &DeliveryFilter,
    ) -> Result<Vec<Delivery>> {
        let mut cond = Document::new();
        if let Some(s) = filter.subscription_id {
            cond.insert("subscription_id", doc! { "$eq": uuid(s.0) });
        }
        if let Some(state) = filter.state {
            cond.insert("state", doc! { "$eq": state.as_str() });
        }
        let sort = doc! { "created_at": -1, "_id": -1 };
        self.find_deliveries(
            scoped(scope, cond),
            sort,
            filter.limit(),
            "list webhook deliveries",
        )
        .await
    }

    async fn find_deliveries(
        &self,
        filter: Document,
        sort: Document,
        limit: u32,
        doing: &'static str,
    ) -> Result<Vec<Delivery>> {
        let docs: Vec<Document> = self
            .webhook_deliveries
            .find(filter)
            .sort(sort)
            .limit(i64::from(limit))
            .await
            .map_err(|e| error::driver(doing, e))?
            .try_collect()
            .await
            .map_err(|e| error::driver(doing, e))?;
        docs.into_iter().map(DeliveryDoc::decode).collect()
    }

    /// The delivery `id` if `scope` admits it.
    pub(crate) async fn webhook_delivery(
        &self,
        scope: &TenantScope,
        id: Uuid,
    ) -> Result<Option<Delivery>> {
        self.webhook_deliveries
            .find_one(scoped(scope, doc! { "_id": { "$eq": uuid(id) } }))
            .await
            .map_err(|e| error::driver("get webhook delivery", e))?
            .map(DeliveryDoc::decode)
            .transpose()
    }

    /// `$set`s the attempt fields of `d` on its document; `false` if it is gone.
    pub(crate) async fn record_webhook_attempt(&self, d: &Delivery) -> Result<bool> {
        let result = self
            .webhook_deliveries
            .update_one(
                doc! { "_id": { "$eq": uuid(d.id) } },
                doc! { "$set": attempt_fields(d)? },
            )
            .await
            .map_err(|e| error::driver("record webhook attempt", e))?;
        Ok(result.matched_count == 1)
    }

    /// Makes the delivery pending, due at `now`, given up after `give_up_at`, if `scope`
    /// admits it (attempts and the last attempt's fields are kept).
    pub(crate) async fn redeliver_webhook(
        &self,
        scope: &TenantScope,
        id: Uuid,
        now: DateTime<Utc>,
        give_up_at: DateTime<Utc>,
    ) -> Result<bool> {
        let result = self
            .webhook_deliveries
            .update_one(
                scoped(scope, doc! { "_id": { "$eq": uuid(id) } }),
                doc! { "$set": {
                    "state": PENDING,
                    "next_attempt_at": date(truncate_ms(now)),
                    "give_up_at": date(truncate_ms(give_up_at)),
                } },
            )
            .await
            .map_err(|e| error::driver("redeliver webhook delivery", e))?;
        Ok(result.matched_count == 1)
    }

    /// How many deliveries are pending, across tenants.
    pub(crate) async fn pending_webhook_count(&self) -> Result<u64> {
        let n = self
            .webhook_deliveries
            .count_documents(doc! { "state": { "$eq": PENDING } })
            .await
            .map_err(|e| error::driver("count pending webhook deliveries", e))?;
        Ok(n)
    }

    /// Deletes the delivered and failed deliveries created before `before`; how many.
    pub(crate) async fn purge_webhook_deliveries(&self, before: DateTime<Utc>) -> Result<u64> {
        let result = self
            .webhook_deliveries
            .delete_many(doc! {
                "state": { "$in": [
                    DeliveryState::Delivered.as_str(),
                    DeliveryState::Failed.as_str(),
                ] },
                "created_at": { "$lt": date(ceil_ms(before)) },
            })
            .await
            .map_err(|e| error::driver("purge webhook deliveries", e))?;
        Ok(result.deleted_count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceil_ms_rounds_up_only_partial_milliseconds() {
        let t = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        assert_eq!(ceil_ms(t), t);
        let partial = t + TimeDelta::microseconds(1);
        assert_eq!(ceil_ms(partial), t + TimeDelta::milliseconds(1));
    }
}
