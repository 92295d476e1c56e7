//! Shared test support: one fresh database per test on this crate's driver. The driver-neutral
//! parts (service URLs, unique names, the store wrapper that drops its database when the test
//! ends) come from `apikey_testkit::isolated`.
//!
//! Each test crate uses a part of this module (hence `dead_code`); `pub` items are for the
//! sibling modules (hence `unreachable_pub`).

#![allow(dead_code, unreachable_pub)]

pub use apikey_testkit::isolated::{Isolated, run_detached, service_url, unique_name};

use apikey_sqlx::sqlx::{self, Database, Executor, IntoArguments, Pool};

pub mod aliases;
pub mod audit_v2;
pub mod backfill;
pub mod chain;
pub mod checks;
pub mod concurrent;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod rewrite;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// Runs `sql` (one statement or several, unprepared) as an earlier version or an operator would
/// have, panicking with the statement on error.
pub async fn exec<D>(pool: &Pool<D>, sql: &str)
where
    D: Database,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
{
    sqlx::raw_sql(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}
