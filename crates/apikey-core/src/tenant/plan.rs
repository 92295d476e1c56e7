//! [`retention_plan`]: who each retention rule of the tenant settings applies to. Both
//! retention jobs (audit and usage) purge by it, so a tenant's data goes by one set of rules.

use super::settings::Retention;
use super::store::TenantSettingsStore;
use crate::audit::PurgeScope;
use crate::error::Result;

/// The scopes a retention job purges and the days each keeps (`None`: the job's own
/// retention), read from every settings row: each tenant with a row of its own by that row
/// (`days` of it, which may be `None`), then everything else — tenants without a row, and
/// data without a tenant — by the default row. Tenants come in id order; the default scope last.
///
/// # Errors
///
/// When the store cannot list its rows ([`TenantSettingsStore::list`]).
pub async fn retention_plan<S, F>(settings: &S, days: F) -> Result<Vec<(PurgeScope, Option<u32>)>>
where
    S: TenantSettingsStore + ?Sized,
    F: Fn(&Retention) -> Option<u32>,
{
    let mut rows = settings.list().await?;
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut plan = Vec::new();
    let mut default_days = None;
    let mut own = Vec::new();
    for (tenant, stored) in rows {
        let d = days(&stored.settings.retention);
        match tenant {
            None => default_days = d,
            Some(t) => {
                plan.push((PurgeScope::Tenant(t.clone()), d));
                own.push(t);
            }
        }
    }
    plan.push((PurgeScope::AllBut(own), default_days));
    Ok(plan)
}
