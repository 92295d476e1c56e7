//! `/v1/templates` and `/v1/groups`: a tenant's presets, the defaults a new key takes for every
//! field its creator left unset (creator, then template, then group). Saved by compare-and-set on
//! their version with an audit event, like the CLI's `apikey templates|groups`.

use apikey_axum::Verified;
use apikey_core::catalog::{CatalogKind, KeyDefaults, Preset, StoredPreset};
use apikey_core::{Metadata, ScopeSet, TenantId, TenantScope};
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::admin::scope_of;
use crate::keys::query;
use crate::keys::{actor_because, body};
use crate::problem::Problem;
use crate::update::{QuotaBody, RateBody, quota, rate};

/// A preset named in the path. Names made only of dots and spaces are refused: `.` and `..`
/// cannot travel in a URL path (clients resolve them away).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct PresetPath {
    /// The preset's name.
    #[param(
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f.][^\x00-\x1f\x7f-\x9f]*$",
        max_length = 200
    )]
    #[allow(dead_code)]
    name: String,
}

/// Whose presets.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PresetQuery {
    /// The tenant (default: the admin key's own, or the keys without a tenant for an admin key
    /// of every tenant).
    #[param(pattern = r"^[A-Za-z0-9_.:\-]{1,64}$")]
    pub tenant: Option<String>,
}

/// The defaults a preset gives.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultsBody {
    /// Scopes, when the creator gives none.
    #[serde(default)]
    #[schema(schema_with = crate::schema::scopes)]
    pub scopes: Vec<String>,
    /// A rate limit, when the creator gives none.
    pub rate_limit: Option<RateBody>,
    /// A quota, when the creator gives none.
    pub quota: Option<QuotaBody>,
    /// Expiry this many days after creation, when the creator gives no expiry.
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
    /// An environment label, when the creator gives none.
    #[schema(schema_with = crate::schema::optional_label)]
    pub environment: Option<String>,
    /// Tags, when the creator gives none.
    #[serde(default)]
    #[schema(schema_with = crate::schema::tags)]
    pub tags: Vec<String>,
    /// Metadata, when the creator gives none.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// New keys start pending approval.
    #[serde(default)]
    pub require_approval: bool,
}

/// A template or group, as saved.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavePreset {
    /// What it is for.
    #[schema(schema_with = crate::schema::description)]
    pub description: Option<String>,
    /// The defaults it gives (all optional).
    #[serde(default)]
    pub defaults: DefaultsBody,
    /// Save only if the preset is at this version (0: only if it does not exist yet); without
    /// it, whatever is saved is replaced.
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(minimum = 0)]
    pub expected_version: Option<u64>,
    /// Why (recorded in the audit log).
    #[schema(schema_with = crate::schema::reason)]
    pub reason: Option<String>,
}

/// A saved template or group.
#[derive(Debug, Serialize, ToSchema)]
pub struct PresetView {
    /// `template` or `group`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its tenant (absent: the keys without one).
    pub tenant: Option<String>,
    /// What it is for.
    pub description: Option<String>,
    /// The defaults it gives, in the key view's shapes.
    #[schema(value_type = Object)]
    pub defaults: serde_json::Value,
    /// Its version (give it as `expected_version` to change it safely).
    pub version: u64,
    /// When it was last saved.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

/// Presets, by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct PresetList {
    /// The presets.
    pub items: Vec<PresetView>,
}

fn view(p: StoredPreset) -> PresetView {
    PresetView {
        kind: p.preset.kind.as_str().to_owned(),
        name: p.preset.name,
        tenant: p.tenant.map(|t| t.as_str().to_owned()),
        description: p.preset.description,
        defaults: serde_json::to_value(&p.preset.defaults).unwrap_or_default(),
        version: p.version,
        updated_at: p.updated_at,
    }
}

/// The tenant an admin key acts on: the one asked for, within what it may see. The reserved
/// admin tenant is never a customer's.
pub(crate) fn tenant_for(
    scope: &TenantScope,
    asked: Option<String>,
) -> Result<Option<TenantId>, Problem> {
    let tenant = match (scope, asked) {
        (TenantScope::Tenant(own), None) => Some(own.clone()),
        (TenantScope::Tenant(own), Some(t)) if t == own.as_str() => Some(own.clone()),
        (TenantScope::Tenant(_), Some(_)) => {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "other_tenant",
                "this admin key acts in its own tenant only",
            ));
        }
        (TenantScope::All, t) => t
            .map(TenantId::new)
            .transpose()
            .map_err(|e| Problem::bad_request(e.message().to_owned()))?,
    };
    if tenant
        .as_ref()
        .is_some_and(|t| t.as_str() == apikey_core::ADMIN_TENANT)
    {
        return Err(Problem::bad_request(
            "the tenant apikey.admin is reserved for the service's own admin keys",
        ));
    }
    Ok(tenant)
}

fn preset_name(p: Result<Path<String>, PathRejection>) -> Result<String, Problem> {
    let Path(name) = p.map_err(|e| Problem::bad_request(e.body_text()))?;
    let usable = name
        .chars()
        .any(|c| !c.is_whitespace() && c != '.' && !c.is_control())
        && !name.chars().any(char::is_control)
        && name.chars().count() <= apikey_core::manage::MAX_LABEL_LEN;
    if usable {
        Ok(name)
    } else {
        Err(Problem::bad_request(format!(
            "a preset name is 1 to {} characters without control characters, and not only dots and spaces",
            apikey_core::manage::MAX_LABEL_LEN
        )))
    }
}

impl DefaultsBody {
    fn into_defaults(self) -> Result<KeyDefaults, Problem> {
        Ok(KeyDefaults {
            scopes: ScopeSet::parse(self.scopes)?,
            rate_limit: self.rate_limit.map(rate).transpose()?,
            quota: self.quota.map(quota),
            expires_in_days: self.expires_in_days,
            environment: self.environment,
            tags: self.tags,
            metadata: self
                .metadata
                .map(Metadata::from_value)
                .transpose()?
                .unwrap_or_default(),
            require_approval: self.require_approval,
            ..KeyDefaults::default()
        })
    }
}

/// The version a preset is at, 0 when it does not exist: what a save without `expected_version`
/// replaces.
pub(crate) async fn current_version(
    m: &apikey_core::KeyManager,
    tenant: Option<&TenantId>,
    kind: CatalogKind,
    name: &str,
) -> Result<u64, Problem> {
    match m.preset(tenant, kind, name).await {
        Ok(p) => Ok(p.version),
        Err(e) if e.kind() == apikey_core::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e.into()),
    }
}

async fn list(
    st: &AppState,
    key: &Verified,
    kind: CatalogKind,
    q: Result<Query<PresetQuery>, QueryRejection>,
) -> Result<Json<PresetList>, Problem> {
    let tenant = tenant_for(&scope_of(key)?, query(q)?.tenant)?;
    let items = st.keys.manager().presets(tenant.as_ref(), kind).await?;
    Ok(Json(PresetList {
        items: items.into_iter().map(view).collect(),
    }))
}

async fn get(
    st: &AppState,
    key: &Verified,
    kind: CatalogKind,
    name: Result<Path<String>, PathRejection>,
    q: Result<Query<PresetQuery>, QueryRejection>,
) -> Result<Json<PresetView>, Problem> {
    let name = preset_name(name)?;
    let tenant = tenant_for(&scope_of(key)?, query(q)?.tenant)?;
    let p = st
        .keys
        .manager()
        .preset(tenant.as_ref(), kind, &name)
        .await?;
    Ok(Json(view(p)))
}

async fn save(
    st: &AppState,
    key: &Verified,
    kind: CatalogKind,
    name: Result<Path<String>, PathRejection>,
    q: Result<Query<PresetQuery>, QueryRejection>,
    b: Result<Json<SavePreset>, JsonRejection>,
) -> Result<(StatusCode, Json<PresetView>), Problem> {
    let name = preset_name(name)?;
    let b = body(b)?;
    let tenant = tenant_for(&scope_of(key)?, query(q)?.tenant)?;
    let m = st.keys.manager();
    let expected = match b.expected_version {
        Some(v) => v,
        None => current_version(m, tenant.as_ref(), kind, &name).await?,
    };
    let mut preset = Preset::new(kind, name);
    preset.description = b.description;
    preset.defaults = b.defaults.into_defaults()?;
    let saved = m
        .save_preset(
            tenant.as_ref(),
            preset,
            expected,
            actor_because(key, b.reason),
        )
        .await?;
    let status = if expected == 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view(saved))))
}

async fn remove(
    st: &AppState,
    key: &Verified,
    kind: CatalogKind,
    name: Result<Path<String>, PathRejection>,
    q: Result<Query<PresetQuery>, QueryRejection>,
) -> Result<StatusCode, Problem> {
    let name = preset_name(name)?;
    let tenant = tenant_for(&scope_of(key)?, query(q)?.tenant)?;
    st.keys
        .manager()
        .remove_preset(tenant.as_ref(), kind, &name, actor_because(key, None))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Generates the four routes of one preset kind, each with its OpenAPI annotation.
macro_rules! preset_routes {
    ($kind:expr, $path:literal, $one:literal, $list:ident, $get:ident, $save:ident, $remove:ident) => {
        #[doc = "Lists the tenant's presets of this kind, by name."]
        #[utoipa::path(get, path = $path, params(PresetQuery), responses(
            (status = 200, description = "The presets", body = PresetList),
            (status = 400, description = "A bad tenant (problem+json)"),
            (status = 401, description = "No valid admin key (problem+json)"),
            (status = 403, description = "The admin key lacks keys:read, or names another tenant (problem+json)"),
        ))]
        pub(crate) async fn $list(
            State(st): State<AppState>,
            key: Verified,
            q: Result<Query<PresetQuery>, QueryRejection>,
        ) -> Result<Json<PresetList>, Problem> {
            list(&st, &key, $kind, q).await
        }

        #[doc = "One preset of this kind."]
        #[utoipa::path(get, path = $one, params(PresetPath, PresetQuery), responses(
            (status = 200, description = "The preset", body = PresetView),
            (status = 400, description = "A bad name or tenant (problem+json)"),
            (status = 401, description = "No valid admin key (problem+json)"),
            (status = 403, description = "The admin key lacks keys:read, or names another tenant (problem+json)"),
            (status = 404, description = "No such preset (problem+json)"),
        ))]
        pub(crate) async fn $get(
            State(st): State<AppState>,
            key: Verified,
            name: Result<Path<String>, PathRejection>,
            q: Result<Query<PresetQuery>, QueryRejection>,
        ) -> Result<Json<PresetView>, Problem> {
            get(&st, &key, $kind, name, q).await
        }

        #[doc = "Creates or replaces a preset of this kind (existing keys keep what they were given)."]
        #[utoipa::path(put, path = $one, params(PresetPath, PresetQuery), request_body = SavePreset, responses(
            (status = 200, description = "Replaced", body = PresetView),
            (status = 201, description = "Created", body = PresetView),
            (status = 400, description = "A bad name or tenant, or a body that is not JSON (problem+json)"),
            (status = 401, description = "No valid admin key (problem+json)"),
            (status = 403, description = "The admin key lacks keys:write, or names another tenant (problem+json)"),
            (status = 409, description = "It is not at `expected_version` (problem+json)"),
            (status = 415, description = "The body is not application/json (problem+json)"),
            (status = 422, description = "A field is invalid (problem+json)"),
        ))]
        pub(crate) async fn $save(
            State(st): State<AppState>,
            key: Verified,
            name: Result<Path<String>, PathRejection>,
            q: Result<Query<PresetQuery>, QueryRejection>,
            b: Result<Json<SavePreset>, JsonRejection>,
        ) -> Result<(StatusCode, Json<PresetView>), Problem> {
            save(&st, &key, $kind, name, q, b).await
        }

        #[doc = "Removes a preset of this kind (its keys keep their settings and labels)."]
        #[utoipa::path(delete, path = $one, params(PresetPath, PresetQuery), responses(
            (status = 204, description = "Removed"),
            (status = 400, description = "A bad name or tenant (problem+json)"),
            (status = 401, description = "No valid admin key (problem+json)"),
            (status = 403, description = "The admin key lacks keys:write, or names another tenant (problem+json)"),
            (status = 404, description = "No such preset (problem+json)"),
        ))]
        pub(crate) async fn $remove(
            State(st): State<AppState>,
            key: Verified,
            name: Result<Path<String>, PathRejection>,
            q: Result<Query<PresetQuery>, QueryRejection>,
        ) -> Result<StatusCode, Problem> {
            remove(&st, &key, $kind, name, q).await
        }
    };
}

preset_routes!(
    CatalogKind::Template,
    "/v1/templates",
    "/v1/templates/{name}",
    list_templates,
    get_template,
    save_template,
    remove_template
);
preset_routes!(
    CatalogKind::Group,
    "/v1/groups",
    "/v1/groups/{name}",
    list_groups,
    get_group,
    save_group,
    remove_group
);
