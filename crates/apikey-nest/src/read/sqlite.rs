//! The library's table in a SQLite file, opened read-only: Prisma (milliseconds in integers, lists
//! as JSON or comma text) or TypeORM (text timestamps, `simple-array` text).

use std::str::FromStr as _;

use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::{ConnectOptions as _, Connection as _, Row as _};

use super::Rows;
use super::sql::{plan, read_rows, select_statement, sql_columns};
use crate::error::{NestError, redact};
use crate::shape::Shape;

sql_columns!(SqliteRow, |_, _| None);

pub(crate) async fn read(url: &str) -> Result<(Shape, Rows), NestError> {
    let source = redact(url);
    let unreachable = |e: sqlx::Error| NestError::Unreachable {
        url: source.clone(),
        reason: e.to_string(),
    };
    let fail = |e: sqlx::Error| NestError::Read {
        url: source.clone(),
        reason: e.to_string(),
    };
    // Read-only, and never creating a file: a mistyped path must be an error, not an empty source.
    let mut conn = SqliteConnectOptions::from_str(url)
        .map_err(unreachable)?
        .read_only(true)
        .create_if_missing(false)
        .connect()
        .await
        .map_err(unreachable)?;
    let names: Vec<(String,)> = sqlx::query_as("SELECT name FROM pragma_table_info('api_keys')")
        .fetch_all(&mut conn)
        .await
        .map_err(fail)?;
    let columns: Vec<(String, bool)> = names.into_iter().map(|(n,)| (n, false)).collect();
    let (shape, present) = plan(&columns, &source)?;
    let rows = sqlx::query(&select_statement(&present, '"', |c| format!("\"{c}\"")))
        .fetch_all(&mut conn)
        .await
        .map_err(fail)?;
    let _ = conn.close().await;
    Ok((shape, read_rows(&rows, &present)))
}
