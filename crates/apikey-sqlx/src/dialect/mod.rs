//! What differs between databases, and nothing else: placeholder style, how a
//! [`Value`](apikey_sql::Value) is bound and a column decoded, a few statements (idempotent
//! insert, migration lock). Everything else — the SQL of every operation, filters, the record
//! codec, the migration files, transactions and compare-and-set — is written once in
//! `apikey-sql`, which runs it through the store's `apikey_sql::Driver` implementation
//! (`driver.rs`), itself written once, generic over [`Dialect`].
//!
//! The trait is implemented directly on sqlx's database types (`sqlx::Postgres`, `sqlx::MySql`,
//! `sqlx::Sqlite`) and sealed: the store's behaviour is tested per database, so nobody else can
//! add one.

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::future::Future;

use apikey_core::{Error, Result};
use chrono::{DateTime, Utc};
use sqlx::Database;
use uuid::Uuid;

use apikey_sql::migrations::Migration as SharedMigration;
use apikey_sql::{Placeholder, Sql};

/// A database this crate stores keys in: `sqlx::Postgres`, `sqlx::MySql` or `sqlx::Sqlite`
/// (each behind its Cargo feature). Sealed; it only appears as the parameter of
/// [`SqlxStore`](crate::SqlxStore).
pub trait Dialect: private::Backend {}

pub(crate) mod private {
    use super::*;

    /// The per-database operations behind [`Dialect`](super::Dialect); unnameable outside the
    /// crate, which seals it.
    pub trait Backend: Database {
        /// The database's name, for messages.
        const DB_NAME: &'static str;
        /// `apikey-sql`'s migrations of this database, in version order.
        const MIGRATIONS: &'static [SharedMigration];
        /// `CREATE TABLE IF NOT EXISTS apikey_schema_migrations …`.
        const MIGRATIONS_TABLE: &'static str;
        /// Runs after `BEGIN` and blocks until this connection alone may migrate. If
        /// `MIGRATION_LOCK_CHECKED`, it returns one row whose column `locked` must be 1.
        const MIGRATION_LOCK: Option<&'static str>;
        /// Whether `MIGRATION_LOCK` reports success in a `locked` column.
        const MIGRATION_LOCK_CHECKED: bool;
        /// Releases a session-level migration lock (transaction-level locks need none).
        const MIGRATION_UNLOCK: Option<&'static str>;
        /// The statement that opens a write transaction (SQLite takes its write lock up front).
        const BEGIN_WRITE: &'static str;
        /// Appended to an audit `INSERT` so a retried event (same id) is a no-op.
        const INSERT_IGNORE_DUPLICATE_ID: &'static str;
        /// Appended to a job lease row's `INSERT` so an existing row is left alone.
        const INSERT_IGNORE_DUPLICATE_JOB: &'static str;

        /// How bound values are spelled in SQL text.
        const PLACEHOLDER: Placeholder;
        /// The database, for the statements `apikey-sql` spells per database.
        const DATABASE: apikey_sql::Database;

        /// Runs a statement; the number of rows it affected.
        fn execute<'c>(
            conn: &'c mut Self::Connection,
            sql: Sql,
        ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'c;

        /// Runs a query; every row.
        fn fetch_all<'c>(
            conn: &'c mut Self::Connection,
            sql: Sql,
        ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send + 'c;

        /// Runs SQL text of one or more statements without parameters (migration files).
        fn execute_script<'c>(
            conn: &'c mut Self::Connection,
            script: &'static str,
        ) -> impl Future<Output = Result<(), sqlx::Error>> + Send + 'c;

        /// A nullable text column.
        fn text(row: &Self::Row, col: &str) -> Result<Option<String>>;
        /// A nullable integer column.
        fn int(row: &Self::Row, col: &str) -> Result<Option<i64>>;
        /// A nullable timestamp column.
        fn time(row: &Self::Row, col: &str) -> Result<Option<DateTime<Utc>>>;
        /// A nullable UUID column.
        fn uuid(row: &Self::Row, col: &str) -> Result<Option<Uuid>>;
        /// A nullable JSON column.
        fn json(row: &Self::Row, col: &str) -> Result<Option<serde_json::Value>>;
    }
}

/// `Backend` for a column that does not decode: the schema or the data is not what we wrote.
pub(crate) fn decode_error(
    db: &'static str,
    col: &str,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    Error::backend(format!("{db}: column {col} does not decode"), source)
}

/// Parses a UUID stored as text (MySQL, SQLite).
#[cfg(any(feature = "mysql", feature = "sqlite"))]
pub(crate) fn parse_uuid(db: &'static str, col: &str, s: Option<String>) -> Result<Option<Uuid>> {
    s.map(|s| Uuid::parse_str(&s).map_err(|e| decode_error(db, col, e)))
        .transpose()
}

/// Parses JSON stored as text (MySQL, SQLite).
#[cfg(any(feature = "mysql", feature = "sqlite"))]
pub(crate) fn parse_json(
    db: &'static str,
    col: &str,
    s: Option<String>,
) -> Result<Option<serde_json::Value>> {
    s.map(|s| serde_json::from_str(&s).map_err(|e| decode_error(db, col, e)))
        .transpose()
}
