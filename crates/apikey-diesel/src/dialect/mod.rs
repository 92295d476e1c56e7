//! What differs between databases, and nothing else: the connection and pool types, placeholder
//! style, how a [`Value`](apikey_sql::Value) is bound and a column decoded, the idempotent audit
//! insert and the migration runner. Everything else — the SQL of every operation, filters, the
//! record codec, transactions, compare-and-set — is written once in `apikey-sql`, which runs it
//! through the store's `apikey_sql::Driver` implementation (`driver.rs`), itself written once,
//! generic over [`Dialect`].
//!
//! The trait is implemented on diesel's backend types (`diesel::pg::Pg`, `diesel::mysql::Mysql`,
//! `diesel::sqlite::Sqlite`) and sealed: the store's behaviour is tested per database, so nobody
//! else can add one. The statement runners are the same code for every backend, stamped out by
//! [`runners!`] for each concrete connection type (diesel's query traits are easiest to satisfy
//! on concrete types).

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::future::Future;

use apikey_core::Result;
use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel::deserialize;
use diesel::deserialize::QueryableByName;
use diesel::row::NamedRow;
use uuid::Uuid;

use apikey_sql::{Placeholder, Sql};

/// A database this crate stores keys in: `diesel::pg::Pg`, `diesel::mysql::Mysql` or
/// `diesel::sqlite::Sqlite` (each behind its Cargo feature). Sealed; it only appears as the
/// parameter of [`DieselStore`](crate::DieselStore).
pub trait Dialect: private::Backend {}

/// The deadpool manager of dialect `D`'s connections; `Pool<Manager<D>>` is
/// `diesel_async::pooled_connection::deadpool::Pool<D's connection>`.
pub type Manager<D> = <D as private::Backend>::Manager;

/// The pool [`DieselStore<D>`](crate::DieselStore) takes.
pub type Pool<D> = deadpool::managed::Pool<Manager<D>>;

/// A connection checked out of a [`Pool`].
pub(crate) type Conn<D> = deadpool::managed::Object<Manager<D>>;

pub(crate) mod private {
    use super::*;

    /// The per-database operations behind [`Dialect`](super::Dialect); unnameable outside the
    /// crate, which seals it.
    pub trait Backend: diesel::backend::Backend + Sized + Send + Sync + 'static {
        /// The async connection (`AsyncPgConnection`, `AsyncMysqlConnection`,
        /// `SyncConnectionWrapper<SqliteConnection>`).
        type Connection: diesel_async::AsyncConnection<Backend = Self> + Send + 'static;
        /// `AsyncDieselConnectionManager<Self::Connection>`.
        type Manager: deadpool::managed::Manager<
                Type = Self::Connection,
                Error = diesel_async::pooled_connection::PoolError,
            > + Send
            + Sync
            + 'static;
        /// The database's name, for messages.
        const DB_NAME: &'static str;
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
        ) -> impl Future<Output = QueryResult<usize>> + Send + 'c;

        /// Runs a query; every row.
        fn load<'c, T>(
            conn: &'c mut Self::Connection,
            sql: Sql,
        ) -> impl Future<Output = QueryResult<Vec<T>>> + Send + 'c
        where
            T: QueryableByName<Self> + Send + 'static;

        /// Applies the embedded migrations on a connection taken out of the pool.
        fn migrate(conn: Conn<Self>) -> impl Future<Output = Result<()>> + Send;

        /// A nullable text column.
        fn text<'a>(
            row: &impl NamedRow<'a, Self>,
            col: &str,
        ) -> deserialize::Result<Option<String>>;
        /// A nullable integer column.
        fn int<'a>(row: &impl NamedRow<'a, Self>, col: &str) -> deserialize::Result<Option<i64>>;
        /// A nullable timestamp column.
        fn time<'a>(
            row: &impl NamedRow<'a, Self>,
            col: &str,
        ) -> deserialize::Result<Option<DateTime<Utc>>>;
        /// A nullable UUID column.
        fn uuid<'a>(row: &impl NamedRow<'a, Self>, col: &str) -> deserialize::Result<Option<Uuid>>;
        /// A nullable JSON column.
        fn json<'a>(
            row: &impl NamedRow<'a, Self>,
            col: &str,
        ) -> deserialize::Result<Option<serde_json::Value>>;
    }
}

/// A column that does not decode: names the column, keeps the cause.
#[derive(Debug)]
pub(crate) struct DecodeError {
    pub(crate) column: String,
    pub(crate) source: Box<dyn std::error::Error + Send + Sync>,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "column {} does not decode", self.column)
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// Wraps a decoding failure of `col`.
pub(crate) fn decode_error(
    col: &str,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(DecodeError {
        column: col.to_owned(),
        source: source.into(),
    })
}

/// Parses a UUID stored as text (MySQL, SQLite).
#[cfg(any(feature = "mysql", feature = "sqlite"))]
pub(crate) fn parse_uuid(col: &str, s: Option<String>) -> deserialize::Result<Option<Uuid>> {
    s.map(|s| Uuid::parse_str(&s).map_err(|e| decode_error(col, e)))
        .transpose()
}

/// Parses JSON stored as text (MySQL, SQLite).
#[cfg(any(feature = "mysql", feature = "sqlite"))]
pub(crate) fn parse_json(
    col: &str,
    s: Option<String>,
) -> deserialize::Result<Option<serde_json::Value>> {
    s.map(|s| serde_json::from_str(&s).map_err(|e| decode_error(col, e)))
        .transpose()
}

/// The body of `execute` and `load` for a concrete connection type: the statement as a boxed
/// `sql_query` with every value bound through the dialect's `bind`.
#[cfg_attr(
    not(any(feature = "postgres", feature = "mysql", feature = "sqlite")),
    allow(unused_macros)
)]
macro_rules! runners {
    ($db:ty) => {
        fn execute<'c>(
            conn: &'c mut Self::Connection,
            sql: ::apikey_sql::Sql,
        ) -> impl ::std::future::Future<Output = ::diesel::QueryResult<usize>> + Send + 'c {
            ::diesel_async::RunQueryDsl::execute(boxed(sql), conn)
        }

        fn load<'c, T>(
            conn: &'c mut Self::Connection,
            sql: ::apikey_sql::Sql,
        ) -> impl ::std::future::Future<Output = ::diesel::QueryResult<Vec<T>>> + Send + 'c
        where
            T: ::diesel::deserialize::QueryableByName<$db> + Send + 'static,
        {
            ::diesel_async::RunQueryDsl::load::<T>(boxed(sql), conn)
        }
    };
}
pub(crate) use runners;

/// The boxed query type every dialect builds.
pub(crate) type Boxed<D> =
    diesel::query_builder::BoxedSqlQuery<'static, D, diesel::query_builder::SqlQuery>;
