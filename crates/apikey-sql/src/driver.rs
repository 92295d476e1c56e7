//! The seam between the SQL flow, written once in [`flow`](crate::flow), and a store's database
//! driver: a handful of operations on connections and transactions, and how a result row is
//! decoded. Each store (`apikey-sqlx`, `apikey-diesel`) implements [`Driver`] and keeps only
//! what is driver-specific: binding [`Value`](crate::Value)s, decoding columns, pools, error
//! classification and its migration runner.
//!
//! The methods return `Send` futures so the flow can run inside the stores' `async_trait`
//! implementations of the core traits; the trait itself is only ever used generically, never as
//! a trait object, so it needs no boxing.

use std::future::Future;
use std::ops::DerefMut;

use apikey_core::Result;

use crate::codec::Row;
use crate::sql::{Placeholder, Sql};

/// A value read from one result row through the shared codec. Implemented by the types the flow
/// selects (records, audit events, the rows of a data migration), so each driver decodes every
/// query the same way: wrap its row in a [`Row`] and call [`decode`](Self::decode).
pub trait Decode: Sized + Send + 'static {
    /// Reads the value from `row`; a column that does not decode is the row's error.
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error>;
}

/// Which database a driver speaks, for the few statements spelled differently on each (such as
/// whether an index exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
    /// SQLite.
    Sqlite,
}

/// A database reached through one driver: statements run on its connections, write
/// transactions open and end on them. Errors come back as core errors the driver has already
/// classified, their messages naming the failed step (`what`) and never a value.
pub trait Driver: Sync {
    /// The connection statements run on.
    type Conn: Send;
    /// A connection for reads, checked out of the pool.
    type Reader: DerefMut<Target = Self::Conn> + Send;
    /// A connection with a write transaction open on it.
    type Writer: DerefMut<Target = Self::Conn> + Send;

    /// How bound values are spelled in SQL text.
    const PLACEHOLDER: Placeholder;
    /// The database behind the driver.
    const DATABASE: Database;
    /// Appended to an audit `INSERT` so a retried event (same id) is a no-op.
    const INSERT_IGNORE_DUPLICATE_ID: &'static str;
    /// Appended to the `INSERT` of a job's lease row so that an existing row (another instance
    /// inserted it first) is left alone: the claim's compare-and-set `UPDATE` decides.
    const INSERT_IGNORE_DUPLICATE_JOB: &'static str;

    /// A connection for reads (no transaction).
    fn reader(&self) -> impl Future<Output = Result<Self::Reader>> + Send;

    /// A connection with a write transaction open.
    fn begin(&self) -> impl Future<Output = Result<Self::Writer>> + Send;

    /// Commits `tx`; `what` names the commit in an error.
    fn commit(
        &self,
        tx: Self::Writer,
        what: &'static str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Rolls `tx` back at once. The flow already has the error that caused it, so a failed
    /// rollback is the driver's to handle (by discarding the connection).
    fn rollback(&self, tx: Self::Writer) -> impl Future<Output = ()> + Send;

    /// Runs a statement; the number of rows it affected.
    fn execute(
        conn: &mut Self::Conn,
        sql: Sql,
        what: &'static str,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Runs a query; every row, decoded as `T`.
    fn fetch<T: Decode>(
        conn: &mut Self::Conn,
        sql: Sql,
        what: &'static str,
    ) -> impl Future<Output = Result<Vec<T>>> + Send;
}
