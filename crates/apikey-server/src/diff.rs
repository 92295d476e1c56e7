//! `GET /v1/keys/{id}/diff?from=N&to=M`: what changed in a key's public view between two of its
//! versions (read back from the audit log), field by field.

use apikey_axum::Verified;
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::admin::scope_of;
use crate::keys::{key_id, managed};
use crate::problem::Problem;

/// The two versions.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    /// The earlier version.
    #[param(minimum = 1)]
    pub from: u64,
    /// The later version.
    #[param(minimum = 1)]
    pub to: u64,
}

/// One field that differs.
#[derive(Debug, Serialize, ToSchema)]
pub struct Change {
    /// The view's field (`scopes`, `rate_limit`, …).
    pub field: String,
    /// Its value at `from`.
    #[schema(value_type = Object)]
    pub from: serde_json::Value,
    /// Its value at `to`.
    #[schema(value_type = Object)]
    pub to: serde_json::Value,
}

/// The fields that differ, by name (bookkeeping such as `version` and `updated_at` left out).
#[derive(Debug, Serialize, ToSchema)]
pub struct Diff {
    /// The changes.
    pub changes: Vec<Change>,
}

/// What changed between two versions of a key.
#[utoipa::path(get, path = "/v1/keys/{id}/diff", params(crate::keys::KeyPath, DiffQuery), responses(
    (status = 200, description = "The fields that differ", body = Diff),
    (status = 400, description = "The id is not a UUID, or the versions are missing or not numbers (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:read (problem+json)"),
    (status = 404, description = "No such key in the admin key's tenants, or a version it never had (problem+json)"),
))]
pub(crate) async fn diff(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<DiffQuery>, QueryRejection>,
) -> Result<Json<Diff>, Problem> {
    let id = key_id(id)?;
    let Query(q) = q.map_err(|e| Problem::bad_request(e.body_text()))?;
    if q.from == 0 || q.to == 0 {
        return Err(Problem::bad_request("versions start at 1"));
    }
    let scope = scope_of(&key)?;
    managed(&st, &scope, id).await?;
    let changes = st.keys.manager().diff(&scope, id, q.from, q.to).await?;
    Ok(Json(Diff {
        changes: changes
            .into_iter()
            .map(|c| Change {
                field: c.field,
                from: c.from,
                to: c.to,
            })
            .collect(),
    }))
}
