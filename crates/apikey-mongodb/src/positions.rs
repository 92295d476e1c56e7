//! Audit positions: one counter document, `{_id: "audit_position", seq}` in `<prefix>counters`,
//! incremented with `find_one_and_update` (`$inc`, upsert, return-after) for every event stored.
//!
//! A position is taken when an event is *settled* into the audit collection (key changes, see
//! [`journal`](crate::journal)) or appended (system events), immediately before the insert that
//! carries it; the unique index on `position` backs the counter. Two consequences readers see:
//!
//! - **Holes.** When the insert answers duplicate key (the event was already settled by a
//!   concurrent repair or a retried append), or the process stops between the increment and the
//!   insert, the value taken is burned and never used. Settling and appending look for the event
//!   first, so this only happens under a race or a crash. The core
//!   [`AuditReader`](apikey_core::AuditReader) waits at a hole for a gap timeout, then skips it.
//! - **Commit order is not position order.** Two settlers may take positions 5 and 6 and commit
//!   6 first; a reader that saw 6 waits at the hole 5 as above, and 5 appears before the timeout.
//!
//! Counters are never decremented or reset, so a position is never reused, even after a purge.

use apikey_core::{Error, Result};
use bson::{Document, doc};
use mongodb::options::ReturnDocument;

use crate::error;
use crate::store::MongoStore;

/// The `_id` of the audit position counter.
pub(crate) const AUDIT_POSITION: &str = "audit_position";

fn seq_of(counter: Option<Document>) -> Result<u64> {
    let Some(counter) = counter else {
        return Ok(0);
    };
    let seq = match counter.get("seq") {
        Some(bson::Bson::Int64(n)) => *n,
        Some(bson::Bson::Int32(n)) => i64::from(*n),
        _ => {
            return Err(Error::backend(
                "read audit position counter: no integer seq",
                "malformed counter document",
            ));
        }
    };
    u64::try_from(seq).map_err(|e| Error::backend("read audit position counter", e))
}

impl MongoStore {
    /// Takes the next audit position (1 for the first event of a database).
    pub(crate) async fn next_position(&self) -> Result<u64> {
        let counter = self
            .counters
            .find_one_and_update(
                doc! { "_id": AUDIT_POSITION },
                doc! { "$inc": { "seq": 1_i64 } },
            )
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await
            .map_err(|e| error::driver("take audit position", e))?;
        match seq_of(counter)? {
            0 => Err(Error::backend(
                "take audit position: the counter did not move",
                "no counter document returned",
            )),
            n => Ok(n),
        }
    }

    /// Takes `n` consecutive positions at once (one increment); returns the first. For a batch
    /// of events settled together (see [`settle_batch`](crate::settle_batch)).
    pub(crate) async fn reserve_positions(&self, n: u64) -> Result<u64> {
        let by = i64::try_from(n).map_err(|e| Error::invalid("batch", e))?;
        let counter = self
            .counters
            .find_one_and_update(
                doc! { "_id": AUDIT_POSITION },
                doc! { "$inc": { "seq": by } },
            )
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await
            .map_err(|e| error::driver("take audit positions", e))?;
        let last = seq_of(counter)?;
        match last.checked_sub(n) {
            Some(before) if n > 0 => Ok(before + 1),
            _ => Err(Error::backend(
                "take audit positions: the counter did not move",
                "counter below the batch size",
            )),
        }
    }

    /// The highest position taken so far (0 before the first event). A taken position may be a
    /// hole (see the module docs), so this can be above every stored event's position.
    pub(crate) async fn current_position(&self) -> Result<u64> {
        let counter = self
            .counters
            .find_one(doc! { "_id": AUDIT_POSITION })
            .await
            .map_err(|e| error::driver("read audit position counter", e))?;
        seq_of(counter)
    }
}
