//! A fresh PostgreSQL database per test (`CREATE DATABASE apikey_test_…`), dropped afterwards.

use apikey_diesel::DieselPostgresStore;
use apikey_diesel::diesel_async::pooled_connection::AsyncDieselConnectionManager;
use apikey_diesel::diesel_async::pooled_connection::deadpool::Pool;
use apikey_diesel::diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

use super::Isolated;
use super::{run_detached, service_url, unique_name, with_database};

/// `APIKEY_TEST_POSTGRES_URL`, e.g. `postgres://postgres@127.0.0.1:5432/postgres`.
pub fn url() -> Option<String> {
    service_url("APIKEY_TEST_POSTGRES_URL", "PostgreSQL")
}

/// A pool on a new, empty database, its URL, and a cleanup that drops it.
pub async fn fresh_pool(
    admin_url: &str,
) -> (
    Pool<AsyncPgConnection>,
    String,
    impl FnOnce() + Send + Sync + 'static,
) {
    let name = unique_name();
    let mut conn = AsyncPgConnection::establish(admin_url)
        .await
        .expect("connect to PostgreSQL");
    conn.batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    drop(conn);
    let url = with_database(admin_url, &name);
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url.clone());
    let pool = Pool::builder(manager).max_size(4).build().expect("pool");
    let admin = admin_url.to_owned();
    let cleanup = move || {
        run_detached(async move {
            if let Ok(mut conn) = AsyncPgConnection::establish(&admin).await {
                let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = conn.batch_execute(&drop).await;
            }
        });
    };
    (pool, url, cleanup)
}

/// A migrated store on a fresh database.
pub async fn store(admin_url: String) -> Isolated<DieselPostgresStore> {
    let (pool, _, cleanup) = fresh_pool(&admin_url).await;
    let store = DieselPostgresStore::new(pool);
    store.migrate().await.expect("migrate");
    Isolated::new(store, cleanup)
}
