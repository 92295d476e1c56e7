//! [`Isolated`] forwards [`RequestLogStore`] too, so a store on its own database can run the
//! request log suite and still drop its database when the case ends.

use apikey_core::request_log::{RequestFilter, RequestLogStore, RequestRecord};
use apikey_core::{KeyId, Result, TenantScope};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Isolated;

#[async_trait]
impl<S: RequestLogStore> RequestLogStore for Isolated<S> {
    async fn append_requests(&self, records: &[RequestRecord]) -> Result<u64> {
        self.store.append_requests(records).await
    }

    async fn requests(
        &self,
        tenant: &TenantScope,
        filter: &RequestFilter,
    ) -> Result<Vec<RequestRecord>> {
        self.store.requests(tenant, filter).await
    }

    async fn purge_requests(&self, now: DateTime<Utc>) -> Result<u64> {
        self.store.purge_requests(now).await
    }

    async fn erase_requests_of(&self, keys: &[KeyId]) -> Result<u64> {
        self.store.erase_requests_of(keys).await
    }
}
