//! `/v1/policies`: a tenant's rotation policies — a key is due every N days, then announced
//! (`notify`: a `key.rotation_due` event, which webhooks deliver) or rotated by the
//! `keys.rotation` job (`rotate`, run by `apikey jobs run` with a token sink). A policy applies
//! to a target: `tenant`, `group:NAME` or `key:ID`; the most specific one wins.

use apikey_axum::Verified;
use apikey_core::catalog::{PolicyTarget, RotationMode, RotationPolicy};
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::admin::scope_of;
use crate::keys::query;
use crate::keys::{actor_because, body};
use crate::presets::{PresetQuery, tenant_for};
use crate::problem::Problem;

/// What a policy does when a key is due.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DueMode {
    /// Record `key.rotation_due` and let people rotate.
    Notify,
    /// Rotate, and hand the new token to the rotation job's token sink.
    Rotate,
}

/// A rotation policy.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// What it applies to: `tenant`, `group:NAME` or `key:ID`.
    #[schema(max_length = 300)]
    pub target: String,
    /// A key is due this many days after it was created.
    #[serde(deserialize_with = "crate::schema::whole_required")]
    #[schema(minimum = 1, maximum = 3650)]
    pub every_days: u32,
    /// How long the old key keeps working after a rotation, in days (default 0).
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 365)]
    pub grace_days: Option<u32>,
    /// `notify` or `rotate`.
    pub mode: DueMode,
    /// Why (recorded in the audit log; never shown back).
    #[serde(default, skip_serializing)]
    #[schema(schema_with = crate::schema::reason)]
    pub reason: Option<String>,
}

/// A tenant's policies, by target.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyList {
    /// The policies.
    pub items: Vec<Policy>,
}

/// One policy of a tenant.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PolicyQuery {
    /// The tenant (default: the admin key's own, or the keys without a tenant).
    #[param(pattern = r"^[A-Za-z0-9_.:\-]{1,64}$")]
    pub tenant: Option<String>,
    /// The policy's target: `tenant`, `group:NAME` or `key:ID`.
    #[param(max_length = 300)]
    pub target: String,
}

fn view(target: &PolicyTarget, p: &RotationPolicy) -> Policy {
    Policy {
        target: target.to_string(),
        every_days: p.every_days,
        grace_days: Some(p.grace_days),
        mode: match p.mode {
            RotationMode::Notify => DueMode::Notify,
            RotationMode::Rotate => DueMode::Rotate,
        },
        reason: None,
    }
}

fn target(s: &str) -> Result<PolicyTarget, Problem> {
    s.parse::<PolicyTarget>().map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            e.message().to_owned(),
        )
    })
}

/// The tenant's rotation policies.
#[utoipa::path(get, path = "/v1/policies", operation_id = "list_policies", params(PresetQuery), responses(
    (status = 200, description = "The policies", body = PolicyList),
    (status = 400, description = "A bad tenant (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:read, or names another tenant (problem+json)"),
))]
pub(crate) async fn list(
    State(st): State<AppState>,
    key: Verified,
    q: Result<Query<PresetQuery>, QueryRejection>,
) -> Result<Json<PolicyList>, Problem> {
    let tenant = tenant_for(&scope_of(&key)?, query(q)?.tenant)?;
    let mut items: Vec<Policy> = st
        .keys
        .manager()
        .policies(tenant.as_ref())
        .await?
        .iter()
        .map(|(t, p)| view(t, p))
        .collect();
    items.sort_by(|a, b| a.target.cmp(&b.target));
    Ok(Json(PolicyList { items }))
}

/// Sets the policy of a target (replacing the one it has).
#[utoipa::path(put, path = "/v1/policies", operation_id = "set_policy", params(PresetQuery), request_body = Policy, responses(
    (status = 200, description = "Saved", body = Policy),
    (status = 400, description = "A bad tenant, or a body that is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write, or names another tenant (problem+json)"),
    (status = 404, description = "A key target that is not a key of the tenant (problem+json)"),
    (status = 409, description = "It changed meanwhile (problem+json)"),
    (status = 415, description = "The body is not application/json (problem+json)"),
    (status = 422, description = "A bad target or period (problem+json)"),
))]
pub(crate) async fn set(
    State(st): State<AppState>,
    key: Verified,
    q: Result<Query<PresetQuery>, QueryRejection>,
    b: Result<Json<Policy>, JsonRejection>,
) -> Result<Json<Policy>, Problem> {
    let tenant = tenant_for(&scope_of(&key)?, query(q)?.tenant)?;
    let b = body(b)?;
    let t = target(&b.target)?;
    let policy = RotationPolicy {
        every_days: b.every_days,
        grace_days: b.grace_days.unwrap_or(0),
        mode: match b.mode {
            DueMode::Notify => RotationMode::Notify,
            DueMode::Rotate => RotationMode::Rotate,
        },
    };
    policy.validate()?;
    st.keys
        .manager()
        .set_policy(tenant.as_ref(), &t, policy, actor_because(&key, b.reason))
        .await?;
    Ok(Json(view(&t, &policy)))
}

/// Removes the policy of a target.
#[utoipa::path(delete, path = "/v1/policies", operation_id = "remove_policy", params(PolicyQuery), responses(
    (status = 204, description = "Removed"),
    (status = 400, description = "A bad tenant, or no target (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write, or names another tenant (problem+json)"),
    (status = 404, description = "The target has no policy (problem+json)"),
    (status = 422, description = "A bad target (problem+json)"),
))]
pub(crate) async fn remove(
    State(st): State<AppState>,
    key: Verified,
    q: Result<Query<PolicyQuery>, QueryRejection>,
) -> Result<StatusCode, Problem> {
    let q = query(q)?;
    let t = target(&q.target)?;
    let tenant = tenant_for(&scope_of(&key)?, q.tenant)?;
    st.keys
        .manager()
        .remove_policy(tenant.as_ref(), &t, actor_because(&key, None))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
