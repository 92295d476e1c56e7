//! Checks every database runs beyond the testkit: migrations beside the application's own,
//! hostile input the core types allow but a database might not store, and error classification.

use std::path::PathBuf;

use apikey_core::{AuditStore, ErrorKind, KeyFilter, KeyStore, Metadata, TenantScope};
use apikey_sqlx::sqlx::migrate::{Migrate, Migrator};
use apikey_sqlx::sqlx::{self, Database, Executor, IntoArguments, Pool};
use apikey_sqlx::{Dialect, SqlKeyStore};
use apikey_testkit::fixtures::{base_time, created, full_record, record, updated};
use serde_json::json;

use super::unique_name;

/// A directory of the application's own sqlx migrations, numbered like ours (1 and 2).
fn user_migrations() -> PathBuf {
    let dir = std::env::temp_dir().join(unique_name());
    std::fs::create_dir_all(&dir).expect("create migrations dir");
    std::fs::write(
        dir.join("0001_app_users.sql"),
        "CREATE TABLE app_users (id BIGINT PRIMARY KEY, name TEXT NOT NULL);",
    )
    .expect("write migration");
    std::fs::write(
        dir.join("0002_app_orders.sql"),
        "CREATE TABLE app_orders (id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL);",
    )
    .expect("write migration");
    dir
}

async fn count<D>(pool: &Pool<D>, table: &str) -> usize
where
    D: Database,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
{
    sqlx::query(&format!("SELECT version FROM {table}"))
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("read {table}: {e}"))
        .len()
}

/// The application's sqlx migrations and ours, in the order given, on one database: each runner
/// sees only its own history, both re-run as no-ops, both schemas work, and a tampered checksum
/// of ours is refused as a configuration error.
pub async fn migrations_coexist<D>(pool: Pool<D>, user_first: bool)
where
    D: Dialect,
    D::Connection: Migrate,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
{
    let dir = user_migrations();
    let migrator = Migrator::new(dir.as_path())
        .await
        .expect("load the user's migrations");
    let store = SqlKeyStore::<D>::new(pool.clone());
    if user_first {
        migrator.run(&pool).await.expect("user's migrations");
        store.migrate().await.expect("ours after the user's");
    } else {
        store.migrate().await.expect("ours first");
        migrator
            .run(&pool)
            .await
            .expect("user's migrations after ours");
    }
    store.migrate().await.expect("migrate() again is a no-op");
    migrator
        .run(&pool)
        .await
        .expect("the user's migrator is undisturbed by our tables");
    assert_eq!(count(&pool, "_sqlx_migrations").await, 2, "user history");
    assert_eq!(
        count(&pool, "apikey_schema_migrations").await,
        2,
        "our history"
    );

    sqlx::query("INSERT INTO app_users (id, name) VALUES (1, 'ada')")
        .execute(&pool)
        .await
        .expect("the user's table works");
    let r = full_record(None, base_time());
    store
        .insert(&r, &created(&r))
        .await
        .expect("our table works");
    assert_eq!(store.get(&TenantScope::All, r.id).await.unwrap(), Some(r));

    sqlx::query("UPDATE apikey_schema_migrations SET checksum = 'tampered' WHERE version = 1")
        .execute(&pool)
        .await
        .expect("tamper");
    let err = store
        .migrate()
        .await
        .expect_err("a changed migration is refused");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

/// One hostile change to a record.
type Change<'a> = Box<dyn Fn(&mut apikey_core::KeyRecord) + 'a>;

fn assert_invalid(result: apikey_core::Result<()>, what: &str) {
    match result {
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput, "{what}: {e}"),
        Ok(()) => panic!("{what}: expected InvalidInput"),
    }
}

/// NUL characters and over-long labels are refused with `InvalidInput` on insert and update
/// (nothing written, no event, the neighbour untouched); a 1 MiB name is stored verbatim;
/// filters with NUL, `%`, `_` or quotes answer a correct empty page.
pub async fn hostile_input_is_refused_or_literal<S>(store: &S)
where
    S: KeyStore + AuditStore,
{
    let neighbour = full_record(None, base_time());
    store
        .insert(&neighbour, &created(&neighbour))
        .await
        .expect("insert neighbour");
    let nul = "a\0b";
    let huge = "é'%_\"".repeat(1 << 18);
    let variants: Vec<(&str, Change<'_>)> = vec![
        ("NUL in name", Box::new(|r| r.name = nul.into())),
        ("NUL in tag", Box::new(|r| r.tags = vec![nul.into()])),
        ("NUL in owner", Box::new(|r| r.owner = Some(nul.into()))),
        ("NUL in alias", Box::new(|r| r.aliases = vec![nul.into()])),
        (
            "NUL in metadata",
            Box::new(|r| {
                r.metadata = Metadata::from_value(json!({"k": [nul]})).expect("metadata");
            }),
        ),
        ("1 MiB tag", Box::new(|r| r.tags = vec![huge.clone()])),
        ("1 MiB owner", Box::new(|r| r.owner = Some(huge.clone()))),
    ];
    for (what, change) in &variants {
        let mut r = record(None, base_time());
        change(&mut r);
        assert_invalid(store.insert(&r, &created(&r)).await, what);
        assert_eq!(
            store.get(&TenantScope::All, r.id).await.unwrap(),
            None,
            "{what}"
        );
        let mut next = neighbour.clone();
        next.version += 1;
        change(&mut next);
        let event = updated(&neighbour, &next);
        assert_invalid(
            store
                .update(&TenantScope::All, neighbour.version, &next, &event)
                .await,
            what,
        );
        assert_eq!(
            store.get(&TenantScope::All, neighbour.id).await.unwrap(),
            Some(neighbour.clone()),
            "{what} changed a row"
        );
    }

    let mut big = record(None, base_time());
    big.name = huge.clone();
    store
        .insert(&big, &created(&big))
        .await
        .expect("1 MiB name");
    assert_eq!(
        store.get(&TenantScope::All, big.id).await.unwrap(),
        Some(big)
    );

    for probe in [nul, "%", "_", "'", "' OR '1'='1", "\\", huge.as_str()] {
        for filter in [
            KeyFilter {
                owner: Some(probe.into()),
                ..KeyFilter::default()
            },
            KeyFilter {
                tags: vec![probe.into()],
                ..KeyFilter::default()
            },
            KeyFilter {
                alias: Some(probe.into()),
                ..KeyFilter::default()
            },
        ] {
            let page = KeyStore::query(store, &TenantScope::All, &filter)
                .await
                .expect("query");
            assert!(page.items.is_empty(), "{probe:?} matched something");
        }
    }
    let legacy = store.legacy().expect("legacy lookup");
    for probe in [nul, "%", "________", "' OR 1=1 --"] {
        assert!(
            legacy
                .find_by_legacy_lookup(probe)
                .await
                .unwrap()
                .is_empty()
        );
    }
    assert_eq!(
        store.get(&TenantScope::All, neighbour.id).await.unwrap(),
        Some(neighbour)
    );
}

/// A duplicate lookup id is `Conflict` with the driver's unique violation kept as the source.
pub async fn duplicate_lookup_id_keeps_the_driver_error<S>(store: &S)
where
    S: KeyStore + AuditStore,
{
    let a = record(None, base_time());
    store.insert(&a, &created(&a)).await.expect("insert");
    let mut b = record(None, base_time());
    b.lookup_id = a.lookup_id;
    let err = store.insert(&b, &created(&b)).await.expect_err("duplicate");
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let source = std::error::Error::source(&err).expect("source kept");
    let sqlx_err = source
        .downcast_ref::<sqlx::Error>()
        .expect("the source is the sqlx error");
    assert!(
        matches!(sqlx_err, sqlx::Error::Database(db) if db.is_unique_violation()),
        "{sqlx_err:?}"
    );
}

/// A store whose pool cannot reach its database answers `Unavailable`.
pub async fn unreachable_is_unavailable<S: KeyStore>(store: &S) {
    let err = store
        .get(&TenantScope::All, apikey_core::KeyId::new())
        .await
        .expect_err("no database");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(std::error::Error::source(&err).is_some());
}
