//! SQLite, on a temporary file and in memory: every testkit suite, migrations beside the
//! application's, hostile input and error classification. Needs no service.

#![cfg(feature = "sqlite")]

mod common;

use apikey_diesel::DieselSqliteStore;

use common::{checks, sqlite};

mod file {
    use super::*;

    apikey_testkit::key_store_suite!(sqlite::file_store(), legacy);
    apikey_testkit::audit_store_suite!(sqlite::file_store());
    apikey_testkit::lease_store_suite!(sqlite::file_store());
    apikey_testkit::tenant_settings_suite!(sqlite::file_store());
    apikey_testkit::key_programme_suite!(sqlite::file_store());
    apikey_testkit::webhook_store_suite!(sqlite::file_store());
    apikey_testkit::request_log_suite!(sqlite::file_store());
    apikey_testkit::analytics_suite!(sqlite::file_store());
}

mod memory {
    use super::*;

    apikey_testkit::key_store_suite!(sqlite::memory_store(), legacy);
    apikey_testkit::audit_store_suite!(sqlite::memory_store());
    apikey_testkit::lease_store_suite!(sqlite::memory_store());
    apikey_testkit::tenant_settings_suite!(sqlite::memory_store());
    apikey_testkit::key_programme_suite!(sqlite::memory_store());
    apikey_testkit::webhook_store_suite!(sqlite::memory_store());
    apikey_testkit::request_log_suite!(sqlite::memory_store());
    apikey_testkit::analytics_suite!(sqlite::memory_store());
}

async fn coexist(user_first: bool) {
    let (pool, url, cleanup) = sqlite::file_pool();
    let store = DieselSqliteStore::new(pool);
    let connect = || async { sqlite::connect(url.clone()).await.expect("connect") };
    checks::migrations_coexist(&store, connect, user_first).await;
    drop(store);
    cleanup();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_coexist_user_first() {
    coexist(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_coexist_ours_first() {
    coexist(false).await;
}

/// A row stored by an earlier version with non-canonical rules is rewritten by `migrate()`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_rules_are_rewritten_canonical() {
    let (pool, url, cleanup) = sqlite::file_pool();
    let store = DieselSqliteStore::new(pool);
    let connect = || async { sqlite::connect(url.clone()).await.expect("connect") };
    common::rewrite::stored_rules_are_rewritten(
        &store,
        connect,
        "SELECT ip_rules, scopes, endpoint_limits FROM apikey_keys WHERE lookup_id = 'LOOKUP'",
    )
    .await;
    drop(store);
    cleanup();
}

#[tokio::test]
async fn hostile_input_is_refused_or_literal() {
    apikey_testkit::sql_policy::hostile_input_is_refused_or_literal(&sqlite::file_store().await)
        .await;
}

#[tokio::test]
async fn duplicate_lookup_id_keeps_the_driver_error() {
    apikey_testkit::sql_policy::duplicate_lookup_id_keeps_the_driver_error(
        &sqlite::memory_store().await,
        |e| {
            e.downcast_ref::<apikey_diesel::diesel::result::Error>()
                .is_some_and(|e| {
                    matches!(
                        e,
                        apikey_diesel::diesel::result::Error::DatabaseError(
                            apikey_diesel::diesel::result::DatabaseErrorKind::UniqueViolation,
                            _
                        )
                    )
                })
        },
    )
    .await;
}

#[tokio::test]
async fn closed_pool_is_unavailable() {
    let pool = sqlite::memory_pool();
    pool.close();
    apikey_testkit::sql_policy::unreachable_is_unavailable(&DieselSqliteStore::new(pool)).await;
}

#[tokio::test]
async fn aliases_of_a_version_7_database_get_their_tenant() {
    let isolated = sqlite::file_store().await;
    common::backfill::backfilled_then_reported_then_unique(
        &isolated.store,
        &[
            "DROP TABLE apikey_catalog",
            "DROP TABLE apikey_tenant_locks",
            "DROP INDEX IF EXISTS apikey_key_aliases_tenant_unique",
            "DROP INDEX apikey_key_aliases_tenant_idx",
            "ALTER TABLE apikey_key_aliases DROP COLUMN tenant_key",
            "DELETE FROM apikey_data_migrations WHERE name = 'unique_aliases'",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_migrate_at_once() {
    let (pool, _, cleanup) = sqlite::file_pool();
    common::concurrent::instances_migrate_at_once::<apikey_diesel::diesel::sqlite::Sqlite>(pool)
        .await;
    cleanup();
}
