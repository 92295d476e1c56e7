//! PostgreSQL: every testkit suite, migrations beside the application's, hostile input, error
//! classification and the lookup plan. Needs `APIKEY_TEST_POSTGRES_URL` (skipped without it,
//! except in CI); each test runs on a database of its own, created and dropped here.

#![cfg(feature = "postgres")]

mod common;

use std::time::Duration;

use apikey_core::KeyStore;
use apikey_sqlx::SqlxPostgresStore;
use apikey_sqlx::sqlx::{self, Row, postgres::PgPoolOptions};
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

#[tokio::test]
async fn duplicate_aliases_are_reported_not_fatal() {
    let Some(url) = postgres::url() else { return };
    let (pool, cleanup) = postgres::fresh_pool(&url).await;
    common::aliases::duplicates_are_reported_not_fatal(
        pool.clone(),
        "DROP INDEX apikey_key_aliases_tenant_unique",
    )
    .await;
    pool.close().await;
    cleanup();
}

#[tokio::test]
async fn migrations_coexist_user_first() {
    let Some(url) = postgres::url() else { return };
    let (pool, cleanup) = postgres::fresh_pool(&url).await;
    checks::migrations_coexist(pool.clone(), true).await;
    pool.close().await;
    cleanup();
}

#[tokio::test]
async fn migrations_coexist_ours_first() {
    let Some(url) = postgres::url() else { return };
    let (pool, cleanup) = postgres::fresh_pool(&url).await;
    checks::migrations_coexist(pool.clone(), false).await;
    pool.close().await;
    cleanup();
}

#[tokio::test]
async fn stored_rules_are_rewritten_canonical() {
    let Some(url) = postgres::url() else { return };
    let (pool, cleanup) = postgres::fresh_pool(&url).await;
    common::rewrite::stored_rules_are_rewritten(
        pool.clone(),
        "SELECT ip_rules::text AS ip_rules, scopes::text AS scopes, \
         endpoint_limits::text AS endpoint_limits FROM apikey_keys WHERE lookup_id = 'LOOKUP'",
    )
    .await;
    pool.close().await;
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
            e.downcast_ref::<apikey_sqlx::sqlx::Error>().is_some_and(
                |e| matches!(e, apikey_sqlx::sqlx::Error::Database(db) if db.is_unique_violation()),
            )
        },
    )
    .await;
}

#[tokio::test]
async fn refused_connection_is_unavailable() {
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(500))
        .connect_lazy("postgres://postgres@127.0.0.1:1/nothing")
        .expect("lazy pool");
    apikey_testkit::sql_policy::unreachable_is_unavailable(&SqlxPostgresStore::new(pool)).await;
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
    sqlx::query("ANALYZE apikey_keys")
        .execute(store.pool())
        .await
        .expect("analyze");
    let plan: Vec<String> =
        sqlx::query("EXPLAIN SELECT * FROM apikey_keys k WHERE k.lookup_id = $1")
            .bind(last.lookup_id.as_str())
            .fetch_all(store.pool())
            .await
            .expect("explain")
            .iter()
            .map(|row| row.get::<String, _>(0))
            .collect();
    let plan = plan.join("\n");
    eprintln!("{plan}");
    assert!(
        plan.contains("Index Scan using apikey_keys_lookup_id_key"),
        "lookup plan:\n{plan}"
    );
    assert_eq!(
        store.find_by_lookup_id(&last.lookup_id).await.unwrap(),
        Some(last)
    );
}

/// Whoever can write one row must not be able to mint a key: a bcrypt hash of a secret the writer
/// chose, planted on a key that is not a legacy import, verifies nothing on an HMAC deployment and
/// is reported as `key.untrusted_hash`.
#[tokio::test]
async fn a_planted_slow_hash_mints_no_key() {
    use std::sync::Arc;

    use apikey_core::event::{CollectingSink, KeyEventKind};
    use apikey_core::hash::HashAlgorithm;
    use apikey_core::token::{ParsedToken, TokenFormat};
    use apikey_core::{ApiKeys, Credential, Hasher, NewKey, Peppers, RequestContext};

    let Some(url) = postgres::url() else { return };
    let isolated = postgres::store(url).await;
    let pool = isolated.store.pool().clone();
    let events = Arc::new(CollectingSink::default());
    let peppers = Peppers::random();
    let keys = ApiKeys::builder(Arc::new(SqlxPostgresStore::new(pool.clone())))
        .peppers(peppers.clone())
        .events(events.clone())
        .build()
        .expect("build");
    let victim = keys
        .manager()
        .create(NewKey::new("victim"))
        .await
        .expect("create");

    // The writer makes a token of their own and points the victim's row at it.
    let (lookup, token) = TokenFormat::default().generate();
    let Some(ParsedToken::Current(parsed)) = TokenFormat::default().parse(token.expose()) else {
        panic!("a generated token parses");
    };
    let planted = Hasher::new(peppers)
        .with_algorithm(HashAlgorithm::Bcrypt)
        .with_bcrypt_cost(4)
        .expect("cost")
        .hash(parsed.secret())
        .await
        .expect("bcrypt");
    sqlx::query("UPDATE apikey_keys SET lookup_id = $1, hash = $2 WHERE id = $3")
        .bind(lookup.as_str())
        .bind(planted.to_string())
        .bind(*victim.record.id.as_uuid())
        .execute(&pool)
        .await
        .expect("plant the row");

    let verdict = keys
        .verifier()
        .verify(Credential::new(token.expose()), &RequestContext::new())
        .await;
    assert!(verdict.is_err(), "a planted bcrypt hash must not verify");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let reported = events.events().iter().any(|e| {
            e.key_id == Some(victim.record.id)
                && matches!(&e.kind, KeyEventKind::UntrustedHash { algorithm } if algorithm == "bcrypt")
        });
        if reported {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no key.untrusted_hash event"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn audit_rows_of_the_previous_version_become_v2_events() {
    let Some(url) = postgres::url() else { return };
    let (pool, cleanup) = postgres::fresh_pool(&url).await;
    common::audit_v2::v1_rows_become_v2_events(
        pool.clone(),
        common::audit_v2::V1 {
            undo_0005: "DROP TABLE apikey_audit_events; DROP TABLE apikey_audit_cursors;",
            create_v1: apikey_sql::migrations::POSTGRES[1].2,
            instant: |ms| {
                let t = chrono::DateTime::from_timestamp_millis(ms).expect("instant");
                format!("'{}'", t.format("%Y-%m-%dT%H:%M:%S%.3fZ"))
            },
            dump: "SELECT COALESCE(record_before::text, '') || COALESCE(record_after::text, '') \
                   || COALESCE(data::text, '') AS t FROM apikey_audit_events",
        },
    )
    .await;
    pool.close().await;
    cleanup();
}

/// Commit order is not position order: a transaction holding position N commits after N+1. The
/// reader hands out nothing past the hole until N commits, then both, in order.
#[tokio::test]
async fn a_reader_does_not_skip_a_late_commit() {
    use std::sync::Arc;

    use apikey_core::{AuditEvent, AuditReader, AuditStore, EventType, ManualClock};

    let Some(url) = postgres::url() else { return };
    let (pool, cleanup) = postgres::fresh_pool(&url).await;
    let store = SqlxPostgresStore::new(pool.clone());
    store.migrate().await.expect("migrate");
    let first = AuditEvent::system(
        EventType::AuthFailures,
        None,
        None,
        base_time(),
        None,
        &["1"],
    );
    assert!(store.append(&first).await.expect("append"));

    let mut slow = pool.begin().await.expect("begin");
    sqlx::query(
        "INSERT INTO apikey_audit_events (id, action, occurred_at, version) \
         VALUES (gen_random_uuid(), 'auth.failures', now(), 0)",
    )
    .execute(&mut *slow)
    .await
    .expect("insert in the open transaction");
    let third = AuditEvent::system(
        EventType::AuthFailures,
        None,
        None,
        base_time(),
        None,
        &["3"],
    );
    assert!(store.append(&third).await.expect("append"));

    let clock = Arc::new(ManualClock::new(base_time()));
    let mut reader = AuditReader::new(Arc::new(store.clone()), clock.clone(), "webhooks")
        .expect("reader")
        .gap_timeout(Duration::from_secs(30));
    let seen = reader.poll().await.expect("poll");
    assert_eq!(seen.iter().map(|e| e.id).collect::<Vec<_>>(), [first.id]);
    reader
        .ack(seen[0].position.expect("position"))
        .await
        .expect("ack");
    clock.advance(chrono::Duration::seconds(5));
    assert!(
        reader.poll().await.expect("poll").is_empty(),
        "position 2 is not committed yet"
    );

    slow.commit().await.expect("commit the slow transaction");
    let seen = reader.poll().await.expect("poll");
    let positions: Vec<u64> = seen.iter().filter_map(|e| e.position).collect();
    assert_eq!(positions, [2, 3]);
    assert_eq!(seen[1].id, third.id);
    pool.close().await;
    cleanup();
}

#[tokio::test]
async fn aliases_of_a_version_7_database_get_their_tenant() {
    let Some(url) = postgres::url() else { return };
    let (pool, cleanup) = postgres::fresh_pool(&url).await;
    common::backfill::backfilled_then_reported_then_unique(
        pool.clone(),
        "DROP TABLE apikey_catalog; DROP TABLE apikey_tenant_locks; \
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
    let Some(url) = postgres::url() else { return };
    let (pool, cleanup) = postgres::fresh_pool(&url).await;
    common::concurrent::instances_migrate_at_once(pool.clone()).await;
    pool.close().await;
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

#[tokio::test]
async fn audit_rows_edited_in_the_database_are_caught() {
    let Some(url) = postgres::url() else { return };
    let (pool, cleanup) = postgres::fresh_pool(&url).await;
    common::chain::rows_edited_in_the_database_are_caught(
        pool.clone(),
        "UPDATE apikey_audit_events SET record_after = \
         jsonb_set(record_after, '{owner}', '\"mallory\"') WHERE position = {position}",
    )
    .await;
    pool.close().await;
    cleanup();
}
