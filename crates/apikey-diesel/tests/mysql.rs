//! MariaDB/MySQL: every testkit suite, migrations beside the application's, hostile input and
//! error classification. Needs `APIKEY_TEST_MYSQL_URL` (skipped without it, except in CI); each
//! test runs on a database of its own, created and dropped here.

#![cfg(feature = "mysql")]

mod common;

use apikey_diesel::DieselMySqlStore;
use apikey_diesel::diesel_async::pooled_connection::AsyncDieselConnectionManager;
use apikey_diesel::diesel_async::pooled_connection::deadpool::Pool;
use apikey_diesel::diesel_async::{AsyncConnection, AsyncMysqlConnection};

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

async fn coexist(user_first: bool) {
    let Some(url) = mysql::url() else { return };
    let (pool, db_url, cleanup) = mysql::fresh_pool(&url).await;
    let store = DieselMySqlStore::new(pool);
    let connect = || async {
        AsyncMysqlConnection::establish(&db_url)
            .await
            .expect("connect")
    };
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
    let Some(url) = mysql::url() else { return };
    let (pool, db_url, cleanup) = mysql::fresh_pool(&url).await;
    let store = DieselMySqlStore::new(pool);
    let connect = || async {
        AsyncMysqlConnection::establish(&db_url)
            .await
            .expect("connect")
    };
    common::rewrite::stored_rules_are_rewritten(
        &store,
        connect,
        "SELECT CONVERT(ip_rules USING utf8mb4) AS ip_rules, \
         CONVERT(scopes USING utf8mb4) AS scopes, \
         CONVERT(endpoint_limits USING utf8mb4) AS endpoint_limits \
         FROM apikey_keys WHERE lookup_id = 'LOOKUP'",
    )
    .await;
    drop(store);
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
async fn refused_connection_is_unavailable() {
    let manager = AsyncDieselConnectionManager::<AsyncMysqlConnection>::new(
        "mysql://root@127.0.0.1:1/nothing",
    );
    let pool = Pool::builder(manager).max_size(1).build().expect("pool");
    apikey_testkit::sql_policy::unreachable_is_unavailable(&DieselMySqlStore::new(pool)).await;
}

#[tokio::test]
async fn aliases_of_a_version_7_database_get_their_tenant() {
    let Some(url) = mysql::url() else { return };
    let isolated = mysql::store(url).await;
    common::backfill::backfilled_then_reported_then_unique(
        &isolated.store,
        &[
            "DROP TABLE apikey_catalog",
            "DROP TABLE apikey_tenant_locks",
            "ALTER TABLE apikey_key_aliases DROP INDEX apikey_key_aliases_tenant_unique, DROP INDEX apikey_key_aliases_tenant_idx, DROP COLUMN tenant_key",
            "DELETE FROM apikey_data_migrations WHERE name = 'unique_aliases'",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_migrate_at_once() {
    let Some(url) = mysql::url() else { return };
    let (pool, _, cleanup) = mysql::fresh_pool(&url).await;
    common::concurrent::instances_migrate_at_once::<apikey_diesel::diesel::mysql::Mysql>(pool)
        .await;
    cleanup();
}
