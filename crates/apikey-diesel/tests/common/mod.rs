//! Shared test support: one fresh database per test on this crate's driver. The driver-neutral
//! parts (service URLs, unique names, the store wrapper that drops its database when the test
//! ends) come from `apikey_testkit::isolated`.
//!
//! Each test crate uses a part of this module (hence `dead_code`); `pub` items are for the
//! sibling modules (hence `unreachable_pub`).

#![allow(dead_code, unreachable_pub)]

pub use apikey_testkit::isolated::{
    Isolated, run_detached, service_url, unique_name, with_database,
};

pub mod backfill;
pub mod checks;
pub mod concurrent;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod rewrite;
#[cfg(feature = "sqlite")]
pub mod sqlite;
