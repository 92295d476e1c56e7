//! `GET /v1/usage` and `GET /v1/usage/top`: usage analytics within the admin key's tenants —
//! a key's, an owner's, a group's or every key's requests by outcome per minute, hour or day,
//! and the keys ranked by requests or rejections (`usage:read`).

use std::sync::Arc;

use apikey_axum::Verified;
use apikey_core::analytics::{
    self, AnalyticsStore, KeyUsage, MAX_TOP_KEYS, Ranking, Resolution, SeriesQuery, TopQuery,
    UsageCounts, UsagePoint, UsageRange, UsageSubject,
};
use apikey_core::{KeyFilter, TenantScope};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::admin::scope_of;
use crate::problem::Problem;

/// A bucket width.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Width {
    /// One minute (ranges up to 2 days).
    Minute,
    /// One hour (ranges up to 93 days).
    Hour,
    /// One UTC day (ranges up to 1000 days).
    Day,
}

impl From<Width> for Resolution {
    fn from(w: Width) -> Self {
        match w {
            Width::Minute => Self::Minute,
            Width::Hour => Self::Hour,
            Width::Day => Self::Day,
        }
    }
}

/// The usage query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// One key.
    #[param(
        format = "uuid",
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub key: Option<String>,
    /// The keys of this owner, together.
    #[param(min_length = 1, max_length = 256)]
    pub owner: Option<String>,
    /// The keys of this group, together.
    #[param(min_length = 1, max_length = 256)]
    pub group: Option<String>,
    /// From this instant (RFC 3339; default: 24 hours before `until`).
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<DateTime<Utc>>,
    /// Before this instant (RFC 3339; default: now).
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<DateTime<Utc>>,
    /// Bucket width (default: minutes up to 6 hours, hours up to 31 days, days beyond).
    #[param(inline)]
    pub resolution: Option<Width>,
}

/// What `/v1/usage/top` ranks by.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RankBy {
    /// Every request.
    Requests,
    /// Refused requests.
    Rejections,
}

/// The ranking query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TopUsageQuery {
    /// Rank by requests (default) or rejections.
    #[param(inline)]
    pub by: Option<RankBy>,
    /// At most this many keys, 1 to 1000 (default 10).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// From this instant (RFC 3339; default: 24 hours before `until`).
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<DateTime<Utc>>,
    /// Before this instant (RFC 3339; default: now).
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<DateTime<Utc>>,
    /// Bucket width summed (default as for `/v1/usage`).
    #[param(inline)]
    pub resolution: Option<Width>,
}

/// Requests by outcome, and the cost units of the admitted ones.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Counts {
    /// Admitted.
    pub success: u64,
    /// Refused for a missing scope.
    pub scope: u64,
    /// Refused by address rules.
    pub ip: u64,
    /// Refused for the key's state (revoked, expired, suspended, pending, not yet valid).
    pub state: u64,
    /// Refused by a rate.
    pub rate_limited: u64,
    /// Refused by a quota or exhausted credits.
    pub quota: u64,
    /// Refused because a dependency did not answer.
    pub unavailable: u64,
    /// Refused before a key was known (only in `unattributed`).
    pub invalid: u64,
    /// Cost units of the admitted requests.
    pub cost: u64,
}

impl From<UsageCounts> for Counts {
    fn from(c: UsageCounts) -> Self {
        Self {
            success: c.success,
            scope: c.scope,
            ip: c.ip,
            state: c.state,
            rate_limited: c.rate_limited,
            quota: c.quota,
            unavailable: c.unavailable,
            invalid: c.invalid,
            cost: c.cost,
        }
    }
}

/// One bucket.
#[derive(Debug, Serialize, ToSchema)]
pub struct Point {
    /// The bucket's start.
    #[schema(value_type = String, format = DateTime)]
    pub bucket: DateTime<Utc>,
    /// Its counts.
    pub counts: Counts,
}

/// A usage series.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageSeries {
    /// Bucket width.
    pub resolution: Width,
    /// The range's start (counted from its bucket).
    #[schema(value_type = String, format = DateTime)]
    pub since: DateTime<Utc>,
    /// The range's end (exclusive).
    #[schema(value_type = String, format = DateTime)]
    pub until: DateTime<Utc>,
    /// The sum over the range.
    pub total: Counts,
    /// Requests refused before a key was known, for an admin key of every tenant asking about
    /// every key.
    pub unattributed: Option<Counts>,
    /// The buckets that hold requests, oldest first.
    pub points: Vec<Point>,
}

/// One key's sum.
#[derive(Debug, Serialize, ToSchema)]
pub struct RankedKey {
    /// The key.
    #[schema(format = "uuid")]
    pub key_id: String,
    /// Its counts over the range.
    pub counts: Counts,
}

/// The keys ranked.
#[derive(Debug, Serialize, ToSchema)]
pub struct TopUsage {
    /// The range's start.
    #[schema(value_type = String, format = DateTime)]
    pub since: DateTime<Utc>,
    /// The range's end (exclusive).
    #[schema(value_type = String, format = DateTime)]
    pub until: DateTime<Utc>,
    /// Most first.
    pub keys: Vec<RankedKey>,
}

fn store(st: &AppState) -> Result<&Arc<dyn AnalyticsStore>, Problem> {
    st.analytics
        .as_ref()
        .ok_or_else(|| Problem::not_found("usage analytics are not configured on this service"))
}

fn width(r: Resolution) -> Width {
    match r {
        Resolution::Minute => Width::Minute,
        Resolution::Hour => Width::Hour,
        Resolution::Day => Width::Day,
    }
}

/// 422: a well-formed query that asks for something impossible (a reversed range, one in the
/// future, one too long for its resolution, two subjects).
fn unprocessable(detail: impl Into<String>) -> Problem {
    Problem::new(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_range",
        detail,
    )
}

/// The range and resolution asked, checked: not reversed, not in the future, not too long.
fn range(
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    resolution: Option<Width>,
) -> Result<(UsageRange, Resolution), Problem> {
    let now = Utc::now();
    let until = until.unwrap_or(now);
    let since = since.unwrap_or_else(|| until - TimeDelta::hours(24));
    if since >= until {
        return Err(unprocessable("`since` must be before `until`"));
    }
    if since > now {
        return Err(unprocessable("`since` is in the future"));
    }
    let resolution = resolution
        .map(Resolution::from)
        .unwrap_or_else(|| Resolution::for_span(until - since));
    let range = UsageRange { since, until };
    range
        .validate(resolution)
        .map_err(|e| unprocessable(e.message()))?;
    Ok((range, resolution))
}

/// A key's, an owner's, a group's or every key's requests by outcome over time.
#[utoipa::path(get, path = "/v1/usage", operation_id = "usage_series", params(UsageQuery), responses(
    (status = 200, description = "The series", body = UsageSeries),
    (status = 400, description = "A malformed query (problem+json)"),
    (status = 422, description = "A reversed range, one in the future, one too long for its resolution, or two subjects (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks usage:read (problem+json)"),
    (status = 404, description = "Usage analytics are not configured on this service (problem+json)"),
))]
pub(crate) async fn series(
    State(st): State<AppState>,
    key: Verified,
    q: Result<Query<UsageQuery>, QueryRejection>,
) -> Result<Json<UsageSeries>, Problem> {
    let store = store(&st)?;
    let q = crate::keys::query(q)?;
    let scope = scope_of(&key)?;
    let (range, resolution) = range(q.since, q.until, q.resolution)?;
    for (name, v) in [("owner", &q.owner), ("group", &q.group)] {
        if v.as_ref()
            .is_some_and(|v| v.is_empty() || v.chars().count() > 256)
        {
            return Err(Problem::bad_request(format!(
                "`{name}` is 1 to 256 characters"
            )));
        }
    }
    let given = [q.key.is_some(), q.owner.is_some(), q.group.is_some()];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(unprocessable("ask for one of `key`, `owner` and `group`"));
    }
    let by = |owner: Option<String>, group: Option<String>| KeyFilter {
        owner,
        group,
        ..KeyFilter::default()
    };
    let subject = if let Some(k) = &q.key {
        UsageSubject::Key(
            k.parse()
                .map_err(|_| Problem::bad_request("`key` is not a UUID"))?,
        )
    } else if q.owner.is_some() || q.group.is_some() {
        analytics::keys_matching(st.keys.manager(), &scope, by(q.owner, q.group)).await?
    } else {
        UsageSubject::Scope
    };
    let whole = subject == UsageSubject::Scope && scope == TenantScope::All;
    let query = SeriesQuery {
        subject,
        resolution,
        range,
    };
    let points = store.usage_series(&scope, &query).await?;
    let unattributed = if whole {
        let q = SeriesQuery {
            subject: UsageSubject::Unattributed,
            ..query
        };
        Some(analytics::total(&store.usage_series(&scope, &q).await?).into())
    } else {
        None
    };
    Ok(Json(UsageSeries {
        resolution: width(resolution),
        since: range.since,
        until: range.until,
        total: analytics::total(&points).into(),
        unattributed,
        points: points.iter().map(point).collect(),
    }))
}

fn point(p: &UsagePoint) -> Point {
    Point {
        bucket: p.bucket,
        counts: p.counts.into(),
    }
}

/// The keys with the most requests or rejections in a range.
#[utoipa::path(get, path = "/v1/usage/top", operation_id = "usage_top", params(TopUsageQuery), responses(
    (status = 200, description = "The keys, most first", body = TopUsage),
    (status = 400, description = "A malformed query or limit (problem+json)"),
    (status = 422, description = "A reversed range, one in the future or one too long for its resolution (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks usage:read (problem+json)"),
    (status = 404, description = "Usage analytics are not configured on this service (problem+json)"),
))]
pub(crate) async fn top(
    State(st): State<AppState>,
    key: Verified,
    q: Result<Query<TopUsageQuery>, QueryRejection>,
) -> Result<Json<TopUsage>, Problem> {
    let store = store(&st)?;
    let q = crate::keys::query(q)?;
    let (range, resolution) = range(q.since, q.until, q.resolution)?;
    let limit = q.limit.unwrap_or(10);
    if !(1..=MAX_TOP_KEYS).contains(&limit) {
        return Err(Problem::bad_request("`limit` is 1 to 1000"));
    }
    let query = TopQuery {
        by: match q.by.unwrap_or(RankBy::Requests) {
            RankBy::Requests => Ranking::Requests,
            RankBy::Rejections => Ranking::Rejections,
        },
        resolution,
        range,
        limit,
    };
    let keys: Vec<KeyUsage> = store.top_keys(&scope_of(&key)?, &query).await?;
    Ok(Json(TopUsage {
        since: range.since,
        until: range.until,
        keys: keys
            .into_iter()
            .map(|k| RankedKey {
                key_id: k.key_id.to_string(),
                counts: k.counts.into(),
            })
            .collect(),
    }))
}
