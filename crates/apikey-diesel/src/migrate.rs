//! Embedded migrations run by diesel's own `MigrationHarness`, recorded in diesel's
//! `__diesel_schema_migrations` beside the application's.
//!
//! The migrations are `apikey-sql`'s, the same SQL text `apikey-sqlx` applies, handed to the
//! harness as a `MigrationSource` of their own (see `source.rs`) under versions `apikey0001`,
//! `apikey0002`, …: they sort and compare as strings and can never equal the timestamps or
//! numbers an application's migrations use. The harness applies every migration of *our* source
//! whose version is not in the table, and ignores applied versions it does not know — the
//! application's — so the two sets apply in either order and running ours again is a no-op.
//!
//! PostgreSQL and MySQL/MariaDB: the harness needs a synchronous diesel connection, so a
//! connection is taken out of the pool, wrapped in diesel-async's `AsyncConnectionWrapper` on a
//! blocking thread, and closed afterwards; a session lock (`pg_advisory_lock`, `GET_LOCK`) makes
//! concurrent instances apply each migration once. SQLite: on the pooled connection itself (an
//! in-memory database ends with its connection), inside one `BEGIN IMMEDIATE` transaction.

// The locked runner on a wrapped async connection serves PostgreSQL and MySQL; a SQLite-only
// build migrates on its own connection and leaves it unused.
#![cfg_attr(
    not(any(feature = "postgres", feature = "mysql")),
    allow(dead_code, unused_imports)
)]

use std::error::Error as StdError;

use apikey_core::{Error, Result};
use diesel::deserialize;
use diesel::deserialize::QueryableByName;
use diesel::row::NamedRow;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::MigrationHarness;

use crate::dialect::{Conn, Dialect};
use crate::error::{classify, ctx};
use crate::source::SharedMigrations;
use apikey_sql::Sql;

/// A session-level migration lock: `take` blocks until this connection alone may migrate (if
/// `checked`, it returns a `locked` column that must be 1); `release` gives it back.
#[derive(Debug)]
pub(crate) struct Lock {
    pub(crate) take: &'static str,
    pub(crate) checked: bool,
    pub(crate) release: &'static str,
}

/// A failure inside diesel's harness: a database error (classified) or another one (a
/// migration that does not load).
#[derive(Debug)]
pub(crate) enum MigrationError {
    Diesel(diesel::result::Error),
    Other(Box<dyn StdError + Send + Sync>),
}

impl From<diesel::result::Error> for MigrationError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Diesel(e)
    }
}

impl From<Box<dyn StdError + Send + Sync>> for MigrationError {
    fn from(e: Box<dyn StdError + Send + Sync>) -> Self {
        match e.downcast::<diesel::result::Error>() {
            Ok(d) => Self::Diesel(*d),
            Err(e) => Self::Other(e),
        }
    }
}

impl MigrationError {
    pub(crate) fn into_core<D: Dialect>(self) -> Error {
        match self {
            Self::Diesel(e) => classify(D::DB_NAME, "apply migrations", e),
            Self::Other(e) => Error::backend(format!("{}: apply migrations failed", D::DB_NAME), e),
        }
    }
}

/// The `locked` column of a lock query.
struct Locked(Option<i64>);

impl<D: Dialect> QueryableByName<D> for Locked {
    fn build<'a>(row: &impl NamedRow<'a, D>) -> deserialize::Result<Self> {
        D::int(row, "locked").map(Self)
    }
}

/// Runs `source` on a connection taken out of the pool, under `lock` (PostgreSQL, MySQL).
pub(crate) async fn run_wrapped<D>(
    conn: Conn<D>,
    lock: &Lock,
    source: SharedMigrations,
) -> Result<()>
where
    D: Dialect,
    AsyncConnectionWrapper<D::Connection>: MigrationHarness<D>,
{
    let mut conn = deadpool::managed::Object::take(conn);
    if lock.checked {
        let rows: Vec<Locked> = D::load(&mut conn, Sql::new(D::PLACEHOLDER, lock.take))
            .await
            .map_err(ctx(D::DB_NAME, "take migration lock"))?;
        if rows.first().and_then(|l| l.0) != Some(1) {
            return Err(Error::unavailable(format!(
                "{}: another instance held the migration lock for 60 s",
                D::DB_NAME
            )));
        }
    } else {
        D::execute(&mut conn, Sql::new(D::PLACEHOLDER, lock.take))
            .await
            .map_err(ctx(D::DB_NAME, "take migration lock"))?;
    }
    let joined = tokio::task::spawn_blocking(move || {
        let mut sync = AsyncConnectionWrapper::<D::Connection>::from(conn);
        let outcome = sync
            .run_pending_migrations(source)
            .map(drop)
            .map_err(MigrationError::from);
        (sync.into_inner(), outcome)
    })
    .await
    .map_err(|e| Error::backend(format!("{}: migration task failed", D::DB_NAME), e))?;
    let (mut conn, outcome) = joined;
    // Closing the connection would release the lock too; say so explicitly.
    let released = D::execute(&mut conn, Sql::new(D::PLACEHOLDER, lock.release))
        .await
        .map_err(ctx(D::DB_NAME, "release migration lock"));
    outcome.map_err(MigrationError::into_core::<D>)?;
    released.map(drop)
}
