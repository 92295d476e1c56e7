//! `GET /v1/audit`: the audit log, within the admin key's tenants, filtered and in keyset pages.

use std::sync::Arc;

use apikey_axum::Verified;
use apikey_core::{AuditFilter, AuditStore, EventSubject, EventType, KeyId};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::admin::scope_of;
use crate::problem::Problem;

/// The audit query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only events about this key.
    #[param(
        format = "uuid",
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub key: Option<String>,
    /// Only events done by this actor (`system` for the library's own).
    #[param(max_length = 200)]
    pub actor: Option<String>,
    /// Only events of this type (`key.revoked`, `key.leaked`, …).
    #[param(schema_with = crate::schema::event_type)]
    pub r#type: Option<String>,
    /// Events at or after this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// Events before this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    #[param(
        pattern = r"^-?[0-9]{1,18}\.[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub after: Option<String>,
}

/// A page of audit events.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// The events, oldest first (each with the key's public view before and after a change).
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
    /// Where the next page starts (`after`), absent on the last page.
    pub next: Option<String>,
}

fn cursor(at: DateTime<Utc>, id: uuid::Uuid) -> String {
    format!("{}.{id}", at.timestamp_micros())
}

fn parse_cursor(s: &str) -> Result<(DateTime<Utc>, uuid::Uuid), Problem> {
    let bad = || Problem::bad_request("`after` is not a cursor this service gave out");
    let (us, id) = s.split_once('.').ok_or_else(bad)?;
    let at = us
        .parse::<i64>()
        .ok()
        .and_then(DateTime::<Utc>::from_timestamp_micros)
        .ok_or_else(bad)?;
    Ok((at, id.parse().map_err(|_| bad())?))
}

/// The audit log.
#[utoipa::path(get, path = "/v1/audit", params(AuditQuery), responses(
    (status = 200, description = "A page of events", body = AuditPage),
    (status = 400, description = "A bad filter or cursor (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks audit:read (problem+json)"),
    (status = 404, description = "The service has no audit log configured (problem+json)"),
))]
pub(crate) async fn audit(
    State(st): State<AppState>,
    key: Verified,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<AuditPage>, Problem> {
    let Query(q) = q.map_err(|e| Problem::bad_request(e.body_text()))?;
    if q.actor.as_ref().is_some_and(|a| a.chars().count() > 200) {
        return Err(Problem::bad_request(
            "`actor` is longer than 200 characters, which no actor is",
        ));
    }
    let store: &Arc<dyn AuditStore> = st
        .audit
        .as_ref()
        .ok_or_else(|| Problem::not_found("this service has no audit log configured"))?;
    let filter = AuditFilter {
        subject: q
            .key
            .as_deref()
            .map(|k| k.parse::<KeyId>().map(EventSubject::Key))
            .transpose()
            .map_err(|_| Problem::bad_request("`key` is not a UUID"))?,
        types: q
            .r#type
            .as_deref()
            .map(|t| {
                t.parse::<EventType>()
                    .map_err(|_| Problem::bad_request(format!("{t:?} is not an event type")))
            })
            .transpose()?
            .into_iter()
            .collect(),
        actor: q.actor,
        from: q.from,
        to: q.to,
        after: q.after.as_deref().map(parse_cursor).transpose()?,
        limit: crate::keys::page_limit(q.limit)?,
    };
    let events = store.query(&scope_of(&key)?, &filter).await?;
    let next = (events.len() == filter.limit as usize)
        .then(|| events.last().map(|e| cursor(e.at, e.id)))
        .flatten();
    Ok(Json(AuditPage {
        items: events
            .iter()
            .filter_map(|e| serde_json::to_value(e).ok())
            .collect(),
        next,
    }))
}
