//! `/v1/pools…`: a tenant's shared limit pools — a rate, a calendar quota and credits shared by
//! every key a pool covers — and their credit balances. A pool's name says what it covers
//! (`tenant`, `group:NAME`, `owner:NAME`, `owner:*`, `key:ID`, or an override `POOL@owner:NAME`,
//! `POOL@key:ID`), so it travels in the body or the query, where its grammar is the service's
//! to check, not in the path.

use apikey_axum::Verified;
use apikey_core::catalog::{CatalogKind, Preset, StoredPreset};
use apikey_core::limit::{CreditAdjust, CreditPlan, PoolLimits, Refill, RefillMode, RefillPeriod};
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::admin::scope_of;
use crate::credits::{CreditAction, Credits, unavailable};
use crate::keys::query;
use crate::keys::{actor_because, body};
use crate::presets::{PresetQuery, tenant_for};
use crate::problem::Problem;
use crate::update::{QuotaBody, RateBody, quota, rate};

/// One pool of a tenant.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PoolQuery {
    /// The tenant (default: the admin key's own, or the keys without a tenant).
    #[param(pattern = r"^[A-Za-z0-9_.:\-]{1,64}$")]
    pub tenant: Option<String>,
    /// The pool (`tenant`, `group:NAME`, `owner:NAME`, `owner:*`, `key:ID`, `POOL@owner:NAME`,
    /// `POOL@key:ID`).
    #[param(max_length = 300)]
    pub name: String,
}

/// How often credits refill.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Every {
    /// At every midnight.
    Day,
    /// At midnight of `day` of every month.
    Month,
}

/// Whether a refill sets or adds.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefillHow {
    /// The balance becomes `amount` (what is left lapses).
    To,
    /// `amount` is added.
    By,
}

/// A refill of credits.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefillBody {
    /// `day` or `month`.
    pub every: Every,
    /// For `month`: the day (1 to 31; past a month's end, its last day).
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 31)]
    pub day: Option<u8>,
    /// `to` (the default) or `by`.
    #[serde(default)]
    pub mode: Option<RefillHow>,
    /// How much.
    #[serde(deserialize_with = "crate::schema::whole_required")]
    #[schema(minimum = 1, maximum = 1_000_000_000_000_000_u64)]
    pub amount: u64,
    /// The IANA time zone whose midnight starts a period (default UTC).
    #[schema(max_length = 64)]
    pub time_zone: Option<String>,
}

/// Credits: a starting balance, and a refill or none (one-time credits).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    /// The starting balance.
    #[serde(deserialize_with = "crate::schema::whole_required")]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_000_u64)]
    pub initial: u64,
    /// The refill (absent: one-time credits).
    pub refill: Option<RefillBody>,
}

/// A pool to save.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavePool {
    /// What it covers (see the query's `name`).
    #[schema(max_length = 300)]
    pub name: String,
    /// What it is for.
    #[schema(schema_with = crate::schema::description)]
    pub description: Option<String>,
    /// A rate shared by its keys.
    pub rate: Option<RateBody>,
    /// A calendar quota shared by its keys.
    pub quota: Option<QuotaBody>,
    /// Credits shared by its keys (a balance in the limiter: needs `--redis-url`).
    pub credits: Option<PlanBody>,
    /// Save only if the pool is at this version (0: only if it does not exist); without it,
    /// whatever is saved is replaced (its counters and balance stay).
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(minimum = 0)]
    pub expected_version: Option<u64>,
    /// Why (recorded in the audit log).
    #[schema(schema_with = crate::schema::reason)]
    pub reason: Option<String>,
}

/// A pool credit adjustment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustPool {
    /// The pool.
    #[schema(max_length = 300)]
    pub name: String,
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

/// A saved pool.
#[derive(Debug, Serialize, ToSchema)]
pub struct PoolView {
    /// Its name.
    pub name: String,
    /// Its tenant (absent: the keys without one).
    pub tenant: Option<String>,
    /// What it is for.
    pub description: Option<String>,
    /// Its numbers (`rate`, `quota`, `credits`), in the key view's shapes.
    #[schema(value_type = Object)]
    pub limits: serde_json::Value,
    /// Its version.
    pub version: u64,
    /// When it was last saved.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

/// Pools, by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct PoolList {
    /// The pools and overrides.
    pub items: Vec<PoolView>,
}

fn view(p: StoredPreset) -> PoolView {
    PoolView {
        name: p.preset.name,
        tenant: p.tenant.map(|t| t.as_str().to_owned()),
        description: p.preset.description,
        limits: serde_json::to_value(p.preset.pool.unwrap_or_default()).unwrap_or_default(),
        version: p.version,
        updated_at: p.updated_at,
    }
}

fn unprocessable(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", detail)
}

impl PlanBody {
    /// The plan, its numbers and time zone checked.
    pub(crate) fn into_plan(self) -> Result<CreditPlan, Problem> {
        let refill = self
            .refill
            .map(|r| {
                let period = match (r.every, r.day) {
                    (Every::Day, None) => RefillPeriod::Day,
                    (Every::Month, Some(day)) if (1..=31).contains(&day) => {
                        RefillPeriod::Month { day }
                    }
                    _ => {
                        return Err(unprocessable(
                            "refill: `day` (1 to 31) goes with `every: month`, and only with it",
                        ));
                    }
                };
                let time_zone = r
                    .time_zone
                    .map(|z| {
                        z.parse()
                            .map_err(|_| unprocessable(format!("refill: unknown time zone {z:?}")))
                    })
                    .transpose()?;
                Ok(Refill {
                    period,
                    mode: match r.mode {
                        None | Some(RefillHow::To) => RefillMode::To,
                        Some(RefillHow::By) => RefillMode::By,
                    },
                    amount: r.amount,
                    time_zone,
                })
            })
            .transpose()?;
        let plan = CreditPlan {
            initial: self.initial,
            refill,
        };
        plan.validate()?;
        Ok(plan)
    }
}

fn named(q: &PoolQuery) -> Result<&str, Problem> {
    if q.name.chars().count() > 300 {
        return Err(Problem::bad_request("`name` is at most 300 characters"));
    }
    Ok(&q.name)
}

/// The tenant's pools and overrides, by name.
#[utoipa::path(get, path = "/v1/pools", operation_id = "list_pools", params(PresetQuery), responses(
    (status = 200, description = "The pools", body = PoolList),
    (status = 400, description = "A bad tenant (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:read, or names another tenant (problem+json)"),
))]
pub(crate) async fn list(
    State(st): State<AppState>,
    key: Verified,
    q: Result<Query<PresetQuery>, QueryRejection>,
) -> Result<Json<PoolList>, Problem> {
    let tenant = tenant_for(&scope_of(&key)?, query::<PresetQuery>(q)?.tenant)?;
    let items = st
        .keys
        .manager()
        .presets(tenant.as_ref(), CatalogKind::Pool)
        .await?;
    Ok(Json(PoolList {
        items: items.into_iter().map(view).collect(),
    }))
}

/// Creates or replaces a pool (its counters and balance stay).
#[utoipa::path(put, path = "/v1/pools", operation_id = "save_pool", params(PresetQuery), request_body = SavePool, responses(
    (status = 200, description = "Replaced", body = PoolView),
    (status = 201, description = "Created", body = PoolView),
    (status = 400, description = "A bad tenant, or a body that is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write, or names another tenant (problem+json)"),
    (status = 409, description = "It is not at `expected_version` (problem+json)"),
    (status = 415, description = "The body is not application/json (problem+json)"),
    (status = 422, description = "A bad name or number, or no numbers at all (problem+json)"),
))]
pub(crate) async fn save(
    State(st): State<AppState>,
    key: Verified,
    q: Result<Query<PresetQuery>, QueryRejection>,
    b: Result<Json<SavePool>, JsonRejection>,
) -> Result<(StatusCode, Json<PoolView>), Problem> {
    let tenant = tenant_for(&scope_of(&key)?, query::<PresetQuery>(q)?.tenant)?;
    let b = body(b)?;
    let limits = PoolLimits {
        rate: b.rate.map(rate).transpose()?,
        quota: b.quota.map(quota),
        credits: b.credits.map(PlanBody::into_plan).transpose()?,
    };
    if limits.is_empty() {
        return Err(unprocessable("a pool needs a rate, a quota or credits"));
    }
    let m = st.keys.manager();
    let expected = match b.expected_version {
        Some(v) => v,
        None => {
            crate::presets::current_version(m, tenant.as_ref(), CatalogKind::Pool, &b.name).await?
        }
    };
    let mut preset = Preset::pool(b.name, limits);
    preset.description = b.description;
    let saved = m
        .save_preset(
            tenant.as_ref(),
            preset,
            expected,
            actor_because(&key, b.reason),
        )
        .await?;
    let status = if expected == 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view(saved))))
}

/// Removes a pool: its keys are no longer charged against it.
#[utoipa::path(delete, path = "/v1/pools", operation_id = "remove_pool", params(PoolQuery), responses(
    (status = 204, description = "Removed"),
    (status = 400, description = "A bad tenant or name, or no name (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write, or names another tenant (problem+json)"),
    (status = 404, description = "No such pool (problem+json)"),
    (status = 422, description = "The name is not a pool name (problem+json)"),
))]
pub(crate) async fn remove(
    State(st): State<AppState>,
    key: Verified,
    q: Result<Query<PoolQuery>, QueryRejection>,
) -> Result<StatusCode, Problem> {
    let q = query(q)?;
    let name = named(&q)?.to_owned();
    let tenant = tenant_for(&scope_of(&key)?, q.tenant)?;
    st.keys
        .manager()
        .remove_preset(
            tenant.as_ref(),
            CatalogKind::Pool,
            &name,
            actor_because(&key, None),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A pool's credit balance.
#[utoipa::path(get, path = "/v1/pools/credits", operation_id = "get_pool_credits", params(PoolQuery), responses(
    (status = 200, description = "The balance", body = Credits),
    (status = 400, description = "A bad tenant or name, or no name (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:read, or names another tenant (problem+json)"),
    (status = 404, description = "No such pool, or it holds no credits (problem+json)"),
    (status = 409, description = "This service keeps no credit balances (problem+json)"),
    (status = 422, description = "The name is not a pool name (problem+json)"),
))]
pub(crate) async fn credits(
    State(st): State<AppState>,
    key: Verified,
    q: Result<Query<PoolQuery>, QueryRejection>,
) -> Result<Json<Credits>, Problem> {
    let q = query(q)?;
    let name = named(&q)?.to_owned();
    let tenant = tenant_for(&scope_of(&key)?, q.tenant)?;
    let balance = st
        .keys
        .manager()
        .pool_credits(tenant.as_ref(), &name)
        .await
        .map_err(unavailable)?;
    Ok(Json(balance.into()))
}

/// Tops up or sets a pool's credits.
#[utoipa::path(post, path = "/v1/pools/credits", operation_id = "adjust_pool_credits", params(PresetQuery), request_body = AdjustPool, responses(
    (status = 200, description = "The balance after the adjustment", body = Credits),
    (status = 400, description = "A bad tenant, or a body that is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write, or names another tenant (problem+json)"),
    (status = 404, description = "No such pool, or it holds no credits (problem+json)"),
    (status = 409, description = "This service keeps no credit balances (problem+json)"),
    (status = 415, description = "The body is not application/json (problem+json)"),
    (status = 422, description = "A field is invalid, or the balance would overflow (problem+json)"),
))]
pub(crate) async fn adjust(
    State(st): State<AppState>,
    key: Verified,
    q: Result<Query<PresetQuery>, QueryRejection>,
    b: Result<Json<AdjustPool>, JsonRejection>,
) -> Result<Json<Credits>, Problem> {
    let tenant = tenant_for(&scope_of(&key)?, query::<PresetQuery>(q)?.tenant)?;
    let b = body(b)?;
    let adjust = match b.action {
        CreditAction::TopUp => CreditAdjust::TopUp(b.amount),
        CreditAction::Set => CreditAdjust::Set(b.amount),
    };
    let balance = st
        .keys
        .manager()
        .adjust_pool_credits(
            tenant.as_ref(),
            &b.name,
            adjust,
            actor_because(&key, b.reason),
        )
        .await
        .map_err(unavailable)?;
    Ok(Json(balance.into()))
}
