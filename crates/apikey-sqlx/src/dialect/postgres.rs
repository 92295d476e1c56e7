//! PostgreSQL: `$n` placeholders, native UUID, TIMESTAMPTZ and JSONB, transactional DDL under
//! `pg_advisory_xact_lock`.

use apikey_core::Result;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{Executor, PgConnection, Postgres, Row};
use uuid::Uuid;

use super::{Dialect, decode_error, private::Backend};
use apikey_sql::migrations::Migration as SharedMigration;
use apikey_sql::{Placeholder, Sql, Value};

const NAME: &str = "PostgreSQL";

impl Dialect for Postgres {}

impl Backend for Postgres {
    const DB_NAME: &'static str = NAME;
    const MIGRATIONS: &'static [SharedMigration] = apikey_sql::migrations::POSTGRES;
    const MIGRATIONS_TABLE: &'static str = "CREATE TABLE IF NOT EXISTS apikey_schema_migrations (
        version BIGINT PRIMARY KEY,
        name TEXT NOT NULL,
        checksum TEXT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL
    )";
    // Any fixed 64-bit number; this one spells "apikey" in ASCII.
    const MIGRATION_LOCK: Option<&'static str> =
        Some("SELECT pg_advisory_xact_lock(107070296491385)");
    const MIGRATION_LOCK_CHECKED: bool = false;
    const MIGRATION_UNLOCK: Option<&'static str> = None;
    const BEGIN_WRITE: &'static str = "BEGIN";
    const INSERT_IGNORE_DUPLICATE_ID: &'static str = " ON CONFLICT (id) DO NOTHING";
    const INSERT_IGNORE_DUPLICATE_JOB: &'static str = " ON CONFLICT (job) DO NOTHING";

    const PLACEHOLDER: Placeholder = Placeholder::Numbered;
    const DATABASE: apikey_sql::Database = apikey_sql::Database::Postgres;

    async fn execute(conn: &mut PgConnection, sql: Sql) -> Result<u64, sqlx::Error> {
        Ok(query(&sql).execute(conn).await?.rows_affected())
    }

    async fn fetch_all(conn: &mut PgConnection, sql: Sql) -> Result<Vec<PgRow>, sqlx::Error> {
        query(&sql).fetch_all(conn).await
    }

    async fn execute_script(
        conn: &mut PgConnection,
        script: &'static str,
    ) -> Result<(), sqlx::Error> {
        conn.execute(sqlx::raw_sql(script)).await.map(drop)
    }

    fn text(row: &PgRow, col: &str) -> Result<Option<String>> {
        row.try_get(col).map_err(|e| decode_error(NAME, col, e))
    }

    fn int(row: &PgRow, col: &str) -> Result<Option<i64>> {
        row.try_get(col).map_err(|e| decode_error(NAME, col, e))
    }

    fn time(row: &PgRow, col: &str) -> Result<Option<DateTime<Utc>>> {
        row.try_get(col).map_err(|e| decode_error(NAME, col, e))
    }

    fn uuid(row: &PgRow, col: &str) -> Result<Option<Uuid>> {
        row.try_get(col).map_err(|e| decode_error(NAME, col, e))
    }

    fn json(row: &PgRow, col: &str) -> Result<Option<serde_json::Value>> {
        row.try_get(col).map_err(|e| decode_error(NAME, col, e))
    }
}

/// The statement with every value bound in its native PostgreSQL type.
fn query(sql: &Sql) -> Query<'_, Postgres, PgArguments> {
    sql.values()
        .iter()
        .fold(sqlx::query(sql.text()), |q, v| match v {
            Value::Text(s) => q.bind(s.as_deref()),
            Value::Int(i) => q.bind(*i),
            Value::Time(t) => q.bind(*t),
            Value::Uuid(u) => q.bind(*u),
            Value::Json(j) => q.bind(j),
            Value::Bytes(b) => q.bind(b.as_deref()),
        })
}
