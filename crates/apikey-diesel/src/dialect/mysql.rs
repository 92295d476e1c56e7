//! MySQL and MariaDB through `diesel_async::AsyncMysqlConnection` (mysql_async: no
//! libmysqlclient): `?` placeholders, UUIDs as `CHAR(36)` ASCII, instants as `DATETIME(3)` in UTC
//! (bound as DATETIME, not TIMESTAMP, so years past 2038 work), JSON as `LONGTEXT`, and every
//! compared text column `VARBINARY` — byte comparison, so case and trailing spaces count
//! (`utf8mb4_bin` is a PAD SPACE collation: `'x' = 'x '` would hold). DDL is not transactional
//! here, so migrations hold `GET_LOCK` and the files are written to be re-runnable.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::deserialize;
use diesel::mysql::Mysql;
use diesel::row::NamedRow;
use diesel::sql_types::{BigInt, Binary, Datetime, Nullable, Text};
use diesel_async::AsyncMysqlConnection;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use uuid::Uuid;

use super::{
    Boxed, Conn, Dialect, decode_error, parse_json, parse_uuid, private::Backend, runners,
};
use crate::migrate::{Lock, run_wrapped};
use crate::source::SharedMigrations;
use apikey_sql::{Placeholder, Sql, Value};

/// The shared migrations, versions `apikey0001`, `apikey0002`, ….
pub(crate) const MIGRATIONS: SharedMigrations = SharedMigrations(apikey_sql::migrations::MYSQL);

impl Dialect for Mysql {}

impl Backend for Mysql {
    type Connection = AsyncMysqlConnection;
    type Manager = AsyncDieselConnectionManager<AsyncMysqlConnection>;
    const DB_NAME: &'static str = "MySQL";
    const INSERT_IGNORE_DUPLICATE_ID: &'static str = " ON DUPLICATE KEY UPDATE id = id";
    // Not `INSERT IGNORE`, which would also turn data errors into warnings. The no-op update
    // takes the row's exclusive lock, so concurrent claims queue on it instead of deadlocking
    // on shared locks they all try to upgrade.
    const INSERT_IGNORE_DUPLICATE_JOB: &'static str = " ON DUPLICATE KEY UPDATE job = job";

    const PLACEHOLDER: Placeholder = Placeholder::Question;
    const DATABASE: apikey_sql::Database = apikey_sql::Database::MySql;

    runners!(Mysql);

    async fn migrate(conn: Conn<Self>) -> apikey_core::Result<()> {
        let lock = Lock {
            take: "SELECT GET_LOCK('apikey_schema_migrations', 60) AS locked",
            checked: true,
            release: "DO RELEASE_LOCK('apikey_schema_migrations')",
        };
        run_wrapped::<Self>(conn, &lock, MIGRATIONS).await
    }

    fn text<'a>(row: &impl NamedRow<'a, Self>, col: &str) -> deserialize::Result<Option<String>> {
        // VARBINARY and `_bin` columns arrive as bytes.
        NamedRow::get::<Nullable<Binary>, Option<Vec<u8>>>(row, col)?
            .map(|b| String::from_utf8(b).map_err(|e| decode_error(col, e)))
            .transpose()
    }

    fn int<'a>(row: &impl NamedRow<'a, Self>, col: &str) -> deserialize::Result<Option<i64>> {
        NamedRow::get::<Nullable<BigInt>, _>(row, col)
    }

    fn time<'a>(
        row: &impl NamedRow<'a, Self>,
        col: &str,
    ) -> deserialize::Result<Option<DateTime<Utc>>> {
        let t = NamedRow::get::<Nullable<Datetime>, Option<NaiveDateTime>>(row, col)?;
        Ok(t.map(|t| t.and_utc()))
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

/// The statement with UUIDs and JSON as text and instants as `DATETIME`.
fn boxed(sql: Sql) -> Boxed<Mysql> {
    let (text, values) = sql.into_parts();
    values
        .into_iter()
        .fold(diesel::sql_query(text).into_boxed(), |q, v| match v {
            Value::Text(s) => q.bind::<Nullable<Text>, _>(s),
            Value::Int(i) => q.bind::<Nullable<BigInt>, _>(i),
            // As DATETIME: a TIMESTAMP ends in 2038.
            Value::Time(t) => q.bind::<Nullable<Datetime>, _>(t.map(|t| t.naive_utc())),
            Value::Uuid(u) => q.bind::<Nullable<Text>, _>(u.map(|u| u.hyphenated().to_string())),
            Value::Json(j) => q.bind::<Nullable<Text>, _>(j.as_ref().map(ToString::to_string)),
            Value::Bytes(b) => q.bind::<Nullable<Binary>, _>(b),
        })
}
