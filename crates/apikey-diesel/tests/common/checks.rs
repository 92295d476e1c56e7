//! Migrations beside the application's own, on every database. (Input policy and error
//! classification checks are shared: `apikey_testkit::sql_policy`.)

use std::future::Future;
use std::path::PathBuf;

use apikey_core::{KeyStore, TenantScope};
use apikey_diesel::diesel::query_builder::SqlQuery;
use apikey_diesel::diesel_async::methods::ExecuteDsl;
use apikey_diesel::diesel_async::{AsyncConnection, AsyncMigrationHarness, RunQueryDsl};
use apikey_diesel::{Dialect, DieselStore, diesel};
use apikey_testkit::fixtures::{base_time, created, full_record};
use diesel_migrations::{FileBasedMigrations, MigrationHarness};

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
            "apikey0002",
            "apikey0003",
            "apikey0004",
            "apikey0006"
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
