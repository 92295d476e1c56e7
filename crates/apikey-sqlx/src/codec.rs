//! sqlx's rows as [`apikey_sql::Row`]s: the shared codec reads records and events through
//! [`SqlxRow`], every failure a `Backend` error naming the column.

use apikey_core::{Error, Result};
use apikey_sql::codec::DecodeSource;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::dialect::{Dialect, decode_error};

/// One row of dialect `D`, readable by the shared codec.
pub(crate) struct SqlxRow<'r, D: Dialect> {
    row: &'r D::Row,
}

impl<'r, D: Dialect> SqlxRow<'r, D> {
    pub(crate) fn new(row: &'r D::Row) -> Self {
        Self { row }
    }
}

impl<D: Dialect> apikey_sql::Row for SqlxRow<'_, D> {
    type Error = Error;

    fn text(&self, col: &str) -> Result<Option<String>> {
        D::text(self.row, col)
    }

    fn int(&self, col: &str) -> Result<Option<i64>> {
        D::int(self.row, col)
    }

    fn time(&self, col: &str) -> Result<Option<DateTime<Utc>>> {
        D::time(self.row, col)
    }

    fn uuid(&self, col: &str) -> Result<Option<Uuid>> {
        D::uuid(self.row, col)
    }

    fn json(&self, col: &str) -> Result<Option<serde_json::Value>> {
        D::json(self.row, col)
    }

    fn corrupt(&self, col: &str, source: DecodeSource) -> Error {
        decode_error(D::DB_NAME, col, source)
    }
}
