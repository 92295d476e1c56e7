//! Migrations beside the application's own, on every database. (Input policy and error
//! classification checks are shared: `apikey_testkit::sql_policy`.)

use std::path::PathBuf;

use apikey_core::{ErrorKind, KeyStore, TenantScope};
use apikey_sqlx::sqlx::migrate::{Migrate, Migrator};
use apikey_sqlx::sqlx::{self, Database, Executor, IntoArguments, Pool};
use apikey_sqlx::{Dialect, SqlxStore};
use apikey_testkit::fixtures::{base_time, created, full_record};

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
    let store = SqlxStore::<D>::new(pool.clone());
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
        apikey_sql::migrations::POSTGRES.len(),
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
