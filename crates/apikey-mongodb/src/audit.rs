//! The [`AuditStore`] implementation of [`MongoStore`]: reading and pruning the audit
//! collection, after settling whatever a crash left pending (see [`journal`](crate::journal)).

use apikey_core::{AuditEvent, AuditFilter, AuditStore, Result, TenantScope};
use async_trait::async_trait;
use bson::{Document, doc};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;

use crate::doc::{EventDoc, date};
use crate::error;
use crate::filter;
use crate::store::MongoStore;

#[async_trait]
impl AuditStore for MongoStore {
    async fn query(&self, tenant: &TenantScope, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        self.repair().await?;
        let limit = i64::try_from(filter.page_size()).unwrap_or(1000);
        let docs: Vec<Document> = self
            .audit
            .find(filter::events(tenant, filter)?)
            .sort(doc! { "at": 1, "_id": 1 })
            .limit(limit)
            .await
            .map_err(|e| error::driver("query audit events", e))?
            .try_collect()
            .await
            .map_err(|e| error::driver("query audit events", e))?;
        docs.into_iter()
            .map(|d| EventDoc::from_document(d)?.into_event())
            .collect()
    }

    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        // Settle first, so an event still pending is purged by the same rule as the others.
        self.repair().await?;
        let result = self
            .audit
            .delete_many(doc! { "at": { "$lt": date(before) } })
            .await
            .map_err(|e| error::driver("purge audit events", e))?;
        Ok(result.deleted_count)
    }
}
