//! MySQL and MariaDB: `?` placeholders, UUIDs as `CHAR(36)` ASCII, instants as `DATETIME(3)` in
//! UTC (bound as DATETIME, not TIMESTAMP, so years past 2038 work), JSON as `LONGTEXT`, and every compared text column `VARBINARY` — byte comparison, so case
//! and trailing spaces count (`utf8mb4_bin` is a PAD SPACE collation: `'x' = 'x '` would hold).
//! DDL is not transactional here, so migrations hold `GET_LOCK` and are written to be re-runnable.

use apikey_core::Result;
use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::mysql::{MySqlArguments, MySqlRow};
use sqlx::query::Query;
use sqlx::{Executor, MySql, MySqlConnection, Row};
use uuid::Uuid;

use super::{Dialect, decode_error, parse_json, parse_uuid, private::Backend};
use apikey_sql::migrations::Migration as SharedMigration;
use apikey_sql::{Placeholder, Sql, Value};

const NAME: &str = "MySQL";

impl Dialect for MySql {}

impl Backend for MySql {
    const DB_NAME: &'static str = NAME;
    const MIGRATIONS: &'static [SharedMigration] = apikey_sql::migrations::MYSQL;
    const MIGRATIONS_TABLE: &'static str = "CREATE TABLE IF NOT EXISTS apikey_schema_migrations (
        version BIGINT NOT NULL PRIMARY KEY,
        name VARBINARY(255) NOT NULL,
        checksum VARBINARY(64) NOT NULL,
        applied_at DATETIME(3) NOT NULL
    ) ENGINE=InnoDB";
    const MIGRATION_LOCK: Option<&'static str> =
        Some("SELECT GET_LOCK('apikey_schema_migrations', 60) AS locked");
    const MIGRATION_LOCK_CHECKED: bool = true;
    const MIGRATION_UNLOCK: Option<&'static str> =
        Some("DO RELEASE_LOCK('apikey_schema_migrations')");
    const BEGIN_WRITE: &'static str = "BEGIN";
    const INSERT_IGNORE_DUPLICATE_ID: &'static str = " ON DUPLICATE KEY UPDATE id = id";
    // Not `INSERT IGNORE`, which would also turn data errors into warnings. The no-op update
    // takes the row's exclusive lock, so concurrent claims queue on it instead of deadlocking
    // on shared locks they all try to upgrade.
    const INSERT_IGNORE_DUPLICATE_JOB: &'static str = " ON DUPLICATE KEY UPDATE job = job";

    const PLACEHOLDER: Placeholder = Placeholder::Question;
    const DATABASE: apikey_sql::Database = apikey_sql::Database::MySql;

    async fn execute(conn: &mut MySqlConnection, sql: Sql) -> Result<u64, sqlx::Error> {
        Ok(query(&sql).execute(conn).await?.rows_affected())
    }

    async fn fetch_all(conn: &mut MySqlConnection, sql: Sql) -> Result<Vec<MySqlRow>, sqlx::Error> {
        query(&sql).fetch_all(conn).await
    }

    async fn execute_script(
        conn: &mut MySqlConnection,
        script: &'static str,
    ) -> Result<(), sqlx::Error> {
        conn.execute(sqlx::raw_sql(script)).await.map(drop)
    }

    fn text(row: &MySqlRow, col: &str) -> Result<Option<String>> {
        // Binary columns (VARBINARY, `_bin` collations) only decode as bytes in sqlx.
        let bytes: Option<Vec<u8>> = row.try_get(col).map_err(|e| decode_error(NAME, col, e))?;
        bytes
            .map(|b| String::from_utf8(b).map_err(|e| decode_error(NAME, col, e)))
            .transpose()
    }

    fn int(row: &MySqlRow, col: &str) -> Result<Option<i64>> {
        row.try_get(col).map_err(|e| decode_error(NAME, col, e))
    }

    fn time(row: &MySqlRow, col: &str) -> Result<Option<DateTime<Utc>>> {
        let t: Option<NaiveDateTime> = row.try_get(col).map_err(|e| decode_error(NAME, col, e))?;
        Ok(t.map(|t| t.and_utc()))
    }

    fn uuid(row: &MySqlRow, col: &str) -> Result<Option<Uuid>> {
        parse_uuid(NAME, col, Self::text(row, col)?)
    }

    fn json(row: &MySqlRow, col: &str) -> Result<Option<serde_json::Value>> {
        parse_json(NAME, col, Self::text(row, col)?)
    }
}

/// The statement with UUIDs and JSON as text and instants as `DATETIME`.
fn query(sql: &Sql) -> Query<'_, MySql, MySqlArguments> {
    sql.values()
        .iter()
        .fold(sqlx::query(sql.text()), |q, v| match v {
            Value::Text(s) => q.bind(s.as_deref()),
            Value::Int(i) => q.bind(*i),
            // As DATETIME: sqlx sends `DateTime<Utc>` as TIMESTAMP, which ends in 2038.
            Value::Time(t) => q.bind(t.map(|t| t.naive_utc())),
            Value::Uuid(u) => q.bind(u.map(|u| u.hyphenated().to_string())),
            Value::Json(j) => q.bind(j.as_ref().map(ToString::to_string)),
            Value::Bytes(b) => q.bind(b.as_deref()),
        })
}
