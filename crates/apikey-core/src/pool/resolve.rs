//! Which pools a key is charged against, with which numbers: the tenant's pool presets read once
//! and resolved for each key.

use super::name::{PoolMember, PoolName, PoolTarget};
use crate::catalog::StoredPreset;
use crate::limit::{PoolCharge, PoolKind, PoolLimits};
use crate::record::KeyRecord;
use std::collections::HashMap;

/// A tenant's pools and overrides, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantPools {
    by_name: HashMap<String, PoolLimits>,
}

impl TenantPools {
    /// The pools among `presets` (other kinds and unreadable names are skipped: `save_preset`
    /// validates every pool, so only a hand-edited row can be one).
    pub fn new(presets: &[StoredPreset]) -> Self {
        let by_name = presets
            .iter()
            .filter_map(|p| {
                let limits = p.preset.pool.clone()?;
                p.preset.name.parse::<PoolName>().ok()?;
                Some((p.preset.name.clone(), limits))
            })
            .collect();
        Self { by_name }
    }

    /// Whether the tenant has no pools.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// The numbers of pool `base` for `record`: its override for the key (by id, then lineage),
    /// then for the key's owner, then the pool's own.
    fn numbers(&self, base: &str, record: &KeyRecord) -> Option<&PoolLimits> {
        let own = self.by_name.get(base)?;
        let member = |m: PoolMember| {
            self.by_name
                .get(&format!("{base}@{m}"))
                .filter(|l| !l.is_empty())
        };
        Some(
            member(PoolMember::Key(record.id))
                .or_else(|| member(PoolMember::Key(record.lineage_id)))
                .or_else(|| {
                    record
                        .owner
                        .as_ref()
                        .and_then(|o| member(PoolMember::Owner(o.clone())))
                })
                .unwrap_or(own),
        )
    }

    /// The pools `record` is charged against, narrowest first: its own credits, its owner's pool,
    /// its group's, its tenant's. Empty when none applies.
    pub fn charges_for(&self, record: &KeyRecord) -> Vec<PoolCharge> {
        if self.by_name.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let tenant = record.tenant_id.as_ref();
        let key = PoolTarget::Key(record.lineage_id).to_string();
        if let Some(l) = self.by_name.get(&key)
            && l.credits.is_some()
        {
            let credits = PoolLimits {
                credits: l.credits.clone(),
                ..PoolLimits::default()
            };
            out.push(PoolCharge::new(tenant, PoolKind::Key, key, credits));
        }
        let mut push = |kind, name: String, base: &str| {
            if let Some(limits) = self.numbers(base, record)
                && !limits.is_empty()
            {
                out.push(PoolCharge::new(tenant, kind, name, limits.clone()));
            }
        };
        if let Some(owner) = &record.owner {
            let named = PoolTarget::Owner(owner.clone()).to_string();
            if self.by_name.contains_key(&named) {
                push(PoolKind::Owner, named.clone(), &named);
            } else {
                push(PoolKind::Owner, named, &PoolTarget::EachOwner.to_string());
            }
        }
        if let Some(group) = &record.group {
            let named = PoolTarget::Group(group.clone()).to_string();
            push(PoolKind::Group, named.clone(), &named);
        }
        push(PoolKind::Tenant, "tenant".to_owned(), "tenant");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{CatalogKind, Preset};
    use crate::limit::{CreditPlan, Quota, QuotaPeriod};

    fn pool(name: &str, quota: u64) -> StoredPreset {
        let mut preset = Preset::new(CatalogKind::Pool, name);
        preset.pool = Some(PoolLimits {
            quota: Some(Quota {
                limit: quota,
                period: QuotaPeriod::Day,
            }),
            ..PoolLimits::default()
        });
        StoredPreset {
            tenant: None,
            preset,
            version: 1,
            updated_at: chrono::Utc::now(),
        }
    }

    fn quota_of(c: &PoolCharge) -> u64 {
        c.limits.quota.unwrap().limit
    }

    #[test]
    fn a_key_is_charged_against_its_owner_group_and_tenant_with_overrides() {
        let mut r = crate::verify::test_support::record_with_version(1);
        r.owner = Some("acme".into());
        r.group = Some("free".into());
        let mut credits = Preset::new(CatalogKind::Pool, format!("key:{}", r.lineage_id));
        credits.pool = Some(PoolLimits {
            credits: Some(CreditPlan::once(9)),
            ..PoolLimits::default()
        });
        let presets = vec![
            pool("owner:*", 100),
            pool("group:free", 1000),
            pool(&format!("group:free@key:{}", r.id), 5),
            pool("tenant", 10_000),
            pool("tenant@owner:acme", 20_000),
            pool("owner:other", 1),
            StoredPreset {
                preset: credits,
                ..pool("x", 1)
            },
        ];
        let charges = TenantPools::new(&presets).charges_for(&r);
        let seen: Vec<_> = charges
            .iter()
            .map(|c| (c.kind, c.name.to_string()))
            .collect();
        assert_eq!(
            seen,
            [
                (PoolKind::Key, format!("key:{}", r.lineage_id)),
                (PoolKind::Owner, "owner:acme".to_owned()),
                (PoolKind::Group, "group:free".to_owned()),
                (PoolKind::Tenant, "tenant".to_owned()),
            ]
        );
        assert_eq!(
            charges[1..].iter().map(quota_of).collect::<Vec<_>>(),
            [100, 5, 20_000]
        );
        // A named owner pool replaces the default for that owner.
        let named = TenantPools::new(&[pool("owner:*", 100), pool("owner:acme", 7)]);
        assert_eq!(quota_of(&named.charges_for(&r)[0]), 7);
        // No owner, no group: only the tenant pool.
        r.owner = None;
        r.group = None;
        let only = TenantPools::new(&presets).charges_for(&r);
        assert_eq!(only.len(), 2);
        assert_eq!(only[1].kind, PoolKind::Tenant);
    }
}
