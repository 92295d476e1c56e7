//! Shared test plumbing: the Redis URL from `APIKEY_TEST_REDIS_URL` (missing: skip with a note,
//! or fail under `CI=true`) and a random key prefix per test, so tests run in parallel.

#![allow(dead_code, unreachable_pub)]

pub mod cluster;
pub mod proxy;

use apikey_redis::{KeyPrefix, RedisConnection};

/// Whether we run in CI, where a missing service is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The Redis URL, or `None` (after a note) when the test should be skipped.
#[allow(clippy::print_stderr)]
pub fn redis_url() -> Option<String> {
    match std::env::var("APIKEY_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(!in_ci(), "APIKEY_TEST_REDIS_URL must be set in CI");
            eprintln!("note: APIKEY_TEST_REDIS_URL is not set; skipping this Redis test");
            None
        }
    }
}

/// A fresh prefix, so this test's keys and channel are its own.
pub fn prefix() -> KeyPrefix {
    KeyPrefix::new(&format!("t{}", uuid::Uuid::new_v4().simple())).expect("valid prefix")
}

/// A connection to the test Redis (single node).
pub async fn connect(url: &str) -> RedisConnection {
    RedisConnection::connect(url)
        .await
        .expect("connect to redis")
}

/// A plain client for test-side commands (INFO, SCRIPT FLUSH, …).
pub async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect")
}
