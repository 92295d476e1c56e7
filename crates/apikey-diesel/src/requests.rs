//! The [`RequestLogStore`] implementation: `apikey-sql`'s request log flow (migration 0010)
//! over this store's [`Driver`](apikey_sql::Driver) implementation.

use apikey_core::request_log::{RequestFilter, RequestLogStore, RequestRecord};
use apikey_core::{KeyId, Result, TenantScope};
use apikey_sql::flow::requests as flow;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::dialect::Dialect;
use crate::store::DieselStore;

#[async_trait]
impl<D: Dialect> RequestLogStore for DieselStore<D> {
    async fn append_requests(&self, records: &[RequestRecord]) -> Result<u64> {
        flow::append(self, records).await
    }

    async fn requests(
        &self,
        tenant: &TenantScope,
        filter: &RequestFilter,
    ) -> Result<Vec<RequestRecord>> {
        flow::requests(self, tenant, filter).await
    }

    async fn purge_requests(&self, now: DateTime<Utc>) -> Result<u64> {
        flow::purge(self, now).await
    }

    async fn erase_requests_of(&self, keys: &[KeyId]) -> Result<u64> {
        flow::erase_of(self, keys).await
    }
}
