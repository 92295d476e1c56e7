//! diesel's rows as [`apikey_sql::Row`]s: the shared codec reads records and events through
//! [`DieselRow`], every failure a deserialization error naming the column.

use std::marker::PhantomData;

use apikey_sql::Decode;
use apikey_sql::codec::DecodeSource;
use chrono::{DateTime, Utc};
use diesel::deserialize;
use diesel::deserialize::QueryableByName;
use diesel::row::NamedRow;
use uuid::Uuid;

use crate::dialect::{Dialect, decode_error};

/// One named row of dialect `D`, readable by the shared codec.
pub(crate) struct DieselRow<'r, 'a, D: Dialect, R: NamedRow<'a, D>> {
    row: &'r R,
    _db: PhantomData<&'a D>,
}

impl<'r, 'a, D: Dialect, R: NamedRow<'a, D>> DieselRow<'r, 'a, D, R> {
    pub(crate) fn new(row: &'r R) -> Self {
        Self {
            row,
            _db: PhantomData,
        }
    }
}

impl<'a, D: Dialect, R: NamedRow<'a, D>> apikey_sql::Row for DieselRow<'_, 'a, D, R> {
    type Error = DecodeSource;

    fn text(&self, col: &str) -> deserialize::Result<Option<String>> {
        D::text(self.row, col)
    }

    fn int(&self, col: &str) -> deserialize::Result<Option<i64>> {
        D::int(self.row, col)
    }

    fn time(&self, col: &str) -> deserialize::Result<Option<DateTime<Utc>>> {
        D::time(self.row, col)
    }

    fn uuid(&self, col: &str) -> deserialize::Result<Option<Uuid>> {
        D::uuid(self.row, col)
    }

    fn json(&self, col: &str) -> deserialize::Result<Option<serde_json::Value>> {
        D::json(self.row, col)
    }

    fn corrupt(&self, col: &str, source: DecodeSource) -> DecodeSource {
        decode_error(col, source)
    }
}

/// Any [`Decode`] value as diesel's `QueryableByName`, so one `load` serves every query of the
/// shared flow.
pub(crate) struct Decoded<T>(pub(crate) T);

impl<D: Dialect, T: Decode> QueryableByName<D> for Decoded<T> {
    fn build<'a>(row: &impl NamedRow<'a, D>) -> deserialize::Result<Self> {
        T::decode(&DieselRow::<D, _>::new(row)).map(Self)
    }
}
