//! A key store written the way an application team would write its own: every record in a
//! `BTreeMap` behind one `tokio::sync::RwLock`, the audit log in a `Vec` beside it. It implements
//! [`KeyStore`], [`AuditStore`] and the optional [`LegacyLookup`], and proves it follows the same
//! rules as the bundled backends by running `apikey-testkit`'s suites (`tests/conformance.rs`).
//!
//! ```sh
//! cargo test -p custom-store --test conformance   # the KeyStore and AuditStore suites
//! cargo run  -p custom-store                      # wires the store into ApiKeys and verifies a key
//! ```
//!
//! A real custom store would put the same logic in front of its own database; what matters is the
//! contract each method documents on the trait, which the suites check case by case.

use std::collections::BTreeMap;
use std::sync::Arc;

use apikey_core::audit::{ahead_of_log, validate_reader_name};
use apikey_core::store::LegacyLookup;
use apikey_core::{
    AuditEvent, AuditFilter, AuditStore, Cursor, Error, ErrorKind, EventType, KeyFilter, KeyId,
    KeyRecord, KeyStore, LookupId, Page, ReaderCursor, Result, TenantScope, UsageBatchId,
    UsageUpdate,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::RwLock;

/// Everything the store holds, guarded by one lock so a change and its audit event are written
/// together (the lock is the transaction).
#[derive(Debug, Default)]
struct Tables {
    keys: BTreeMap<KeyId, KeyRecord>,
    /// The unique index on lookup ids.
    lookup: BTreeMap<LookupId, KeyId>,
    /// The audit log, in append order; each event's position is set when it is appended.
    events: Vec<AuditEvent>,
    /// The last position handed out: never reused, even after a purge.
    last_position: u64,
    /// Readers' cursors (see `AuditStore::save_cursor`).
    cursors: BTreeMap<String, u64>,
    /// Per key and usage flusher, the newest batch applied: a batch sent again after an error
    /// must count each key once (see `KeyStore::record_usage`). A real store also forgets marks
    /// older than `USAGE_MARK_RETENTION`.
    usage_marks: BTreeMap<(KeyId, u128), u64>,
}

impl Tables {
    /// Appends an event unless an event with the same id is already there (retries are no-ops).
    fn append(&mut self, event: &AuditEvent) -> bool {
        if self.events.iter().any(|e| e.id == event.id) {
            return false;
        }
        self.last_position += 1;
        let mut stored = event.clone();
        stored.position = Some(self.last_position);
        self.events.push(stored);
        true
    }
}

/// A [`KeyStore`] + [`AuditStore`] over in-process `BTreeMap`s. Clones share the same data.
#[derive(Debug, Default, Clone)]
pub struct BTreeStore {
    tables: Arc<RwLock<Tables>>,
}

impl BTreeStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many keys are stored.
    pub async fn len(&self) -> usize {
        self.tables.read().await.keys.len()
    }

    /// Whether no key is stored.
    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }
}

fn conflict(what: &str) -> Error {
    Error::new(ErrorKind::Conflict, format!("{what} already exists"))
}

#[async_trait]
impl KeyStore for BTreeStore {
    async fn insert(&self, record: &KeyRecord, event: &AuditEvent) -> Result<()> {
        let mut t = self.tables.write().await;
        if t.keys.contains_key(&record.id) {
            return Err(conflict("key id"));
        }
        if t.lookup.contains_key(&record.lookup_id) {
            return Err(conflict("lookup id"));
        }
        t.lookup.insert(record.lookup_id, record.id);
        t.keys.insert(record.id, record.clone());
        t.append(event);
        Ok(())
    }

    async fn get(&self, tenant: &TenantScope, id: KeyId) -> Result<Option<KeyRecord>> {
        let t = self.tables.read().await;
        Ok(t.keys
            .get(&id)
            .filter(|r| tenant.admits(r.tenant_id.as_ref()))
            .cloned())
    }

    async fn find_by_lookup_id(&self, lookup: &LookupId) -> Result<Option<KeyRecord>> {
        let t = self.tables.read().await;
        Ok(t.lookup.get(lookup).and_then(|id| t.keys.get(id)).cloned())
    }

    async fn update(
        &self,
        tenant: &TenantScope,
        expected_version: u64,
        record: &KeyRecord,
        event: &AuditEvent,
    ) -> Result<()> {
        let mut t = self.tables.write().await;
        let Some(current) = t
            .keys
            .get(&record.id)
            .filter(|r| tenant.admits(r.tenant_id.as_ref()))
        else {
            return Err(Error::not_found(format_args!("key {}", record.id)));
        };
        if current.version != expected_version {
            return Err(Error::stale(format_args!("key {}", record.id)));
        }
        let old_lookup = current.lookup_id;
        // Usage belongs to `record_usage`: the caller's copy may be older than the last flush.
        let mut next = record.clone();
        next.last_used_at = current.last_used_at;
        next.usage_count = current.usage_count;
        if next.lookup_id != old_lookup {
            if t.lookup.contains_key(&next.lookup_id) {
                return Err(conflict("lookup id"));
            }
            t.lookup.remove(&old_lookup);
            t.lookup.insert(next.lookup_id, next.id);
        }
        t.keys.insert(next.id, next);
        t.append(event);
        Ok(())
    }

    async fn record_usage(&self, batch: UsageBatchId, items: &[UsageUpdate]) -> Result<()> {
        let mut t = self.tables.write().await;
        let t = &mut *t;
        for u in items {
            let Some(r) = t.keys.get_mut(&u.id) else {
                continue;
            };
            let mark = t
                .usage_marks
                .entry((u.id, batch.flusher.as_u128()))
                .or_insert(0);
            if *mark >= batch.seq {
                continue;
            }
            *mark = batch.seq;
            // Batches from several processes may arrive out of order: keep the latest use.
            if r.last_used_at.is_none_or(|seen| seen < u.last_used_at) {
                r.last_used_at = Some(u.last_used_at);
            }
            r.usage_count = r.usage_count.saturating_add(u.count);
        }
        Ok(())
    }

    async fn query(&self, tenant: &TenantScope, filter: &KeyFilter) -> Result<Page<KeyRecord>> {
        let t = self.tables.read().await;
        // `KeyFilter::matches` already applies the keyset cursor (created_at, id) > after.
        let mut hits: Vec<&KeyRecord> = t
            .keys
            .values()
            .filter(|r| tenant.admits(r.tenant_id.as_ref()) && filter.matches(r))
            .collect();
        hits.sort_by_key(|r| (r.created_at, r.id));
        let size = filter.page_size();
        let more = hits.len() > size;
        let items: Vec<KeyRecord> = hits.into_iter().take(size).cloned().collect();
        let next = if more {
            items.last().map(Cursor::after)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn delete(&self, tenant: &TenantScope, id: KeyId, event: &AuditEvent) -> Result<bool> {
        let mut t = self.tables.write().await;
        let visible = t
            .keys
            .get(&id)
            .is_some_and(|r| tenant.admits(r.tenant_id.as_ref()));
        if !visible {
            return Ok(false);
        }
        if let Some(gone) = t.keys.remove(&id) {
            t.lookup.remove(&gone.lookup_id);
        }
        t.append(event);
        Ok(true)
    }

    fn legacy(&self) -> Option<&dyn LegacyLookup> {
        Some(self)
    }
}

#[async_trait]
impl LegacyLookup for BTreeStore {
    async fn find_by_legacy_lookup(&self, prefix: &str) -> Result<Vec<KeyRecord>> {
        let t = self.tables.read().await;
        Ok(t.keys
            .values()
            .filter(|r| {
                r.legacy_lookup
                    .as_ref()
                    .is_some_and(|p| p.expose() == prefix)
            })
            .cloned()
            .collect())
    }
}

#[async_trait]
impl AuditStore for BTreeStore {
    async fn query(&self, tenant: &TenantScope, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        let t = self.tables.read().await;
        let mut hits: Vec<&AuditEvent> = t
            .events
            .iter()
            .filter(|e| tenant.admits(e.tenant_id.as_ref()) && filter.matches(e))
            .collect();
        hits.sort_by_key(|e| (e.at, e.id));
        Ok(hits.into_iter().take(filter.page_size()).cloned().collect())
    }

    async fn append(&self, event: &AuditEvent) -> Result<bool> {
        Ok(self.tables.write().await.append(event))
    }

    async fn read_after(&self, after: u64, limit: u32) -> Result<Vec<AuditEvent>> {
        let t = self.tables.read().await;
        // Appended under one lock, so the Vec is already in position order.
        Ok(t.events
            .iter()
            .filter(|e| e.position.is_some_and(|p| p > after))
            .take(limit.clamp(1, 1000) as usize)
            .cloned()
            .collect())
    }

    async fn last_position(&self) -> Result<u64> {
        Ok(self.tables.read().await.last_position)
    }

    async fn cursors(&self) -> Result<Vec<ReaderCursor>> {
        let t = self.tables.read().await;
        Ok(t.cursors
            .iter()
            .map(|(reader, &position)| ReaderCursor {
                reader: reader.clone(),
                position,
            })
            .collect())
    }

    async fn save_cursor(&self, reader: &str, position: u64) -> Result<()> {
        validate_reader_name(reader)?;
        let mut t = self.tables.write().await;
        if position > t.last_position {
            return Err(ahead_of_log(position, t.last_position));
        }
        t.cursors.insert(reader.to_owned(), position);
        Ok(())
    }

    async fn remove_cursor(&self, reader: &str) -> Result<bool> {
        Ok(self.tables.write().await.cursors.remove(reader).is_some())
    }

    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        let mut t = self.tables.write().await;
        let t = &mut *t;
        // Never past a registered reader: it has not handled those events yet.
        let slowest = t.cursors.values().copied().min().unwrap_or(u64::MAX);
        let keys = &t.keys;
        // A live key's newest record (its version is the key's) and the chain's checkpoints
        // stay whatever their age.
        let kept = |e: &AuditEvent| {
            e.event_type == EventType::AuditCheckpoint
                || (e.version > 0
                    && e.key_id()
                        .and_then(|k| keys.get(&k))
                        .is_some_and(|r| r.version == e.version))
        };
        let was = t.events.len();
        t.events
            .retain(|e| e.at >= before || e.position.is_none_or(|p| p > slowest) || kept(e));
        Ok((was - t.events.len()) as u64)
    }

    async fn rewrite_erased(&self, events: &[AuditEvent]) -> Result<u64> {
        let mut t = self.tables.write().await;
        let mut found = 0;
        for erased in events {
            if let Some(stored) = t.events.iter_mut().find(|e| e.id == erased.id) {
                // Only the personal fields and the link: the rest is the record of what happened.
                stored.actor.clone_from(&erased.actor);
                stored.reason.clone_from(&erased.reason);
                stored.data.clone_from(&erased.data);
                stored.before.clone_from(&erased.before);
                stored.after.clone_from(&erased.after);
                stored.chain.clone_from(&erased.chain);
                found += 1;
            }
        }
        Ok(found)
    }
}
