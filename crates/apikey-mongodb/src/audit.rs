//! The [`AuditStore`] implementation of [`MongoStore`]: reading, appending to and pruning the
//! audit collection, after settling whatever a crash left pending (see
//! [`journal`](crate::journal)), with positions from [`positions`](crate::positions) and reader
//! cursors from [`cursors`](crate::cursors).

use apikey_core::{AuditEvent, AuditFilter, AuditStore, ReaderCursor, Result, TenantScope};
use async_trait::async_trait;
use bson::{Document, doc};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;

use crate::doc::{EventDoc, date, i64_of};
use crate::error;
use crate::filter;
use crate::store::MongoStore;

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

    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        // Settle first, so an event still pending is purged by the same rule as the others.
        self.repair().await?;
        let mut filter = doc! { "at": { "$lt": date(before) } };
        // Never past the slowest registered reader; with none, time alone decides.
        if let Some(slowest) = self.slowest_cursor().await? {
            filter.insert("position", doc! { "$lte": i64_of(slowest) });
        }
        let result = self
            .audit
            .delete_many(filter)
            .await
            .map_err(|e| error::driver("purge audit events", e))?;
        Ok(result.deleted_count)
    }
}
