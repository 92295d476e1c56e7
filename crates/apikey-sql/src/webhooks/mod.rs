//! The statements of webhooks (migration 0009): [`subscriptions`] in
//! `apikey_webhook_subscriptions` and [`deliveries`] in `apikey_webhook_deliveries`. Both carry
//! `tenant_key`, the tenant id or [`DEFAULT_ROW`](crate::tenant::DEFAULT_ROW) for no tenant, so a
//! [`TenantScope`] is one equality on an indexed column.

pub mod deliveries;
pub mod subscriptions;

use apikey_core::{Error, TenantId, TenantScope};

use crate::codec::{Reader, Row};
use crate::sql::Sql;

/// Appends ` AND tenant_key = …` when `scope` names a tenant (`All` adds nothing).
fn push_scope(sql: &mut Sql, scope: &TenantScope) {
    if let TenantScope::Tenant(t) = scope {
        sql.push(" AND tenant_key = ").bind(t.as_str());
    }
}

/// The tenant of a row's `tenant_key` (`''` is no tenant).
fn tenant_of<R: Row + ?Sized>(r: &Reader<'_, R>) -> Result<Option<TenantId>, R::Error> {
    let key = r.text("tenant_key")?;
    if key.is_empty() {
        return Ok(None);
    }
    TenantId::new(key)
        .map(Some)
        .map_err(|e: Error| r.corrupt("tenant_key", e))
}
