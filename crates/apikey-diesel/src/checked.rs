//! The [`CheckedInsert`] implementation: `apikey-sql`'s checked-insert flow (every key of a
//! batch or none, the tenant's key-count limits counted under its lock row) over this store's
//! [`Driver`](apikey_sql::Driver) implementation, and the report of duplicate aliases.

use apikey_core::tenant::{CheckedInsert, CountLimits};
use apikey_core::{AuditEvent, KeyRecord, Result, TenantId};
use apikey_sql::DuplicateAlias;
use apikey_sql::flow::{aliases, checked};
use async_trait::async_trait;

use crate::dialect::Dialect;
use crate::store::DieselStore;

#[async_trait]
impl<D: Dialect> CheckedInsert for DieselStore<D> {
    async fn insert_checked(
        &self,
        tenant: Option<&TenantId>,
        items: &[(KeyRecord, AuditEvent)],
        limits: &CountLimits,
    ) -> Result<()> {
        checked::insert(self, tenant, items, limits).await
    }
}

impl<D: Dialect> DieselStore<D> {
    /// Every alias that more than one key of a tenant holds, with those keys' ids.
    ///
    /// Aliases are unique per tenant, but a database written before migration 0008 may hold
    /// duplicates. Then [`migrate`](Self::migrate) leaves the `(tenant_key, alias)` index
    /// non-unique and logs a warning with their number (new writes are still checked): resolve
    /// each (give the keys distinct aliases) and migrate again to make the index unique. Empty
    /// once it is.
    pub async fn duplicate_aliases(&self) -> Result<Vec<DuplicateAlias>> {
        aliases::duplicates(self).await
    }
}
