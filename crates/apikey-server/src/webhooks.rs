//! `/v1/webhooks…`: signed webhook subscriptions (Standard Webhooks) and their deliveries,
//! within the admin key's tenants. The signing secret is shown once, at creation and rotation.
//! Only an admin key of every tenant may aim a subscription at a private network: a tenant's
//! admin must not be able to make the service call addresses behind its firewall.

use std::time::Duration;

use apikey_axum::Verified;
use apikey_core::TenantScope;
use apikey_core::webhook::{DeliveryFilter, DeliveryState, EventFilter, SubscriptionId};
use apikey_webhooks::{DeliveryView, NewSubscription, SubscriptionView, Webhooks};
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::admin::scope_of;
use crate::keys::body;
use crate::lifecycle::optional;
use crate::problem::Problem;

/// The longest grace a rotated secret may keep signing beside the new one.
const MAX_GRACE_SECS: u64 = 30 * 24 * 60 * 60;
/// The grace when none is given.
const DEFAULT_GRACE_SECS: u64 = 24 * 60 * 60;

/// A subscription to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where to POST events (`https://`, or `http://` with `allow_http`).
    #[schema(format = "uri", max_length = 2048)]
    pub url: String,
    /// Only these event types; every type when empty.
    #[serde(default)]
    #[schema(schema_with = crate::schema::event_types)]
    pub events: Vec<String>,
    /// A note.
    #[schema(schema_with = crate::schema::description)]
    pub description: Option<String>,
    /// Allow `http://`.
    #[serde(default)]
    pub allow_http: bool,
    /// Allow loopback, private and link-local targets (an admin key of every tenant only).
    #[serde(default)]
    pub allow_private_network: bool,
    /// Whose events (an admin key of one tenant may only name its own).
    #[schema(schema_with = crate::schema::tenant)]
    pub tenant: Option<String>,
}

/// A new subscription, with its signing secret (the only time it is shown).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    /// The subscription.
    #[schema(value_type = Object)]
    pub subscription: serde_json::Value,
    /// The signing secret, `whsec_…` (Standard Webhooks).
    pub secret: String,
}

/// Subscriptions.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    /// The subscriptions (never their secrets).
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
}

/// How to rotate a signing secret.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// How long the old secret keeps signing beside the new one, in seconds (default a day, at
    /// most 30 days; 0: it stops at once).
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(minimum = 0, maximum = 2_592_000)]
    pub grace_secs: Option<u64>,
}

/// A new signing secret (the only time it is shown).
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecret {
    /// The new secret, `whsec_…`.
    pub secret: String,
    /// The subscription as it is now.
    #[schema(value_type = Object)]
    pub subscription: serde_json::Value,
}

/// Which deliveries.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// Only this subscription's.
    #[param(
        format = "uuid",
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub subscription: Option<String>,
    /// Only in this state.
    #[param(value_type = Option<String>, pattern = "^(pending|delivered|failed)$")]
    pub state: Option<String>,
    /// At most this many, newest first (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Deliveries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    /// The deliveries (without their payloads).
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
}

/// A subscription or delivery named in the path.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct IdPath {
    /// Its id.
    #[param(
        format = "uuid",
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    #[allow(dead_code)]
    id: String,
}

fn hooks(st: &AppState) -> Result<&Webhooks, Problem> {
    st.webhooks.as_deref().ok_or_else(|| {
        Problem::not_found(
            "webhooks are not configured on this service (apikey serve needs a key-encryption key, APIKEY_KEK, for their secrets)",
        )
    })
}

fn sub_view(s: &apikey_core::webhook::Subscription) -> serde_json::Value {
    serde_json::to_value(SubscriptionView::from(s)).unwrap_or_default()
}

fn uuid(p: Result<Path<String>, PathRejection>) -> Result<uuid::Uuid, Problem> {
    let Path(s) = p.map_err(|e| Problem::bad_request(e.body_text()))?;
    s.parse()
        .map_err(|_| Problem::bad_request("the id is not a UUID"))
}

fn sub_id(p: Result<Path<String>, PathRejection>) -> Result<SubscriptionId, Problem> {
    uuid(p).map(|u| u.to_string().parse().expect("a UUID is a subscription id"))
}

/// Subscribes a URL to events; the answer holds its signing secret, shown once.
#[utoipa::path(post, path = "/v1/webhooks", operation_id = "create_webhook", request_body = CreateWebhook, responses(
    (status = 201, description = "Created; the secret is shown once", body = CreatedWebhook),
    (status = 400, description = "The body is not usable (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks webhooks:write, names another tenant, or may not allow private networks (problem+json)"),
    (status = 404, description = "Webhooks are not configured on this service (problem+json)"),
    (status = 415, description = "The body is not application/json (problem+json)"),
    (status = 422, description = "The URL is refused (scheme, or an address it may not reach), or a field is invalid (problem+json)"),
))]
pub(crate) async fn create(
    State(st): State<AppState>,
    key: Verified,
    b: Result<Json<CreateWebhook>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedWebhook>), Problem> {
    let hooks = hooks(&st)?;
    let b = body(b)?;
    let scope = scope_of(&key)?;
    if b.allow_private_network && matches!(scope, TenantScope::Tenant(_)) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "private_network",
            "only an admin key of every tenant may aim a webhook at a private network",
        ));
    }
    // The rule a key's description follows (the document's pattern says the same).
    if let Some(d) = &b.description
        && (d.chars().count() > apikey_core::manage::MAX_DESCRIPTION_LEN
            || d.chars().any(|c| c.is_control() && c != '\n' && c != '\t'))
    {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            format!(
                "description: at most {} characters, no control characters but new lines and tabs",
                apikey_core::manage::MAX_DESCRIPTION_LEN
            ),
        ));
    }
    let tenant = crate::presets::tenant_for(&scope, b.tenant)?;
    let events = EventFilter::only(&b.events)?;
    let (sub, secret) = hooks
        .create(NewSubscription {
            tenant,
            url: b.url,
            events,
            allow_http: b.allow_http,
            allow_private_network: b.allow_private_network,
            description: b.description,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhook {
            subscription: sub_view(&sub),
            secret: String::from(&*secret.expose()),
        }),
    ))
}

/// The subscriptions the admin key may see.
#[utoipa::path(get, path = "/v1/webhooks", operation_id = "list_webhooks", responses(
    (status = 200, description = "The subscriptions", body = WebhookList),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks webhooks:read (problem+json)"),
    (status = 404, description = "Webhooks are not configured on this service (problem+json)"),
))]
pub(crate) async fn list(
    State(st): State<AppState>,
    key: Verified,
) -> Result<Json<WebhookList>, Problem> {
    let subs = hooks(&st)?.list(&scope_of(&key)?).await?;
    Ok(Json(WebhookList {
        items: subs.iter().map(sub_view).collect(),
    }))
}

/// One subscription.
#[utoipa::path(get, path = "/v1/webhooks/{id}", operation_id = "get_webhook", params(IdPath), responses(
    (status = 200, description = "The subscription", body = Object),
    (status = 400, description = "The id is not a UUID (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks webhooks:read (problem+json)"),
    (status = 404, description = "No such subscription in the admin key's tenants, or webhooks are not configured (problem+json)"),
))]
pub(crate) async fn get(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    let hooks = hooks(&st)?;
    let s = hooks.get(&scope_of(&key)?, sub_id(id)?).await?;
    Ok(Json(sub_view(&s)))
}

/// Deletes a subscription and its deliveries.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", operation_id = "remove_webhook", params(IdPath), responses(
    (status = 204, description = "Deleted"),
    (status = 400, description = "The id is not a UUID (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks webhooks:write (problem+json)"),
    (status = 404, description = "No such subscription in the admin key's tenants, or webhooks are not configured (problem+json)"),
))]
pub(crate) async fn remove(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Problem> {
    let hooks = hooks(&st)?;
    hooks.remove(&scope_of(&key)?, sub_id(id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn toggle(
    st: &AppState,
    key: &Verified,
    id: Result<Path<String>, PathRejection>,
    on: bool,
) -> Result<Json<serde_json::Value>, Problem> {
    let hooks = hooks(st)?;
    let s = hooks.set_enabled(&scope_of(key)?, sub_id(id)?, on).await?;
    Ok(Json(sub_view(&s)))
}

/// Delivers new events to the subscription again.
#[utoipa::path(post, path = "/v1/webhooks/{id}/enable", operation_id = "enable_webhook", params(IdPath), responses(
    (status = 200, description = "The subscription as it is now", body = Object),
    (status = 400, description = "The id is not a UUID (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks webhooks:write (problem+json)"),
    (status = 404, description = "No such subscription in the admin key's tenants, or webhooks are not configured (problem+json)"),
    (status = 409, description = "It changed meanwhile (problem+json)"),
))]
pub(crate) async fn enable(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    toggle(&st, &key, id, true).await
}

/// Stops delivering to the subscription (events are not queued for it meanwhile).
#[utoipa::path(post, path = "/v1/webhooks/{id}/disable", operation_id = "disable_webhook", params(IdPath), responses(
    (status = 200, description = "The subscription as it is now", body = Object),
    (status = 400, description = "The id is not a UUID (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks webhooks:write (problem+json)"),
    (status = 404, description = "No such subscription in the admin key's tenants, or webhooks are not configured (problem+json)"),
    (status = 409, description = "It changed meanwhile (problem+json)"),
))]
pub(crate) async fn disable(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    toggle(&st, &key, id, false).await
}

/// A new signing secret, shown once; the old one keeps signing beside it for the grace.
#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate", operation_id = "rotate_webhook_secret", params(IdPath), request_body(content = RotateSecret, description = "Optional"), responses(
    (status = 200, description = "The new secret, shown once", body = RotatedSecret),
    (status = 400, description = "The id is not a UUID, or the body is not JSON (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks webhooks:write (problem+json)"),
    (status = 404, description = "No such subscription in the admin key's tenants, or webhooks are not configured (problem+json)"),
    (status = 409, description = "It changed meanwhile (problem+json)"),
    (status = 415, description = "A body that is not application/json (problem+json)"),
    (status = 422, description = "A field is invalid (problem+json)"),
))]
pub(crate) async fn rotate(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
    b: Result<Json<RotateSecret>, JsonRejection>,
) -> Result<Json<RotatedSecret>, Problem> {
    let hooks = hooks(&st)?;
    let id = sub_id(id)?;
    let b = optional(b)?;
    let grace = b.grace_secs.unwrap_or(DEFAULT_GRACE_SECS);
    if grace > MAX_GRACE_SECS {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            format!("`grace_secs` is at most {MAX_GRACE_SECS} (30 days)"),
        ));
    }
    let scope = scope_of(&key)?;
    let secret = hooks.rotate(&scope, id, Duration::from_secs(grace)).await?;
    let s = hooks.get(&scope, id).await?;
    Ok(Json(RotatedSecret {
        secret: String::from(&*secret.expose()),
        subscription: sub_view(&s),
    }))
}

/// Queues a `ping` to the subscription, due now (the delivery job sends it).
#[utoipa::path(post, path = "/v1/webhooks/{id}/ping", operation_id = "ping_webhook", params(IdPath), responses(
    (status = 202, description = "The queued delivery", body = Object),
    (status = 400, description = "The id is not a UUID (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks webhooks:write (problem+json)"),
    (status = 404, description = "No such subscription in the admin key's tenants, or webhooks are not configured (problem+json)"),
))]
pub(crate) async fn ping(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), Problem> {
    let hooks = hooks(&st)?;
    let d = hooks.ping(&scope_of(&key)?, sub_id(id)?).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::to_value(DeliveryView::from(&d)).unwrap_or_default()),
    ))
}

/// Deliveries, newest first.
#[utoipa::path(get, path = "/v1/webhooks/deliveries", operation_id = "list_deliveries", params(DeliveryQuery), responses(
    (status = 200, description = "The deliveries", body = DeliveryList),
    (status = 400, description = "A bad filter (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks webhooks:read (problem+json)"),
    (status = 404, description = "Webhooks are not configured on this service (problem+json)"),
))]
pub(crate) async fn deliveries(
    State(st): State<AppState>,
    key: Verified,
    q: Result<Query<DeliveryQuery>, QueryRejection>,
) -> Result<Json<DeliveryList>, Problem> {
    let hooks = hooks(&st)?;
    let Query(q) = q.map_err(|e| Problem::bad_request(e.body_text()))?;
    let state = match q.state.as_deref() {
        None => None,
        Some("pending") => Some(DeliveryState::Pending),
        Some("delivered") => Some(DeliveryState::Delivered),
        Some("failed") => Some(DeliveryState::Failed),
        Some(_) => {
            return Err(Problem::bad_request(
                "`state` is pending, delivered or failed",
            ));
        }
    };
    let filter = DeliveryFilter {
        subscription_id: q
            .subscription
            .as_deref()
            .map(str::parse::<SubscriptionId>)
            .transpose()
            .map_err(|_| Problem::bad_request("`subscription` is not a UUID"))?,
        state,
        limit: Some(crate::keys::page_limit(q.limit)?),
    };
    let ds = hooks.deliveries(&scope_of(&key)?, &filter).await?;
    Ok(Json(DeliveryList {
        items: ds
            .iter()
            .map(|d| serde_json::to_value(DeliveryView::from(d)).unwrap_or_default())
            .collect(),
    }))
}

/// Sends a delivery again (dead-lettered or delivered): pending, due now, with a fresh retry
/// period.
#[utoipa::path(post, path = "/v1/webhooks/deliveries/{id}/redeliver", operation_id = "redeliver", params(IdPath), responses(
    (status = 202, description = "Due again"),
    (status = 400, description = "The id is not a UUID (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks webhooks:write (problem+json)"),
    (status = 404, description = "No such delivery in the admin key's tenants, or webhooks are not configured (problem+json)"),
))]
pub(crate) async fn redeliver(
    State(st): State<AppState>,
    key: Verified,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Problem> {
    let hooks = hooks(&st)?;
    hooks.redeliver(&scope_of(&key)?, uuid(id)?).await?;
    Ok(StatusCode::ACCEPTED)
}
