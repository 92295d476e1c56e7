//! `/v1/keys/{id}/revoke|suspend|unsuspend|restore|approve|reject|rotate`: a key's lifecycle, each change
//! audited as the admin key that made it, within the tenants that admin key may see.

use apikey_axum::Verified;
use apikey_core::{KeyId, KeyRecord, TenantScope};
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::admin::scope_of;
use crate::keys::{actor_because, body, key_id, managed, view};
use crate::problem::Problem;

/// A reason for a change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Why (recorded in the audit log).
    #[schema(schema_with = crate::schema::reason)]
    pub reason: Option<String>,
}

/// How to rotate.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rotate {
    /// How long the old key keeps working, in seconds (default 0: it stops at once; at most
    /// 365 days).
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(minimum = 0, maximum = 31_536_000)]
    pub grace_secs: Option<u64>,
    /// Why (recorded in the audit log).
    #[schema(schema_with = crate::schema::reason)]
    pub reason: Option<String>,
}

/// A rotated key: the new one with its token (shown once) and the one it replaces.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rotated {
    /// The new key's public view.
    #[schema(value_type = Object)]
    pub key: serde_json::Value,
    /// The new key's whole token.
    pub token: String,
    /// The old key's public view.
    #[schema(value_type = Object)]
    pub replaces: serde_json::Value,
}

/// An optional JSON body: none at all is the default.
pub(crate) fn optional<T: Default>(b: Result<Json<T>, JsonRejection>) -> Result<T, Problem> {
    match b {
        Err(JsonRejection::MissingJsonContentType(_)) => Ok(T::default()),
        other => body(other),
    }
}

#[derive(Clone, Copy)]
enum Op {
    Revoke,
    Suspend,
    Unsuspend,
    Restore,
    Approve,
    Reject,
}

async fn change(
    st: &AppState,
    key: &Verified,
    id: Result<Path<String>, PathRejection>,
    b: Result<Json<Reason>, JsonRejection>,
    op: Op,
) -> Result<Json<serde_json::Value>, Problem> {
    let id: KeyId = key_id(id)?;
    let reason = optional(b)?;
    let scope: TenantScope = scope_of(key)?;
    managed(st, &scope, id).await?;
    let who = actor_because(key, reason.reason);
    let m = st.keys.manager();
    let record: KeyRecord = match op {
        Op::Revoke => m.revoke(&scope, id, who).await?,
        Op::Suspend => m.suspend(&scope, id, who).await?,
        Op::Unsuspend => m.unsuspend(&scope, id, who).await?,
        Op::Restore => m.restore(&scope, id, who).await?,
        Op::Approve => m.approve(&scope, id, who).await?,
        Op::Reject => m.reject(&scope, id, who).await?,
    };
    Ok(Json(view(&record)))
}

/// Revokes a key, with an optional reason.
#[utoipa::path(post, path = "/v1/keys/{id}/revoke", params(crate::keys::KeyPath), request_body(content = Reason, description = "Optional"), responses(
    (status = 200, description = "The revoked key", body = Object),
    (status = 400, description = "The id is not a UUID, or the body is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write (problem+json)"),
    (status = 404, description = "No such key in the admin key's tenants (problem+json)"),
    (status = 409, description = "The key is revoked already (problem+json)"),
    (status = 415, description = "A body that is not application/json (problem+json)"),
    (status = 422, description = "A field of the body is invalid (problem+json)"),
))]
pub(crate) async fn revoke(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
    b: Result<Json<Reason>, JsonRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    change(&st, &key, id, b, Op::Revoke).await
}

/// Suspends an active key, with an optional reason.
#[utoipa::path(post, path = "/v1/keys/{id}/suspend", params(crate::keys::KeyPath), request_body(content = Reason, description = "Optional"), responses(
    (status = 200, description = "The suspended key", body = Object),
    (status = 400, description = "The id is not a UUID, or the body is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write (problem+json)"),
    (status = 404, description = "No such key in the admin key's tenants (problem+json)"),
    (status = 409, description = "The key is not active (problem+json)"),
    (status = 415, description = "A body that is not application/json (problem+json)"),
    (status = 422, description = "A field of the body is invalid (problem+json)"),
))]
pub(crate) async fn suspend(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
    b: Result<Json<Reason>, JsonRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    change(&st, &key, id, b, Op::Suspend).await
}

/// Makes a suspended key active again.
#[utoipa::path(post, path = "/v1/keys/{id}/unsuspend", params(crate::keys::KeyPath), request_body(content = Reason, description = "Optional"), responses(
    (status = 200, description = "The active key", body = Object),
    (status = 400, description = "The id is not a UUID, or the body is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write (problem+json)"),
    (status = 404, description = "No such key in the admin key's tenants (problem+json)"),
    (status = 409, description = "The key is not suspended (problem+json)"),
    (status = 415, description = "A body that is not application/json (problem+json)"),
    (status = 422, description = "A field of the body is invalid (problem+json)"),
))]
pub(crate) async fn unsuspend(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
    b: Result<Json<Reason>, JsonRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    change(&st, &key, id, b, Op::Unsuspend).await
}

/// Makes a revoked key active again.
#[utoipa::path(post, path = "/v1/keys/{id}/restore", params(crate::keys::KeyPath), request_body(content = Reason, description = "Optional"), responses(
    (status = 200, description = "The active key", body = Object),
    (status = 400, description = "The id is not a UUID, or the body is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write (problem+json)"),
    (status = 404, description = "No such key in the admin key's tenants (problem+json)"),
    (status = 409, description = "The key is not revoked (problem+json)"),
    (status = 415, description = "A body that is not application/json (problem+json)"),
    (status = 422, description = "A field of the body is invalid (problem+json)"),
))]
pub(crate) async fn restore(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
    b: Result<Json<Reason>, JsonRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    change(&st, &key, id, b, Op::Restore).await
}

/// Approves a key that is pending approval (its tenant requires approval); the approver is recorded.
#[utoipa::path(post, path = "/v1/keys/{id}/approve", params(crate::keys::KeyPath), request_body(content = Reason, description = "Optional"), responses(
    (status = 200, description = "The active key", body = Object),
    (status = 400, description = "The id is not a UUID, or the body is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write (problem+json)"),
    (status = 404, description = "No such key in the admin key's tenants (problem+json)"),
    (status = 409, description = "The key is not pending approval (problem+json)"),
    (status = 415, description = "A body that is not application/json (problem+json)"),
    (status = 422, description = "A field of the body is invalid (problem+json)"),
))]
pub(crate) async fn approve(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
    b: Result<Json<Reason>, JsonRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    change(&st, &key, id, b, Op::Approve).await
}

/// Rejects a key that is pending approval: it becomes revoked, with the reason.
#[utoipa::path(post, path = "/v1/keys/{id}/reject", params(crate::keys::KeyPath), request_body(content = Reason, description = "Optional"), responses(
    (status = 200, description = "The revoked key", body = Object),
    (status = 400, description = "The id is not a UUID, or the body is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write (problem+json)"),
    (status = 404, description = "No such key in the admin key's tenants (problem+json)"),
    (status = 409, description = "The key is not pending approval (problem+json)"),
    (status = 415, description = "A body that is not application/json (problem+json)"),
    (status = 422, description = "A field of the body is invalid (problem+json)"),
))]
pub(crate) async fn reject(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
    b: Result<Json<Reason>, JsonRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    change(&st, &key, id, b, Op::Reject).await
}

/// Replaces a key with a new one (its token shown once); the old one works for the grace period.
#[utoipa::path(post, path = "/v1/keys/{id}/rotate", params(crate::keys::KeyPath, ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body within 24 hours get the first answer again (Idempotent-Replayed: true)", pattern = r"^[\x21-\x7e]{1,255}$")), request_body(content = Rotate, description = "Optional"), responses(
    (status = 201, description = "The new key, its token, and the key it replaces", body = Rotated),
    (status = 400, description = "The id is not a UUID, or the body is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write (problem+json)"),
    (status = 404, description = "No such key in the admin key's tenants (problem+json)"),
    (status = 409, description = "The key is not active, or was rotated already (problem+json)"),
    (status = 415, description = "A body that is not application/json (problem+json)"),
    (status = 422, description = "A field of the body is invalid (problem+json)"),
))]
pub(crate) async fn rotate(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
    b: Result<Json<Rotate>, JsonRejection>,
) -> Result<(StatusCode, Json<Rotated>), Problem> {
    let id = key_id(id)?;
    let r = optional(b)?;
    let scope = scope_of(&key)?;
    managed(&st, &scope, id).await?;
    let grace =
        chrono::Duration::try_seconds(i64::try_from(r.grace_secs.unwrap_or(0)).unwrap_or(i64::MAX))
            .ok_or_else(|| Problem::bad_request("`grace_secs` is out of range"))?;
    let who = actor_because(&key, r.reason);
    let m = st.keys.manager();
    let created = m.rotate(&scope, id, grace, who).await?;
    let old = m.get(&scope, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(Rotated {
            key: view(&created.record),
            token: created.token.expose().to_owned(),
            replaces: view(&old),
        }),
    ))
}
