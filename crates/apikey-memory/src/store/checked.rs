//! The [`CheckedInsert`] implementation of [`MemoryStore`]: the store's one write lock is the
//! per-tenant lock, so counting, checking and inserting the whole batch is one critical section.

use apikey_core::tenant::{CheckedInsert, CountLimits, check_same_tenant};
use apikey_core::{AuditEvent, Error, ErrorKind, KeyRecord, Result, TenantId};
use async_trait::async_trait;

use super::MemoryStore;

#[async_trait]
impl CheckedInsert for MemoryStore {
    async fn insert_checked(
        &self,
        tenant: Option<&TenantId>,
        items: &[(KeyRecord, AuditEvent)],
        limits: &CountLimits,
    ) -> Result<()> {
        check_same_tenant(tenant, items)?;
        let mut t = self.tables.write();
        let counted = |owner: Option<&str>| {
            t.records
                .values()
                .filter(|r| {
                    r.tenant_id.as_ref() == tenant
                        && limits.counted_states.contains(&r.state)
                        && owner.is_none_or(|o| r.owner.as_deref() == Some(o))
                })
                .count() as u64
        };
        let records = || items.iter().map(|(r, _)| r);
        if !limits.is_unlimited() {
            let tenant_count = counted(None);
            limits.check(tenant, records(), tenant_count, |o| counted(Some(o)))?;
        }
        // Every check before the first write: all or none.
        for (i, (r, _)) in items.iter().enumerate() {
            t.check_insert(r)?;
            let earlier = &items[..i];
            if earlier
                .iter()
                .any(|(e, _)| e.id == r.id || e.lookup_id == r.lookup_id)
            {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("key {} is in the batch twice", r.id),
                ));
            }
            if let Some(a) = r
                .aliases
                .iter()
                .find(|a| earlier.iter().any(|(e, _)| e.aliases.contains(a)))
            {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("alias {a:?} is given to two keys of the batch"),
                ));
            }
        }
        for (r, e) in items {
            t.insert(r.clone())?;
            t.audit.append(e);
        }
        Ok(())
    }
}
