//! The library's table on MySQL or MariaDB: Prisma (no native lists: JSON or a comma list) or
//! TypeORM (`simple-array` text).

use sqlx::mysql::MySqlRow;
use sqlx::{Connection as _, MySqlConnection, Row as _};

use super::{Rows, sql::SqlCols, sql::known_columns, sql::sql_columns};
use crate::error::{NestError, redact};
use crate::row::NestRow;
use crate::shape::{Shape, detect};

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
    if names.is_empty() {
        return Err(NestError::NoTable { url: source });
    }
    let columns: Vec<(String, bool)> = names.into_iter().map(|(n,)| (n, false)).collect();
    let shape = detect(&columns).map_err(|missing| NestError::UnknownShape { missing })?;
    let present = known_columns(&columns);
    let select = present
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(&format!(
        "SELECT {select} FROM `api_keys` ORDER BY `createdAt`, `id`"
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
