//! MariaDB/MySQL: every testkit suite, migrations beside the application's, hostile input and
//! error classification. Needs `APIKEY_TEST_MYSQL_URL` (skipped without it, except in CI); each
//! test runs on a database of its own, created and dropped here.

#![cfg(feature = "mysql")]

mod common;

use std::time::Duration;

use apikey_sqlx::SqlxMySqlStore;
use apikey_sqlx::sqlx::mysql::MySqlPoolOptions;

use common::{checks, mysql};

// The factory returns from the generated test when the service URL is missing (a skip).
apikey_testkit::key_store_suite!(
    {
        let Some(url) = mysql::url() else { return };
        mysql::store(url)
    },
    legacy
);
apikey_testkit::audit_store_suite!({
    let Some(url) = mysql::url() else { return };
    mysql::store(url)
});
apikey_testkit::lease_store_suite!({
    let Some(url) = mysql::url() else { return };
    mysql::store(url)
});
apikey_testkit::tenant_settings_suite!({
    let Some(url) = mysql::url() else { return };
    mysql::store(url)
});
apikey_testkit::key_programme_suite!({
    let Some(url) = mysql::url() else { return };
    mysql::store(url)
});
apikey_testkit::webhook_store_suite!({
    let Some(url) = mysql::url() else { return };
    mysql::store(url)
});
apikey_testkit::request_log_suite!({
    let Some(url) = mysql::url() else { return };
    mysql::store(url)
});
apikey_testkit::analytics_suite!({
    let Some(url) = mysql::url() else { return };
    mysql::store(url)
});

#[tokio::test]
async fn duplicate_aliases_are_reported_not_fatal() {
    let Some(url) = mysql::url() else { return };
    let (pool, cleanup) = mysql::fresh_pool(&url).await;
    common::aliases::duplicates_are_reported_not_fatal(
        pool.clone(),
        "DROP INDEX apikey_key_aliases_tenant_unique ON apikey_key_aliases",
    )
    .await;
    pool.close().await;
    cleanup();
}

#[tokio::test]
async fn migrations_coexist_user_first() {
    let Some(url) = mysql::url() else { return };
    let (pool, cleanup) = mysql::fresh_pool(&url).await;
    checks::migrations_coexist(pool.clone(), true).await;
    pool.close().await;
    cleanup();
}

#[tokio::test]
async fn migrations_coexist_ours_first() {
    let Some(url) = mysql::url() else { return };
    let (pool, cleanup) = mysql::fresh_pool(&url).await;
    checks::migrations_coexist(pool.clone(), false).await;
    pool.close().await;
    cleanup();
}

#[tokio::test]
async fn stored_rules_are_rewritten_canonical() {
    let Some(url) = mysql::url() else { return };
    let (pool, cleanup) = mysql::fresh_pool(&url).await;
    common::rewrite::stored_rules_are_rewritten(
        pool.clone(),
        // utf8mb4_bin text reads as bytes in sqlx; converted, it reads as text.
        "SELECT CONVERT(ip_rules USING utf8mb4) AS ip_rules, \
         CONVERT(scopes USING utf8mb4) AS scopes, \
         CONVERT(endpoint_limits USING utf8mb4) AS endpoint_limits \
         FROM apikey_keys WHERE lookup_id = 'LOOKUP'",
    )
    .await;
    pool.close().await;
    cleanup();
}

#[tokio::test]
async fn hostile_input_is_refused_or_literal() {
    let Some(url) = mysql::url() else { return };
    apikey_testkit::sql_policy::hostile_input_is_refused_or_literal(&mysql::store(url).await).await;
}

#[tokio::test]
async fn duplicate_lookup_id_keeps_the_driver_error() {
    let Some(url) = mysql::url() else { return };
    apikey_testkit::sql_policy::duplicate_lookup_id_keeps_the_driver_error(
        &mysql::store(url).await,
        |e| {
            e.downcast_ref::<apikey_sqlx::sqlx::Error>().is_some_and(
                |e| matches!(e, apikey_sqlx::sqlx::Error::Database(db) if db.is_unique_violation()),
            )
        },
    )
    .await;
}

#[tokio::test]
async fn refused_connection_is_unavailable() {
    let pool = MySqlPoolOptions::new()
        .acquire_timeout(Duration::from_millis(500))
        .connect_lazy("mysql://root@127.0.0.1:1/nothing")
        .expect("lazy pool");
    apikey_testkit::sql_policy::unreachable_is_unavailable(&SqlxMySqlStore::new(pool)).await;
}

#[tokio::test]
async fn audit_rows_of_the_previous_version_become_v2_events() {
    let Some(url) = mysql::url() else { return };
    let (pool, cleanup) = mysql::fresh_pool(&url).await;
    common::audit_v2::v1_rows_become_v2_events(
        pool.clone(),
        common::audit_v2::V1 {
            undo_0005: "DROP TABLE apikey_audit_events; DROP TABLE apikey_audit_cursors;",
            create_v1: apikey_sql::migrations::MYSQL[1].2,
            instant: |ms| {
                let t = chrono::DateTime::from_timestamp_millis(ms).expect("instant");
                format!("'{}'", t.format("%Y-%m-%d %H:%M:%S%.3f"))
            },
            dump: "SELECT CAST(CONCAT(COALESCE(record_before, ''), COALESCE(record_after, ''), \
                   COALESCE(data, '')) AS CHAR CHARACTER SET utf8mb4) AS t \
                   FROM apikey_audit_events",
        },
    )
    .await;
    pool.close().await;
    cleanup();
}

#[tokio::test]
async fn aliases_of_a_version_7_database_get_their_tenant() {
    let Some(url) = mysql::url() else { return };
    let (pool, cleanup) = mysql::fresh_pool(&url).await;
    common::backfill::backfilled_then_reported_then_unique(
        pool.clone(),
        "DROP TABLE apikey_catalog; DROP TABLE apikey_tenant_locks; \
         ALTER TABLE apikey_key_aliases DROP INDEX apikey_key_aliases_tenant_unique, \
         DROP INDEX apikey_key_aliases_tenant_idx, DROP COLUMN tenant_key; \
         DELETE FROM apikey_data_migrations WHERE name = 'unique_aliases'; \
         DELETE FROM apikey_schema_migrations WHERE version = 8;",
    )
    .await;
    pool.close().await;
    cleanup();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_migrate_at_once() {
    let Some(url) = mysql::url() else { return };
    let (pool, cleanup) = mysql::fresh_pool(&url).await;
    common::concurrent::instances_migrate_at_once(pool.clone()).await;
    pool.close().await;
    cleanup();
}

/// Three verifiers (instances) over one database: their flushed usage adds up.
#[tokio::test]
async fn usage_from_three_verifiers_adds_up() {
    let Some(url) = mysql::url() else { return };
    let store = std::sync::Arc::new(mysql::store(url).await);
    apikey_testkit::analytics_flush::three_verifiers_add_up(|| {
        let store = std::sync::Arc::clone(&store);
        async move { store }
    })
    .await;
}

#[tokio::test]
async fn audit_rows_edited_in_the_database_are_caught() {
    let Some(url) = mysql::url() else { return };
    let (pool, cleanup) = mysql::fresh_pool(&url).await;
    common::chain::rows_edited_in_the_database_are_caught(
        pool.clone(),
        "UPDATE apikey_audit_events SET record_after = \
         JSON_SET(record_after, '$.owner', 'mallory') WHERE position = {position}",
    )
    .await;
    pool.close().await;
    cleanup();
}
