//! The `apikey-testkit` conformance suites, run against the in-process backends.

use std::sync::Arc;

use apikey_core::ManualClock;
use apikey_memory::{MemoryCache, MemoryLimiter, MemoryStore};

apikey_testkit::key_store_suite!(async { MemoryStore::new() }, legacy);
apikey_testkit::audit_store_suite!(async { MemoryStore::new() });
apikey_testkit::cache_suite!(|clock: ManualClock| async move {
    MemoryCache::new(Arc::new(clock), 10_000)
});
apikey_testkit::limiter_suite!(
    |clock: ManualClock| async move { MemoryLimiter::new(Arc::new(clock)) }
);
apikey_testkit::lease_store_suite!(async { MemoryStore::new() });
apikey_testkit::tenant_settings_suite!(async { MemoryStore::new() });
apikey_testkit::key_programme_suite!(async { MemoryStore::new() });
