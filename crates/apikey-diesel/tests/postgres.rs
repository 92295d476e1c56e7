//! PostgreSQL: every testkit suite, migrations beside the application's, hostile input, error
//! classification and the lookup plan. Needs `APIKEY_TEST_POSTGRES_URL` (skipped without it,
//! except in CI); each test runs on a database of its own, created and dropped here.

#![cfg(feature = "postgres")]

mod common;

use apikey_core::KeyStore;
use apikey_diesel::DieselPostgresStore;
use apikey_diesel::diesel::sql_types::Text;
use apikey_diesel::diesel::{self, QueryableByName};
use apikey_diesel::diesel_async::pooled_connection::AsyncDieselConnectionManager;
use apikey_diesel::diesel_async::pooled_connection::deadpool::Pool;
use apikey_diesel::diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use apikey_testkit::fixtures::{base_time, created, record};

use common::{checks, postgres};

// The factory returns from the generated test when the service URL is missing (a skip).
apikey_testkit::key_store_suite!(
    {
        let Some(url) = postgres::url() else { return };
        postgres::store(url)
    },
    legacy
);
apikey_testkit::audit_store_suite!({
    let Some(url) = postgres::url() else { return };
    postgres::store(url)
});
apikey_testkit::lease_store_suite!({
    let Some(url) = postgres::url() else { return };
    postgres::store(url)
});
apikey_testkit::tenant_settings_suite!({
    let Some(url) = postgres::url() else { return };
    postgres::store(url)
});
apikey_testkit::key_programme_suite!({
    let Some(url) = postgres::url() else { return };
    postgres::store(url)
});
apikey_testkit::webhook_store_suite!({
    let Some(url) = postgres::url() else { return };
    postgres::store(url)
});
apikey_testkit::request_log_suite!({
    let Some(url) = postgres::url() else { return };
    postgres::store(url)
});
apikey_testkit::analytics_suite!({
    let Some(url) = postgres::url() else { return };
    postgres::store(url)
});

async fn coexist(user_first: bool) {
    let Some(url) = postgres::url() else { return };
    let (pool, db_url, cleanup) = postgres::fresh_pool(&url).await;
    let store = DieselPostgresStore::new(pool);
    let connect = || async {
        AsyncPgConnection::establish(&db_url)
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
    let Some(url) = postgres::url() else { return };
    let (pool, db_url, cleanup) = postgres::fresh_pool(&url).await;
    let store = DieselPostgresStore::new(pool);
    let connect = || async {
        AsyncPgConnection::establish(&db_url)
            .await
            .expect("connect")
    };
    common::rewrite::stored_rules_are_rewritten(
        &store,
        connect,
        "SELECT ip_rules::text AS ip_rules, scopes::text AS scopes, \
         endpoint_limits::text AS endpoint_limits FROM apikey_keys WHERE lookup_id = 'LOOKUP'",
    )
    .await;
    drop(store);
    cleanup();
}

#[tokio::test]
async fn hostile_input_is_refused_or_literal() {
    let Some(url) = postgres::url() else { return };
    apikey_testkit::sql_policy::hostile_input_is_refused_or_literal(&postgres::store(url).await)
        .await;
}

#[tokio::test]
async fn duplicate_lookup_id_keeps_the_driver_error() {
    let Some(url) = postgres::url() else { return };
    apikey_testkit::sql_policy::duplicate_lookup_id_keeps_the_driver_error(
        &postgres::store(url).await,
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
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(
        "postgres://postgres@127.0.0.1:1/nothing",
    );
    let pool = Pool::builder(manager).max_size(1).build().expect("pool");
    apikey_testkit::sql_policy::unreachable_is_unavailable(&DieselPostgresStore::new(pool)).await;
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

/// The verifier's lookup is one point query on the unique index. Prints the plan shown in the
/// crate docs.
#[tokio::test]
#[allow(clippy::print_stderr)]
async fn lookup_uses_the_unique_index() {
    let Some(url) = postgres::url() else { return };
    let isolated = postgres::store(url).await;
    let store = &isolated.store;
    let mut last = None;
    for i in 0..300 {
        let r = record(None, base_time() + chrono::TimeDelta::milliseconds(i));
        store.insert(&r, &created(&r)).await.expect("insert");
        last = Some(r);
    }
    let last = last.expect("records");
    let mut conn = store.pool().get().await.expect("connection");
    diesel::sql_query("ANALYZE apikey_keys")
        .execute(&mut conn)
        .await
        .expect("analyze");
    let plan: Vec<PlanLine> =
        diesel::sql_query("EXPLAIN SELECT * FROM apikey_keys k WHERE k.lookup_id = $1")
            .bind::<Text, _>(last.lookup_id.as_str())
            .load(&mut conn)
            .await
            .expect("explain");
    let plan = plan
        .into_iter()
        .map(|l| l.line)
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!("{plan}");
    assert!(
        plan.contains("Index Scan using apikey_keys_lookup_id_key"),
        "lookup plan:\n{plan}"
    );
    drop(conn);
    assert_eq!(
        store.find_by_lookup_id(&last.lookup_id).await.unwrap(),
        Some(last)
    );
}

#[tokio::test]
async fn aliases_of_a_version_7_database_get_their_tenant() {
    let Some(url) = postgres::url() else { return };
    let isolated = postgres::store(url).await;
    common::backfill::backfilled_then_reported_then_unique(
        &isolated.store,
        &[
            "DROP TABLE apikey_catalog",
            "DROP TABLE apikey_tenant_locks",
            "ALTER TABLE apikey_key_aliases DROP COLUMN tenant_key",
            "DELETE FROM apikey_data_migrations WHERE name = 'unique_aliases'",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_migrate_at_once() {
    let Some(url) = postgres::url() else { return };
    let (pool, _, cleanup) = postgres::fresh_pool(&url).await;
    common::concurrent::instances_migrate_at_once::<apikey_diesel::diesel::pg::Pg>(pool).await;
    cleanup();
}

/// Three verifiers (instances) over one database: their flushed usage adds up.
#[tokio::test]
async fn usage_from_three_verifiers_adds_up() {
    let Some(url) = postgres::url() else { return };
    let store = std::sync::Arc::new(postgres::store(url).await);
    apikey_testkit::analytics_flush::three_verifiers_add_up(|| {
        let store = std::sync::Arc::clone(&store);
        async move { store }
    })
    .await;
}
