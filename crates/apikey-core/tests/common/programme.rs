//! Fixtures of the key-programme tests: `ApiKeys` over one memory store with tenant settings, a
//! catalog and the audit log wired, and small readers of that store.

use std::sync::Arc;

use apikey_core::{ApiKeys, KeyFilter, TenantId, TenantScope};
use apikey_memory::MemoryStore;

/// `ApiKeys` over `store`, with its tenant settings, catalog and audit log.
pub fn keys(store: &MemoryStore) -> ApiKeys {
    ApiKeys::builder(Arc::new(store.clone()))
        .random_peppers_keys_die_at_exit()
        .tenant_settings(Arc::new(store.clone()))
        .catalog(Arc::new(store.clone()))
        .audit(Arc::new(store.clone()))
        .build()
        .expect("build")
}

/// A tenant id.
pub fn t(id: &str) -> TenantId {
    TenantId::new(id).expect("tenant id")
}

/// How many keys the store holds, across tenants.
pub async fn count(store: &MemoryStore) -> usize {
    apikey_core::KeyStore::query(store, &TenantScope::All, &KeyFilter::default())
        .await
        .expect("query")
        .items
        .len()
}
