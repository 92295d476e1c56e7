//! A fresh PostgreSQL database per test (`CREATE DATABASE apikey_test_…`), dropped afterwards.

use std::str::FromStr;
use std::time::Duration;

use apikey_sqlx::SqlxPostgresStore;
use apikey_sqlx::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use apikey_sqlx::sqlx::{ConnectOptions, Connection, Executor, PgPool};

use super::Isolated;
use super::{run_detached, service_url, unique_name};

/// `APIKEY_TEST_POSTGRES_URL`, e.g. `postgres://postgres@127.0.0.1:5432/postgres`.
pub fn url() -> Option<String> {
    service_url("APIKEY_TEST_POSTGRES_URL", "PostgreSQL")
}

/// A pool on a new, empty database, and a cleanup that drops it.
pub async fn fresh_pool(admin_url: &str) -> (PgPool, impl FnOnce() + Send + Sync + 'static) {
    let admin = PgConnectOptions::from_str(admin_url).expect("APIKEY_TEST_POSTGRES_URL parses");
    let name = unique_name();
    let mut conn = admin.connect().await.expect("connect to PostgreSQL");
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    conn.close().await.expect("close admin connection");
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(admin.clone().database(&name))
        .await
        .expect("connect to the test database");
    let cleanup = move || {
        run_detached(async move {
            if let Ok(mut conn) = admin.connect().await {
                let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = conn.execute(drop.as_str()).await;
                let _ = conn.close().await;
            }
        });
    };
    (pool, cleanup)
}

/// A migrated store on a fresh database.
pub async fn store(admin_url: String) -> Isolated<SqlxPostgresStore> {
    let (pool, cleanup) = fresh_pool(&admin_url).await;
    let store = SqlxPostgresStore::new(pool);
    store.migrate().await.expect("migrate");
    Isolated::new(store, cleanup)
}
