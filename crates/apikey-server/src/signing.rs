//! `/v1/keys/{id}/signing`: a key's request-signing secret (RFC 9421 HTTP message signatures):
//! its mode set (a secret issued, shown once, when the key has none), rotated with a grace
//! period, or removed.

use apikey_axum::Verified;
use apikey_core::signing::SigningMode;
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::admin::scope_of;
use crate::keys::{actor, body, key_id, managed, view};
use crate::lifecycle::optional;
use crate::problem::Problem;

/// The longest grace a rotated signing secret may keep verifying beside the new one.
const MAX_GRACE_SECS: u64 = 30 * 24 * 60 * 60;

/// How a key's requests are signed.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The token is required; a signature, when a request carries one, must verify.
    Optional,
    /// The token and a valid signature are both required.
    Required,
    /// No token travels: the signature's `keyid` names the key.
    InsteadOfToken,
}

/// A signing mode to set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetSigning {
    /// The mode.
    pub mode: Mode,
}

/// How to rotate a signing secret.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSigning {
    /// How long the old secret keeps verifying, in seconds (default 0: not at all; at most 30
    /// days).
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(minimum = 0, maximum = 2_592_000)]
    pub grace_secs: Option<u64>,
}

/// A key with its signing secret when one was issued (the only time it is shown).
#[derive(Debug, Serialize, ToSchema)]
pub struct Signed {
    /// The key's public view.
    #[schema(value_type = Object)]
    pub key: serde_json::Value,
    /// The new signing secret, when one was issued now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Sets a key's signing mode; a key without a signing secret gets one, shown once.
#[utoipa::path(put, path = "/v1/keys/{id}/signing", operation_id = "set_signing", params(crate::keys::KeyPath), request_body = SetSigning, responses(
    (status = 200, description = "The key, and its new secret when one was issued", body = Signed),
    (status = 400, description = "The id is not a UUID, or the body is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write (problem+json)"),
    (status = 404, description = "No such key in the admin key's tenants, or signing is not configured (no KEK) (problem+json)"),
    (status = 409, description = "The key is revoked, or changed meanwhile (problem+json)"),
    (status = 415, description = "The body is not application/json (problem+json)"),
    (status = 422, description = "A field is invalid (problem+json)"),
))]
pub(crate) async fn set(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
    b: Result<Json<SetSigning>, JsonRejection>,
) -> Result<Json<Signed>, Problem> {
    let id = key_id(id)?;
    let mode = match body(b)?.mode {
        Mode::Optional => SigningMode::Optional,
        Mode::Required => SigningMode::Required,
        Mode::InsteadOfToken => SigningMode::InsteadOfToken,
    };
    let scope = scope_of(&key)?;
    managed(&st, &scope, id).await?;
    let (record, secret) = st
        .keys
        .manager()
        .set_signing(&scope, id, mode, actor(&key))
        .await?;
    Ok(Json(Signed {
        key: view(&record),
        secret: secret.map(|s| s.expose().to_string()),
    }))
}

/// A new signing secret, shown once; the old one keeps verifying for the grace.
#[utoipa::path(post, path = "/v1/keys/{id}/signing/rotate", operation_id = "rotate_signing", params(crate::keys::KeyPath), request_body(content = RotateSigning, description = "Optional"), responses(
    (status = 200, description = "The key and its new secret", body = Signed),
    (status = 400, description = "The id is not a UUID, or the body is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write (problem+json)"),
    (status = 404, description = "No such key in the admin key's tenants, or signing is not configured (no KEK) (problem+json)"),
    (status = 409, description = "The key is revoked, or changed meanwhile (problem+json)"),
    (status = 415, description = "A body that is not application/json (problem+json)"),
    (status = 422, description = "The key has no signing secret, or a field is invalid (problem+json)"),
))]
pub(crate) async fn rotate(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
    b: Result<Json<RotateSigning>, JsonRejection>,
) -> Result<Json<Signed>, Problem> {
    let id = key_id(id)?;
    let grace = optional(b)?.grace_secs.unwrap_or(0);
    if grace > MAX_GRACE_SECS {
        return Err(Problem::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            format!("`grace_secs` is at most {MAX_GRACE_SECS} (30 days)"),
        ));
    }
    let scope = scope_of(&key)?;
    managed(&st, &scope, id).await?;
    let (record, secret) = st
        .keys
        .manager()
        .rotate_signing(
            &scope,
            id,
            std::time::Duration::from_secs(grace),
            actor(&key),
        )
        .await?;
    Ok(Json(Signed {
        key: view(&record),
        secret: Some(secret.expose().to_string()),
    }))
}

/// Removes a key's signing secret: it is used with its token alone again.
#[utoipa::path(delete, path = "/v1/keys/{id}/signing", operation_id = "remove_signing", params(crate::keys::KeyPath), responses(
    (status = 200, description = "The key as it is now", body = Signed),
    (status = 400, description = "The id is not a UUID (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write (problem+json)"),
    (status = 404, description = "No such key in the admin key's tenants (problem+json)"),
    (status = 409, description = "The key is revoked, or changed meanwhile (problem+json)"),
    (status = 422, description = "The key has no signing secret (problem+json)"),
))]
pub(crate) async fn remove(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Signed>, Problem> {
    let id = key_id(id)?;
    let scope = scope_of(&key)?;
    managed(&st, &scope, id).await?;
    let record = st
        .keys
        .manager()
        .remove_signing(&scope, id, actor(&key))
        .await?;
    Ok(Json(Signed {
        key: view(&record),
        secret: None,
    }))
}
