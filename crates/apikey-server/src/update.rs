//! `PATCH /v1/keys/{id}`: change a key's fields in place (JSON merge patch: a field left out
//! stays as it is, `null` clears it, a value replaces it). One versioned change, audited as the
//! admin key that made it.

use apikey_axum::Verified;
use apikey_core::{KeyUpdate, Metadata, Quota, QuotaPeriod, Rate, ScopeSet};
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use crate::AppState;
use crate::admin::scope_of;
use crate::keys::{actor, body, key_id, managed, view};
use crate::problem::Problem;

/// `Some(value)` for a field that is present, `null` included: with `#[serde(default)]`, a field
/// left out stays `None`, which is how merge patch tells "unchanged" from "cleared".
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// A request rate: `requests` per `per_secs` seconds, `burst` back to back.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateBody {
    /// Requests replenished per window.
    #[serde(deserialize_with = "crate::schema::whole_required")]
    #[schema(value_type = u64, minimum = 1, maximum = 1_000_000_000_u64)]
    pub requests: u32,
    /// The window, in seconds.
    #[serde(deserialize_with = "crate::schema::whole_required")]
    #[schema(minimum = 1, maximum = 31_622_400)]
    pub per_secs: u64,
    /// Requests that may arrive back to back (default: `requests`).
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(value_type = Option<u64>, minimum = 1, maximum = 1_000_000_000_u64)]
    pub burst: Option<u32>,
}

/// A calendar quota.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaBody {
    /// Requests allowed per period.
    #[serde(deserialize_with = "crate::schema::whole_required")]
    #[schema(minimum = 1)]
    pub limit: u64,
    /// `day`, `month` or `year` (UTC calendar periods).
    pub period: Period,
}

/// A quota's calendar period.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// A UTC day.
    Day,
    /// A UTC month.
    Month,
    /// A UTC year.
    Year,
}

/// The fields to change; the others stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateKey {
    /// A new name.
    #[schema(schema_with = crate::schema::name)]
    pub name: Option<String>,
    /// A new description, or `null` for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = crate::schema::description)]
    pub description: Option<Option<String>>,
    /// A new owner, or `null` for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = crate::schema::optional_label)]
    pub owner: Option<Option<String>>,
    /// A new group, or `null` for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = crate::schema::optional_label)]
    pub group: Option<Option<String>>,
    /// New tags (all of them).
    #[schema(schema_with = crate::schema::tags)]
    pub tags: Option<Vec<String>>,
    /// New aliases (all of them; unique in the key's tenant, not UUIDs).
    #[schema(schema_with = crate::schema::tags)]
    pub aliases: Option<Vec<String>>,
    /// New scopes (all of them).
    #[schema(schema_with = crate::schema::scopes)]
    pub scopes: Option<Vec<String>>,
    /// A new expiry (in the future), or `null` for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = crate::schema::instant)]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// A new rate limit, or `null` for none.
    #[serde(default, deserialize_with = "present")]
    pub rate_limit: Option<Option<RateBody>>,
    /// A new quota, or `null` for none.
    #[serde(default, deserialize_with = "present")]
    pub quota: Option<Option<QuotaBody>>,
    /// New metadata (the whole object).
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

pub(crate) fn rate(r: RateBody) -> Result<Rate, Problem> {
    let per_ms = r
        .per_secs
        .checked_mul(1000)
        .ok_or_else(|| Problem::bad_request("`per_secs` is out of range"))?;
    Ok(Rate {
        requests: r.requests,
        per_ms,
        burst: r.burst.unwrap_or(r.requests),
    })
}

pub(crate) fn quota(q: QuotaBody) -> Quota {
    Quota {
        limit: q.limit,
        period: match q.period {
            Period::Day => QuotaPeriod::Day,
            Period::Month => QuotaPeriod::Month,
            Period::Year => QuotaPeriod::Year,
        },
    }
}

impl UpdateKey {
    pub(crate) fn into_update(self) -> Result<KeyUpdate, Problem> {
        Ok(KeyUpdate {
            name: self.name,
            description: self.description,
            owner: self.owner,
            group: self.group,
            tags: self.tags,
            aliases: self.aliases,
            scopes: self.scopes.map(ScopeSet::parse).transpose()?,
            expires_at: self.expires_at,
            rate_limit: self
                .rate_limit
                .map(|r| r.map(rate).transpose())
                .transpose()?,
            quota: self.quota.map(|q| q.map(quota)),
            metadata: self.metadata.map(Metadata::from_value).transpose()?,
            ..KeyUpdate::default()
        })
    }
}

/// Changes a key's fields.
#[utoipa::path(patch, path = "/v1/keys/{id}", params(crate::keys::KeyPath), request_body = UpdateKey, responses(
    (status = 200, description = "The key as it is now", body = Object),
    (status = 400, description = "The id is not a UUID, or the body is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write (problem+json)"),
    (status = 404, description = "No such key in the admin key's tenants (problem+json)"),
    (status = 409, description = "The key changed meanwhile, or a limit of its tenant (problem+json)"),
    (status = 415, description = "The body is not application/json (problem+json)"),
    (status = 422, description = "A field is invalid, or the expiry is not in the future (problem+json)"),
))]
pub(crate) async fn update(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
    b: Result<Json<UpdateKey>, JsonRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    let id = key_id(id)?;
    let update = body(b)?.into_update()?;
    let scope = scope_of(&key)?;
    managed(&st, &scope, id).await?;
    let record = st
        .keys
        .manager()
        .update(&scope, id, update, actor(&key))
        .await?;
    Ok(Json(view(&record)))
}
