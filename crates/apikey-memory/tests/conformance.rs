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
apikey_testkit::pool_limiter_suite!(|clock: ManualClock| async move {
    MemoryLimiter::new(Arc::new(clock)).with_volatile_credits()
});
apikey_testkit::lease_store_suite!(async { MemoryStore::new() });
apikey_testkit::tenant_settings_suite!(async { MemoryStore::new() });
apikey_testkit::key_programme_suite!(async { MemoryStore::new() });
apikey_testkit::webhook_store_suite!(async { MemoryStore::new() });
apikey_testkit::request_log_suite!(async { MemoryStore::new() });
apikey_testkit::analytics_suite!(async { MemoryStore::new() });

/// Three instances over one memory store run the expiry monitor through 40 days: each warning
/// and expiry recorded and emitted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_monitor_records_each_warning_once_across_three_instances() {
    let store = std::sync::Arc::new(MemoryStore::new());
    apikey_testkit::expiry::three_instances_record_each_warning_once(move || {
        let store = store.clone();
        async move { store }
    })
    .await;
}

/// Three verifiers (instances) over one database: their flushed usage adds up.
#[tokio::test]
async fn usage_from_three_verifiers_adds_up() {
    let store = std::sync::Arc::new(MemoryStore::new());
    apikey_testkit::analytics_flush::three_verifiers_add_up(|| {
        let store = std::sync::Arc::clone(&store);
        async move { store }
    })
    .await;
}
