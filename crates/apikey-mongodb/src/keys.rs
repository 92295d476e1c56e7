//! The [`KeyStore`] and [`LegacyLookup`] implementations of [`MongoStore`].

use apikey_core::store::LegacyLookup;
use apikey_core::{
    AuditEvent, Cursor, KeyFilter, KeyId, KeyRecord, KeyStore, LookupId, Page, Result, TenantId,
    TenantScope, USAGE_MARK_RETENTION, UsageBatchId, UsageUpdate,
};
use async_trait::async_trait;
use bson::{Document, doc};
use futures_util::TryStreamExt;
use mongodb::options::ReturnDocument;

use crate::doc::{KeyDoc, date, uuid};
use crate::error;
use crate::filter;
use crate::store::MongoStore;
use crate::writes::Marked;

/// Reads leave out the journal's bookkeeping fields.
fn record_fields() -> Document {
    doc! { "pending_events": 0, "deleting": 0, "usage_marks": 0 }
}

impl MongoStore {
    async fn find_records(
        &self,
        filter: Document,
        sort: Option<Document>,
        limit: Option<i64>,
    ) -> Result<Vec<KeyRecord>> {
        let mut find = self.keys.find(filter).projection(record_fields());
        if let Some(sort) = sort {
            find = find.sort(sort);
        }
        if let Some(limit) = limit {
            find = find.limit(limit);
        }
        let docs: Vec<Document> = find
            .await
            .map_err(|e| error::driver("query keys", e))?
            .try_collect()
            .await
            .map_err(|e| error::driver("query keys", e))?;
        docs.into_iter().map(KeyDoc::record_from).collect()
    }

    /// Drops the marks of flushers that last touched this key before `cutoff` (one entry per
    /// verifier process would otherwise accumulate forever). The update re-checks the age, so a
    /// mark refreshed meanwhile stays.
    async fn forget_stale_marks(
        &self,
        id: bson::Uuid,
        key: &Document,
        cutoff: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        let Ok(marks) = key.get_document("usage_marks") else {
            return Ok(());
        };
        let cutoff = date(cutoff);
        for (flusher, m) in marks {
            let stale = m
                .as_document()
                .and_then(|m| m.get_datetime("t").ok())
                .is_some_and(|t| *t < cutoff);
            if !stale {
                continue;
            }
            let path = format!("usage_marks.{flusher}");
            self.keys
                .update_one(
                    doc! { "_id": { "$eq": id }, format!("{path}.t"): { "$lt": cutoff } },
                    doc! { "$unset": { path.as_str(): "" } },
                )
                .await
                .map_err(|e| error::driver("forget usage marks", e))?;
        }
        Ok(())
    }

    async fn find_record(
        &self,
        filter: Document,
        doing: &'static str,
    ) -> Result<Option<KeyRecord>> {
        self.keys
            .find_one(filter)
            .projection(record_fields())
            .await
            .map_err(|e| error::driver(doing, e))?
            .map(KeyDoc::record_from)
            .transpose()
    }
}

#[async_trait]
impl KeyStore for MongoStore {
    async fn insert(&self, record: &KeyRecord, event: &AuditEvent) -> Result<()> {
        let p = self.insert_step(record, event).await?;
        self.settle(p.key).await;
        Ok(())
    }

    async fn get(&self, tenant: &TenantScope, id: KeyId) -> Result<Option<KeyRecord>> {
        self.find_record(filter::live_key(tenant, id), "get key")
            .await
    }

    async fn find_by_lookup_id(&self, lookup: &LookupId) -> Result<Option<KeyRecord>> {
        let filter = doc! {
            "lookup_id": { "$eq": lookup.as_str() },
            "deleting": { "$eq": false },
        };
        self.find_record(filter, "find key by lookup id").await
    }

    async fn update(
        &self,
        tenant: &TenantScope,
        expected_version: u64,
        record: &KeyRecord,
        event: &AuditEvent,
    ) -> Result<()> {
        let p = self
            .update_step(tenant, expected_version, record, event)
            .await?;
        self.settle(p.key).await;
        Ok(())
    }

    async fn record_usage(&self, batch: UsageBatchId, items: &[UsageUpdate]) -> Result<()> {
        // MongoDB has no transaction here, so each key is its own atomic step: the filter matches
        // only while the key holds no mark of this flusher at this batch or later, and the same
        // update sets the mark. A batch sent again after a failure half-way therefore applies
        // exactly the keys the first attempt did not.
        let mark = format!("usage_marks.{}", batch.flusher.simple());
        let seq_path = format!("{mark}.s");
        let seq = i64::try_from(batch.seq).unwrap_or(i64::MAX);
        let cutoff = batch.at - USAGE_MARK_RETENTION;
        for u in items {
            let id = uuid(*u.id.as_uuid());
            // `$max` keeps the later time whatever order batches arrive in; `version` is untouched.
            let marks = self
                .keys
                .find_one_and_update(
                    doc! {
                        "_id": { "$eq": id },
                        "deleting": { "$eq": false },
                        "$or": [
                            { seq_path.as_str(): { "$exists": false } },
                            { seq_path.as_str(): { "$lt": seq } },
                        ],
                    },
                    doc! {
                        "$max": { "last_used_at": date(u.last_used_at) },
                        "$inc": { "usage_count": i64::try_from(u.count).unwrap_or(i64::MAX) },
                        "$set": { mark.as_str(): { "s": seq, "t": date(batch.at) } },
                    },
                )
                .projection(doc! { "usage_marks": 1 })
                .return_document(ReturnDocument::After)
                .await
                .map_err(|e| error::driver("record usage", e))?;
            if let Some(marks) = marks {
                self.forget_stale_marks(id, &marks, cutoff).await?;
            }
        }
        Ok(())
    }

    async fn query(&self, tenant: &TenantScope, filter: &KeyFilter) -> Result<Page<KeyRecord>> {
        let size = filter.page_size();
        let mut items = self
            .find_records(
                filter::keys(tenant, filter)?,
                Some(doc! { "created_at": 1, "_id": 1 }),
                // One past a full page proves there is a next page.
                Some(i64::try_from(size).unwrap_or(i64::MAX).saturating_add(1)),
            )
            .await?;
        let next = if items.len() > size {
            items.truncate(size);
            items.last().map(Cursor::after)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn delete(&self, tenant: &TenantScope, id: KeyId, event: &AuditEvent) -> Result<bool> {
        match self.mark_step(tenant, id, event).await? {
            Marked::Now(p) => {
                self.settle(p.key).await;
                Ok(true)
            }
            Marked::Earlier(key) => {
                // Logically deleted at its mark, with its own event: finish it, report none.
                self.repair_key(key).await?;
                Ok(false)
            }
            Marked::Missing => Ok(false),
        }
    }

    async fn count(&self, tenant: Option<&TenantId>, filter: &KeyFilter) -> Result<u64> {
        // Counted by the server, with the query's conditions minus its pagination: the default
        // pages through and decodes every matching record. Keys marked `deleting` are gone for
        // every reader, so for the count too.
        self.keys
            .count_documents(filter::counted(tenant, filter)?)
            .await
            .map_err(|e| error::driver("count keys", e))
    }

    fn checked(&self) -> Option<&dyn apikey_core::tenant::CheckedInsert> {
        Some(self)
    }

    fn analytics(&self) -> Option<&dyn apikey_core::analytics::AnalyticsStore> {
        Some(self)
    }

    fn legacy(&self) -> Option<&dyn LegacyLookup> {
        Some(self)
    }
}

#[async_trait]
impl LegacyLookup for MongoStore {
    async fn find_by_legacy_lookup(&self, prefix: &str) -> Result<Vec<KeyRecord>> {
        let filter = doc! {
            "legacy_lookup": { "$eq": prefix },
            "deleting": { "$eq": false },
        };
        self.find_records(filter, None, None).await
    }
}
