//! SQLite per test: a temporary file (removed afterwards) or a private in-memory database.

use std::time::Duration;

use apikey_sqlx::SqlxSqliteStore;
use apikey_sqlx::sqlx::SqlitePool;
use apikey_sqlx::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use apikey_testkit::isolated::{remove_sqlite_files, sqlite_temp_path};

use super::Isolated;

/// A pool on a new database file in the temp directory, and a cleanup that removes it.
pub async fn file_pool() -> (SqlitePool, impl FnOnce() + Send + Sync + 'static) {
    let path = sqlite_temp_path();
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .expect("open SQLite file");
    let cleanup = move || remove_sqlite_files(&path);
    (pool, cleanup)
}

/// A pool on a private in-memory database: one connection that never closes, since each
/// connection to `sqlite::memory:` is a database of its own that ends with it.
pub async fn memory_pool() -> SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect("sqlite::memory:")
        .await
        .expect("open in-memory SQLite")
}

/// A migrated store on a fresh temporary file.
pub async fn file_store() -> Isolated<SqlxSqliteStore> {
    let (pool, cleanup) = file_pool().await;
    let store = SqlxSqliteStore::new(pool);
    store.migrate().await.expect("migrate");
    Isolated::new(store, cleanup)
}

/// A migrated store in memory.
pub async fn memory_store() -> SqlxSqliteStore {
    let store = SqlxSqliteStore::new(memory_pool().await);
    store.migrate().await.expect("migrate");
    store
}
