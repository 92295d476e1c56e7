//! The [`AuditStore`] implementation of [`MemoryStore`]: reading and pruning the log that
//! [`KeyStore`](apikey_core::KeyStore) writes.

use std::ops::Bound;

use apikey_core::audit::{PurgeScope, ahead_of_log, validate_reader_name};
use apikey_core::{AuditEvent, AuditFilter, AuditStore, ReaderCursor, Result, TenantScope};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MemoryStore;

#[async_trait]
impl AuditStore for MemoryStore {
    async fn query(&self, tenant: &TenantScope, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        let t = self.tables.read();
        let start = match filter.after {
            Some(pos) => Bound::Excluded(pos),
            None => Bound::Unbounded,
        };
        Ok(t.audit
            .events
            .range((start, Bound::Unbounded))
            .map(|(_, e)| e)
            .filter(|e| tenant.admits(e.tenant_id.as_ref()) && filter.matches(e))
            .take(filter.page_size())
            .cloned()
            .collect())
    }

    async fn append(&self, event: &AuditEvent) -> Result<bool> {
        Ok(self.tables.write().audit.append(event))
    }

    async fn read_after(&self, after: u64, limit: u32) -> Result<Vec<AuditEvent>> {
        let t = self.tables.read();
        Ok(t.audit
            .by_position
            .range((Bound::Excluded(after), Bound::Unbounded))
            .take(limit.clamp(1, 1000) as usize)
            .filter_map(|(_, key)| t.audit.events.get(key))
            .cloned()
            .collect())
    }

    async fn last_position(&self) -> Result<u64> {
        Ok(self.tables.read().audit.last_position)
    }

    async fn cursors(&self) -> Result<Vec<ReaderCursor>> {
        Ok(self
            .tables
            .read()
            .audit
            .cursors
            .iter()
            .map(|(reader, position)| ReaderCursor {
                reader: reader.clone(),
                position: *position,
            })
            .collect())
    }

    async fn save_cursor(&self, reader: &str, position: u64) -> Result<()> {
        validate_reader_name(reader)?;
        let mut t = self.tables.write();
        if position > t.audit.last_position {
            return Err(ahead_of_log(position, t.audit.last_position));
        }
        t.audit.cursors.insert(reader.to_owned(), position);
        Ok(())
    }

    async fn remove_cursor(&self, reader: &str) -> Result<bool> {
        Ok(self.tables.write().audit.cursors.remove(reader).is_some())
    }

    async fn rewrite_erased(&self, events: &[AuditEvent]) -> Result<u64> {
        Ok(self.tables.write().audit.rewrite_erased(events))
    }

    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        let mut tables = self.tables.write();
        let tables = &mut *tables;
        let records = &tables.records;
        Ok(tables
            .audit
            .purge_before(before, |id| records.get(&id).map(|r| r.version)))
    }

    async fn purge_scoped(&self, scope: &PurgeScope, before: DateTime<Utc>) -> Result<u64> {
        let mut tables = self.tables.write();
        let tables = &mut *tables;
        let records = &tables.records;
        Ok(tables
            .audit
            .purge_scoped(scope, before, |id| records.get(&id).map(|r| r.version)))
    }
}

#[cfg(test)]
mod tests {
    use apikey_core::{AuditFilter, AuditStore, EventType, KeyStore, TenantScope};
    use chrono::Duration;

    use crate::MemoryStore;
    use crate::fixtures::{event, record, t0};

    #[tokio::test]
    async fn audit_filters_orders_dedups_and_purges() {
        let store = MemoryStore::new();
        let r = record(None, 0);
        let created = event(&r, EventType::Created, t0());
        store.insert(&r, &created).await.unwrap();
        let mut v = r.clone();
        for i in 1..=3 {
            let before = v.version;
            v.version += 1;
            let action = if i == 2 {
                EventType::Suspended
            } else {
                EventType::Updated
            };
            let ev = event(&v, action, t0() + Duration::days(i));
            store
                .update(&TenantScope::All, before, &v, &ev)
                .await
                .unwrap();
            // A retried write of the same event must not duplicate it.
            if i == 3 {
                let mut again = v.clone();
                again.version += 1;
                store
                    .update(&TenantScope::All, v.version, &again, &ev)
                    .await
                    .unwrap();
            }
        }
        let all = AuditStore::query(&store, &TenantScope::All, &AuditFilter::default())
            .await
            .unwrap();
        assert_eq!(all.len(), 4);
        assert!(
            all.windows(2)
                .all(|w| (w[0].at, w[0].id) < (w[1].at, w[1].id))
        );

        let only = AuditFilter {
            types: vec![EventType::Suspended],
            ..AuditFilter::default()
        };
        assert_eq!(
            AuditStore::query(&store, &TenantScope::All, &only)
                .await
                .unwrap()
                .len(),
            1
        );

        let paged = AuditFilter {
            limit: 2,
            after: Some((all[1].at, all[1].id)),
            ..AuditFilter::default()
        };
        let page = AuditStore::query(&store, &TenantScope::All, &paged)
            .await
            .unwrap();
        assert_eq!(page, all[2..4].to_vec());

        assert_eq!(
            store.purge_before(t0() + Duration::days(2)).await.unwrap(),
            2
        );
        let left = AuditStore::query(&store, &TenantScope::All, &AuditFilter::default())
            .await
            .unwrap();
        assert_eq!(left, all[2..].to_vec());
        assert_eq!(store.purge_before(t0()).await.unwrap(), 0);
    }
}
