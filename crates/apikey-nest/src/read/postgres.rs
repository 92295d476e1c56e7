//! The library's table on PostgreSQL: Prisma (lists as `TEXT[]`, timestamps `timestamp(3)`) or
//! TypeORM (`uuid` ids, `simple-array` text).

use sqlx::postgres::PgRow;
use sqlx::{Connection as _, PgConnection, Row as _};

use super::{Rows, sql::SqlCols, sql::known_columns, sql::sql_columns};
use crate::error::{NestError, redact};
use crate::row::NestRow;
use crate::shape::{Shape, detect};

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
    if columns.is_empty() {
        return Err(NestError::NoTable { url: source });
    }
    let shape = detect(&columns).map_err(|missing| NestError::UnknownShape { missing })?;
    let present = known_columns(&columns);
    // `id` as text: TypeORM's is a `uuid`, Prisma's a cuid string.
    let select = present
        .iter()
        .map(|c| {
            if *c == "id" {
                "\"id\"::text AS \"id\"".to_owned()
            } else {
                format!("\"{c}\"")
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(&format!(
        "SELECT {select} FROM \"api_keys\" ORDER BY \"createdAt\", \"id\""
    ))
    .fetch_all(&mut conn)
    .await
    .map_err(fail)?;
    let _ = conn.close().await;
    Ok((
        shape,
        rows.iter()
            .map(|row| {
                NestRow::read(&SqlCols {
                    row,
                    present: &present,
                })
            })
            .collect(),
    ))
}
