//! What the three SQL readers share: which columns to select, and reading a column whatever SQL
//! type the user's ORM gave it.

use super::Rows;
use crate::error::NestError;
use crate::row::{Columns, NestRow};
use crate::shape::{BASE_COLUMNS, FULL_EXTRA_COLUMNS, Shape, detect};

/// The known columns `present` has, in a fixed order.
pub(crate) fn known_columns(present: &[(String, bool)]) -> Vec<&'static str> {
    BASE_COLUMNS
        .iter()
        .chain(FULL_EXTRA_COLUMNS.iter())
        .filter(|c| present.iter().any(|(n, _)| n == *c))
        .copied()
        .collect()
}

/// The table's shape and the known columns to select, from its column list (`(name, is a native
/// list)`); `source` (redacted) names the database in errors.
pub(crate) fn plan(
    columns: &[(String, bool)],
    source: &str,
) -> Result<(Shape, Vec<&'static str>), NestError> {
    if columns.is_empty() {
        return Err(NestError::NoTable {
            url: source.to_owned(),
        });
    }
    let shape = detect(columns).map_err(|missing| NestError::UnknownShape { missing })?;
    Ok((shape, known_columns(columns)))
}

/// `SELECT <columns> FROM api_keys ORDER BY createdAt, id`, each identifier quoted with `quote`
/// and each column spelled by `column` (which may cast it).
pub(crate) fn select_statement(
    present: &[&str],
    quote: char,
    column: impl Fn(&str) -> String,
) -> String {
    let select = present
        .iter()
        .map(|c| column(c))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {select} FROM {quote}api_keys{quote} ORDER BY {quote}createdAt{quote}, {quote}id{quote}"
    )
}

/// Every row read into a [`NestRow`] (or why it cannot be).
pub(crate) fn read_rows<R>(rows: &[R], present: &[&'static str]) -> Rows
where
    for<'a> SqlCols<'a, R>: Columns,
{
    rows.iter()
        .map(|row| NestRow::read(&SqlCols { row, present }))
        .collect()
}

/// A row of one driver, and the columns its table has.
pub(crate) struct SqlCols<'a, R> {
    pub(crate) row: &'a R,
    pub(crate) present: &'a [&'static str],
}

/// Implements [`Columns`](crate::row::Columns) for one driver's row type. Each getter tries the
/// SQL types the library's ORMs (or a user's mapping) use, in an order where a wrong guess fails
/// on the type check, never on a value: so numbers come before timestamps (Prisma keeps
/// milliseconds in SQLite integers, which a timestamp decoder would read as seconds).
macro_rules! sql_columns {
    ($row:ty, $native_list:expr) => {
        impl crate::row::Columns for crate::read::sql::SqlCols<'_, $row> {
            fn text(&self, col: &str) -> Result<Option<String>, String> {
                if !self.present.contains(&col) {
                    return Ok(None);
                }
                if let Ok(v) = self.row.try_get::<Option<String>, _>(col) {
                    return Ok(v);
                }
                if let Ok(v) = self.row.try_get::<Option<i64>, _>(col) {
                    return Ok(v.map(|n| n.to_string()));
                }
                Err(self.unsupported(col))
            }

            fn list(&self, col: &str) -> Result<Option<Vec<String>>, String> {
                if !self.present.contains(&col) {
                    return Ok(None);
                }
                let native: fn(&$row, &str) -> Option<Option<Vec<String>>> = $native_list;
                if let Some(v) = native(self.row, col) {
                    return Ok(v);
                }
                if let Ok(v) = self.row.try_get::<Option<String>, _>(col) {
                    return v.map(|s| crate::row::list_from_text(&s)).transpose();
                }
                if let Ok(v) = self.row.try_get::<Option<serde_json::Value>, _>(col) {
                    return v
                        .map(|j| {
                            serde_json::from_value(j)
                                .map_err(|_| "not a JSON array of strings".to_owned())
                        })
                        .transpose();
                }
                Err(self.unsupported(col))
            }

            fn time(&self, col: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
                if !self.present.contains(&col) {
                    return Ok(None);
                }
                if let Ok(v) = self.row.try_get::<Option<i64>, _>(col) {
                    return v.map(crate::row::time_from_number).transpose();
                }
                if let Ok(v) = self
                    .row
                    .try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(col)
                {
                    return Ok(v);
                }
                if let Ok(v) = self.row.try_get::<Option<chrono::NaiveDateTime>, _>(col) {
                    return Ok(v.map(|t| t.and_utc()));
                }
                if let Ok(v) = self.row.try_get::<Option<String>, _>(col) {
                    return v.map(|s| crate::row::time_from_text(&s)).transpose();
                }
                Err(self.unsupported(col))
            }

            fn int(&self, col: &str) -> Result<Option<i64>, String> {
                if !self.present.contains(&col) {
                    return Ok(None);
                }
                if let Ok(v) = self.row.try_get::<Option<i64>, _>(col) {
                    return Ok(v);
                }
                if let Ok(v) = self.row.try_get::<Option<i32>, _>(col) {
                    return Ok(v.map(i64::from));
                }
                if let Ok(v) = self.row.try_get::<Option<i16>, _>(col) {
                    return Ok(v.map(i64::from));
                }
                Err(self.unsupported(col))
            }

            fn json(&self, col: &str) -> Result<Option<serde_json::Value>, String> {
                if !self.present.contains(&col) {
                    return Ok(None);
                }
                if let Ok(v) = self.row.try_get::<Option<serde_json::Value>, _>(col) {
                    return Ok(v);
                }
                if let Ok(v) = self.row.try_get::<Option<String>, _>(col) {
                    return v
                        .map(|s| serde_json::from_str(&s).map_err(|_| "not JSON".to_owned()))
                        .transpose();
                }
                Err(self.unsupported(col))
            }
        }

        impl crate::read::sql::SqlCols<'_, $row> {
            /// Names the SQL type, never the value.
            fn unsupported(&self, col: &str) -> String {
                use sqlx::{Column as _, TypeInfo as _};
                let ty = self
                    .row
                    .columns()
                    .iter()
                    .find(|c| c.name() == col)
                    .map_or("?", |c| c.type_info().name());
                format!("unsupported column type {ty}")
            }
        }
    };
}

pub(crate) use sql_columns;
