//! `POST /v1/keys/{id}/clone` and `POST /v1/keys/{id}/transfer`: a new key with another's
//! settings (its own token, shown once), and a key handed to another owner.

use apikey_axum::Verified;
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::admin::scope_of;
use crate::keys::{CreatedKey, actor_because, body, key_id, managed, view};
use crate::lifecycle::optional;
use crate::problem::Problem;

/// How to clone.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloneKey {
    /// The new key's name (default: the original's).
    #[schema(schema_with = crate::schema::optional_label)]
    pub name: Option<String>,
    /// Why (recorded in the audit log).
    #[schema(schema_with = crate::schema::reason)]
    pub reason: Option<String>,
}

/// Where to transfer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The new owner.
    #[schema(schema_with = crate::schema::name)]
    pub owner: String,
    /// Why (recorded in the audit log).
    #[schema(schema_with = crate::schema::reason)]
    pub reason: Option<String>,
}

/// A new key with this key's scopes, limits, rules, metadata, tags, owner and tenant.
#[utoipa::path(post, path = "/v1/keys/{id}/clone", params(crate::keys::KeyPath,
    ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body within 24 hours get the first answer again (Idempotent-Replayed: true)", pattern = r"^[\x21-\x7e]{1,255}$")),
    request_body(content = CloneKey, description = "Optional"), responses(
    (status = 201, description = "The new key; its token is shown once", body = CreatedKey),
    (status = 400, description = "The id is not a UUID, or the body is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write (problem+json)"),
    (status = 404, description = "No such key in the admin key's tenants (problem+json)"),
    (status = 409, description = "The key is revoked, or a key limit of its tenant is reached (problem+json)"),
    (status = 415, description = "A body that is not application/json (problem+json)"),
    (status = 422, description = "A field is invalid (problem+json)"),
))]
pub(crate) async fn clone(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
    b: Result<Json<CloneKey>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedKey>), Problem> {
    let id = key_id(id)?;
    let b = optional(b)?;
    let scope = scope_of(&key)?;
    managed(&st, &scope, id).await?;
    let created = st
        .keys
        .manager()
        .clone_key(&scope, id, b.name, actor_because(&key, b.reason))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            key: view(&created.record),
            token: created.token.expose().to_owned(),
        }),
    ))
}

/// Hands a key to another owner (the owner's key limits of its tenant apply).
#[utoipa::path(post, path = "/v1/keys/{id}/transfer", params(crate::keys::KeyPath), request_body = Transfer, responses(
    (status = 200, description = "The key as it is now", body = Object),
    (status = 400, description = "The id is not a UUID, or the body is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write (problem+json)"),
    (status = 404, description = "No such key in the admin key's tenants (problem+json)"),
    (status = 409, description = "The owner's key limit is reached, or the key changed meanwhile (problem+json)"),
    (status = 415, description = "The body is not application/json (problem+json)"),
    (status = 422, description = "A field is invalid, or the key has that owner already (problem+json)"),
))]
pub(crate) async fn transfer(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
    b: Result<Json<Transfer>, JsonRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    let id = key_id(id)?;
    let b = body(b)?;
    let scope = scope_of(&key)?;
    managed(&st, &scope, id).await?;
    let record = st
        .keys
        .manager()
        .transfer(&scope, id, &b.owner, actor_because(&key, b.reason))
        .await?;
    Ok(Json(view(&record)))
}
