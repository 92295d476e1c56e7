//! The key-programme suite is not vacuous: each deliberately broken store below (the memory store
//! with one bug added) must make the named case fail.

use std::fmt;

use apikey_core::audit::{AuditEvent, AuditFilter};
use apikey_core::catalog::{CatalogKind, CatalogStore, Preset, StoredPreset};
use apikey_core::store::{KeyFilter, Page, UsageBatchId, UsageUpdate};
use apikey_core::tenant::{CheckedInsert, CountLimits};
use apikey_core::{
    AuditStore, KeyId, KeyRecord, KeyStore, LookupId, ReaderCursor, Result, TenantId, TenantScope,
};
use apikey_memory::MemoryStore;
use apikey_testkit::__private::{block_on, block_on_multi_thread};
use apikey_testkit::key_programme as suite;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

mod common;

use common::caught;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Bug {
    /// Aliases never collide (each is stored tagged with its key's id).
    AliasesNeverCollide,
    /// Aliases are unique across every tenant, not per tenant.
    AliasesGlobal,
    /// A checked batch goes in one record at a time, keeping what went in before a failure.
    CheckedPartial,
    /// The limit is checked against a count taken before a pause, not under a lock.
    CheckedRacy,
    /// Every stored state counts toward the limit.
    CheckedCountsEveryState,
    /// Presets are written whatever version the writer names (a lost update).
    PresetIgnoresVersion,
    /// A list returns the presets of every tenant.
    PresetListIgnoresTenant,
    /// Removing a preset that is not there still records a removal.
    PresetRemovalAlwaysLogged,
}

struct Buggy {
    inner: MemoryStore,
    bug: Bug,
}

impl fmt::Debug for Buggy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Buggy({:?})", self.bug)
    }
}

fn buggy(bug: Bug) -> Buggy {
    Buggy {
        inner: MemoryStore::new(),
        bug,
    }
}

const TAG: char = '\u{1F}';

impl Buggy {
    /// The record as this store writes it.
    fn write(&self, r: &KeyRecord) -> KeyRecord {
        let mut r = r.clone();
        if self.bug == Bug::AliasesNeverCollide {
            r.aliases = r
                .aliases
                .iter()
                .map(|a| format!("{a}{TAG}{}", r.id))
                .collect();
        }
        r
    }

    /// The record as a caller reads it back.
    fn read(&self, mut r: KeyRecord) -> KeyRecord {
        if self.bug == Bug::AliasesNeverCollide {
            r.aliases = r
                .aliases
                .iter()
                .map(|a| a.split(TAG).next().unwrap_or_default().to_owned())
                .collect();
        }
        r
    }

    async fn alias_taken_elsewhere(&self, r: &KeyRecord) -> Result<()> {
        if self.bug != Bug::AliasesGlobal {
            return Ok(());
        }
        for a in &r.aliases {
            let filter = KeyFilter {
                alias: Some(a.clone()),
                ..KeyFilter::default()
            };
            let page = KeyStore::query(&self.inner, &TenantScope::All, &filter).await?;
            if page.items.iter().any(|o| o.id != r.id) {
                return Err(apikey_core::Error::stale(format_args!("alias {a}")));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl KeyStore for Buggy {
    async fn insert(&self, record: &KeyRecord, event: &AuditEvent) -> Result<()> {
        self.alias_taken_elsewhere(record).await?;
        self.inner.insert(&self.write(record), event).await
    }
    async fn get(&self, tenant: &TenantScope, id: KeyId) -> Result<Option<KeyRecord>> {
        Ok(self.inner.get(tenant, id).await?.map(|r| self.read(r)))
    }
    async fn find_by_lookup_id(&self, lookup: &LookupId) -> Result<Option<KeyRecord>> {
        Ok(self
            .inner
            .find_by_lookup_id(lookup)
            .await?
            .map(|r| self.read(r)))
    }
    async fn update(
        &self,
        tenant: &TenantScope,
        expected_version: u64,
        record: &KeyRecord,
        event: &AuditEvent,
    ) -> Result<()> {
        self.alias_taken_elsewhere(record).await?;
        self.inner
            .update(tenant, expected_version, &self.write(record), event)
            .await
    }
    async fn record_usage(&self, batch: UsageBatchId, items: &[UsageUpdate]) -> Result<()> {
        self.inner.record_usage(batch, items).await
    }
    async fn query(&self, tenant: &TenantScope, filter: &KeyFilter) -> Result<Page<KeyRecord>> {
        let page = KeyStore::query(&self.inner, tenant, filter).await?;
        Ok(Page {
            items: page.items.into_iter().map(|r| self.read(r)).collect(),
            next: page.next,
        })
    }
    async fn delete(&self, tenant: &TenantScope, id: KeyId, event: &AuditEvent) -> Result<bool> {
        self.inner.delete(tenant, id, event).await
    }
    async fn count(&self, tenant: Option<&TenantId>, filter: &KeyFilter) -> Result<u64> {
        self.inner.count(tenant, filter).await
    }
    fn checked(&self) -> Option<&dyn CheckedInsert> {
        Some(self)
    }
}

#[async_trait]
impl CheckedInsert for Buggy {
    async fn insert_checked(
        &self,
        tenant: Option<&TenantId>,
        items: &[(KeyRecord, AuditEvent)],
        limits: &CountLimits,
    ) -> Result<()> {
        match self.bug {
            Bug::CheckedPartial => {
                for (r, e) in items {
                    KeyStore::insert(self, r, e).await?;
                }
                Ok(())
            }
            Bug::CheckedRacy | Bug::CheckedCountsEveryState => {
                let mut counted = KeyFilter::default();
                if self.bug == Bug::CheckedRacy {
                    counted.states.clone_from(&limits.counted_states);
                }
                let n = self.inner.count(tenant, &counted).await?;
                let mut owners = Vec::new();
                for o in limits.owners_to_count(items.iter().map(|(r, _)| r)) {
                    let f = KeyFilter {
                        owner: Some(o.clone()),
                        ..counted.clone()
                    };
                    owners.push((o, self.inner.count(tenant, &f).await?));
                }
                // Long enough for every racer to count before anyone inserts.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                limits.check(tenant, items.iter().map(|(r, _)| r), n, |o| {
                    owners.iter().find(|(x, _)| x == o).map_or(0, |(_, c)| *c)
                })?;
                for (r, e) in items {
                    KeyStore::insert(self, r, e).await?;
                }
                Ok(())
            }
            _ => {
                let written: Vec<_> = items
                    .iter()
                    .map(|(r, e)| (self.write(r), e.clone()))
                    .collect();
                if let Some(r) = items.first() {
                    self.alias_taken_elsewhere(&r.0).await?;
                }
                self.inner.insert_checked(tenant, &written, limits).await
            }
        }
    }
}

#[async_trait]
impl CatalogStore for Buggy {
    async fn get_preset(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
        name: &str,
    ) -> Result<Option<StoredPreset>> {
        self.inner.get_preset(tenant, kind, name).await
    }
    async fn list_presets(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
    ) -> Result<Vec<StoredPreset>> {
        if self.bug != Bug::PresetListIgnoresTenant {
            return self.inner.list_presets(tenant, kind).await;
        }
        let mut all = Vec::new();
        for t in ["a", "a-", "acme", "c"] {
            let t = TenantId::new(t).expect("tenant");
            all.extend(self.inner.list_presets(Some(&t), kind).await?);
        }
        all.extend(self.inner.list_presets(None, kind).await?);
        Ok(all)
    }
    async fn put_preset(
        &self,
        tenant: Option<&TenantId>,
        preset: &Preset,
        expected_version: u64,
        event: &AuditEvent,
    ) -> Result<u64> {
        if self.bug == Bug::PresetIgnoresVersion {
            let stored = self
                .inner
                .get_preset(tenant, preset.kind, &preset.name)
                .await?;
            let actual = stored.map_or(0, |s| s.version);
            return self.inner.put_preset(tenant, preset, actual, event).await;
        }
        self.inner
            .put_preset(tenant, preset, expected_version, event)
            .await
    }
    async fn remove_preset(
        &self,
        tenant: Option<&TenantId>,
        kind: CatalogKind,
        name: &str,
        event: &AuditEvent,
    ) -> Result<bool> {
        let removed = self.inner.remove_preset(tenant, kind, name, event).await?;
        if !removed && self.bug == Bug::PresetRemovalAlwaysLogged {
            self.inner.append(event).await?;
        }
        Ok(removed)
    }
}

#[async_trait]
impl AuditStore for Buggy {
    async fn query(&self, tenant: &TenantScope, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        AuditStore::query(&self.inner, tenant, filter).await
    }
    async fn append(&self, event: &AuditEvent) -> Result<bool> {
        self.inner.append(event).await
    }
    async fn read_after(&self, after: u64, limit: u32) -> Result<Vec<AuditEvent>> {
        self.inner.read_after(after, limit).await
    }
    async fn last_position(&self) -> Result<u64> {
        self.inner.last_position().await
    }
    async fn cursors(&self) -> Result<Vec<ReaderCursor>> {
        self.inner.cursors().await
    }
    async fn save_cursor(&self, reader: &str, position: u64) -> Result<()> {
        self.inner.save_cursor(reader, position).await
    }
    async fn remove_cursor(&self, reader: &str) -> Result<bool> {
        self.inner.remove_cursor(reader).await
    }
    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        self.inner.purge_before(before).await
    }
}

#[test]
fn the_correct_wrapper_passes_what_the_mutants_fail() {
    // A bug that changes nothing here: the wrapper itself must not trip the suite.
    block_on(suite::aliases_unique_on_insert(&buggy(
        Bug::PresetListIgnoresTenant,
    )));
    block_on(suite::checked_insert_is_all_or_none(&buggy(
        Bug::PresetIgnoresVersion,
    )));
    block_on_multi_thread(suite::checked_insert_serializes(&buggy(
        Bug::PresetIgnoresVersion,
    )));
}

#[test]
fn key_programme_suite_catches_alias_bugs() {
    caught("aliases that never collide", || {
        block_on(suite::aliases_unique_on_insert(&buggy(
            Bug::AliasesNeverCollide,
        )));
    });
    caught("aliases that never collide, on update", || {
        block_on(suite::aliases_unique_on_update(&buggy(
            Bug::AliasesNeverCollide,
        )));
    });
    caught("aliases unique across tenants", || {
        block_on(suite::aliases_unique_on_insert(&buggy(Bug::AliasesGlobal)));
    });
}

#[test]
fn key_programme_suite_catches_checked_insert_bugs() {
    caught("a batch that keeps its first records", || {
        block_on(suite::checked_insert_is_all_or_none(&buggy(
            Bug::CheckedPartial,
        )));
    });
    caught("a limit checked on a stale count", || {
        block_on_multi_thread(suite::checked_insert_serializes(&buggy(Bug::CheckedRacy)));
    });
    caught("every state counted", || {
        block_on(suite::checked_insert_limits(&buggy(
            Bug::CheckedCountsEveryState,
        )));
    });
}

#[test]
fn key_programme_suite_catches_catalog_bugs() {
    caught("a lost preset update", || {
        block_on(suite::presets_compare_and_set(&buggy(
            Bug::PresetIgnoresVersion,
        )));
    });
    caught("a list across tenants", || {
        block_on(suite::presets_apart(&buggy(Bug::PresetListIgnoresTenant)));
    });
    caught("a removal of nothing logged", || {
        block_on(suite::presets_remove(&buggy(
            Bug::PresetRemovalAlwaysLogged,
        )));
    });
}
