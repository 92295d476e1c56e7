//! Step 1 of each write: the single-document write that commits a key change together with its
//! pending audit event (see [`journal`](crate::journal) for the steps after it). Kept apart
//! from the [`KeyStore`](apikey_core::KeyStore) methods so tests can stop after any step, as a
//! crash would.

use apikey_core::{AuditEvent, Error, KeyId, KeyRecord, Result, TenantScope};
use bson::{Bson, Document, Uuid as BsonUuid, doc};

use crate::doc::{EventDoc, KeyDoc, uuid};
use crate::error;
use crate::filter;
use crate::store::MongoStore;

/// A committed write whose audit event still has to be settled.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) key: BsonUuid,
    pub(crate) event: Document,
}

impl Pending {
    fn new(key: KeyId, event: &AuditEvent) -> Result<Self> {
        Ok(Self {
            key: uuid(*key.as_uuid()),
            event: EventDoc::from_event(event)?.to_document()?,
        })
    }
}

/// What step 1 of a deletion found.
#[derive(Debug)]
pub(crate) enum Marked {
    /// The key is now marked `deleting`, with the event pending.
    Now(Pending),
    /// An earlier deletion of this key was interrupted after its mark: it must be finished.
    Earlier(BsonUuid),
    /// There is no such key in the scope.
    Missing,
}

impl MongoStore {
    /// Insert, step 1: the key document with its creation event pending.
    pub(crate) async fn insert_step(
        &self,
        record: &KeyRecord,
        event: &AuditEvent,
    ) -> Result<Pending> {
        let pending = Pending::new(record.id, event)?;
        let mut doc = KeyDoc::from_record(record).to_document()?;
        doc.insert(
            "pending_events",
            vec![Bson::Document(pending.event.clone())],
        );
        doc.insert("deleting", false);
        self.check_aliases(record).await?;
        if let Err(e) = self.keys.insert_one(doc).await {
            return Err(if error::is_duplicate_key(&e) {
                self.duplicate_error("insert key", record, e).await
            } else {
                error::driver("insert key", e)
            });
        }
        Ok(pending)
    }

    /// Update, step 1: compare-and-set on `version`, replacing every field but the usage ones
    /// and pushing the event, in one single-document update.
    pub(crate) async fn update_step(
        &self,
        tenant: &TenantScope,
        expected_version: u64,
        record: &KeyRecord,
        event: &AuditEvent,
    ) -> Result<Pending> {
        let pending = Pending::new(record.id, event)?;
        let mut set = KeyDoc::from_record(record).to_document()?;
        // The id never changes; usage belongs to `record_usage` (the caller's copy may be stale).
        for field in ["_id", "last_used_at", "usage_count"] {
            set.remove(field);
        }
        let mut filter = filter::live_key(tenant, record.id);
        filter.insert(
            "version",
            doc! { "$eq": i64::try_from(expected_version).unwrap_or(i64::MAX) },
        );
        self.check_aliases(record).await?;
        let result = match self
            .keys
            .update_one(
                filter,
                doc! { "$set": set, "$push": { "pending_events": pending.event.clone() } },
            )
            .await
        {
            Ok(r) => r,
            Err(e) if error::is_duplicate_key(&e) => {
                return Err(self.duplicate_error("update key", record, e).await);
            }
            Err(e) => return Err(error::driver("update key", e)),
        };
        if result.matched_count == 1 {
            return Ok(pending);
        }
        // Nothing matched: tell a missing key from a stale version.
        let exists = self
            .keys
            .find_one(filter::live_key(tenant, record.id))
            .projection(doc! { "version": 1 })
            .await
            .map_err(|e| error::driver("update key", e))?
            .is_some();
        Err(if exists {
            Error::stale(format_args!("key {}", record.id))
        } else {
            Error::not_found(format_args!("key {}", record.id))
        })
    }

    /// Delete, step 1: marks the key `deleting` (hidden from every reader from now on) with the
    /// deletion event pending.
    pub(crate) async fn mark_step(
        &self,
        tenant: &TenantScope,
        id: KeyId,
        event: &AuditEvent,
    ) -> Result<Marked> {
        let pending = Pending::new(id, event)?;
        let result = self
            .keys
            .update_one(
                filter::live_key(tenant, id),
                doc! {
                    "$set": { "deleting": true },
                    "$push": { "pending_events": pending.event.clone() },
                },
            )
            .await
            .map_err(|e| error::driver("delete key", e))?;
        if result.matched_count == 1 {
            return Ok(Marked::Now(pending));
        }
        let earlier = self
            .keys
            .find_one(filter::deleting_key(tenant, id))
            .projection(doc! { "_id": 1 })
            .await
            .map_err(|e| error::driver("delete key", e))?;
        Ok(match earlier {
            Some(_) => Marked::Earlier(uuid(*id.as_uuid())),
            None => Marked::Missing,
        })
    }
}
