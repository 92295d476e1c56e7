//! PostgreSQL through `diesel_async::AsyncPgConnection` (tokio-postgres: no libpq): `$n`
//! placeholders, native UUID, TIMESTAMPTZ and JSONB, migrations under a session advisory lock.

use chrono::{DateTime, Utc};
use diesel::deserialize;
use diesel::pg::Pg;
use diesel::row::NamedRow;
use diesel::sql_types::{BigInt, Binary, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use uuid::Uuid;

use super::{Boxed, Conn, Dialect, private::Backend, runners};
use crate::migrate::{Lock, run_wrapped};
use crate::source::SharedMigrations;
use apikey_sql::{Placeholder, Sql, Value};

/// The shared migrations, versions `apikey0001`, `apikey0002`, ….
pub(crate) const MIGRATIONS: SharedMigrations = SharedMigrations(apikey_sql::migrations::POSTGRES);

impl Dialect for Pg {}

impl Backend for Pg {
    type Connection = AsyncPgConnection;
    type Manager = AsyncDieselConnectionManager<AsyncPgConnection>;
    const DB_NAME: &'static str = "PostgreSQL";
    const INSERT_IGNORE_DUPLICATE_ID: &'static str = " ON CONFLICT (id) DO NOTHING";
    const INSERT_IGNORE_DUPLICATE_JOB: &'static str = " ON CONFLICT (job) DO NOTHING";

    const PLACEHOLDER: Placeholder = Placeholder::Numbered;
    const DATABASE: apikey_sql::Database = apikey_sql::Database::Postgres;

    runners!(Pg);

    async fn migrate(conn: Conn<Self>) -> apikey_core::Result<()> {
        // Any fixed 64-bit number; this one spells "apikey" in ASCII. A session lock: diesel's
        // harness opens its own transaction per migration.
        let lock = Lock {
            take: "SELECT pg_advisory_lock(107070296491385)",
            checked: false,
            release: "SELECT pg_advisory_unlock(107070296491385)",
        };
        run_wrapped::<Self>(conn, &lock, MIGRATIONS).await
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
        NamedRow::get::<Nullable<Timestamptz>, _>(row, col)
    }

    fn uuid<'a>(row: &impl NamedRow<'a, Self>, col: &str) -> deserialize::Result<Option<Uuid>> {
        NamedRow::get::<Nullable<diesel::sql_types::Uuid>, _>(row, col)
    }

    fn json<'a>(
        row: &impl NamedRow<'a, Self>,
        col: &str,
    ) -> deserialize::Result<Option<serde_json::Value>> {
        NamedRow::get::<Nullable<Jsonb>, _>(row, col)
    }
}

/// The statement with every value bound in its native PostgreSQL type.
fn boxed(sql: Sql) -> Boxed<Pg> {
    let (text, values) = sql.into_parts();
    values
        .into_iter()
        .fold(diesel::sql_query(text).into_boxed(), |q, v| match v {
            Value::Text(s) => q.bind::<Nullable<Text>, _>(s),
            Value::Int(i) => q.bind::<Nullable<BigInt>, _>(i),
            Value::Time(t) => q.bind::<Nullable<Timestamptz>, _>(t),
            Value::Uuid(u) => q.bind::<Nullable<diesel::sql_types::Uuid>, _>(u),
            Value::Json(j) => q.bind::<Nullable<Jsonb>, _>(j),
            Value::Bytes(b) => q.bind::<Nullable<Binary>, _>(b),
        })
}
