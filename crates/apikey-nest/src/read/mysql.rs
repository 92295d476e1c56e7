//! The library's table on MySQL or MariaDB: Prisma (no native lists: JSON or a comma list) or
//! TypeORM (`simple-array` text).

use sqlx::mysql::MySqlRow;
use sqlx::{Connection as _, MySqlConnection, Row as _};

use super::Rows;
use super::sql::{plan, read_rows, select_statement, sql_columns};
use crate::error::{NestError, redact};
use crate::shape::Shape;

sql_columns!(MySqlRow, |_, _| None);

pub(crate) async fn read(url: &str) -> Result<(Shape, Rows), NestError> {
    let source = redact(url);
    let fail = |e: sqlx::Error| NestError::Read {
        url: source.clone(),
        reason: e.to_string(),
    };
    let mut conn = MySqlConnection::connect(url)
        .await
        .map_err(|e| NestError::Unreachable {
            url: source.clone(),
            reason: e.to_string(),
        })?;
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'api_keys'",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(fail)?;
    let columns: Vec<(String, bool)> = names.into_iter().map(|(n,)| (n, false)).collect();
    let (shape, present) = plan(&columns, &source)?;
    let rows = sqlx::query(&select_statement(&present, '`', |c| format!("`{c}`")))
        .fetch_all(&mut conn)
        .await
        .map_err(fail)?;
    let _ = conn.close().await;
    Ok((shape, read_rows(&rows, &present)))
}
