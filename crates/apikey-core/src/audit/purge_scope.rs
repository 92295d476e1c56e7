//! [`PurgeScope`]: whose events one retention purge may delete, so each tenant's retention rule
//! applies to its own events only.

use crate::ids::TenantId;

/// Whose rows a scoped purge deletes, by their tenant: audit events
/// ([`purge_scoped`](super::AuditStore::purge_scoped)) and usage buckets
/// ([`purge_usage_scoped`](crate::analytics::AnalyticsStore::purge_usage_scoped)), planned by
/// [`retention_plan`](crate::tenant::retention_plan).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PurgeScope {
    /// Only this tenant's events.
    Tenant(TenantId),
    /// Every event but those of these tenants (events without a tenant included): the rest,
    /// under the default rule. Empty: every event, as [`purge_before`](super::AuditStore::purge_before).
    AllBut(Vec<TenantId>),
}

impl PurgeScope {
    /// Whether an event of `tenant` is in scope.
    pub fn contains(&self, tenant: Option<&TenantId>) -> bool {
        match self {
            Self::Tenant(t) => tenant == Some(t),
            Self::AllBut(except) => tenant.is_none_or(|t| !except.contains(t)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_split_the_log_without_overlap() {
        let a = TenantId::new("a").unwrap();
        let b = TenantId::new("b").unwrap();
        let only_a = PurgeScope::Tenant(a.clone());
        let rest = PurgeScope::AllBut(vec![a.clone()]);
        for t in [Some(&a), Some(&b), None] {
            assert_ne!(only_a.contains(t), rest.contains(t), "{t:?}");
        }
        assert!(PurgeScope::AllBut(Vec::new()).contains(Some(&a)));
    }
}
