//! SQLite: `?` placeholders, UUIDs and JSON as text, instants as integer milliseconds since the
//! epoch (exact, and ordered as numbers), write transactions opened with `BEGIN IMMEDIATE`.

use apikey_core::Result;
use chrono::{DateTime, Utc};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Executor, Row, Sqlite, SqliteConnection};
use uuid::Uuid;

use super::{Dialect, decode_error, parse_json, parse_uuid, private::Backend};
use apikey_sql::migrations::Migration as SharedMigration;
use apikey_sql::{Placeholder, Sql, Value};

const NAME: &str = "SQLite";

impl Dialect for Sqlite {}

impl Backend for Sqlite {
    const DB_NAME: &'static str = NAME;
    const MIGRATIONS: &'static [SharedMigration] = apikey_sql::migrations::SQLITE;
    const MIGRATIONS_TABLE: &'static str = "CREATE TABLE IF NOT EXISTS apikey_schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        checksum TEXT NOT NULL,
        applied_at INTEGER NOT NULL
    )";
    // `BEGIN IMMEDIATE` already holds the database's single write lock.
    const MIGRATION_LOCK: Option<&'static str> = None;
    const MIGRATION_LOCK_CHECKED: bool = false;
    const MIGRATION_UNLOCK: Option<&'static str> = None;
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const INSERT_IGNORE_DUPLICATE_ID: &'static str = " ON CONFLICT (id) DO NOTHING";
    const INSERT_IGNORE_DUPLICATE_JOB: &'static str = " ON CONFLICT (job) DO NOTHING";

    const PLACEHOLDER: Placeholder = Placeholder::Question;
    const DATABASE: apikey_sql::Database = apikey_sql::Database::Sqlite;

    async fn execute(conn: &mut SqliteConnection, sql: Sql) -> Result<u64, sqlx::Error> {
        Ok(query(&sql).execute(conn).await?.rows_affected())
    }

    async fn fetch_all(
        conn: &mut SqliteConnection,
        sql: Sql,
    ) -> Result<Vec<SqliteRow>, sqlx::Error> {
        query(&sql).fetch_all(conn).await
    }

    async fn execute_script(
        conn: &mut SqliteConnection,
        script: &'static str,
    ) -> Result<(), sqlx::Error> {
        conn.execute(sqlx::raw_sql(script)).await.map(drop)
    }

    fn text(row: &SqliteRow, col: &str) -> Result<Option<String>> {
        row.try_get(col).map_err(|e| decode_error(NAME, col, e))
    }

    fn int(row: &SqliteRow, col: &str) -> Result<Option<i64>> {
        row.try_get(col).map_err(|e| decode_error(NAME, col, e))
    }

    fn time(row: &SqliteRow, col: &str) -> Result<Option<DateTime<Utc>>> {
        Self::int(row, col)?
            .map(|ms| {
                DateTime::from_timestamp_millis(ms)
                    .ok_or_else(|| decode_error(NAME, col, "milliseconds out of range"))
            })
            .transpose()
    }

    fn uuid(row: &SqliteRow, col: &str) -> Result<Option<Uuid>> {
        parse_uuid(NAME, col, Self::text(row, col)?)
    }

    fn json(row: &SqliteRow, col: &str) -> Result<Option<serde_json::Value>> {
        parse_json(NAME, col, Self::text(row, col)?)
    }
}

/// The statement with instants as milliseconds and UUIDs and JSON as text.
fn query(sql: &Sql) -> Query<'_, Sqlite, SqliteArguments<'_>> {
    sql.values()
        .iter()
        .fold(sqlx::query(sql.text()), |q, v| match v {
            Value::Text(s) => q.bind(s.as_deref()),
            Value::Int(i) => q.bind(*i),
            Value::Time(t) => q.bind(t.map(|t| t.timestamp_millis())),
            Value::Uuid(u) => q.bind(u.map(|u| u.hyphenated().to_string())),
            Value::Json(j) => q.bind(j.as_ref().map(ToString::to_string)),
            Value::Bytes(b) => q.bind(b.as_deref()),
        })
}
