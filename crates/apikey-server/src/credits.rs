//! `GET|POST /v1/keys/{id}/credits`: a key's credit balance, read, topped up or set (with a
//! `credits.adjusted` audit event). Balances live in the limiter: Redis when the service runs
//! with `--redis-url`; without it there are none, which is a 409 that says so.

use apikey_axum::Verified;
use apikey_core::ErrorKind;
use apikey_core::limit::{CreditAdjust, CreditBalance};
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::admin::scope_of;
use crate::keys::{actor_because, body, key_id, managed};
use crate::problem::Problem;

/// A balance.
#[derive(Debug, Serialize, ToSchema)]
pub struct Credits {
    /// Credits left.
    pub balance: u64,
    /// When the next refill is due (RFC 3339); absent for one-time credits.
    pub next_refill: Option<String>,
}

impl From<CreditBalance> for Credits {
    fn from(b: CreditBalance) -> Self {
        Self {
            balance: b.balance,
            next_refill: b
                .next_refill
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        }
    }
}

/// How to adjust a balance.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CreditAction {
    /// Add `amount` (after any refill that is due).
    TopUp,
    /// Make the balance `amount`.
    Set,
}

/// One adjustment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustCredits {
    /// `top_up` or `set`.
    pub action: CreditAction,
    /// The credits added, or the new balance.
    #[serde(deserialize_with = "crate::schema::whole_required")]
    #[schema(minimum = 0)]
    pub amount: u64,
    /// Why (recorded in the audit log).
    #[schema(schema_with = crate::schema::reason)]
    pub reason: Option<String>,
}

/// The limiter has no credits (no `--redis-url`): a state of the service, not of the request.
pub(crate) fn unavailable(e: apikey_core::Error) -> Problem {
    if e.kind() == ErrorKind::Config {
        Problem::new(
            StatusCode::CONFLICT,
            "credits_unavailable",
            "this service keeps no credit balances: run it with --redis-url",
        )
    } else {
        e.into()
    }
}

/// A key's credit balance.
#[utoipa::path(get, path = "/v1/keys/{id}/credits", operation_id = "get_credits", params(crate::keys::KeyPath), responses(
    (status = 200, description = "The balance", body = Credits),
    (status = 400, description = "The id is not a UUID (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:read (problem+json)"),
    (status = 404, description = "No such key, or it has no credits (problem+json)"),
    (status = 409, description = "This service keeps no credit balances (problem+json)"),
))]
pub(crate) async fn get(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Credits>, Problem> {
    let id = key_id(id)?;
    let scope = scope_of(&key)?;
    managed(&st, &scope, id).await?;
    let balance = st
        .keys
        .manager()
        .key_credits(&scope, id)
        .await
        .map_err(unavailable)?;
    Ok(Json(balance.into()))
}

/// Tops up or sets a key's credits.
#[utoipa::path(post, path = "/v1/keys/{id}/credits", operation_id = "adjust_credits", params(crate::keys::KeyPath), request_body = AdjustCredits, responses(
    (status = 200, description = "The balance after the adjustment", body = Credits),
    (status = 400, description = "The id is not a UUID, or the body is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write (problem+json)"),
    (status = 404, description = "No such key, or it has no credits (problem+json)"),
    (status = 409, description = "This service keeps no credit balances (problem+json)"),
    (status = 415, description = "The body is not application/json (problem+json)"),
    (status = 422, description = "A field is invalid, or the balance would overflow (problem+json)"),
))]
pub(crate) async fn adjust(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
    b: Result<Json<AdjustCredits>, JsonRejection>,
) -> Result<Json<Credits>, Problem> {
    let id = key_id(id)?;
    let b = body(b)?;
    let adjust = match b.action {
        CreditAction::TopUp => CreditAdjust::TopUp(b.amount),
        CreditAction::Set => CreditAdjust::Set(b.amount),
    };
    let scope = scope_of(&key)?;
    managed(&st, &scope, id).await?;
    let who = actor_because(&key, b.reason);
    let balance = st
        .keys
        .manager()
        .adjust_key_credits(&scope, id, adjust, who)
        .await
        .map_err(unavailable)?;
    Ok(Json(balance.into()))
}
