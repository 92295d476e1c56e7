//! The `apikey-testkit` cache, limiter and lease suites against a real Redis (single node), the
//! limiter in explicit-`now` mode on the suites' `ManualClock`.

mod common;

#[cfg(redis_tests)]
mod suites {
    use std::sync::Arc;
    use std::time::Duration;

    use apikey_core::{ManualClock, Peppers};
    use apikey_redis::{RedisCache, RedisLeases, RedisLimiter};

    use super::common;

    fn url() -> String {
        common::redis_url().expect("APIKEY_TEST_REDIS_URL")
    }

    apikey_testkit::cache_suite!(|clock: ManualClock| async move {
        RedisCache::new(common::connect(&url()).await, &Peppers::random())
            .with_prefix(common::prefix())
            .with_clock(Arc::new(clock))
    });

    apikey_testkit::limiter_suite!(|clock: ManualClock| async move {
        RedisLimiter::new(common::connect(&url()).await)
            .with_prefix(common::prefix())
            .with_clock(Arc::new(clock))
            // 1,000 concurrent decisions on a loaded 2-core machine: no budget failures here.
            .with_call_budget(Duration::from_secs(10))
    });

    apikey_testkit::pool_limiter_suite!(|clock: ManualClock| async move {
        RedisLimiter::new(common::connect(&url()).await)
            .with_prefix(common::prefix())
            .with_clock(Arc::new(clock))
            .with_call_budget(Duration::from_secs(10))
    });

    apikey_testkit::lease_store_suite!(async {
        RedisLeases::new(common::connect(&url()).await).with_prefix(common::prefix())
    });
}

#[cfg(not(redis_tests))]
#[test]
fn conformance_needs_redis() {
    // Compiled without APIKEY_TEST_REDIS_URL: report the skip (a failure under CI=true).
    let _ = common::redis_url();
}
