//! The tables behind [`MemoryStore`](super::MemoryStore): records plus the indexes a database
//! would keep (unique lookup id, legacy prefix, (created_at, id) order) and the audit log.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use apikey_core::audit::PurgeScope;
use apikey_core::{
    AuditEvent, Error, ErrorKind, EventType, KeyId, KeyRecord, LookupId, Result, TenantId,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Every table; the caller holds the store's lock for the whole of each operation.
#[derive(Default)]
pub(super) struct Tables {
    // foldhash: ids are random, so a fast non-cryptographic hash with a per-process seed is safe,
    // and these lookups sit on the verifier's cold path.
    pub(super) records: HashMap<KeyId, KeyRecord, foldhash::fast::RandomState>,
    by_lookup: HashMap<LookupId, KeyId, foldhash::fast::RandomState>,
    by_legacy: HashMap<String, BTreeSet<KeyId>>,
    /// (tenant, alias) → the key holding it: aliases are unique per tenant, as a database's
    /// unique index makes them.
    by_alias: HashMap<(Option<TenantId>, String), KeyId>,
    /// The pagination order, so a page starts at its cursor instead of scanning and sorting.
    pub(super) order: BTreeSet<(DateTime<Utc>, KeyId)>,
    pub(super) audit: AuditLog,
    /// Per key and flusher, the newest usage batch applied and its time (see
    /// [`KeyStore::record_usage`](apikey_core::KeyStore::record_usage)).
    pub(super) usage_marks:
        HashMap<(KeyId, Uuid), (u64, DateTime<Utc>), foldhash::fast::RandomState>,
    /// Job leases (see [`LeaseStore`](apikey_core::jobs::LeaseStore)).
    pub(super) leases: super::leases::Leases,
    /// Tenant settings rows (see [`TenantSettingsStore`](apikey_core::TenantSettingsStore)).
    pub(super) settings: super::tenant::SettingsRows,
    /// Templates and groups (see [`CatalogStore`](apikey_core::CatalogStore)).
    pub(super) catalog: super::catalog::Presets,
    /// Webhook subscriptions and deliveries (see
    /// [`WebhookStore`](apikey_core::webhook::WebhookStore)).
    pub(super) webhooks: super::webhooks::WebhookTables,
    /// The request log (see [`RequestLogStore`](apikey_core::request_log::RequestLogStore)).
    pub(super) requests: super::requests::RequestTable,
    /// Usage buckets (see [`AnalyticsStore`](apikey_core::analytics::AnalyticsStore)).
    pub(super) usage: super::analytics::UsageTables,
}

impl Tables {
    pub(super) fn key_count(&self) -> usize {
        self.records.len()
    }

    /// The record with this lookup id.
    pub(super) fn by_lookup(&self, lookup: &LookupId) -> Option<&KeyRecord> {
        self.by_lookup
            .get(lookup)
            .and_then(|id| self.records.get(id))
    }

    /// Every record whose legacy prefix is `prefix`.
    pub(super) fn by_legacy(&self, prefix: &str) -> Vec<KeyRecord> {
        self.by_legacy
            .get(prefix)
            .into_iter()
            .flatten()
            .filter_map(|id| self.records.get(id))
            .cloned()
            .collect()
    }

    /// Adds a new record, enforcing the unique id and lookup id.
    pub(super) fn insert(&mut self, record: KeyRecord) -> Result<()> {
        if self.records.contains_key(&record.id) {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("key {} already exists", record.id),
            ));
        }
        self.check_lookup_free(&record)?;
        self.check_aliases_free(&record)?;
        self.index(&record);
        self.records.insert(record.id, record);
        Ok(())
    }

    /// Whether `record` could be inserted: its id, lookup id and aliases are free.
    pub(super) fn check_insert(&self, record: &KeyRecord) -> Result<()> {
        if self.records.contains_key(&record.id) {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("key {} already exists", record.id),
            ));
        }
        self.check_lookup_free(record)?;
        self.check_aliases_free(record)
    }

    /// Replaces an existing record (same id), re-indexing whatever changed.
    /// The usage fields are kept from the stored record: only `record_usage` writes them.
    pub(super) fn replace(&mut self, mut record: KeyRecord) -> Result<()> {
        self.check_lookup_free(&record)?;
        self.check_aliases_free(&record)?;
        if let Some(old) = self.records.remove(&record.id) {
            record.last_used_at = old.last_used_at;
            record.usage_count = old.usage_count;
            self.unindex(&old);
        }
        self.index(&record);
        self.records.insert(record.id, record);
        Ok(())
    }

    /// Drops a record and its index entries.
    pub(super) fn remove(&mut self, id: KeyId) -> Option<KeyRecord> {
        let old = self.records.remove(&id)?;
        self.unindex(&old);
        Some(old)
    }

    /// A lookup id held by another key is a unique violation, as in every database backend.
    fn check_lookup_free(&self, record: &KeyRecord) -> Result<()> {
        match self.by_lookup.get(&record.lookup_id) {
            Some(owner) if *owner != record.id => Err(Error::new(
                ErrorKind::Conflict,
                format!("lookup id {} is already in use", record.lookup_id),
            )),
            _ => Ok(()),
        }
    }

    /// An alias another key of the same tenant holds is a unique violation.
    fn check_aliases_free(&self, record: &KeyRecord) -> Result<()> {
        for alias in &record.aliases {
            let key = (record.tenant_id.clone(), alias.clone());
            if let Some(holder) = self.by_alias.get(&key)
                && *holder != record.id
            {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("alias {alias:?} is already used by another key of its tenant"),
                ));
            }
        }
        Ok(())
    }

    fn index(&mut self, r: &KeyRecord) {
        self.by_lookup.insert(r.lookup_id, r.id);
        for alias in &r.aliases {
            self.by_alias
                .insert((r.tenant_id.clone(), alias.clone()), r.id);
        }
        if let Some(prefix) = &r.legacy_lookup {
            self.by_legacy
                .entry(prefix.expose().to_owned())
                .or_default()
                .insert(r.id);
        }
        self.order.insert((r.created_at, r.id));
    }

    fn unindex(&mut self, r: &KeyRecord) {
        if self.by_lookup.get(&r.lookup_id) == Some(&r.id) {
            self.by_lookup.remove(&r.lookup_id);
        }
        for alias in &r.aliases {
            let key = (r.tenant_id.clone(), alias.clone());
            if self.by_alias.get(&key) == Some(&r.id) {
                self.by_alias.remove(&key);
            }
        }
        if let Some(prefix) = &r.legacy_lookup
            && let Some(ids) = self.by_legacy.get_mut(prefix.expose())
        {
            ids.remove(&r.id);
            if ids.is_empty() {
                self.by_legacy.remove(prefix.expose());
            }
        }
        self.order.remove(&(r.created_at, r.id));
    }
}

/// The audit log in (at, id) order, with its ids remembered so a repeated append is a no-op,
/// positions handed out in insertion order (one lock: commit order is position order here), and
/// the readers' cursors.
#[derive(Default)]
pub(super) struct AuditLog {
    pub(super) events: BTreeMap<(DateTime<Utc>, Uuid), AuditEvent>,
    /// Event id → its `at`, so purging can forget ids along with their events.
    ids: HashMap<Uuid, DateTime<Utc>>,
    /// Position → the event's (at, id).
    pub(super) by_position: BTreeMap<u64, (DateTime<Utc>, Uuid)>,
    pub(super) last_position: u64,
    pub(super) cursors: BTreeMap<String, u64>,
}

impl AuditLog {
    pub(super) fn len(&self) -> usize {
        self.events.len()
    }

    /// Appends `event` under the next position unless an event with its id is already there (a
    /// retried write); whether it was appended.
    pub(super) fn append(&mut self, event: &AuditEvent) -> bool {
        if self.ids.contains_key(&event.id) {
            return false;
        }
        self.last_position += 1;
        let mut stored = event.clone();
        stored.position = Some(self.last_position);
        self.ids.insert(event.id, event.at);
        self.by_position
            .insert(self.last_position, (event.at, event.id));
        self.events.insert((event.at, event.id), stored);
        true
    }

    /// Replaces the personal fields and chain link of each stored event `events` names.
    pub(super) fn rewrite_erased(&mut self, events: &[AuditEvent]) -> u64 {
        let mut found = 0;
        for e in events {
            let Some(at) = self.ids.get(&e.id) else {
                continue;
            };
            if let Some(stored) = self.events.get_mut(&(*at, e.id)) {
                stored.actor.clone_from(&e.actor);
                stored.reason.clone_from(&e.reason);
                stored.data.clone_from(&e.data);
                stored.before.clone_from(&e.before);
                stored.after.clone_from(&e.after);
                stored.chain.clone_from(&e.chain);
                found += 1;
            }
        }
        found
    }

    /// Drops every event with `at < before` and a position at or below every cursor, except the
    /// chain's checkpoints and each live key's newest record (`live_version` gives a key's current
    /// version); returns how many.
    pub(super) fn purge_before(
        &mut self,
        before: DateTime<Utc>,
        live_version: impl Fn(KeyId) -> Option<u64>,
    ) -> u64 {
        self.purge_scoped(&PurgeScope::AllBut(Vec::new()), before, live_version)
    }

    pub(super) fn purge_scoped(
        &mut self,
        scope: &PurgeScope,
        before: DateTime<Utc>,
        live_version: impl Fn(KeyId) -> Option<u64>,
    ) -> u64 {
        let slowest = self.cursors.values().copied().min().unwrap_or(u64::MAX);
        let doomed: Vec<u64> = self
            .by_position
            .range(..=slowest)
            .filter(|(_, (at, _))| *at < before)
            .filter(|(_, key)| {
                self.events.get(key).is_none_or(|e| {
                    scope.contains(e.tenant_id.as_ref())
                        && e.event_type != EventType::AuditCheckpoint
                        && !(e.version > 0 && e.key_id().and_then(&live_version) == Some(e.version))
                })
            })
            .map(|(p, _)| *p)
            .collect();
        for p in &doomed {
            if let Some(key) = self.by_position.remove(p) {
                self.events.remove(&key);
                self.ids.remove(&key.1);
            }
        }
        doomed.len() as u64
    }
}
