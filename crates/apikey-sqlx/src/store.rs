//! [`SqlxStore`]: a key store over a caller's sqlx pool, and its per-database names.

use std::fmt;

use apikey_core::Result;
use sqlx::Pool;

use crate::dialect::Dialect;

/// A [`KeyStore`](apikey_core::KeyStore), [`AuditStore`](apikey_core::AuditStore),
/// [`LegacyLookup`](apikey_core::store::LegacyLookup),
/// [`TenantSettingsStore`](apikey_core::TenantSettingsStore),
/// [`CatalogStore`](apikey_core::CatalogStore),
/// [`WebhookStore`](apikey_core::webhook::WebhookStore) and
/// [`CheckedInsert`](apikey_core::tenant::CheckedInsert) over a sqlx connection pool.
///
/// Use it through its aliases [`SqlxPostgresStore`], [`SqlxMySqlStore`] and [`SqlxSqliteStore`]. Clones
/// share the pool. Run [`migrate`](Self::migrate) once at start-up (it is idempotent and safe to
/// run from several instances at once).
pub struct SqlxStore<D: Dialect> {
    pub(crate) pool: Pool<D>,
}

/// The store on PostgreSQL.
#[cfg(feature = "postgres")]
pub type SqlxPostgresStore = SqlxStore<sqlx::Postgres>;
/// The store on MySQL or MariaDB.
#[cfg(feature = "mysql")]
pub type SqlxMySqlStore = SqlxStore<sqlx::MySql>;
/// The store on SQLite.
#[cfg(feature = "sqlite")]
pub type SqlxSqliteStore = SqlxStore<sqlx::Sqlite>;

/// The name before 0.2: stores are named `<driver><database>Store` across backends now.
#[deprecated(since = "0.2.0", note = "renamed to `SqlxStore`")]
pub type SqlKeyStore<D> = SqlxStore<D>;
/// The name before 0.2.
#[cfg(feature = "postgres")]
#[deprecated(since = "0.2.0", note = "renamed to `SqlxPostgresStore`")]
pub type PgKeyStore = SqlxPostgresStore;
/// The name before 0.2.
#[cfg(feature = "mysql")]
#[deprecated(since = "0.2.0", note = "renamed to `SqlxMySqlStore`")]
pub type MySqlKeyStore = SqlxMySqlStore;
/// The name before 0.2.
#[cfg(feature = "sqlite")]
#[deprecated(since = "0.2.0", note = "renamed to `SqlxSqliteStore`")]
pub type SqliteKeyStore = SqlxSqliteStore;

impl<D: Dialect> SqlxStore<D> {
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
    /// Then runs the data migrations those queued (see `apikey_sql::rewrite`): one rewrites
    /// stored rules in their canonical form; another makes the `(tenant_key, alias)` index
    /// unique unless stored duplicates prevent it (then it logs a warning with their number and
    /// stays queued; see [`duplicate_aliases`](Self::duplicate_aliases)).
    pub async fn migrate(&self) -> Result<()> {
        crate::migrate::run::<D>(&self.pool).await?;
        apikey_sql::flow::rewrite::run(self).await?;
        // Duplicates (from before aliases were unique per tenant) are warned about and listed by
        // `duplicate_aliases()`; they do not fail the migration.
        apikey_sql::flow::aliases::ensure_unique(self).await?;
        Ok(())
    }
}

impl<D: Dialect> Clone for SqlxStore<D> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
        }
    }
}

impl<D: Dialect> fmt::Debug for SqlxStore<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlxStore")
            .field("database", &D::DB_NAME)
            .field("pool_size", &self.pool.size())
            .field("closed", &self.pool.is_closed())
            .finish()
    }
}
