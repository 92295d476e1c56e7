//! The service's own keys: admin keys in the reserved tenant [`ADMIN_TENANT`], their scopes, the
//! tenant an admin key acts for, and the root key.

use apikey_axum::Verified;
use apikey_core::{
    ADMIN_TENANT, ApiKeys, Change, CreatedKey, Metadata, NewKey, TenantId, TenantScope,
};

use crate::problem::Problem;

/// Every admin scope; the root key holds all of them.
pub const ADMIN_SCOPES: [&str; 8] = [
    "keys:read",
    "keys:write",
    "keys:verify",
    "audit:read",
    "usage:read",
    "webhooks:read",
    "webhooks:write",
    "admins:write",
];

/// The reserved tenant as a `TenantId`.
pub fn admin_tenant() -> TenantId {
    TenantId::new(ADMIN_TENANT).expect("the reserved tenant id is valid")
}

/// Creates the root key: an admin key holding every admin scope, for every tenant. Its token is
/// in the result, shown once.
///
/// # Errors
///
/// What the manager returns (the store, the tenant's limits).
pub async fn create_root_key(keys: &ApiKeys) -> apikey_core::Result<CreatedKey> {
    let new = NewKey::new("root")
        .tenant(admin_tenant())
        .description("apikey serve: the root admin key")
        .scopes(ADMIN_SCOPES)?;
    keys.manager()
        .create_as(new, Change::by("apikey serve --init"))
        .await
}

/// The tenants an admin key may see: its metadata's `"tenant"`, or every tenant.
pub(crate) fn scope_of(key: &Verified) -> Result<TenantScope, Problem> {
    match key.record().metadata.as_map().get("tenant") {
        None => Ok(TenantScope::All),
        Some(serde_json::Value::String(t)) => TenantId::new(t.as_str())
            .map(TenantScope::Tenant)
            .map_err(|_| Problem::bad_request("this admin key names an invalid tenant")),
        Some(_) => Err(Problem::bad_request(
            "this admin key's \"tenant\" metadata is not a string",
        )),
    }
}

/// The metadata that makes an admin key act for `tenant` only.
pub fn tenant_metadata(tenant: &TenantId) -> Metadata {
    Metadata::from_value(serde_json::json!({ "tenant": tenant.as_str() }))
        .expect("a one-field object is valid metadata")
}
