//! The [`AuditStore`] implementation of [`MongoStore`]: reading, appending to and pruning the
//! audit collection, after settling whatever a crash left pending (see
//! [`journal`](crate::journal)), with positions from [`positions`](crate::positions) and reader
//! cursors from [`cursors`](crate::cursors).

use std::collections::{HashMap, HashSet};

use apikey_core::audit::PurgeScope;
use apikey_core::{
    AuditEvent, AuditFilter, AuditStore, EventType, ReaderCursor, Result, TenantId, TenantScope,
};
use async_trait::async_trait;
use bson::{Bson, Document, doc};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;

use crate::doc::{EventDoc, date, i64_of};
use crate::error;
use crate::filter;
use crate::store::MongoStore;

/// The `tenant_id` condition of a scoped purge (`None`: every document). `$nin` also matches
/// documents whose tenant is null or absent: they are the default row's.
pub(crate) fn scope_filter(scope: &PurgeScope) -> Option<Bson> {
    match scope {
        PurgeScope::Tenant(t) => Some(Bson::String(t.as_str().to_owned())),
        PurgeScope::AllBut(except) if !except.is_empty() => {
            let except: Vec<&str> = except.iter().map(TenantId::as_str).collect();
            Some(Bson::Document(doc! { "$nin": except }))
        }
        _ => None,
    }
}

impl MongoStore {
    async fn find_events(
        &self,
        filter: Document,
        sort: Document,
        limit: i64,
        doing: &'static str,
    ) -> Result<Vec<AuditEvent>> {
        let docs: Vec<Document> = self
            .audit
            .find(filter)
            .sort(sort)
            .limit(limit)
            .await
            .map_err(|e| error::driver(doing, e))?
            .try_collect()
            .await
            .map_err(|e| error::driver(doing, e))?;
        docs.into_iter().map(EventDoc::decode).collect()
    }
}

#[async_trait]
impl AuditStore for MongoStore {
    async fn query(&self, tenant: &TenantScope, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        self.repair().await?;
        let limit = i64::try_from(filter.page_size()).unwrap_or(1000);
        self.find_events(
            filter::events(tenant, filter)?,
            doc! { "at": 1, "_id": 1 },
            limit,
            "query audit events",
        )
        .await
    }

    async fn append(&self, event: &AuditEvent) -> Result<bool> {
        let mut doc = EventDoc::from_event(event)?.to_document()?;
        // The store gives the position; whatever the caller's copy says is not it.
        doc.remove("position");
        self.insert_positioned(doc).await
    }

    async fn read_after(&self, after: u64, limit: u32) -> Result<Vec<AuditEvent>> {
        // A key change is settled into the audit collection after its key write: settle what is
        // pending first, so a reader never passes a committed change that is not in the log yet.
        self.repair().await?;
        self.find_events(
            doc! { "position": { "$gt": i64_of(after) } },
            doc! { "position": 1 },
            i64::from(limit.clamp(1, 1000)),
            "read audit events after a position",
        )
        .await
    }

    async fn last_position(&self) -> Result<u64> {
        self.current_position().await
    }

    async fn cursors(&self) -> Result<Vec<ReaderCursor>> {
        self.list_cursors().await
    }

    async fn save_cursor(&self, reader: &str, position: u64) -> Result<()> {
        self.store_cursor(reader, position).await
    }

    async fn remove_cursor(&self, reader: &str) -> Result<bool> {
        self.drop_cursor(reader).await
    }

    async fn rewrite_erased(&self, events: &[AuditEvent]) -> Result<u64> {
        // Settle first, so an event still pending in its key's document is in the collection.
        self.repair().await?;
        let mut found = 0;
        for e in events {
            let full = EventDoc::from_event(e)?.to_document()?;
            let mut set = Document::new();
            for field in ["actor", "reason", "data", "before", "after", "chain"] {
                set.insert(field, full.get(field).cloned().unwrap_or(bson::Bson::Null));
            }
            let result = self
                .audit
                .update_one(doc! { "_id": crate::doc::uuid(e.id) }, doc! { "$set": set })
                .await
                .map_err(|e| error::driver("rewrite erased audit event", e))?;
            found += result.matched_count;
        }
        Ok(found)
    }

    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        self.purge_scoped(&PurgeScope::AllBut(Vec::new()), before)
            .await
    }

    async fn purge_scoped(&self, scope: &PurgeScope, before: DateTime<Utc>) -> Result<u64> {
        // Settle first, so an event still pending is purged by the same rule as the others.
        self.repair().await?;
        let mut filter = doc! {
            "at": { "$lt": date(before) },
            "event_type": { "$ne": EventType::AuditCheckpoint.as_str() },
        };
        if let Some(tenant) = scope_filter(scope) {
            filter.insert("tenant_id", tenant);
        }
        // Never past the slowest registered reader; with none, time alone decides.
        if let Some(slowest) = self.slowest_cursor().await? {
            filter.insert("position", doc! { "$lte": i64_of(slowest) });
        }
        let candidates: Vec<Document> = self
            .audit
            .find(filter)
            .projection(doc! { "_id": 1, "key_id": 1, "version": 1 })
            .await
            .map_err(|e| error::driver("find audit events to purge", e))?
            .try_collect()
            .await
            .map_err(|e| error::driver("find audit events to purge", e))?;
        let keep = self.newest_of_live_keys(&candidates).await?;
        let ids: Vec<bson::Bson> = candidates
            .iter()
            .filter(|d| uuid_bytes(d.get("_id")).is_none_or(|id| !keep.contains(&id)))
            .filter_map(|d| d.get("_id").cloned())
            .collect();
        let mut purged = 0;
        for chunk in ids.chunks(1000) {
            let result = self
                .audit
                .delete_many(doc! { "_id": { "$in": chunk.to_vec() } })
                .await
                .map_err(|e| error::driver("purge audit events", e))?;
            purged += result.deleted_count;
        }
        Ok(purged)
    }
}

/// A key's id as stored, and its candidate events as (version, event id bytes).
type KeyCandidates = (bson::Bson, Vec<(i64, Vec<u8>)>);

/// The bytes of a stored UUID, to use as a map key (`Bson` is not `Hash`).
fn uuid_bytes(b: Option<&bson::Bson>) -> Option<Vec<u8>> {
    match b {
        Some(bson::Bson::Binary(bin)) => Some(bin.bytes.clone()),
        _ => None,
    }
}

impl MongoStore {
    /// The ids among `candidates` that are a live key's newest record: the event whose version is
    /// the key's current version. Retention keeps them (the key's view as it stands, and where its
    /// chain continues).
    async fn newest_of_live_keys(&self, candidates: &[Document]) -> Result<HashSet<Vec<u8>>> {
        let mut by_key: HashMap<Vec<u8>, KeyCandidates> = HashMap::new();
        for d in candidates {
            let (Some(key), Some(raw_key), Ok(version), Some(id)) = (
                d.get("key_id"),
                uuid_bytes(d.get("key_id")),
                d.get_i64("version"),
                uuid_bytes(d.get("_id")),
            ) else {
                continue;
            };
            if version > 0 {
                by_key
                    .entry(raw_key)
                    .or_insert_with(|| (key.clone(), Vec::new()))
                    .1
                    .push((version, id));
            }
        }
        let mut keep = HashSet::new();
        let keys: Vec<bson::Bson> = by_key.values().map(|(k, _)| k.clone()).collect();
        for chunk in keys.chunks(1000) {
            let live: Vec<Document> = self
                .keys
                .find(doc! { "_id": { "$in": chunk.to_vec() } })
                .projection(doc! { "_id": 1, "version": 1 })
                .await
                .map_err(|e| error::driver("read key versions for purge", e))?
                .try_collect()
                .await
                .map_err(|e| error::driver("read key versions for purge", e))?;
            for k in live {
                let (Some(id), Ok(version)) = (uuid_bytes(k.get("_id")), k.get_i64("version"))
                else {
                    continue;
                };
                for (v, event) in by_key.get(&id).map(|(_, e)| e).into_iter().flatten() {
                    if *v == version {
                        keep.insert(event.clone());
                    }
                }
            }
        }
        Ok(keep)
    }
}
