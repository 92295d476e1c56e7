//! The index tables of a key's tags, aliases and scopes (`apikey_key_tags`, …): one row per
//! label, rewritten with the record, so a filter on a label is an indexed `EXISTS`. The
//! statements come from [`apikey_sql::labels`].

use apikey_core::{KeyId, KeyRecord, Result};

use crate::dialect::Dialect;
use crate::error::ctx;

/// Deletes the label rows of key `id`, if any.
pub(crate) async fn clear<D: Dialect>(conn: &mut D::Connection, id: KeyId) -> Result<()> {
    for sql in apikey_sql::labels::clear(D::PLACEHOLDER, id) {
        D::execute(conn, sql)
            .await
            .map_err(ctx(D::DB_NAME, "delete key labels"))?;
    }
    Ok(())
}

/// Inserts the label rows of `r` (duplicates collapsed).
pub(crate) async fn write<D: Dialect>(conn: &mut D::Connection, r: &KeyRecord) -> Result<()> {
    for sql in apikey_sql::labels::write(D::PLACEHOLDER, r) {
        D::execute(conn, sql)
            .await
            .map_err(ctx(D::DB_NAME, "insert key labels"))?;
    }
    Ok(())
}
