//! SQLite per test: a temporary file (removed afterwards) or a private in-memory database.

use apikey_diesel::DieselSqliteStore;
use apikey_diesel::diesel::ConnectionResult;
use apikey_diesel::diesel::SqliteConnection;
use apikey_diesel::diesel_async::pooled_connection::deadpool::Pool;
use apikey_diesel::diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use apikey_diesel::diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use apikey_diesel::diesel_async::{AsyncConnection, SimpleAsyncConnection};

use apikey_testkit::isolated::{remove_sqlite_files, sqlite_temp_path};

use super::Isolated;

/// The async SQLite connection the store uses.
pub type Conn = SyncConnectionWrapper<SqliteConnection>;

/// Opens `url` with a busy timeout, WAL and foreign keys on (diesel sets none of them).
pub async fn connect(url: String) -> ConnectionResult<Conn> {
    let mut conn = Conn::establish(&url).await?;
    conn.batch_execute(
        "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;",
    )
    .await
    .map_err(apikey_diesel::diesel::ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

/// A pool of `size` connections to `url`, each set up by [`connect`].
pub fn pool(url: &str, size: usize) -> Pool<Conn> {
    let mut config = ManagerConfig::default();
    config.custom_setup = Box::new(|url| Box::pin(connect(url.to_owned())));
    let manager = AsyncDieselConnectionManager::<Conn>::new_with_config(url, config);
    Pool::builder(manager).max_size(size).build().expect("pool")
}

/// A pool on a new database file in the temp directory, its path, and a cleanup that removes it.
pub fn file_pool() -> (Pool<Conn>, String, impl FnOnce() + Send + Sync + 'static) {
    let path = sqlite_temp_path();
    let url = path.to_str().expect("utf-8 temp path").to_owned();
    // WAL is a property of the file: set it once, alone. Several connections switching a fresh
    // file to WAL at once can get "database is locked" without the busy timeout being consulted.
    {
        use apikey_diesel::diesel::Connection as _;
        use apikey_diesel::diesel::connection::SimpleConnection as _;
        let mut c = SqliteConnection::establish(&url).expect("open the test database");
        c.batch_execute("PRAGMA journal_mode = WAL;")
            .expect("switch the test database to WAL");
    }
    let pool = pool(&url, 4);
    let cleanup = move || remove_sqlite_files(&path);
    (pool, url, cleanup)
}

/// A pool on a private in-memory database: one connection, since each connection to
/// `:memory:` is a database of its own that ends with it.
pub fn memory_pool() -> Pool<Conn> {
    pool(":memory:", 1)
}

/// A migrated store on a fresh temporary file.
pub async fn file_store() -> Isolated<DieselSqliteStore> {
    let (pool, _, cleanup) = file_pool();
    let store = DieselSqliteStore::new(pool);
    store.migrate().await.expect("migrate");
    Isolated::new(store, cleanup)
}

/// A migrated store in memory.
pub async fn memory_store() -> DieselSqliteStore {
    let store = DieselSqliteStore::new(memory_pool());
    store.migrate().await.expect("migrate");
    store
}
