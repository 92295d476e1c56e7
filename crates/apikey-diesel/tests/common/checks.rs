//! Checks every database runs beyond the testkit: migrations beside the application's own,
//! hostile input the core types allow but a database might not store, and error classification.

use std::future::Future;
use std::path::PathBuf;

use apikey_core::{AuditStore, ErrorKind, KeyFilter, KeyStore, Metadata, TenantScope};
use apikey_diesel::diesel::query_builder::SqlQuery;
use apikey_diesel::diesel::result::DatabaseErrorKind;
use apikey_diesel::diesel_async::methods::ExecuteDsl;
use apikey_diesel::diesel_async::{AsyncConnection, AsyncMigrationHarness, RunQueryDsl};
use apikey_diesel::{Dialect, DieselStore, diesel};
use apikey_testkit::fixtures::{base_time, created, full_record, record, updated};
use diesel_migrations::{FileBasedMigrations, MigrationHarness};
use serde_json::json;

use super::unique_name;

/// A directory of the application's own diesel migrations: a diesel-CLI timestamp and a plain
/// number, as applications name them.
fn user_migrations() -> PathBuf {
    let dir = std::env::temp_dir().join(unique_name());
    for (name, sql) in [
        (
            "2024-01-01-000000_app_users",
            "CREATE TABLE app_users (id BIGINT PRIMARY KEY, name TEXT NOT NULL);",
        ),
        (
            "00000000000001_app_orders",
            "CREATE TABLE app_orders (id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL);",
        ),
    ] {
        let m = dir.join(name);
        std::fs::create_dir_all(&m).expect("create migration dir");
        std::fs::write(m.join("up.sql"), sql).expect("write up.sql");
        std::fs::write(m.join("down.sql"), "SELECT 1;").expect("write down.sql");
    }
    dir
}

/// Runs the application's pending migrations on a new connection; how many it applied, and
/// every version in `__diesel_schema_migrations`.
async fn run_user<C, F>(connect: &impl Fn() -> F, dir: &PathBuf) -> (usize, Vec<String>, C)
where
    C: AsyncConnection + 'static,
    F: Future<Output = C>,
    AsyncMigrationHarness<C>: MigrationHarness<C::Backend>,
{
    let mut harness = AsyncMigrationHarness::new(connect().await);
    let source = FileBasedMigrations::from_path(dir).expect("user migrations");
    let applied = harness
        .run_pending_migrations(source)
        .expect("user's migrations")
        .len();
    let mut versions: Vec<String> = harness
        .applied_migrations()
        .expect("applied versions")
        .iter()
        .map(ToString::to_string)
        .collect();
    versions.sort();
    (applied, versions, harness.into_inner())
}

/// The application's diesel migrations and ours, in the order given, on one database: diesel's
/// harness applies each set once whatever the other left in `__diesel_schema_migrations`, both
/// re-run as no-ops, and both schemas work. Needs a multi-thread runtime (diesel-async's
/// harness blocks in place).
pub async fn migrations_coexist<D, C, F>(
    store: &DieselStore<D>,
    connect: impl Fn() -> F,
    user_first: bool,
) where
    D: Dialect,
    C: AsyncConnection<Backend = D> + 'static,
    F: Future<Output = C>,
    AsyncMigrationHarness<C>: MigrationHarness<D>,
    SqlQuery: ExecuteDsl<C>,
{
    let dir = user_migrations();
    if user_first {
        assert_eq!(run_user(&connect, &dir).await.0, 2);
        store.migrate().await.expect("ours after the user's");
    } else {
        store.migrate().await.expect("ours first");
        assert_eq!(run_user(&connect, &dir).await.0, 2, "user's after ours");
    }
    store.migrate().await.expect("migrate() again is a no-op");
    let (again, versions, mut conn) = run_user(&connect, &dir).await;
    assert_eq!(
        again, 0,
        "the user's harness is undisturbed by our versions"
    );
    assert_eq!(
        versions,
        [
            "00000000000001",
            "20240101000000",
            "apikey0001",
            "apikey0002"
        ],
        "one history, both sets, each once"
    );

    diesel::sql_query("INSERT INTO app_users (id, name) VALUES (1, 'ada')")
        .execute(&mut conn)
        .await
        .expect("the user's table works");
    let r = full_record(None, base_time());
    store
        .insert(&r, &created(&r))
        .await
        .expect("our table works");
    assert_eq!(store.get(&TenantScope::All, r.id).await.unwrap(), Some(r));
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
    let diesel_err = source
        .downcast_ref::<diesel::result::Error>()
        .expect("the source is the diesel error");
    assert!(
        matches!(
            diesel_err,
            diesel::result::Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
        ),
        "{diesel_err:?}"
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
