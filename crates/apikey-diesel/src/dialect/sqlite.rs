//! SQLite through diesel's synchronous `SqliteConnection`, run on tokio's blocking threads by
//! `diesel_async::sync_connection_wrapper::SyncConnectionWrapper`: `?` placeholders, UUIDs and
//! JSON as text, instants as integer milliseconds since the epoch (exact, and ordered as
//! numbers). Migrations run inside one `BEGIN IMMEDIATE` transaction (the database's write lock).

use chrono::{DateTime, Utc};
use diesel::deserialize;
use diesel::row::NamedRow;
use diesel::sql_types::{BigInt, Binary, Nullable, Text};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_migrations::MigrationHarness;
use uuid::Uuid;

use super::{
    Boxed, Conn, Dialect, decode_error, parse_json, parse_uuid, private::Backend, runners,
};
use crate::migrate::MigrationError;
use crate::source::SharedMigrations;
use apikey_sql::{Placeholder, Sql, Value};

/// The shared migrations, versions `apikey0001`, `apikey0002`, ….
pub(crate) const MIGRATIONS: SharedMigrations = SharedMigrations(apikey_sql::migrations::SQLITE);

impl Dialect for Sqlite {}

impl Backend for Sqlite {
    type Connection = SyncConnectionWrapper<SqliteConnection>;
    type Manager = AsyncDieselConnectionManager<SyncConnectionWrapper<SqliteConnection>>;
    const DB_NAME: &'static str = "SQLite";
    const INSERT_IGNORE_DUPLICATE_ID: &'static str = " ON CONFLICT (id) DO NOTHING";
    const INSERT_IGNORE_DUPLICATE_JOB: &'static str = " ON CONFLICT (job) DO NOTHING";

    const PLACEHOLDER: Placeholder = Placeholder::Question;
    const DATABASE: apikey_sql::Database = apikey_sql::Database::Sqlite;

    runners!(Sqlite);

    async fn migrate(mut conn: Conn<Self>) -> apikey_core::Result<()> {
        // On the pooled connection itself (an in-memory database lives and dies with it).
        let outcome = conn
            .spawn_blocking(|c: &mut SqliteConnection| {
                Ok(c.immediate_transaction(|c| {
                    c.run_pending_migrations(MIGRATIONS)
                        .map(drop)
                        .map_err(MigrationError::from)
                }))
            })
            .await;
        match outcome {
            Ok(applied) => applied.map_err(|e| e.into_core::<Self>()),
            Err(e) => Err(crate::error::classify(Self::DB_NAME, "apply migrations", e)),
        }
    }

    fn text<'a>(row: &impl NamedRow<'a, Self>, col: &str) -> deserialize::Result<Option<String>> {
        NamedRow::get::<Nullable<Text>, _>(row, col)
    }

    fn int<'a>(row: &impl NamedRow<'a, Self>, col: &str) -> deserialize::Result<Option<i64>> {
        NamedRow::get::<Nullable<BigInt>, _>(row, col)
    }

    fn time<'a>(
        row: &impl NamedRow<'a, Self>,
        col: &str,
    ) -> deserialize::Result<Option<DateTime<Utc>>> {
        Self::int(row, col)?
            .map(|ms| {
                DateTime::from_timestamp_millis(ms)
                    .ok_or_else(|| decode_error(col, "milliseconds out of range"))
            })
            .transpose()
    }

    fn uuid<'a>(row: &impl NamedRow<'a, Self>, col: &str) -> deserialize::Result<Option<Uuid>> {
        parse_uuid(col, Self::text(row, col)?)
    }

    fn json<'a>(
        row: &impl NamedRow<'a, Self>,
        col: &str,
    ) -> deserialize::Result<Option<serde_json::Value>> {
        parse_json(col, Self::text(row, col)?)
    }
}

/// The statement with UUIDs and JSON as text and instants as integer milliseconds.
fn boxed(sql: Sql) -> Boxed<Sqlite> {
    let (text, values) = sql.into_parts();
    values
        .into_iter()
        .fold(diesel::sql_query(text).into_boxed(), |q, v| match v {
            Value::Text(s) => q.bind::<Nullable<Text>, _>(s),
            Value::Int(i) => q.bind::<Nullable<BigInt>, _>(i),
            Value::Time(t) => q.bind::<Nullable<BigInt>, _>(t.map(|t| t.timestamp_millis())),
            Value::Uuid(u) => q.bind::<Nullable<Text>, _>(u.map(|u| u.hyphenated().to_string())),
            Value::Json(j) => q.bind::<Nullable<Text>, _>(j.as_ref().map(ToString::to_string)),
            Value::Bytes(b) => q.bind::<Nullable<Binary>, _>(b),
        })
}
