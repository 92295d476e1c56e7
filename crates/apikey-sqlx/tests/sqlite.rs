//! SQLite, on a temporary file and in memory: every testkit suite, migrations beside the
//! application's, hostile input and error classification. Needs no service.

#![cfg(feature = "sqlite")]

mod common;

use apikey_sqlx::SqlxSqliteStore;

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

#[tokio::test]
async fn migrations_coexist_user_first() {
    let (pool, cleanup) = sqlite::file_pool().await;
    checks::migrations_coexist(pool.clone(), true).await;
    pool.close().await;
    cleanup();
}

#[tokio::test]
async fn migrations_coexist_ours_first() {
    checks::migrations_coexist(sqlite::memory_pool().await, false).await;
}

#[tokio::test]
async fn stored_rules_are_rewritten_canonical() {
    let (pool, cleanup) = sqlite::file_pool().await;
    common::rewrite::stored_rules_are_rewritten(
        pool.clone(),
        "SELECT ip_rules, scopes, endpoint_limits FROM apikey_keys WHERE lookup_id = 'LOOKUP'",
    )
    .await;
    pool.close().await;
    cleanup();
}

#[tokio::test]
async fn duplicate_aliases_are_reported_not_fatal() {
    let (pool, cleanup) = sqlite::file_pool().await;
    common::aliases::duplicates_are_reported_not_fatal(
        pool.clone(),
        "DROP INDEX apikey_key_aliases_tenant_unique",
    )
    .await;
    pool.close().await;
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
            e.downcast_ref::<apikey_sqlx::sqlx::Error>().is_some_and(
                |e| matches!(e, apikey_sqlx::sqlx::Error::Database(db) if db.is_unique_violation()),
            )
        },
    )
    .await;
}

#[tokio::test]
async fn closed_pool_is_unavailable() {
    let pool = sqlite::memory_pool().await;
    pool.close().await;
    apikey_testkit::sql_policy::unreachable_is_unavailable(&SqlxSqliteStore::new(pool)).await;
}

#[tokio::test]
async fn audit_rows_of_the_previous_version_become_v2_events() {
    let (pool, cleanup) = sqlite::file_pool().await;
    common::audit_v2::v1_rows_become_v2_events(
        pool.clone(),
        common::audit_v2::V1 {
            undo_0005: "DROP TABLE apikey_audit_events; DROP TABLE apikey_audit_cursors;",
            create_v1: apikey_sql::migrations::SQLITE[1].2,
            instant: |ms| ms.to_string(),
            dump: "SELECT COALESCE(record_before, '') || COALESCE(record_after, '') || \
                   COALESCE(data, '') AS t FROM apikey_audit_events",
        },
    )
    .await;
    pool.close().await;
    cleanup();
}

#[tokio::test]
async fn aliases_of_a_version_7_database_get_their_tenant() {
    let (pool, cleanup) = sqlite::file_pool().await;
    common::backfill::backfilled_then_reported_then_unique(
        pool.clone(),
        "DROP TABLE apikey_catalog; DROP TABLE apikey_tenant_locks; \
         DROP INDEX IF EXISTS apikey_key_aliases_tenant_unique; \
         DROP INDEX apikey_key_aliases_tenant_idx; \
         ALTER TABLE apikey_key_aliases DROP COLUMN tenant_key; \
         DELETE FROM apikey_data_migrations WHERE name = 'unique_aliases'; \
         DELETE FROM apikey_schema_migrations WHERE version = 8;",
    )
    .await;
    pool.close().await;
    cleanup();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_migrate_at_once() {
    let (pool, cleanup) = sqlite::file_pool().await;
    common::concurrent::instances_migrate_at_once(pool.clone()).await;
    pool.close().await;
    cleanup();
}

/// Three verifiers (instances) over one database: their flushed usage adds up.
#[tokio::test]
async fn usage_from_three_verifiers_adds_up() {
    let store = std::sync::Arc::new(sqlite::file_store().await);
    apikey_testkit::analytics_flush::three_verifiers_add_up(|| {
        let store = std::sync::Arc::clone(&store);
        async move { store }
    })
    .await;
}

#[tokio::test]
async fn audit_rows_edited_in_the_database_are_caught() {
    let (pool, cleanup) = sqlite::file_pool().await;
    common::chain::rows_edited_in_the_database_are_caught(
        pool.clone(),
        "UPDATE apikey_audit_events SET record_after = \
         json_set(record_after, '$.owner', 'mallory') WHERE position = {position}",
    )
    .await;
    pool.close().await;
    cleanup();
}
