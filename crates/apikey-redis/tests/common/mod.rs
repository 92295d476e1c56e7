//! Shared test plumbing: the Redis URL from `APIKEY_TEST_REDIS_URL` (missing: skip with a note,
//! or fail under `CI=true`) and a random key prefix per test, so tests run in parallel.

#![allow(dead_code, unreachable_pub)]

pub mod cluster;
pub mod proxy;
pub mod server;

use apikey_redis::{KeyPrefix, RedisConnection};

pub use apikey_testkit::isolated::in_ci;

/// The Redis URL, or `None` (after a note) when the test should be skipped.
pub fn redis_url() -> Option<String> {
    apikey_testkit::isolated::service_url("APIKEY_TEST_REDIS_URL", "Redis")
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
