//! [`insert_new`]: one unordered `insert_many` that counts a duplicate `_id` as "already
//! stored", for the collections whose writers retry whole batches (webhook deliveries, the
//! request log).

use apikey_core::Result;
use bson::Document;
use mongodb::Collection;
use mongodb::error::ErrorKind as DriverKind;

use crate::error;

/// Inserts `docs`, skipping those whose `_id` is stored (or repeated in the batch); how many
/// were new. Every document is tried. Any other error is returned, and without a transaction
/// part of the batch may be stored by then: a retry with the same ids stores the rest.
pub(crate) async fn insert_new(
    collection: &Collection<Document>,
    docs: Vec<Document>,
    doing: &'static str,
) -> Result<u64> {
    if docs.is_empty() {
        return Ok(0);
    }
    let total = docs.len() as u64;
    match collection.insert_many(docs).ordered(false).await {
        Ok(r) => Ok(r.inserted_ids.len() as u64),
        Err(e) => match e.kind.as_ref() {
            DriverKind::InsertMany(m)
                if m.write_concern_error.is_none()
                    && m.write_errors.as_ref().is_some_and(|errs| {
                        errs.iter().all(|w| error::DUPLICATE_KEY.contains(&w.code))
                    }) =>
            {
                let dup = m.write_errors.as_ref().map_or(0, Vec::len) as u64;
                Ok(total.saturating_sub(dup))
            }
            _ => Err(error::driver(doing, e)),
        },
    }
}
