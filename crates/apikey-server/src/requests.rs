//! `GET /v1/requests`: the request log (what the guards of the services using these keys
//! recorded), within the admin key's tenants, newest first in keyset pages (`usage:read`).

use std::sync::Arc;

use apikey_axum::Verified;
use apikey_core::request_log::{
    MAX_REQUEST_PAGE, OutcomeFilter, RequestCursor, RequestFilter, RequestLogStore,
};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::admin::scope_of;
use crate::problem::Problem;

/// The request-log query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RequestQuery {
    /// Only requests made with this key.
    #[param(
        format = "uuid",
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub key: Option<String>,
    /// Only requests to this route template exactly (`/projects/{id}`).
    #[param(pattern = r"^[^\x00-\x1f\x7f-\x9f]+$", max_length = 1000)]
    pub route: Option<String>,
    /// `admitted`, `rejected` (every refusal), or one outcome (`revoked`, `rate_limited`, …).
    #[param(pattern = "^[a-z_]{1,64}$")]
    pub outcome: Option<String>,
    /// Requests at or after this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<DateTime<Utc>>,
    /// Requests before this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<DateTime<Utc>>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next` of the previous page (older requests).
    #[param(pattern = r"^-?[0-9]{1,15}\.[0-9a-f]{32}$")]
    pub before: Option<String>,
}

/// A page of requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestPage {
    /// The requests, newest first.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
    /// Where the next (older) page starts (`before`), absent on the last page.
    pub next: Option<String>,
}

fn store(st: &AppState) -> Result<&Arc<dyn RequestLogStore>, Problem> {
    st.requests
        .as_ref()
        .ok_or_else(|| Problem::not_found("the request log is not configured on this service"))
}

fn cursor(s: &str) -> Result<RequestCursor, Problem> {
    // The exact form pages give out (the document's pattern), nothing looser.
    let exact = s.split_once('.').is_some_and(|(_, id)| {
        id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    });
    exact
        .then(|| RequestCursor::decode(s).ok())
        .flatten()
        .ok_or_else(|| Problem::bad_request("`before` is not a cursor this service gave out"))
}

/// Requests, newest first.
#[utoipa::path(get, path = "/v1/requests", params(RequestQuery), responses(
    (status = 200, description = "A page of requests", body = RequestPage),
    (status = 400, description = "A bad filter or cursor (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks usage:read (problem+json)"),
    (status = 404, description = "The request log is not configured on this service (problem+json)"),
))]
pub(crate) async fn requests(
    State(st): State<AppState>,
    key: Verified,
    q: Result<Query<RequestQuery>, QueryRejection>,
) -> Result<Json<RequestPage>, Problem> {
    let store = store(&st)?;
    let Query(q) = q.map_err(|e| Problem::bad_request(e.body_text()))?;
    let limit = crate::keys::page_limit(q.limit)?.min(MAX_REQUEST_PAGE);
    if q.route.as_deref().is_some_and(|r| {
        r.is_empty() || r.chars().count() > 1000 || r.chars().any(char::is_control)
    }) {
        return Err(Problem::bad_request(
            "`route` is 1 to 1000 characters without control characters",
        ));
    }
    let outcome = match q.outcome.as_deref() {
        None => None,
        Some(o)
            if o.is_empty()
                || o.len() > 64
                || !o.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
        {
            return Err(Problem::bad_request(
                "`outcome` is admitted, rejected, or an outcome such as revoked",
            ));
        }
        Some("admitted") => Some(OutcomeFilter::Admitted),
        Some("rejected") => Some(OutcomeFilter::Rejected),
        Some(o) => Some(OutcomeFilter::Exactly(o.to_owned())),
    };
    // An empty range holds nothing (rather than an error a caller must special-case).
    if let (Some(s), Some(u)) = (q.since, q.until)
        && s >= u
    {
        return Ok(Json(RequestPage {
            items: Vec::new(),
            next: None,
        }));
    }
    let filter = RequestFilter {
        key: q
            .key
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|_| Problem::bad_request("`key` is not a UUID"))?,
        route: q.route,
        outcome,
        since: q.since,
        until: q.until,
        before: q.before.as_deref().map(cursor).transpose()?,
        limit,
        ..RequestFilter::default()
    };
    let records = store.requests(&scope_of(&key)?, &filter).await?;
    let next = (records.len() == limit as usize)
        .then(|| records.last().map(|r| RequestCursor::after(r).encode()))
        .flatten();
    Ok(Json(RequestPage {
        items: records
            .iter()
            .map(|r| serde_json::to_value(r).unwrap_or_default())
            .collect(),
        next,
    }))
}
