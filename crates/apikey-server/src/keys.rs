//! `/v1/keys`: create, list, read and revoke keys, within the tenants the admin key may see.

use apikey_axum::Verified;
use apikey_core::store::Cursor;
use apikey_core::{Change, KeyFilter, KeyId, KeyView, NewKey, TenantScope};
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::admin::scope_of;
use crate::problem::Problem;

/// A new key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// A human-readable name.
    #[schema(schema_with = crate::schema::name)]
    pub name: String,
    /// Scopes granted, `resource:action` (action may be `*`).
    #[serde(default)]
    #[schema(schema_with = crate::schema::scopes)]
    pub scopes: Vec<String>,
    /// Free text.
    #[schema(schema_with = crate::schema::description)]
    pub description: Option<String>,
    /// The owner (user, team or customer).
    #[schema(schema_with = crate::schema::optional_label)]
    pub owner: Option<String>,
    /// The group (its defaults apply when it is saved at `/v1/groups`).
    #[schema(schema_with = crate::schema::optional_label)]
    pub group: Option<String>,
    /// A template (`/v1/templates`) whose defaults fill what this body leaves out.
    #[schema(schema_with = crate::schema::optional_label)]
    pub template: Option<String>,
    /// The tenant (an admin key of one tenant may only name its own; `apikey.admin` is reserved).
    #[schema(schema_with = crate::schema::tenant)]
    pub tenant: Option<String>,
    /// Tags.
    #[serde(default)]
    #[schema(schema_with = crate::schema::tags)]
    pub tags: Vec<String>,
    /// Aliases: other names for the key, unique in its tenant (not UUIDs).
    #[serde(default)]
    #[schema(schema_with = crate::schema::tags)]
    pub aliases: Vec<String>,
    /// When the key stops working (RFC 3339, in the future).
    #[schema(schema_with = crate::schema::instant)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Create it pending: it works once approved (`POST /v1/keys/{id}/approve`). A tenant whose
    /// settings require approval gets pending keys whatever this says.
    #[serde(default)]
    pub require_approval: bool,
    /// One-time credits the key starts with (a balance in the limiter: needs `--redis-url`).
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(minimum = 0)]
    pub credits: Option<u64>,
    /// How `credits` refill (absent: they are one-time).
    pub refill: Option<crate::pools::RefillBody>,
}

/// A created key, with its token (the only time it is shown).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    /// The key's public view.
    #[schema(value_type = Object)]
    pub key: serde_json::Value,
    /// The whole token.
    pub token: String,
}

/// A page of keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyPage {
    /// The keys' public views, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
    /// Where the next page starts (`after`), absent on the last page.
    pub next: Option<String>,
}

/// The list filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this owner's keys.
    #[param(
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
        max_length = 200
    )]
    pub owner: Option<String>,
    /// Only this group's keys.
    #[param(
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
        max_length = 200
    )]
    pub group: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    #[param(
        pattern = r"^-?[0-9]{1,15}\.[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub after: Option<String>,
}

/// A key named in the path.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct KeyPath {
    /// The key's id.
    #[param(
        format = "uuid",
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    #[allow(dead_code)]
    id: String,
}

pub(crate) fn view(r: &apikey_core::KeyRecord) -> serde_json::Value {
    serde_json::to_value(KeyView::from(r)).unwrap_or_default()
}

pub(crate) fn cursor_text(c: &Cursor) -> String {
    format!("{}.{}", c.created_at.timestamp_millis(), c.id)
}

pub(crate) fn parse_cursor(s: &str) -> Result<Cursor, Problem> {
    let bad = || Problem::bad_request("`after` is not a cursor this service gave out");
    let (ms, id) = s.split_once('.').ok_or_else(bad)?;
    let created_at = ms
        .parse::<i64>()
        .ok()
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .ok_or_else(bad)?;
    let id = id.parse::<KeyId>().map_err(|_| bad())?;
    Ok(Cursor { created_at, id })
}

/// A page size: 1 to 1000, 100 when not given.
pub(crate) fn page_limit(limit: Option<u32>) -> Result<u32, Problem> {
    let limit = limit.unwrap_or(apikey_core::store::DEFAULT_PAGE_SIZE);
    if (1..=apikey_core::store::MAX_PAGE_SIZE).contains(&limit) {
        Ok(limit)
    } else {
        Err(Problem::bad_request("`limit` must be 1 to 1000"))
    }
}

pub(crate) fn is_admin(r: &apikey_core::KeyRecord) -> bool {
    r.tenant_id
        .as_ref()
        .is_some_and(|t| t.as_str() == apikey_core::ADMIN_TENANT)
}

/// Key `id` as the admin key may see it: within its tenants, and never an admin key (those are
/// not managed through `/v1/keys`, so a `keys:write` key cannot touch the root key).
pub(crate) async fn managed(
    st: &AppState,
    scope: &TenantScope,
    id: KeyId,
) -> Result<apikey_core::KeyRecord, Problem> {
    match st.keys.manager().get(scope, id).await {
        Ok(r) if !is_admin(&r) => Ok(r),
        Ok(_) => Err(Problem::not_found(format!("key {id}"))),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn actor(key: &Verified) -> Change {
    Change::by(format!("admin key {}", key.key_id()))
}

/// [`actor`], with the caller's reason when it gave one.
pub(crate) fn actor_because(key: &Verified, reason: Option<String>) -> Change {
    match reason {
        Some(r) => actor(key).because(r),
        None => actor(key),
    }
}

/// The JSON body, or a 400/415/422 that says what is wrong with it.
pub(crate) fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, Problem> {
    b.map(|Json(t)| t).map_err(|e| {
        Problem::new(
            e.status(),
            "invalid_body",
            format!("the request body is not usable: {}", e.body_text()),
        )
    })
}

/// The query parameters, or a 400 that says what is wrong with them.
pub(crate) fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, Problem> {
    q.map(|Query(q)| q)
        .map_err(|e| Problem::bad_request(e.body_text()))
}

pub(crate) fn key_id(p: Result<Path<String>, PathRejection>) -> Result<KeyId, Problem> {
    let Path(s) = p.map_err(|e| Problem::bad_request(e.body_text()))?;
    s.parse::<KeyId>()
        .map_err(|_| Problem::bad_request("the key id is not a UUID"))
}

impl CreateKey {
    /// The key to make, in the tenant the admin key acts for (`credits` aside: they are set
    /// once the key exists).
    pub(crate) fn into_new_key(self, scope: &TenantScope) -> Result<NewKey, Problem> {
        let tenant = crate::presets::tenant_for(scope, self.tenant)?;
        let mut new = NewKey::new(self.name)
            .scopes(self.scopes)?
            .tags(self.tags)
            .aliases(self.aliases);
        new.description = self.description;
        new.owner = self.owner;
        new.group = self.group;
        new.template = self.template;
        new.tenant = tenant;
        new.expires_at = self.expires_at;
        new.require_approval = self.require_approval;
        Ok(new)
    }
}

/// Creates a key; its token is in the answer, the only time it is shown.
#[utoipa::path(post, path = "/v1/keys", request_body = CreateKey, params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body within 24 hours get the first answer again (Idempotent-Replayed: true)", pattern = r"^[\x21-\x7e]{1,255}$")), responses(
    (status = 201, description = "Created; the token is shown once", body = CreatedKey),
    (status = 400, description = "The body is not usable (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 415, description = "The body is not application/json (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write, or names another tenant (problem+json)"),
    (status = 404, description = "The template or group named does not exist (problem+json)"),
    (status = 409, description = "A tenant's key limit is reached, or credits were asked of a service that keeps none (problem+json)"),
    (status = 422, description = "A field is invalid, or the expiry is not in the future (problem+json)"),
))]
pub(crate) async fn create(
    State(st): State<AppState>,
    key: Verified,
    b: Result<Json<CreateKey>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedKey>), Problem> {
    let mut b = body(b)?;
    let scope = scope_of(&key)?;
    let plan = match (b.credits, b.refill.take()) {
        (None, None) => None,
        (Some(initial), refill) => Some(crate::pools::PlanBody { initial, refill }.into_plan()?),
        (None, Some(_)) => {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                "`refill` goes with `credits`",
            ));
        }
    };
    let new = b.into_new_key(&scope)?;
    let m = st.keys.manager();
    let created = m.create_as(new, actor(&key)).await?;
    if let Some(plan) = plan {
        // Before the token is shown: a key meant to have credits never works without them.
        let plan = Some(plan);
        let id = created.record.id;
        // Set, then read back: a limiter that keeps no balances only says so when asked.
        let given = match m.set_key_credits(&scope, id, plan, actor(&key)).await {
            Ok(_) => m.key_credits(&scope, id).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = given {
            let undo = m
                .revoke(
                    &scope,
                    id,
                    actor(&key).because("its credits could not be set"),
                )
                .await;
            if undo.is_err() {
                tracing::error!(key = %id, "a key whose credits could not be set is NOT revoked");
            }
            return Err(crate::credits::unavailable(e));
        }
    }
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            key: view(&created.record),
            token: created.token.expose().to_owned(),
        }),
    ))
}

/// A filter on a label (owner, group, tag): the same rules as the label a key is given, since a
/// filter no key can match is a mistake worth saying.
pub(crate) fn label_filter(name: &str, value: Option<&str>) -> Result<(), Problem> {
    match value {
        Some(v)
            if v.trim().is_empty()
                || v.chars().count() > apikey_core::manage::MAX_LABEL_LEN
                || v.chars().any(char::is_control) =>
        {
            Err(Problem::bad_request(format!(
                "`{name}` must be 1 to {} characters, not blank, without control characters",
                apikey_core::manage::MAX_LABEL_LEN
            )))
        }
        _ => Ok(()),
    }
}

/// Lists keys, oldest first, in keyset pages.
#[utoipa::path(get, path = "/v1/keys", params(ListQuery), responses(
    (status = 200, description = "A page of keys", body = KeyPage),
    (status = 400, description = "A bad filter or cursor (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:read (problem+json)"),
))]
pub(crate) async fn list(
    State(st): State<AppState>,
    key: Verified,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<KeyPage>, Problem> {
    let Query(q) = q.map_err(|e| Problem::bad_request(e.body_text()))?;
    let limit = page_limit(q.limit)?;
    // The same rules as the owner and group a key is given: a filter no key can match is a
    // mistake worth saying.
    label_filter("owner", q.owner.as_deref())?;
    label_filter("group", q.group.as_deref())?;
    let filter = KeyFilter {
        owner: q.owner,
        group: q.group,
        after: q.after.as_deref().map(parse_cursor).transpose()?,
        limit,
        ..KeyFilter::default()
    };
    let page = st.keys.manager().query(&scope_of(&key)?, &filter).await?;
    Ok(Json(KeyPage {
        // The service's own keys are not listed here (a page may then hold fewer than `limit`).
        items: page
            .items
            .iter()
            .filter(|r| !is_admin(r))
            .map(view)
            .collect(),
        next: page.next.as_ref().map(cursor_text),
    }))
}

/// One key's public view (never its hash).
#[utoipa::path(get, path = "/v1/keys/{id}", params(KeyPath), responses(
    (status = 200, description = "The key", body = Object),
    (status = 400, description = "The id is not a UUID (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:read (problem+json)"),
    (status = 404, description = "No such key in the admin key's tenants (problem+json)"),
))]
pub(crate) async fn get(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    let id = key_id(id)?;
    let record = managed(&st, &scope_of(&key)?, id).await?;
    Ok(Json(view(&record)))
}
