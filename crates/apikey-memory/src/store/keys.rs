//! The [`KeyStore`] and [`LegacyLookup`] implementations of [`MemoryStore`].

use std::ops::Bound;

use apikey_core::store::LegacyLookup;
use apikey_core::{
    AuditEvent, Cursor, Error, KeyFilter, KeyId, KeyRecord, KeyStore, LookupId, Page, Result,
    TenantId, TenantScope, USAGE_MARK_RETENTION, UsageBatchId, UsageUpdate,
};
use async_trait::async_trait;

use super::MemoryStore;

#[async_trait]
impl KeyStore for MemoryStore {
    async fn insert(&self, record: &KeyRecord, event: &AuditEvent) -> Result<()> {
        let mut t = self.tables.write();
        t.insert(record.clone())?;
        t.audit.append(event);
        Ok(())
    }

    async fn get(&self, tenant: &TenantScope, id: KeyId) -> Result<Option<KeyRecord>> {
        let t = self.tables.read();
        Ok(t.records
            .get(&id)
            .filter(|r| tenant.admits(r.tenant_id.as_ref()))
            .cloned())
    }

    async fn find_by_lookup_id(&self, lookup: &LookupId) -> Result<Option<KeyRecord>> {
        Ok(self.tables.read().by_lookup(lookup).cloned())
    }

    async fn update(
        &self,
        tenant: &TenantScope,
        expected_version: u64,
        record: &KeyRecord,
        event: &AuditEvent,
    ) -> Result<()> {
        let mut t = self.tables.write();
        let current = t
            .records
            .get(&record.id)
            .filter(|r| tenant.admits(r.tenant_id.as_ref()))
            .ok_or_else(|| Error::not_found(format_args!("key {}", record.id)))?;
        if current.version != expected_version {
            return Err(Error::stale(format_args!("key {}", record.id)));
        }
        // Still under the write lock: nobody can slip a change between the version check, the
        // write and the audit append.
        t.replace(record.clone())?;
        t.audit.append(event);
        Ok(())
    }

    async fn record_usage(&self, batch: UsageBatchId, items: &[UsageUpdate]) -> Result<()> {
        let mut t = self.tables.write();
        let t = &mut *t;
        let cutoff = batch.at - USAGE_MARK_RETENTION;
        t.usage_marks.retain(|_, (_, at)| *at >= cutoff);
        for u in items {
            let Some(r) = t.records.get_mut(&u.id) else {
                continue;
            };
            let mark = t
                .usage_marks
                .entry((u.id, batch.flusher))
                .or_insert((0, batch.at));
            if mark.0 >= batch.seq {
                // Applied by an earlier attempt of this batch.
                continue;
            }
            *mark = (batch.seq, batch.at);
            // Batches from several nodes arrive in any order; the latest use must win.
            r.last_used_at = Some(
                r.last_used_at
                    .map_or(u.last_used_at, |l| l.max(u.last_used_at)),
            );
            r.usage_count = r.usage_count.saturating_add(u.count);
        }
        Ok(())
    }

    async fn query(&self, tenant: &TenantScope, filter: &KeyFilter) -> Result<Page<KeyRecord>> {
        let t = self.tables.read();
        let size = filter.page_size();
        let start = match filter.after {
            Some(c) => Bound::Excluded((c.created_at, c.id)),
            None => Bound::Unbounded,
        };
        let mut items = Vec::with_capacity(size.min(64));
        let mut more = false;
        for (_, id) in t.order.range((start, Bound::Unbounded)) {
            let Some(r) = t.records.get(id) else { continue };
            if !tenant.admits(r.tenant_id.as_ref()) || !filter.matches(r) {
                continue;
            }
            // One match past a full page proves there is a next page, so the last page says None.
            if items.len() == size {
                more = true;
                break;
            }
            items.push(r.clone());
        }
        let next = if more {
            items.last().map(Cursor::after)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn delete(&self, tenant: &TenantScope, id: KeyId, event: &AuditEvent) -> Result<bool> {
        let mut t = self.tables.write();
        let visible = t
            .records
            .get(&id)
            .is_some_and(|r| tenant.admits(r.tenant_id.as_ref()));
        if !visible {
            return Ok(false);
        }
        t.remove(id);
        t.audit.append(event);
        Ok(true)
    }

    async fn count(&self, tenant: Option<&TenantId>, filter: &KeyFilter) -> Result<u64> {
        let t = self.tables.read();
        // Pagination does not apply to a count.
        let filter = KeyFilter {
            after: None,
            ..filter.clone()
        };
        Ok(t.records
            .values()
            .filter(|r| r.tenant_id.as_ref() == tenant && filter.matches(r))
            .count() as u64)
    }

    fn legacy(&self) -> Option<&dyn LegacyLookup> {
        Some(self)
    }

    fn checked(&self) -> Option<&dyn apikey_core::tenant::CheckedInsert> {
        Some(self)
    }

    fn analytics(&self) -> Option<&dyn apikey_core::analytics::AnalyticsStore> {
        Some(self)
    }
}

#[async_trait]
impl LegacyLookup for MemoryStore {
    async fn find_by_legacy_lookup(&self, prefix: &str) -> Result<Vec<KeyRecord>> {
        Ok(self.tables.read().by_legacy(prefix))
    }
}
