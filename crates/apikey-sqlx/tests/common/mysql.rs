//! A fresh MariaDB/MySQL database per test (`CREATE DATABASE apikey_test_…`), dropped afterwards.

use std::str::FromStr;
use std::time::Duration;

use apikey_sqlx::SqlxMySqlStore;
use apikey_sqlx::sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use apikey_sqlx::sqlx::{ConnectOptions, Connection, Executor, MySqlPool};

use super::Isolated;
use super::{run_detached, service_url, unique_name};

/// `APIKEY_TEST_MYSQL_URL`, e.g. `mysql://root@127.0.0.1:3306/test`.
pub fn url() -> Option<String> {
    service_url("APIKEY_TEST_MYSQL_URL", "MariaDB/MySQL")
}

/// A pool on a new, empty database, and a cleanup that drops it.
pub async fn fresh_pool(admin_url: &str) -> (MySqlPool, impl FnOnce() + Send + Sync + 'static) {
    let admin = MySqlConnectOptions::from_str(admin_url).expect("APIKEY_TEST_MYSQL_URL parses");
    let name = unique_name();
    let mut conn = admin.connect().await.expect("connect to MariaDB/MySQL");
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    conn.close().await.expect("close admin connection");
    let pool = MySqlPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(admin.clone().database(&name))
        .await
        .expect("connect to the test database");
    let cleanup = move || {
        run_detached(async move {
            if let Ok(mut conn) = admin.connect().await {
                let drop = format!("DROP DATABASE IF EXISTS {name}");
                let _ = conn.execute(drop.as_str()).await;
                let _ = conn.close().await;
            }
        });
    };
    (pool, cleanup)
}

/// A migrated store on a fresh database.
pub async fn store(admin_url: String) -> Isolated<SqlxMySqlStore> {
    let (pool, cleanup) = fresh_pool(&admin_url).await;
    let store = SqlxMySqlStore::new(pool);
    store.migrate().await.expect("migrate");
    Isolated::new(store, cleanup)
}
