//! The [`CheckedInsert`] implementation of [`MongoStore`]: a batch of keys inserted under the
//! tenant's key-count limits, all or none, without multi-document transactions.
//!
//! Under the tenant's insert lock (see [`insert_lock`](crate::insert_lock)), which serializes the
//! checked inserts of one tenant:
//!
//! 1. the counted keys (the tenant's, and each owner's the limits need) are counted and
//!    [`CountLimits::check`] decides;
//! 2. the batch is *staged*: every key document is inserted (ordered `insertMany`s of 100) complete
//!    with its creation event pending, but marked `deleting: true` (so no reader sees it, nor
//!    counts it) and `staged: <batch>` (so [`MongoStore::repair`] leaves its event alone). The
//!    unique indexes (lookup id, tenant alias) already hold its values, so a collision is found
//!    here; then the staged keys are removed and the batch is `Conflict`, with nothing written;
//! 3. the commit point: one conditional write sets the lock's `committing` while the lock is still
//!    the caller's (a holder whose lease was taken over removes its staged keys and fails as
//!    `Unavailable` instead);
//! 4. one `updateMany` makes the batch live (`deleting: false`, `staged` removed); its events are
//!    then ordinary pending events, settled together after the lock is released (see
//!    [`settle_batch`](crate::settle_batch)), or by any repair.
//!
//! A crash before step 3 leaves staged keys nobody sees; the next holder of the lock removes them.
//! A crash after it leaves the lock `committing`; the next holder makes the batch live, and the
//! next repair settles its events. The next holder is the tenant's next checked insert, or
//! [`MongoStore::repair`] once the lease has expired (it runs before every audit read). Either
//! way a batch is all or none once its lock is taken again; until then (one lease, 30 s, after
//! the crash) a committed batch is not visible yet.
//!
//! Inserts outside this path ([`KeyStore::insert`](apikey_core::KeyStore::insert)) do not take
//! the lock: limits hold against checked inserts, which is what
//! [`KeyManager`](apikey_core::KeyManager) uses when [`KeyStore::checked`] offers it.

use std::collections::{BTreeMap, HashSet};

use apikey_core::tenant::{CheckedInsert, CountLimits, check_same_tenant};
use apikey_core::{AuditEvent, Error, ErrorKind, KeyFilter, KeyRecord, KeyStore, Result, TenantId};
use async_trait::async_trait;
use bson::{Bson, Document, Uuid as BsonUuid};

use crate::aliases::taken;
use crate::doc::{EventDoc, KeyDoc, uuid};
use crate::error;
use crate::insert_lock::{InsertLock, retry_busy};
use crate::store::MongoStore;

/// Staged documents per `insertMany`: the driver splits by the server's message limits, but
/// BriskDB also caps a write batch's decoded size (1,200 keys in one batch are refused there).
const STAGE_CHUNK: usize = 100;

/// The key document of `record`, staged in `batch` with its creation `event` pending.
pub(crate) fn staged_doc(
    record: &KeyRecord,
    event: &AuditEvent,
    batch: BsonUuid,
) -> Result<Document> {
    let mut doc = KeyDoc::from_record(record).to_document()?;
    let event = EventDoc::from_event(event)?.to_document()?;
    doc.insert("pending_events", vec![Bson::Document(event)]);
    doc.insert("deleting", true);
    doc.insert("staged", batch);
    Ok(doc)
}

/// Refuses a batch that collides with itself: an id, lookup id or alias (one tenant) twice.
fn check_batch(items: &[(KeyRecord, AuditEvent)]) -> Result<()> {
    let (mut ids, mut lookups, mut aliases) = (HashSet::new(), HashSet::new(), HashSet::new());
    for (r, _) in items {
        if !ids.insert(r.id) || !lookups.insert(r.lookup_id) {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("key {} is in the batch twice", r.id),
            ));
        }
        let mut own: Vec<&str> = r.aliases.iter().map(String::as_str).collect();
        own.sort_unstable();
        own.dedup();
        if let Some(a) = own.into_iter().find(|a| !aliases.insert(*a)) {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("alias {a:?} is given to two keys of the batch"),
            ));
        }
    }
    Ok(())
}

impl MongoStore {
    /// Step 2: inserts the staged documents. Repeatable: whatever an attempt that failed half-way
    /// (or whose answer was lost) staged is removed first. A duplicate key names the alias taken
    /// when it is one.
    async fn stage(
        &self,
        tenant: Option<&TenantId>,
        records: &[&KeyRecord],
        docs: &[Document],
        batch: BsonUuid,
    ) -> Result<()> {
        self.finish_batch(&Bson::from(batch), false).await?;
        let mut failed = None;
        for chunk in docs.chunks(STAGE_CHUNK) {
            if let Err(e) = self.keys.insert_many(chunk).await {
                failed = Some(e);
                break;
            }
        }
        let Some(e) = failed else {
            return Ok(());
        };
        if !error::is_duplicate_key(&e) {
            return Err(error::driver("insert keys", e));
        }
        // Looked up once this attempt's keys are gone, so they are not what is found.
        self.finish_batch(&Bson::from(batch), false).await?;
        Err(match self.alias_held(tenant, records).await {
            Ok(Some(a)) => taken(&a).with_source(e),
            _ => error::driver("insert keys", e),
        })
    }

    /// The counted keys of `tenant` (of `owner`, if given) in `states`.
    async fn count_limited(
        &self,
        tenant: Option<&TenantId>,
        limits: &CountLimits,
        owner: Option<&str>,
    ) -> Result<u64> {
        if limits.counted_states.is_empty() {
            return Ok(0);
        }
        let f = KeyFilter {
            states: limits.counted_states.clone(),
            owner: owner.map(str::to_owned),
            ..KeyFilter::default()
        };
        KeyStore::count(self, tenant, &f).await
    }

    /// Steps 1 to 4 under `lock`. An error before the commit point leaves staged keys for the
    /// caller to remove; `Ok(false)` means committed but not yet live (left to the next holder).
    async fn insert_locked(
        &self,
        tenant: Option<&TenantId>,
        items: &[(KeyRecord, AuditEvent)],
        limits: &CountLimits,
        lock: &InsertLock,
    ) -> Result<bool> {
        let records: Vec<&KeyRecord> = items.iter().map(|(r, _)| r).collect();
        if !limits.is_unlimited() {
            let tenant_count = match limits.max_per_tenant {
                Some(_) => retry_busy(|| self.count_limited(tenant, limits, None)).await?,
                None => 0,
            };
            let mut owners = BTreeMap::new();
            for o in limits.owners_to_count(records.iter().copied()) {
                let n = retry_busy(|| self.count_limited(tenant, limits, Some(&o))).await?;
                owners.insert(o, n);
            }
            limits.check(tenant, records.iter().copied(), tenant_count, |o| {
                owners.get(o).copied().unwrap_or(0)
            })?;
        }
        if let Some(a) = retry_busy(|| self.alias_held(tenant, &records)).await? {
            return Err(taken(&a));
        }
        let docs = items
            .iter()
            .map(|(r, e)| staged_doc(r, e, lock.batch))
            .collect::<Result<Vec<_>>>()?;
        retry_busy(|| self.stage(tenant, &records, &docs, lock.batch)).await?;
        if !retry_busy(|| self.mark_committing(lock)).await? {
            return Err(Error::unavailable(
                "checked insert: the tenant's insert lock was taken over (lease expired); nothing was inserted",
            ));
        }
        let batch = Bson::from(lock.batch);
        let live = retry_busy(|| self.finish_batch(&batch, true)).await;
        if let Err(e) = live {
            tracing::warn!(
                error = %e,
                "checked insert committed but not yet visible; the next holder of the lock finishes it"
            );
            return Ok(false);
        }
        Ok(true)
    }
}

#[async_trait]
impl CheckedInsert for MongoStore {
    async fn insert_checked(
        &self,
        tenant: Option<&TenantId>,
        items: &[(KeyRecord, AuditEvent)],
        limits: &CountLimits,
    ) -> Result<()> {
        check_same_tenant(tenant, items)?;
        check_batch(items)?;
        if items.is_empty() {
            return Ok(());
        }
        let batch = uuid(uuid::Uuid::now_v7());
        let lock = self.lock_inserts(tenant, batch).await?;
        match self.insert_locked(tenant, items, limits, &lock).await {
            Ok(true) => {
                self.unlock_inserts(&lock).await;
                self.settle_batch(items).await;
                Ok(())
            }
            // Committed: the lock keeps naming the batch until its next holder makes it live.
            Ok(false) => Ok(()),
            Err(e) => {
                // Before the commit point (or after losing the lock): the staged keys go.
                match self.finish_batch(&Bson::from(batch), false).await {
                    Ok(()) => self.unlock_inserts(&lock).await,
                    Err(cleanup) => tracing::warn!(
                        error = %cleanup,
                        "staged keys of a refused checked insert left; the next holder of the lock removes them"
                    ),
                }
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use apikey_testkit::fixtures::{base_time, created, record, tenant};

    use super::*;

    fn item(n: i64, aliases: &[&str]) -> (KeyRecord, AuditEvent) {
        let t = tenant("t");
        let mut r = record(Some(&t), base_time() + chrono::TimeDelta::seconds(n));
        r.aliases = aliases.iter().map(|a| (*a).to_owned()).collect();
        let e = created(&r);
        (r, e)
    }

    #[test]
    fn a_batch_colliding_with_itself_is_refused_naming_the_alias() {
        assert!(check_batch(&[item(1, &["a", "a"]), item(2, &["b"])]).is_ok());
        let e = check_batch(&[item(1, &["a"]), item(2, &["b", "a"])]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert!(e.message().contains("\"a\""), "{e}");
        let (one, two) = (item(1, &[]), item(2, &[]));
        let mut twin = two.clone();
        twin.0.lookup_id = one.0.lookup_id;
        assert_eq!(
            check_batch(&[one.clone(), twin]).unwrap_err().kind(),
            ErrorKind::Conflict
        );
        assert_eq!(
            check_batch(&[one.clone(), one]).unwrap_err().kind(),
            ErrorKind::Conflict
        );
    }

    #[test]
    fn a_staged_document_is_hidden_and_holds_its_event() {
        let (r, e) = item(1, &["x"]);
        let batch = uuid(uuid::Uuid::now_v7());
        let d = staged_doc(&r, &e, batch).unwrap();
        assert_eq!(d.get_bool("deleting"), Ok(true));
        assert_eq!(d.get("staged"), Some(&Bson::from(batch)));
        assert_eq!(d.get_array("pending_events").map(Vec::len), Ok(1));
    }
}
