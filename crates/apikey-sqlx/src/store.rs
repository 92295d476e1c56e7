//! [`SqlKeyStore`]: a key store over a caller's sqlx pool, and its per-database names.

use std::fmt;

use apikey_core::Result;
use sqlx::Pool;

use crate::dialect::Dialect;

/// A [`KeyStore`](apikey_core::KeyStore), [`AuditStore`](apikey_core::AuditStore) and
/// [`LegacyLookup`](apikey_core::store::LegacyLookup) over a sqlx connection pool.
///
/// Use it through its aliases [`PgKeyStore`], [`MySqlKeyStore`] and [`SqliteKeyStore`]. Clones
/// share the pool. Run [`migrate`](Self::migrate) once at start-up (it is idempotent and safe to
/// run from several instances at once).
pub struct SqlKeyStore<D: Dialect> {
    pub(crate) pool: Pool<D>,
}

/// The store on PostgreSQL.
#[cfg(feature = "postgres")]
pub type PgKeyStore = SqlKeyStore<sqlx::Postgres>;
/// The store on MySQL or MariaDB.
#[cfg(feature = "mysql")]
pub type MySqlKeyStore = SqlKeyStore<sqlx::MySql>;
/// The store on SQLite.
#[cfg(feature = "sqlite")]
pub type SqliteKeyStore = SqlKeyStore<sqlx::Sqlite>;

impl<D: Dialect> SqlKeyStore<D> {
    /// A store over `pool`. Nothing is checked until the first call; run
    /// [`migrate`](Self::migrate) before using it.
    pub fn new(pool: Pool<D>) -> Self {
        Self { pool }
    }

    /// The pool the store uses.
    pub fn pool(&self) -> &Pool<D> {
        &self.pool
    }

    /// Creates or upgrades this crate's tables (all prefixed `apikey_`), recording what it
    /// applied in `apikey_schema_migrations` — never in sqlx's `_sqlx_migrations`, so the
    /// application's own migrations are unaffected. Applied migrations are checked against
    /// their checksums; running it again is a no-op.
    ///
    /// Then runs the data migrations those queued (see `apikey_sql::rewrite`): today one, which
    /// rewrites stored rules in their canonical form.
    pub async fn migrate(&self) -> Result<()> {
        crate::migrate::run::<D>(&self.pool).await?;
        apikey_sql::flow::rewrite::run(self).await
    }
}

impl<D: Dialect> Clone for SqlKeyStore<D> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
        }
    }
}

impl<D: Dialect> fmt::Debug for SqlKeyStore<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlKeyStore")
            .field("database", &D::DB_NAME)
            .field("pool_size", &self.pool.size())
            .field("closed", &self.pool.is_closed())
            .finish()
    }
}
