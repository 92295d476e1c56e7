//! The library's table on PostgreSQL: Prisma (lists as `TEXT[]`, timestamps `timestamp(3)`) or
//! TypeORM (`uuid` ids, `simple-array` text).

use sqlx::postgres::PgRow;
use sqlx::{Connection as _, PgConnection, Row as _};

use super::Rows;
use super::sql::{plan, read_rows, select_statement, sql_columns};
use crate::error::{NestError, redact};
use crate::shape::Shape;

sql_columns!(PgRow, |row, col| row
    .try_get::<Option<Vec<String>>, _>(col)
    .ok());

pub(crate) async fn read(url: &str) -> Result<(Shape, Rows), NestError> {
    let source = redact(url);
    let fail = |e: sqlx::Error| NestError::Read {
        url: source.clone(),
        reason: e.to_string(),
    };
    let mut conn = PgConnection::connect(url)
        .await
        .map_err(|e| NestError::Unreachable {
            url: source.clone(),
            reason: e.to_string(),
        })?;
    let columns: Vec<(String, bool)> = sqlx::query_as(
        "SELECT column_name::text, data_type = 'ARRAY' FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = 'api_keys'",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(fail)?;
    let (shape, present) = plan(&columns, &source)?;
    // `id` as text: TypeORM's is a `uuid`, Prisma's a cuid string.
    let rows = sqlx::query(&select_statement(&present, '"', |c| {
        if c == "id" {
            "\"id\"::text AS \"id\"".to_owned()
        } else {
            format!("\"{c}\"")
        }
    }))
    .fetch_all(&mut conn)
    .await
    .map_err(fail)?;
    let _ = conn.close().await;
    Ok((shape, read_rows(&rows, &present)))
}
