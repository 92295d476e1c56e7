//! Reader cursors in `<prefix>audit_cursors`: one document per reader, `{_id: <reader name>,
//! position}`. The name is only ever an `_id` value compared with `$eq`, never a field name, so
//! any name [`validate_reader_name`] accepts is stored as is.

use apikey_core::audit::{ahead_of_log, validate_reader_name};
use apikey_core::{Error, ReaderCursor, Result};
use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;

use crate::doc::i64_of;
use crate::error;
use crate::store::MongoStore;

fn cursor_of(d: &Document) -> Result<ReaderCursor> {
    let bad = |what: &'static str| {
        Error::backend(
            format!("read audit cursors: {what}"),
            "malformed cursor document",
        )
    };
    let reader = d.get_str("_id").map_err(|_| bad("name is not a string"))?;
    let position = match d.get("position") {
        Some(Bson::Int64(n)) => *n,
        Some(Bson::Int32(n)) => i64::from(*n),
        _ => return Err(bad("position is not an integer")),
    };
    Ok(ReaderCursor {
        reader: reader.to_owned(),
        position: u64::try_from(position).map_err(|_| bad("negative position"))?,
    })
}

impl MongoStore {
    pub(crate) async fn list_cursors(&self) -> Result<Vec<ReaderCursor>> {
        let docs: Vec<Document> = self
            .cursors
            .find(doc! {})
            .await
            .map_err(|e| error::driver("read audit cursors", e))?
            .try_collect()
            .await
            .map_err(|e| error::driver("read audit cursors", e))?;
        docs.iter().map(cursor_of).collect()
    }

    /// The slowest registered reader's position, if any reader is registered.
    pub(crate) async fn slowest_cursor(&self) -> Result<Option<u64>> {
        let slowest = self
            .cursors
            .find_one(doc! {})
            .sort(doc! { "position": 1 })
            .await
            .map_err(|e| error::driver("read audit cursors", e))?;
        slowest
            .as_ref()
            .map(cursor_of)
            .transpose()
            .map(|c| c.map(|c| c.position))
    }

    pub(crate) async fn store_cursor(&self, reader: &str, position: u64) -> Result<()> {
        validate_reader_name(reader)?;
        let last = self.current_position().await?;
        if position > last {
            return Err(ahead_of_log(position, last));
        }
        self.cursors
            .update_one(
                // A plain string value is an equality, never an operator, and an upsert reads
                // the new document's `_id` from it.
                doc! { "_id": reader },
                doc! { "$set": { "position": i64_of(position) } },
            )
            .upsert(true)
            .await
            .map_err(|e| error::driver("save audit cursor", e))?;
        Ok(())
    }

    pub(crate) async fn drop_cursor(&self, reader: &str) -> Result<bool> {
        let result = self
            .cursors
            .delete_one(doc! { "_id": { "$eq": reader } })
            .await
            .map_err(|e| error::driver("remove audit cursor", e))?;
        Ok(result.deleted_count == 1)
    }
}
