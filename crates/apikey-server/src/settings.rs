//! `GET|PUT /v1/settings`: a tenant's settings — approval, key limits, audit and usage
//! retention, the request log, the per-key threat detectors — written by compare-and-set with an audit event. Only an admin key of every
//! tenant writes them: a tenant's own admin raising its own key limit would make the limit
//! meaningless.

use apikey_axum::Verified;
use apikey_core::TenantScope;
use apikey_core::request_log::RequestLogMode;
use apikey_core::tenant::{StoredSettings, TenantSettings};
use apikey_core::threat::{KeyDetectorSetting, TenantThreatAction, TenantThreats};
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::admin::scope_of;
use crate::keys::query;
use crate::keys::{actor_because, body};
use crate::presets::{PresetQuery, tenant_for};
use crate::problem::Problem;

/// Which requests the tenant's guards log.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogMode {
    /// None.
    Off,
    /// One admitted request in `one_in`, and every refused one.
    Sampled,
    /// Every request.
    Full,
}

/// The request log's settings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestLogBody {
    /// Which requests.
    pub mode: LogMode,
    /// For `sampled`: one admitted request in this many (2 or more).
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(value_type = Option<u32>, minimum = 2, maximum = 4_294_967_295_u64)]
    pub one_in: Option<u32>,
    /// Days a record is kept (default 30).
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 3650)]
    pub retention_days: Option<u32>,
}

/// What a per-key threat detector does for the tenant's keys.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DetectorAction {
    /// Not judged.
    Off,
    /// Reported (`threat.detected`).
    Observe,
    /// Reported, and the key suspended.
    Suspend,
}

/// The network-spread detector for the tenant's keys.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpreadBody {
    /// What firing does.
    pub action: DetectorAction,
    /// Networks within the window that fire it (absent: the service's).
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(value_type = Option<u32>, minimum = 2, maximum = 200)]
    pub threshold: Option<u32>,
}

/// The rate-surge detector for the tenant's keys.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurgeBody {
    /// What firing does.
    pub action: DetectorAction,
    /// How many times its baseline a key's rate must reach (absent: the service's).
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(value_type = Option<u32>, minimum = 2, maximum = 1000)]
    pub threshold: Option<u32>,
}

/// The per-key threat detectors for the tenant's keys (absent: the service's policy). The
/// network detectors stay the service's: a block refuses every tenant.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThreatsBody {
    /// One key used from many networks.
    #[serde(default, deserialize_with = "crate::schema::object")]
    pub network_spread: Option<SpreadBody>,
    /// One key's rate far above its baseline.
    #[serde(default, deserialize_with = "crate::schema::object")]
    pub rate_surge: Option<SurgeBody>,
}

impl DetectorAction {
    const fn core(self) -> TenantThreatAction {
        match self {
            Self::Off => TenantThreatAction::Off,
            Self::Observe => TenantThreatAction::Observe,
            Self::Suspend => TenantThreatAction::Suspend,
        }
    }
}

impl ThreatsBody {
    fn core(&self) -> TenantThreats {
        let setting = |action: DetectorAction, threshold| KeyDetectorSetting {
            action: action.core(),
            threshold,
        };
        TenantThreats {
            network_spread: self
                .network_spread
                .as_ref()
                .map(|b| setting(b.action, b.threshold)),
            rate_surge: self
                .rate_surge
                .as_ref()
                .map(|b| setting(b.action, b.threshold)),
        }
    }
}

/// A tenant's settings, as saved (what is left out takes its default).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveSettings {
    /// New keys start pending approval.
    #[serde(default)]
    pub approval_required: bool,
    /// At most this many working keys in the tenant (0 freezes it).
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 4_294_967_295_u64)]
    pub max_keys_per_tenant: Option<u32>,
    /// At most this many working keys per owner.
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 4_294_967_295_u64)]
    pub max_keys_per_owner: Option<u32>,
    /// The tenant's audit events older than this many days are purged by the retention job
    /// (absent: the job's own period).
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 36_500)]
    pub audit_retention_days: Option<u32>,
    /// The tenant's usage analytics are kept this many days (day buckets that long; minute and
    /// hour buckets at most that long) by the `usage.retention` job (absent: the job's own).
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 36_500)]
    pub usage_retention_days: Option<u32>,
    /// The request log (off when absent).
    #[serde(default, deserialize_with = "crate::schema::object")]
    pub request_log: Option<RequestLogBody>,
    /// The per-key threat detectors for its keys (absent: the service's policy).
    #[serde(default, deserialize_with = "crate::schema::object")]
    pub threats: Option<ThreatsBody>,
    /// Save only if the settings are at this version (0: only if never saved); without it,
    /// whatever is saved is replaced.
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(minimum = 0)]
    pub expected_version: Option<u64>,
    /// Why (recorded in the audit log).
    #[schema(schema_with = crate::schema::reason)]
    pub reason: Option<String>,
}

/// A tenant's settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsView {
    /// The tenant (absent: the default row, for every tenant without its own).
    pub tenant: Option<String>,
    /// The settings saved for it (the defaults when `version` is 0).
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// The settings that apply to it (its own row, or the default row).
    #[schema(value_type = Object)]
    pub effective: serde_json::Value,
    /// The saved row's version (0: never saved).
    pub version: u64,
    /// When it was saved.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<DateTime<Utc>>,
}

async fn view(
    st: &AppState,
    tenant: Option<apikey_core::TenantId>,
    stored: Option<StoredSettings>,
) -> Result<SettingsView, Problem> {
    let effective = st
        .keys
        .manager()
        .effective_settings(tenant.as_ref())
        .await?;
    let json = |s: &TenantSettings| serde_json::to_value(s).unwrap_or_default();
    Ok(SettingsView {
        tenant: tenant.map(|t| t.as_str().to_owned()),
        settings: json(
            stored
                .as_ref()
                .map_or(&TenantSettings::default(), |s| &s.settings),
        ),
        effective: json(&effective),
        version: stored.as_ref().map_or(0, |s| s.version),
        updated_at: stored.map(|s| s.updated_at),
    })
}

/// A tenant's settings: those saved for it and those that apply.
#[utoipa::path(get, path = "/v1/settings", operation_id = "get_settings", params(PresetQuery), responses(
    (status = 200, description = "The settings", body = SettingsView),
    (status = 400, description = "A bad tenant (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:read, or names another tenant (problem+json)"),
))]
pub(crate) async fn get(
    State(st): State<AppState>,
    key: Verified,
    q: Result<Query<PresetQuery>, QueryRejection>,
) -> Result<Json<SettingsView>, Problem> {
    let tenant = tenant_for(&scope_of(&key)?, query(q)?.tenant)?;
    let stored = st.keys.manager().settings(tenant.as_ref()).await?;
    Ok(Json(view(&st, tenant, stored).await?))
}

/// Replaces a tenant's settings (an admin key of every tenant only). Per-key request-log
/// overrides and the counted states, which this body does not carry, keep their saved values.
#[utoipa::path(put, path = "/v1/settings", operation_id = "save_settings", params(PresetQuery), request_body = SaveSettings, responses(
    (status = 200, description = "Saved", body = SettingsView),
    (status = 400, description = "A bad tenant, or a body that is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write, or acts for one tenant only (problem+json)"),
    (status = 409, description = "They are not at `expected_version` (problem+json)"),
    (status = 415, description = "The body is not application/json (problem+json)"),
    (status = 422, description = "A field is invalid (problem+json)"),
))]
pub(crate) async fn put(
    State(st): State<AppState>,
    key: Verified,
    q: Result<Query<PresetQuery>, QueryRejection>,
    b: Result<Json<SaveSettings>, JsonRejection>,
) -> Result<Json<SettingsView>, Problem> {
    let scope = scope_of(&key)?;
    if matches!(scope, TenantScope::Tenant(_)) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "all_tenants_only",
            "only an admin key of every tenant changes tenant settings",
        ));
    }
    let tenant = tenant_for(&scope, query(q)?.tenant)?;
    let b = body(b)?;
    let m = st.keys.manager();
    let stored = m.settings(tenant.as_ref()).await?;
    let mut settings = stored
        .as_ref()
        .map_or_else(TenantSettings::default, |s| s.settings.clone());
    settings.approval_required = b.approval_required;
    settings.max_keys_per_tenant = b.max_keys_per_tenant;
    settings.max_keys_per_owner = b.max_keys_per_owner;
    settings.retention.audit_days = b.audit_retention_days;
    settings.retention.usage_days = b.usage_retention_days;
    settings.threats = b
        .threats
        .as_ref()
        .map(ThreatsBody::core)
        .unwrap_or_default();
    let log = &mut settings.request_log;
    match b.request_log {
        None => log.mode = RequestLogMode::Off,
        Some(r) => {
            log.mode = match (r.mode, r.one_in) {
                (LogMode::Off, None) => RequestLogMode::Off,
                (LogMode::Full, None) => RequestLogMode::Full,
                (LogMode::Sampled, Some(one_in)) => RequestLogMode::Sampled { one_in },
                _ => {
                    return Err(Problem::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_input",
                        "request_log: `one_in` goes with mode `sampled`, and only with it",
                    ));
                }
            };
            if let Some(days) = r.retention_days {
                log.retention_days = days;
            }
        }
    }
    let expected = b
        .expected_version
        .unwrap_or_else(|| stored.as_ref().map_or(0, |s| s.version));
    let saved = m
        .set_settings(
            tenant.as_ref(),
            settings,
            expected,
            actor_because(&key, b.reason),
        )
        .await?;
    Ok(Json(view(&st, tenant, Some(saved)).await?))
}
