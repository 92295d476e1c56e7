//! [`CheckedInsert`]: inserting keys and checking the key-count limits in one atomic step, so
//! that two creations racing for the last place cannot both take it.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::{KeyLimit, KeyLimitReached, TenantSettings};
use crate::audit::AuditEvent;
use crate::error::{Error, Result};
use crate::ids::TenantId;
use crate::record::KeyRecord;
use crate::state::KeyState;

/// The key-count limits of one tenant, as a store checks them (from [`TenantSettings`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountLimits {
    /// At most this many counted keys in the tenant.
    pub max_per_tenant: Option<u32>,
    /// At most this many counted keys per owner in the tenant (keys without an owner are free).
    pub max_per_owner: Option<u32>,
    /// The stored states that count.
    pub counted_states: Vec<KeyState>,
}

impl CountLimits {
    /// The limits of `settings`.
    pub fn of(settings: &TenantSettings) -> Self {
        Self {
            max_per_tenant: settings.max_keys_per_tenant,
            max_per_owner: settings.max_keys_per_owner,
            counted_states: settings.counted_states.clone(),
        }
    }

    /// No limit at all: nothing to count.
    pub fn none() -> Self {
        Self {
            max_per_tenant: None,
            max_per_owner: None,
            counted_states: Vec::new(),
        }
    }

    /// Whether there is nothing to check.
    pub fn is_unlimited(&self) -> bool {
        self.max_per_tenant.is_none() && self.max_per_owner.is_none()
    }

    fn counts(&self, r: &KeyRecord) -> bool {
        self.counted_states.contains(&r.state)
    }

    /// The owners whose stored counts [`check`](Self::check) needs: each distinct owner of a
    /// counted new record, when there is a per-owner limit.
    pub fn owners_to_count<'a>(
        &self,
        records: impl IntoIterator<Item = &'a KeyRecord>,
    ) -> Vec<String> {
        if self.max_per_owner.is_none() {
            return Vec::new();
        }
        let mut owners: Vec<String> = records
            .into_iter()
            .filter(|r| self.counts(r))
            .filter_map(|r| r.owner.clone())
            .collect();
        owners.sort();
        owners.dedup();
        owners
    }

    /// Refuses the insertion of `records` (all of `tenant`) when, with the stored counts given,
    /// a limit would be passed: `tenant_count` is the tenant's counted keys (needed when
    /// `max_per_tenant` is set), `owner_count` each owner's from
    /// [`owners_to_count`](Self::owners_to_count). The error is
    /// [`LimitReached`](crate::ErrorKind::LimitReached) with a [`KeyLimitReached`] naming the limit.
    pub fn check<'a>(
        &self,
        tenant: Option<&TenantId>,
        records: impl IntoIterator<Item = &'a KeyRecord> + Clone,
        tenant_count: u64,
        owner_count: impl Fn(&str) -> u64,
    ) -> Result<()> {
        if let Some(max) = self.max_per_tenant {
            let new = records
                .clone()
                .into_iter()
                .filter(|r| self.counts(r))
                .count() as u64;
            if tenant_count + new > u64::from(max) {
                return Err(KeyLimitReached {
                    limit: KeyLimit::PerTenant(tenant.cloned()),
                    max,
                    count: tenant_count,
                }
                .into_error());
            }
        }
        if let Some(max) = self.max_per_owner {
            let mut new: BTreeMap<&str, u64> = BTreeMap::new();
            for r in records.into_iter().filter(|r| self.counts(r)) {
                if let Some(o) = &r.owner {
                    *new.entry(o.as_str()).or_default() += 1;
                }
            }
            for (owner, n) in new {
                let count = owner_count(owner);
                if count + n > u64::from(max) {
                    return Err(KeyLimitReached {
                        limit: KeyLimit::PerOwner(tenant.cloned(), owner.to_owned()),
                        max,
                        count,
                    }
                    .into_error());
                }
            }
        }
        Ok(())
    }
}

/// The optional capability of a [`KeyStore`](crate::KeyStore) to insert keys under their
/// tenant's limits atomically, and several at once, all or none. Reached through
/// [`KeyStore::checked`](crate::KeyStore::checked).
///
/// Without it, [`KeyManager`](crate::KeyManager) counts and then inserts: concurrent creations may
/// overshoot a limit by the number in flight, and an atomic bulk creation is refused.
#[async_trait]
pub trait CheckedInsert: Send + Sync {
    /// Inserts every record with its creation event, all or none: a failure of any (a
    /// duplicate id, lookup id or alias is `Conflict`) writes nothing.
    ///
    /// Every record belongs to `tenant`. Checked inserts of one tenant are serialized (a lock
    /// held until commit); under it the store counts the tenant's keys in
    /// `limits.counted_states` (and each owner's, see [`CountLimits::owners_to_count`]) and
    /// calls [`CountLimits::check`] before inserting anything. Counting skips what is unlimited.
    async fn insert_checked(
        &self,
        tenant: Option<&TenantId>,
        items: &[(KeyRecord, AuditEvent)],
        limits: &CountLimits,
    ) -> Result<()>;
}

/// Refuses `items` that do not all belong to `tenant`; stores call it first.
pub fn check_same_tenant(
    tenant: Option<&TenantId>,
    items: &[(KeyRecord, AuditEvent)],
) -> Result<()> {
    if items.iter().any(|(r, _)| r.tenant_id.as_ref() != tenant) {
        return Err(Error::invalid(
            "items",
            "every record of a checked insert must belong to its tenant",
        ));
    }
    Ok(())
}
