//! [`DieselStore`]: a key store over a caller's diesel-async deadpool pool, and its per-database
//! names.

use std::fmt;

use apikey_core::Result;

use crate::dialect::{Conn, Dialect, Pool};

/// A [`KeyStore`](apikey_core::KeyStore), [`AuditStore`](apikey_core::AuditStore),
/// [`LegacyLookup`](apikey_core::store::LegacyLookup),
/// [`TenantSettingsStore`](apikey_core::TenantSettingsStore),
/// [`CatalogStore`](apikey_core::CatalogStore),
/// [`WebhookStore`](apikey_core::webhook::WebhookStore) and
/// [`CheckedInsert`](apikey_core::tenant::CheckedInsert) over a diesel-async connection pool
/// (`diesel_async::pooled_connection::deadpool::Pool`).
///
/// Use it through its aliases [`DieselPostgresStore`], [`DieselMySqlStore`] and
/// [`DieselSqliteStore`]. Clones share the pool. Run [`migrate`](Self::migrate) once at start-up
/// (it is idempotent and safe to run from several instances at once).
pub struct DieselStore<D: Dialect> {
    pub(crate) pool: Pool<D>,
}

/// The store on PostgreSQL (`AsyncPgConnection`).
#[cfg(feature = "postgres")]
pub type DieselPostgresStore = DieselStore<diesel::pg::Pg>;
/// The store on MySQL or MariaDB (`AsyncMysqlConnection`).
#[cfg(feature = "mysql")]
pub type DieselMySqlStore = DieselStore<diesel::mysql::Mysql>;
/// The store on SQLite (`SyncConnectionWrapper<SqliteConnection>`).
#[cfg(feature = "sqlite")]
pub type DieselSqliteStore = DieselStore<diesel::sqlite::Sqlite>;

/// The name before 0.2: stores are named `<driver><database>Store` across backends now.
#[cfg(feature = "postgres")]
#[deprecated(since = "0.2.0", note = "renamed to `DieselPostgresStore`")]
pub type DieselPgStore = DieselPostgresStore;
/// The name before 0.2.
#[cfg(feature = "mysql")]
#[deprecated(since = "0.2.0", note = "renamed to `DieselMySqlStore`")]
pub type DieselMysqlStore = DieselMySqlStore;

impl<D: Dialect> DieselStore<D> {
    /// A store over `pool`. Nothing is checked until the first call; run
    /// [`migrate`](Self::migrate) before using it.
    pub fn new(pool: Pool<D>) -> Self {
        Self { pool }
    }

    /// The pool the store uses.
    pub fn pool(&self) -> &Pool<D> {
        &self.pool
    }

    /// Creates or upgrades this crate's tables (all prefixed `apikey_`) with diesel's migration
    /// harness, recorded in `__diesel_schema_migrations` under versions `apikey0001`, … that
    /// never collide with the application's own. Running it again is a no-op. See
    /// [`migrate`](crate::migrate) for how it coexists with your migrations.
    ///
    /// Then runs the data migrations those queued (see `apikey_sql::rewrite`): one rewrites
    /// stored rules in their canonical form; another makes the `(tenant_key, alias)` index
    /// unique unless stored duplicates prevent it (then it logs a warning with their number and
    /// stays queued; see [`duplicate_aliases`](Self::duplicate_aliases)).
    pub async fn migrate(&self) -> Result<()> {
        let conn = self.conn().await?;
        D::migrate(conn).await?;
        apikey_sql::flow::rewrite::run(self).await?;
        // Duplicates (from before aliases were unique per tenant) are warned about and listed by
        // `duplicate_aliases()`; they do not fail the migration.
        apikey_sql::flow::aliases::ensure_unique(self).await?;
        Ok(())
    }

    /// A pooled connection.
    pub(crate) async fn conn(&self) -> Result<Conn<D>> {
        self.pool
            .get()
            .await
            .map_err(|e| crate::error::pool(D::DB_NAME, e))
    }
}

impl<D: Dialect> Clone for DieselStore<D> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
        }
    }
}

impl<D: Dialect> fmt::Debug for DieselStore<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("DieselStore")
            .field("database", &D::DB_NAME)
            .field("pool_size", &status.size)
            .field("pool_max_size", &status.max_size)
            .field("closed", &self.pool.is_closed())
            .finish()
    }
}
