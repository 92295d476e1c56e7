//! The verifier's copy of each tenant's pools: read from the catalog when a key is cached and the
//! copy is older than its time to live, so a cache hit never reads the catalog.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::TenantPools;
use crate::catalog::{CatalogKind, CatalogStore};
use crate::error::Result;
use crate::ids::TenantId;
use crate::limit::PoolCharge;
use crate::record::KeyRecord;

/// How far apart the clocks of the instance that changed a key and the one reading it may be.
const CHANGE_MARGIN_US: i64 = 5_000_000;

/// A tenant's pools and when they were read (clock microseconds).
type PoolCopy = (i64, Arc<TenantPools>);

/// Each tenant's pools with the time they were read (clock microseconds).
#[derive(Debug)]
pub(crate) struct PoolBook {
    catalog: Arc<dyn CatalogStore>,
    ttl_us: i64,
    tenants: Mutex<HashMap<Option<TenantId>, PoolCopy>>,
}

impl PoolBook {
    /// A book over `catalog` whose copies live `ttl_us`.
    pub(crate) fn new(catalog: Arc<dyn CatalogStore>, ttl_us: i64) -> Self {
        Self {
            catalog,
            ttl_us,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets the copy of `tenant`'s pools.
    pub(crate) fn forget(&self, tenant: Option<&TenantId>) {
        self.tenants.lock().remove(&tenant.cloned());
    }

    /// The pools `record` is charged against (`None`: none), reading its tenant's pools if the
    /// copy is missing or stale. A catalog error is returned: a key whose pools cannot be known
    /// is not admitted uncounted.
    pub(crate) async fn charges_for(
        &self,
        record: &KeyRecord,
        now_us: i64,
    ) -> Result<Option<Arc<[PoolCharge]>>> {
        let tenant = record.tenant_id.as_ref();
        // A key changed (or created) after the copy was read may have pools the copy lacks (a
        // key created with credits): read again. The margin covers clocks a little apart.
        let changed_us = record.updated_at.timestamp_micros() + CHANGE_MARGIN_US;
        let fresh = self
            .tenants
            .lock()
            .get(&record.tenant_id)
            .filter(|(at, _)| now_us - at < self.ttl_us && changed_us < *at)
            .map(|(_, p)| Arc::clone(p));
        let pools = match fresh {
            Some(p) => p,
            None => {
                let presets = self.catalog.list_presets(tenant, CatalogKind::Pool).await?;
                let pools = Arc::new(TenantPools::new(&presets));
                self.tenants
                    .lock()
                    .insert(record.tenant_id.clone(), (now_us, Arc::clone(&pools)));
                pools
            }
        };
        let charges = pools.charges_for(record);
        Ok((!charges.is_empty()).then(|| charges.into()))
    }
}
