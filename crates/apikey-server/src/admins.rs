//! `/v1/admins`: the service's own keys, managed with `admins:write`, without escalation.
//!
//! An admin key grants only scopes it holds and only within its tenants: a tenant's admin key
//! makes admin keys of that tenant, never one for every tenant; a key without `keys:write` cannot
//! make one that has it. It revokes only admin keys it could have made, so nothing short of
//! another key holding every scope for every tenant touches the root key.

use apikey_axum::Verified;
use apikey_core::{KeyFilter, KeyRecord, NewKey, Scope, TenantId, TenantScope};
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::admin::{ADMIN_SCOPES, admin_tenant, scope_of, tenant_metadata};
use crate::keys::{CreatedKey, KeyPage, actor, actor_because, body, key_id, view};
use crate::lifecycle::Reason;
use crate::problem::Problem;

/// A new admin key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAdmin {
    /// A human-readable name.
    #[schema(schema_with = crate::schema::name)]
    pub name: String,
    /// Admin scopes, each one the caller holds.
    #[schema(schema_with = crate::schema::admin_scopes)]
    pub scopes: Vec<String>,
    /// The tenant it acts for; none for every tenant (only a key for every tenant may make one).
    #[schema(schema_with = crate::schema::tenant)]
    pub tenant: Option<String>,
    /// Free text.
    #[schema(schema_with = crate::schema::description)]
    pub description: Option<String>,
    /// When it stops working (RFC 3339, in the future).
    #[schema(schema_with = crate::schema::instant)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// Paging through admin keys.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AdminQuery {
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    #[param(
        pattern = r"^-?[0-9]{1,15}\.[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub after: Option<String>,
}

fn forbidden(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::FORBIDDEN, "escalation", detail)
}

/// The tenant an admin key acts for, `None` for every tenant (as [`scope_of`] reads it).
fn acts_for(r: &KeyRecord) -> Option<String> {
    match r.metadata.as_map().get("tenant") {
        Some(serde_json::Value::String(t)) => Some(t.clone()),
        _ => None,
    }
}

/// Whether `target` acts only within the tenants of `caller_scope`.
fn within(caller_scope: &TenantScope, target: &KeyRecord) -> bool {
    match (caller_scope, acts_for(target)) {
        (TenantScope::All, _) => true,
        (TenantScope::Tenant(own), Some(t)) => own.as_str() == t,
        (TenantScope::Tenant(_), None) => false,
    }
}

/// Whether `caller` could have made `target`: every scope of it, and its tenants within the
/// caller's.
fn covers(caller: &Verified, caller_scope: &TenantScope, target: &KeyRecord) -> bool {
    within(caller_scope, target) && caller.record().scopes.satisfies(target.scopes.as_slice())
}

/// Creates an admin key; its token is in the answer, the only time it is shown.
#[utoipa::path(post, path = "/v1/admins", operation_id = "create_admin", request_body = CreateAdmin, params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body within 24 hours get the first answer again (Idempotent-Replayed: true)", pattern = r"^[\x21-\x7e]{1,255}$")), responses(
    (status = 201, description = "Created; the token is shown once", body = CreatedKey),
    (status = 400, description = "The body is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The caller lacks admins:write, a scope it grants, or the tenant (problem+json)"),
    (status = 409, description = "A key limit is reached (problem+json)"),
    (status = 415, description = "The body is not application/json (problem+json)"),
    (status = 422, description = "A field is invalid, or the expiry is not in the future (problem+json)"),
))]
pub(crate) async fn create(
    State(st): State<AppState>,
    key: Verified,
    b: Result<Json<CreateAdmin>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedKey>), Problem> {
    let b = body(b)?;
    let mut scopes = Vec::with_capacity(b.scopes.len());
    for s in &b.scopes {
        if !ADMIN_SCOPES.contains(&s.as_str()) {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                format!(
                    "{s:?} is not an admin scope (one of {})",
                    ADMIN_SCOPES.join(", ")
                ),
            ));
        }
        scopes.push(Scope::new(s)?);
    }
    if let Some(missing) = key.record().scopes.first_missing(&scopes) {
        return Err(forbidden(format!(
            "an admin key grants only scopes it holds; it lacks {missing}"
        )));
    }
    let tenant = match (scope_of(&key)?, b.tenant) {
        (TenantScope::All, t) => t
            .map(TenantId::new)
            .transpose()
            .map_err(|e| Problem::bad_request(e.message().to_owned()))?,
        (TenantScope::Tenant(own), Some(t)) if t == own.as_str() => Some(own),
        (TenantScope::Tenant(own), None) => Some(own),
        (TenantScope::Tenant(_), Some(_)) => {
            return Err(forbidden(
                "this admin key makes admin keys of its own tenant only",
            ));
        }
    };
    let mut new = NewKey::new(b.name)
        .tenant(admin_tenant())
        .scopes(scopes.iter().map(Scope::as_str))?;
    if let Some(t) = &tenant {
        new = new.metadata(tenant_metadata(t));
    }
    new.description = b.description;
    new.expires_at = b.expires_at;
    let created = st.admin.manager().create_as(new, actor(&key)).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            key: view(&created.record),
            token: created.token.expose().to_owned(),
        }),
    ))
}

/// Lists the admin keys the caller could have made, oldest first.
#[utoipa::path(get, path = "/v1/admins", operation_id = "list_admins", params(AdminQuery), responses(
    (status = 200, description = "A page of admin keys", body = KeyPage),
    (status = 400, description = "A bad limit or cursor (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The caller lacks admins:write (problem+json)"),
))]
pub(crate) async fn list(
    State(st): State<AppState>,
    key: Verified,
    q: Result<Query<AdminQuery>, QueryRejection>,
) -> Result<Json<KeyPage>, Problem> {
    let Query(q) = q.map_err(|e| Problem::bad_request(e.body_text()))?;
    let limit = crate::keys::page_limit(q.limit)?;
    let filter = KeyFilter {
        after: q
            .after
            .as_deref()
            .map(crate::keys::parse_cursor)
            .transpose()?,
        limit,
        ..KeyFilter::default()
    };
    let caller = scope_of(&key)?;
    let page = st
        .admin
        .manager()
        .query(&TenantScope::Tenant(admin_tenant()), &filter)
        .await?;
    Ok(Json(KeyPage {
        items: page
            .items
            .iter()
            .filter(|r| covers(&key, &caller, r))
            .map(view)
            .collect(),
        next: page.next.as_ref().map(crate::keys::cursor_text),
    }))
}

/// Revokes an admin key the caller could have made.
#[utoipa::path(post, path = "/v1/admins/{id}/revoke", operation_id = "revoke_admin", params(crate::keys::KeyPath), request_body(content = Reason, description = "Optional"), responses(
    (status = 200, description = "The revoked admin key", body = Object),
    (status = 400, description = "The id is not a UUID, or the body is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The caller lacks admins:write, or a scope the key holds (problem+json)"),
    (status = 404, description = "No such admin key in the caller's tenants (problem+json)"),
    (status = 409, description = "It is revoked already (problem+json)"),
    (status = 415, description = "A body that is not application/json (problem+json)"),
    (status = 422, description = "A field of the body is invalid (problem+json)"),
))]
pub(crate) async fn revoke(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
    b: Result<Json<Reason>, JsonRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    let id = key_id(id)?;
    let reason = crate::lifecycle::optional(b)?;
    let caller = scope_of(&key)?;
    let admins = TenantScope::Tenant(admin_tenant());
    let m = st.admin.manager();
    let target = m.get(&admins, id).await?;
    if !within(&caller, &target) {
        return Err(Problem::not_found(format!("key {id} not found")));
    }
    if !covers(&key, &caller, &target) {
        return Err(forbidden(
            "an admin key revokes only admin keys whose scopes it holds",
        ));
    }
    let who = actor_because(&key, reason.reason);
    let record = m.revoke(&admins, id, who).await?;
    Ok(Json(view(&record)))
}
