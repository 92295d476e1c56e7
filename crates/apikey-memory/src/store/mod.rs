//! [`MemoryStore`]: key records and their audit log in process memory, behind one lock.
//!
//! One `RwLock` over every table keeps a record change and its audit event in the same critical
//! section, which is exactly the atomicity the [`KeyStore`](apikey_core::KeyStore) contract asks
//! for. Management calls are rare next to verifications (the verifier caches records itself), so
//! one lock costs nothing that matters here.

mod analytics;
mod audit;
mod catalog;
mod checked;
mod keys;
mod leases;
mod requests;
mod tables;
mod tenant;
mod webhooks;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use parking_lot::RwLock;

use self::tables::Tables;

/// An in-process [`KeyStore`](apikey_core::KeyStore), [`AuditStore`](apikey_core::AuditStore),
/// [`LegacyLookup`](apikey_core::store::LegacyLookup), [`LeaseStore`](apikey_core::jobs::LeaseStore)
/// [`TenantSettingsStore`](apikey_core::TenantSettingsStore), [`CatalogStore`](apikey_core::CatalogStore)
/// [`CheckedInsert`](apikey_core::tenant::CheckedInsert) and
/// [`WebhookStore`](apikey_core::webhook::WebhookStore).
///
/// Everything lives in this process and is lost when it exits: use it for tests, examples and
/// single-process tools, not for keys that must survive a restart. Clones share the same data.
#[derive(Clone, Default)]
pub struct MemoryStore {
    tables: Arc<RwLock<Tables>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Counts only: records hold hashes and metadata that have no place in logs.
        let t = self.tables.read();
        f.debug_struct("MemoryStore")
            .field("keys", &t.key_count())
            .field("audit_events", &t.audit.len())
            .finish()
    }
}
