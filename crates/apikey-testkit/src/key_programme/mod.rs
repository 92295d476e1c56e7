//! The key-programme conformance suite: the store contracts behind templates and groups
//! ([`CatalogStore`](apikey_core::CatalogStore)), aliases unique per tenant, and inserts checked
//! against the key-count limits in one step, all or none
//! ([`CheckedInsert`](apikey_core::tenant::CheckedInsert)).
//!
//! - [`catalog`]: presets round-trip, compare-and-set with their events, tenants and kinds apart.
//! - [`aliases`]: an alias held by another key of the tenant is `Conflict` on insert and update,
//!   keys without a tenant share one alias space, and a freed alias can be taken again.
//! - [`checked`]: a checked insert writes every record or none, refuses what would pass a limit
//!   naming it, and concurrent inserts at a limit admit exactly the limit.
//!
//! Each case takes a fresh, empty store implementing [`KeyStore`](apikey_core::KeyStore),
//! [`AuditStore`](apikey_core::AuditStore) and [`CatalogStore`](apikey_core::CatalogStore), whose
//! [`checked`](apikey_core::KeyStore::checked) returns the capability; run them all with
//! [`key_programme_suite!`](crate::key_programme_suite).

pub mod aliases;
pub mod catalog;
pub mod checked;

pub use aliases::*;
pub use catalog::*;
pub use checked::*;

use apikey_core::audit::AuditFilter;
use apikey_core::{AuditEvent, AuditStore, EventType, TenantScope};

/// Every stored event of `types`, over every tenant.
pub(crate) async fn events_of<S>(store: &S, types: &[EventType]) -> Vec<AuditEvent>
where
    S: AuditStore + ?Sized,
{
    let filter = AuditFilter {
        types: types.to_vec(),
        limit: 1000,
        ..AuditFilter::default()
    };
    AuditStore::query(store, &TenantScope::All, &filter)
        .await
        .expect("query audit")
}
