//! The journal: how a key change and its audit event stay together without multi-document
//! transactions.
//!
//! Every write to a key document is one single-document write (atomic on any MongoDB) that also
//! pushes the change's audit event onto the key's `pending_events` array. From that moment the
//! change and its event are committed together. The event is then *settled*: inserted into the
//! audit collection under its own id as `_id` (a duplicate-key answer means it is already there,
//! so the step is idempotent), and pulled from `pending_events`. A deletion first marks the key
//! `deleting: true` with its event pending (readers stop seeing the key at once), appends the
//! event, and only then removes the document.
//!
//! Settling gives the event its audit position (see [`positions`](crate::positions)), so
//! positions follow settle order. After a write, every event pending on its key is settled in
//! commit order (not only the write's own), so a key's events take positions in change order.
//!
//! Tenant settings are journaled the same way (see [`tenant_settings`](crate::tenant_settings)):
//! a settings write pushes its event onto the settings document's own `pending_events`, and the
//! same steps settle it. Settings documents are never marked `deleting`.
//!
//! A crash between the steps leaves the event pending on the key document (or, for a deletion,
//! on the marked document), never lost: [`MongoStore::repair`] settles every pending event and
//! finishes every marked deletion. It runs in [`init`](MongoStore::init) and before every
//! audit query, positional read (`read_after`) or purge, so the log a reader sees always holds
//! every committed change.

use apikey_core::{Error, Result};
use bson::{Bson, Document, Uuid as BsonUuid, doc};
use futures_util::TryStreamExt;
use mongodb::Collection;
use serde::Deserialize;

use crate::error;
use crate::store::MongoStore;

impl MongoStore {
    /// Step 2: settles `event` (an [`EventDoc`](crate::doc::EventDoc) document, pending on a key)
    /// into the audit collection with a fresh position. `false` when it was already there (a
    /// retry, or a repair racing the writer): success either way. A pre-v2 event still pending
    /// from an older version is upgraded first (see [`migrate_v2`](crate::migrate_v2)).
    pub(crate) async fn settle_event(&self, event: &Document) -> Result<bool> {
        let event = crate::migrate_v2::upgrade(event.clone())?;
        self.insert_positioned(event).await
    }

    /// Inserts an event document under the next position, unless an event with its `_id` is
    /// stored already. The look-up first keeps the common retry from burning a position; a race
    /// that passes it ends in a duplicate-key answer, and the position taken is a hole (see
    /// [`positions`](crate::positions)).
    pub(crate) async fn insert_positioned(&self, mut event: Document) -> Result<bool> {
        let id = event
            .get("_id")
            .cloned()
            .ok_or_else(|| Error::backend("settle audit event: no _id", "malformed event"))?;
        let stored = self
            .audit
            .find_one(doc! { "_id": { "$eq": id.clone() } })
            .projection(doc! { "_id": 1 })
            .await
            .map_err(|e| error::driver("settle audit event", e))?;
        if stored.is_some() {
            return Ok(false);
        }
        let position = self.next_position().await?;
        event.insert("position", crate::doc::i64_of(position));
        match self.audit.insert_one(event).await {
            Ok(_) => Ok(true),
            Err(e) if error::is_duplicate_key(&e) => {
                // Two unique indexes can answer duplicate key. On `_id` the event is there and
                // this is success; on `position` the counter is behind the log (its document was
                // dropped or restored from an older backup), and taking the event for settled
                // would drop it from the pending list unlogged.
                let stored = self
                    .audit
                    .find_one(doc! { "_id": { "$eq": id } })
                    .projection(doc! { "_id": 1 })
                    .await
                    .map_err(|e| error::driver("settle audit event", e))?;
                match stored {
                    Some(_) => Ok(false),
                    None => Err(Error::backend(
                        "settle audit event: the position counter is behind the stored positions",
                        e,
                    )),
                }
            }
            Err(e) => Err(error::driver("settle audit event", e)),
        }
    }

    /// Step 3: drops the settled event `event` from the pending list of document `id` in
    /// `coll` (a key, or a tenant's settings).
    pub(crate) async fn clear_pending(
        &self,
        coll: &Collection<Document>,
        id: &Bson,
        event: BsonUuid,
    ) -> Result<()> {
        coll.update_one(
            doc! { "_id": { "$eq": id.clone() } },
            doc! { "$pull": { "pending_events": { "_id": { "$eq": event } } } },
        )
        .await
        .map_err(|e| error::driver("clear pending audit event", e))?;
        Ok(())
    }

    /// Step 3 of a deletion: removes the document marked `deleting`.
    pub(crate) async fn remove_marked(&self, coll: &Collection<Document>, id: &Bson) -> Result<()> {
        coll.delete_one(doc! { "_id": { "$eq": id.clone() }, "deleting": { "$eq": true } })
            .await
            .map_err(|e| error::driver("delete key", e))?;
        Ok(())
    }

    /// Steps 2 and 3 after a committed write: settles every event pending on `key`, in the order
    /// they were committed, not only the write's own. An event an earlier crash left pending is
    /// thereby settled before the newer one (positions follow the key's change order), and a
    /// deletion never removes the document with an older event still on it — settling only the
    /// deletion's own event lost it. The change and its event are already committed together, so
    /// a failure here is not the caller's: it is logged, and the events stay pending until the
    /// next [`repair`](Self::repair).
    pub(crate) async fn settle(&self, key: BsonUuid) {
        self.settle_in(&self.keys, &Bson::from(key)).await;
    }

    /// [`settle`](Self::settle) for document `id` of any journaled collection (keys, tenant
    /// settings).
    pub(crate) async fn settle_in(&self, coll: &Collection<Document>, id: &Bson) {
        if let Err(e) = self.repair_doc(coll, id).await {
            tracing::warn!(
                error = %e,
                collection = coll.name(),
                document = %id,
                "audit event left pending; the next repair settles it"
            );
        }
    }

    /// Settles every pending audit event and finishes every interrupted deletion; returns how
    /// many events it found pending. Safe to run at any time, concurrently with writers and with
    /// other repairs (every step is idempotent). [`init`](Self::init) runs it, and so does every
    /// audit query and purge before reading.
    ///
    /// Three collections carry pending events: the keys, the tenant settings (one document per
    /// tenant, written like a key change) and the catalog (one document per preset, likewise).
    /// Keys a checked insert has staged but not committed are left alone: their events are not
    /// committed yet (see *Checked inserts* in the crate README); first, the batches of checked
    /// inserts whose holder's lease expired are finished (made live or removed).
    pub async fn repair(&self) -> Result<u64> {
        self.finish_abandoned_batches().await?;
        let keys = self.repair_collection(&self.keys).await?;
        let settings = self.repair_collection(&self.settings).await?;
        Ok(keys + settings + self.repair_collection(&self.catalog).await?)
    }

    /// Settles the pending events of every document of `coll`.
    async fn repair_collection(&self, coll: &Collection<Document>) -> Result<u64> {
        let mut cursor = coll
            .find(doc! {
                "pending_events._id": { "$exists": true },
                // A checked insert's staged keys are not committed yet (see `checked`).
                "staged": { "$exists": false },
            })
            .projection(doc! { "pending_events": 1, "deleting": 1 })
            .await
            .map_err(|e| error::driver("find pending audit events", e))?;
        let mut settled = 0;
        while let Some(doc) = cursor
            .try_next()
            .await
            .map_err(|e| error::driver("find pending audit events", e))?
        {
            settled += self.repair_one(coll, doc).await?;
        }
        Ok(settled)
    }

    /// Settles the pending events of one key (and finishes its deletion if it is marked).
    pub(crate) async fn repair_key(&self, key: BsonUuid) -> Result<u64> {
        self.repair_doc(&self.keys, &Bson::from(key)).await
    }

    /// Settles the pending events of document `id` in `coll`.
    pub(crate) async fn repair_doc(&self, coll: &Collection<Document>, id: &Bson) -> Result<u64> {
        let doc = coll
            .find_one(doc! { "_id": { "$eq": id.clone() }, "staged": { "$exists": false } })
            .projection(doc! { "pending_events": 1, "deleting": 1 })
            .await
            .map_err(|e| error::driver("find pending audit events", e))?;
        match doc {
            Some(doc) => self.repair_one(coll, doc).await,
            None => Ok(0),
        }
    }

    async fn repair_one(&self, coll: &Collection<Document>, doc: Document) -> Result<u64> {
        let pending: Pending =
            bson::from_document(doc).map_err(|e| error::bson("read pending audit events", e))?;
        for event in &pending.pending_events {
            self.settle_event(event).await?;
        }
        // Only key documents are ever marked `deleting`; settings documents have no such field.
        if pending.deleting {
            self.remove_marked(coll, &pending.id).await?;
        } else {
            for event in &pending.pending_events {
                let id: EventId = bson::from_document(event.clone())
                    .map_err(|e| error::bson("read pending event id", e))?;
                self.clear_pending(coll, &pending.id, id.id).await?;
            }
        }
        Ok(pending.pending_events.len() as u64)
    }
}

/// What [`MongoStore::repair`] reads of a journaled document.
#[derive(Deserialize)]
struct Pending {
    /// A key's binary UUID, or a settings document's string (see
    /// [`tenant_settings`](crate::tenant_settings)).
    #[serde(rename = "_id")]
    id: Bson,
    #[serde(default)]
    pending_events: Vec<Document>,
    #[serde(default)]
    deleting: bool,
}

/// The id of a pending event.
#[derive(Deserialize)]
struct EventId {
    #[serde(rename = "_id")]
    id: BsonUuid,
}
