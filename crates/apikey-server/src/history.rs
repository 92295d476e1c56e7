//! `GET /v1/keys/{id}/history` and `POST /v1/keys/{id}/rollback`: a key's versions, read back
//! from the audit log, and a return to one of them (itself a new, audited version).

use apikey_axum::Verified;
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::admin::scope_of;
use crate::keys::{actor_because, body, key_id, managed, view};
use crate::problem::Problem;

/// One version of a key.
#[derive(Debug, Serialize, ToSchema)]
pub struct Version {
    /// The key's version after the change.
    pub version: u64,
    /// What the change was (`key.created`, `key.updated`, `key.revoked`, …).
    pub event_type: String,
    /// Who made it.
    pub actor: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// When (RFC 3339).
    pub at: String,
    /// The key's public view after the change.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

/// A key's versions, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    /// The versions.
    pub items: Vec<Version>,
}

/// Where to roll back to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollback {
    /// The version whose fields the key takes again.
    #[serde(deserialize_with = "crate::schema::whole_required")]
    #[schema(minimum = 1)]
    pub to_version: u64,
    /// Why (recorded in the audit log).
    #[schema(schema_with = crate::schema::reason)]
    pub reason: Option<String>,
}

/// A key's versions, from the audit log.
#[utoipa::path(get, path = "/v1/keys/{id}/history", params(crate::keys::KeyPath), responses(
    (status = 200, description = "The key's versions, oldest first", body = History),
    (status = 400, description = "The id is not a UUID (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:read (problem+json)"),
    (status = 404, description = "No such key in the admin key's tenants (problem+json)"),
))]
pub(crate) async fn history(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<History>, Problem> {
    let id = key_id(id)?;
    let scope = scope_of(&key)?;
    managed(&st, &scope, id).await?;
    let versions = st.keys.manager().history(&scope, id).await?;
    Ok(Json(History {
        items: versions
            .into_iter()
            .map(|v| Version {
                version: v.version,
                event_type: v.event_type.as_str().to_owned(),
                actor: v.actor,
                reason: v.reason,
                at: v.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                after: v.after.and_then(|a| serde_json::to_value(a).ok()),
            })
            .collect(),
    }))
}

/// Gives a key the fields it had at an earlier version (state, token and usage stay as they are).
#[utoipa::path(post, path = "/v1/keys/{id}/rollback", params(crate::keys::KeyPath), request_body = Rollback, responses(
    (status = 200, description = "The key as it is now", body = Object),
    (status = 400, description = "The id is not a UUID, or the body is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write (problem+json)"),
    (status = 404, description = "No such key in the admin key's tenants, or no such version (problem+json)"),
    (status = 409, description = "The key is revoked, or changed meanwhile (problem+json)"),
    (status = 415, description = "The body is not application/json (problem+json)"),
    (status = 422, description = "The key has that version's settings already, or a field is invalid (problem+json)"),
))]
pub(crate) async fn rollback(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
    b: Result<Json<Rollback>, JsonRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    let id = key_id(id)?;
    let b = body(b)?;
    let scope = scope_of(&key)?;
    managed(&st, &scope, id).await?;
    let who = actor_because(&key, b.reason);
    let record = st
        .keys
        .manager()
        .rollback(&scope, id, b.to_version, who)
        .await?;
    Ok(Json(view(&record)))
}
