//! `apikey-server`: the key service behind `apikey serve`, for services in any language.
//!
//! [`router`] builds the axum router from two `ApiKeys` over one store:
//!
//! - `admin`: built with [`VerifierConfig::admin_keys`](apikey_core::VerifierConfig) on. Its
//!   verifier guards the service and accepts the service's own admin keys (tenant
//!   [`ADMIN_TENANT`](apikey_core::ADMIN_TENANT)) and nothing else.
//! - `keys`: the default configuration. It verifies and manages the keys the service serves, and
//!   answers an admin key as an unknown one.
//!
//! So an admin key never authenticates a customer's API, and a customer's key never
//! authenticates the service. Every route declares its admin scope through `apikey-axum`'s
//! `Routes`, and the OpenAPI document at `/openapi.json` takes each operation's scopes from those
//! declarations (`apikey-openapi`).
//!
//! The crate README lists the routes and what is not built yet.

mod admin;
mod admins;
mod audit;
mod bulk;
mod cors;
mod credits;
mod diff;
mod doc;
mod github_keys;
mod history;
mod idempotency;
mod keys;
mod leaks;
mod lifecycle;
mod metrics;
mod organise;
mod policies;
mod pools;
mod presets;
mod problem;
mod requests;
mod schema;
mod settings;
mod signing;
mod ui;
mod update;
mod usage;
mod verify;
mod webhooks;

pub use admin::{ADMIN_SCOPES, admin_tenant, create_root_key, tenant_metadata};
pub use admins::{AdminQuery, CreateAdmin};
pub use audit::{AuditPage, AuditQuery};
pub use bulk::{
    BulkChange, BulkChangedView, BulkCreate, BulkCreatedView, BulkFilter, BulkRow, BulkUpdate,
    FailedKey, MAX_BULK_ROWS, RowProblem,
};
pub use credits::{AdjustCredits, CreditAction, Credits};
pub use diff::{Change, Diff, DiffQuery};
pub use github_keys::{GITHUB_KEYS_URL, GithubKeys, SignatureError};
pub use history::{History, Rollback, Version};
pub use idempotency::{IDEMPOTENCY_KEY, REPLAYED};
pub use keys::{CreateKey, CreatedKey, KeyPage, ListQuery};
pub use leaks::{Labelled, MAX_REPORTED, Reported};
pub use lifecycle::{Reason, Rotate, Rotated};
pub use organise::{CloneKey, Transfer};
pub use policies::{DueMode, Policy, PolicyList, PolicyQuery};
pub use pools::{
    AdjustPool, Every, PlanBody, PoolList, PoolQuery, PoolView, RefillBody, RefillHow, SavePool,
};
pub use presets::{DefaultsBody, PresetList, PresetQuery, PresetView, SavePreset};
pub use problem::Problem;
pub use requests::{RequestPage, RequestQuery};
pub use settings::{
    DetectorAction, LogMode, RequestLogBody, SaveSettings, SettingsView, SpreadBody, SurgeBody,
    ThreatsBody,
};
pub use signing::{Mode, RotateSigning, SetSigning, Signed};
pub use update::{Period, QuotaBody, RateBody, UpdateKey};
pub use usage::{
    Counts, Point, RankBy, RankedKey, TopUsage, TopUsageQuery, UsageQuery, UsageSeries, Width,
};
pub use verify::{Verdict, VerifyRequest};
pub use webhooks::{
    CreateWebhook, CreatedWebhook, DeliveryList, DeliveryQuery, RotateSecret, RotatedSecret,
    WebhookList,
};

use apikey_axum::ApiKeyLayer;
use apikey_axum::routes::{Routes, public, scopes};
use apikey_core::{ApiKeys, ClientIpResolver};
use axum::Router;

/// What every handler shares.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    /// The keys the service manages and verifies (admin keys refused).
    pub(crate) keys: ApiKeys,
    /// The service's own keys (its guard's verifier).
    pub(crate) admin: ApiKeys,
    /// GitHub's secret-scanning keys, when the receiver is configured.
    pub(crate) github: Option<std::sync::Arc<GithubKeys>>,
    /// The request log, when configured.
    pub(crate) requests: Option<std::sync::Arc<dyn apikey_core::request_log::RequestLogStore>>,
    /// Webhook subscriptions and deliveries, when configured.
    pub(crate) webhooks: Option<std::sync::Arc<apikey_webhooks::Webhooks>>,
    /// The audit log, when configured.
    pub(crate) audit: Option<std::sync::Arc<dyn apikey_core::AuditStore>>,
    /// Usage analytics, when configured.
    pub(crate) analytics: Option<std::sync::Arc<dyn apikey_core::analytics::AnalyticsStore>>,
    /// The Prometheus recorder's handle, when one is installed.
    pub(crate) metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Which peers' `X-Forwarded-For` counts.
    pub(crate) proxies: ClientIpResolver,
    /// The OpenAPI document, rendered once.
    pub(crate) doc: std::sync::Arc<str>,
}

/// The service's routes, each with the admin scope it requires, behind a guard over `admin`'s
/// verifier.
fn routes(admin: &ApiKeys, proxies: &ClientIpResolver) -> Routes<AppState> {
    let layer = ApiKeyLayer::new(admin.verifier().clone()).trusted_proxies(proxies.clone());
    Routes::new(layer)
        .post("/v1/keys/verify", verify::verify, scopes(["keys:verify"]))
        .post("/v1/keys", keys::create, scopes(["keys:write"]))
        .get("/v1/keys", keys::list, scopes(["keys:read"]))
        .post("/v1/keys/bulk", bulk::create, scopes(["keys:write"]))
        .post("/v1/keys/bulk/revoke", bulk::revoke, scopes(["keys:write"]))
        .post(
            "/v1/keys/bulk/suspend",
            bulk::suspend,
            scopes(["keys:write"]),
        )
        .post("/v1/keys/bulk/update", bulk::update, scopes(["keys:write"]))
        .get("/v1/keys/{id}", keys::get, scopes(["keys:read"]))
        .patch("/v1/keys/{id}", update::update, scopes(["keys:write"]))
        .get(
            "/v1/keys/{id}/history",
            history::history,
            scopes(["keys:read"]),
        )
        .get("/v1/keys/{id}/diff", diff::diff, scopes(["keys:read"]))
        .put(
            "/v1/keys/{id}/signing",
            signing::set,
            scopes(["keys:write"]),
        )
        .delete(
            "/v1/keys/{id}/signing",
            signing::remove,
            scopes(["keys:write"]),
        )
        .post(
            "/v1/keys/{id}/signing/rotate",
            signing::rotate,
            scopes(["keys:write"]),
        )
        .get("/v1/settings", settings::get, scopes(["keys:read"]))
        .put("/v1/settings", settings::put, scopes(["keys:write"]))
        .post(
            "/v1/keys/{id}/rollback",
            history::rollback,
            scopes(["keys:write"]),
        )
        .get("/v1/audit", audit::audit, scopes(["audit:read"]))
        .get("/v1/requests", requests::requests, scopes(["usage:read"]))
        .get("/v1/usage", usage::series, scopes(["usage:read"]))
        .get("/v1/usage/top", usage::top, scopes(["usage:read"]))
        .get("/metrics", metrics::metrics, scopes(["usage:read"]))
        .get("/v1/keys/{id}/credits", credits::get, scopes(["keys:read"]))
        .post(
            "/v1/keys/{id}/credits",
            credits::adjust,
            scopes(["keys:write"]),
        )
        .post(
            "/v1/keys/{id}/revoke",
            lifecycle::revoke,
            scopes(["keys:write"]),
        )
        .post(
            "/v1/keys/{id}/suspend",
            lifecycle::suspend,
            scopes(["keys:write"]),
        )
        .post(
            "/v1/keys/{id}/unsuspend",
            lifecycle::unsuspend,
            scopes(["keys:write"]),
        )
        .post(
            "/v1/keys/{id}/restore",
            lifecycle::restore,
            scopes(["keys:write"]),
        )
        .post(
            "/v1/keys/{id}/clone",
            organise::clone,
            scopes(["keys:write"]),
        )
        .post(
            "/v1/keys/{id}/transfer",
            organise::transfer,
            scopes(["keys:write"]),
        )
        .post(
            "/v1/keys/{id}/approve",
            lifecycle::approve,
            scopes(["keys:write"]),
        )
        .post(
            "/v1/keys/{id}/reject",
            lifecycle::reject,
            scopes(["keys:write"]),
        )
        .post(
            "/v1/keys/{id}/rotate",
            lifecycle::rotate,
            scopes(["keys:write"]),
        )
        .get(
            "/v1/templates",
            presets::list_templates,
            scopes(["keys:read"]),
        )
        .get(
            "/v1/templates/{name}",
            presets::get_template,
            scopes(["keys:read"]),
        )
        .put(
            "/v1/templates/{name}",
            presets::save_template,
            scopes(["keys:write"]),
        )
        .delete(
            "/v1/templates/{name}",
            presets::remove_template,
            scopes(["keys:write"]),
        )
        .get("/v1/policies", policies::list, scopes(["keys:read"]))
        .put("/v1/policies", policies::set, scopes(["keys:write"]))
        .delete("/v1/policies", policies::remove, scopes(["keys:write"]))
        .get("/v1/pools", pools::list, scopes(["keys:read"]))
        .put("/v1/pools", pools::save, scopes(["keys:write"]))
        .delete("/v1/pools", pools::remove, scopes(["keys:write"]))
        .get("/v1/pools/credits", pools::credits, scopes(["keys:read"]))
        .post("/v1/pools/credits", pools::adjust, scopes(["keys:write"]))
        .get("/v1/groups", presets::list_groups, scopes(["keys:read"]))
        .get(
            "/v1/groups/{name}",
            presets::get_group,
            scopes(["keys:read"]),
        )
        .put(
            "/v1/groups/{name}",
            presets::save_group,
            scopes(["keys:write"]),
        )
        .delete(
            "/v1/groups/{name}",
            presets::remove_group,
            scopes(["keys:write"]),
        )
        .post("/v1/webhooks", webhooks::create, scopes(["webhooks:write"]))
        .get("/v1/webhooks", webhooks::list, scopes(["webhooks:read"]))
        .get(
            "/v1/webhooks/deliveries",
            webhooks::deliveries,
            scopes(["webhooks:read"]),
        )
        .post(
            "/v1/webhooks/deliveries/{id}/redeliver",
            webhooks::redeliver,
            scopes(["webhooks:write"]),
        )
        .get(
            "/v1/webhooks/{id}",
            webhooks::get,
            scopes(["webhooks:read"]),
        )
        .delete(
            "/v1/webhooks/{id}",
            webhooks::remove,
            scopes(["webhooks:write"]),
        )
        .post(
            "/v1/webhooks/{id}/enable",
            webhooks::enable,
            scopes(["webhooks:write"]),
        )
        .post(
            "/v1/webhooks/{id}/disable",
            webhooks::disable,
            scopes(["webhooks:write"]),
        )
        .post(
            "/v1/webhooks/{id}/rotate",
            webhooks::rotate,
            scopes(["webhooks:write"]),
        )
        .post(
            "/v1/webhooks/{id}/ping",
            webhooks::ping,
            scopes(["webhooks:write"]),
        )
        .post("/v1/admins", admins::create, scopes(["admins:write"]))
        .get("/v1/admins", admins::list, scopes(["admins:write"]))
        .post(
            "/v1/admins/{id}/revoke",
            admins::revoke,
            scopes(["admins:write"]),
        )
        .post("/v1/leaks/github", leaks::github, public())
        .get("/openapi.json", doc::openapi_json, public())
        .health(admin.health().clone())
}

/// The OpenAPI 3.1 document of the service, with each operation's admin scopes.
///
/// # Errors
///
/// When the document and the routes disagree (a test keeps them in step).
pub fn openapi(admin: &ApiKeys) -> Result<utoipa::openapi::OpenApi, apikey_openapi::SecureError> {
    doc::document(routes(admin, &ClientIpResolver::new()).table())
}

/// The service: its two `ApiKeys` and what is optional.
#[derive(Debug)]
pub struct Service {
    admin: ApiKeys,
    keys: ApiKeys,
    github: Option<std::sync::Arc<GithubKeys>>,
    webhooks: Option<std::sync::Arc<apikey_webhooks::Webhooks>>,
    requests: Option<std::sync::Arc<dyn apikey_core::request_log::RequestLogStore>>,
    audit: Option<std::sync::Arc<dyn apikey_core::AuditStore>>,
    analytics: Option<std::sync::Arc<dyn apikey_core::analytics::AnalyticsStore>>,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    proxies: ClientIpResolver,
    cors: Vec<axum::http::HeaderValue>,
    secure_cookies: bool,
}

impl Service {
    /// The service over `admin` (built with `VerifierConfig::admin_keys` on) and `keys` (built
    /// with it off), over the same store (see the crate documentation).
    ///
    /// # Errors
    ///
    /// When `admin` does not accept admin keys or `keys` does.
    pub fn new(admin: ApiKeys, keys: ApiKeys) -> apikey_core::Result<Self> {
        if !admin.verifier().config().admin_keys || keys.verifier().config().admin_keys {
            return Err(apikey_core::Error::new(
                apikey_core::ErrorKind::Config,
                "the service's guard needs ApiKeys with VerifierConfig::admin_keys on, and the keys it serves ApiKeys with it off",
            ));
        }
        Ok(Self {
            admin,
            keys,
            github: None,
            webhooks: None,
            requests: None,
            audit: None,
            analytics: None,
            metrics: None,
            proxies: ClientIpResolver::new(),
            cors: Vec::new(),
            secure_cookies: true,
        })
    }

    /// Receives GitHub's secret-scanning alerts at `POST /v1/leaks/github`, checked against
    /// `keys`. Without it that route answers 404.
    #[must_use]
    pub fn github_keys(mut self, keys: GithubKeys) -> Self {
        self.github = Some(std::sync::Arc::new(keys));
        self
    }

    /// Serves webhook subscriptions and their deliveries at `/v1/webhooks…`
    /// (`webhooks:read`, `webhooks:write`). Without it those routes answer 404. The service
    /// does not deliver: run `apikey-webhooks`' `Dispatcher` on a scheduler beside it (`apikey
    /// serve` does).
    #[must_use]
    pub fn webhooks(mut self, webhooks: apikey_webhooks::Webhooks) -> Self {
        self.webhooks = Some(std::sync::Arc::new(webhooks));
        self
    }

    /// Serves the request log (what the guards of the services using these keys recorded) at
    /// `GET /v1/requests` (`usage:read`). Without it that route answers 404.
    #[must_use]
    pub fn request_log(
        mut self,
        store: std::sync::Arc<dyn apikey_core::request_log::RequestLogStore>,
    ) -> Self {
        self.requests = Some(store);
        self
    }

    /// Serves the audit log at `GET /v1/audit` (`audit:read`). Without it that route answers
    /// 404. Give `keys` the same store with `ApiKeysBuilder::audit` for key history.
    #[must_use]
    pub fn audit_log(mut self, store: std::sync::Arc<dyn apikey_core::AuditStore>) -> Self {
        self.audit = Some(store);
        self
    }

    /// Serves usage analytics at `GET /v1/usage` and `GET /v1/usage/top` (`usage:read`).
    /// Without it those routes answer 404. The counts are written by the verifiers' flush into
    /// the store's [`AnalyticsStore`](apikey_core::analytics::AnalyticsStore); pass the same.
    #[must_use]
    pub fn analytics(
        mut self,
        store: std::sync::Arc<dyn apikey_core::analytics::AnalyticsStore>,
    ) -> Self {
        self.analytics = Some(store);
        self
    }

    /// Serves `GET /metrics` (`usage:read`, so a scraper sends an admin key as a bearer token):
    /// the Prometheus text rendered from `handle`. Install the recorder (and give it to the
    /// `metrics` facade) before building the `ApiKeys`, whose handles register at build time.
    /// Without it the route answers 404.
    #[must_use]
    pub fn metrics(mut self, handle: metrics_exporter_prometheus::PrometheusHandle) -> Self {
        self.metrics = Some(handle);
        self
    }

    /// Trusts these proxies' `X-Forwarded-For`: for the guard's failed-attempt limiter and for
    /// the caller's address on `/v1/keys/verify`. By default no proxy is trusted and the socket
    /// peer is the caller.
    #[must_use]
    pub fn trusted_proxies(mut self, proxies: ClientIpResolver) -> Self {
        self.proxies = proxies;
        self
    }

    /// Lets browsers on these origins (`https://admin.example.com`) call the service (CORS):
    /// the methods and headers the API uses, no cookies (admin keys are sent as headers). None
    /// by default.
    ///
    /// # Errors
    ///
    /// When an origin is not a valid header value.
    pub fn cors_origins<I>(mut self, origins: I) -> apikey_core::Result<Self>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        for o in origins {
            let o = o.as_ref();
            let valid = (o.starts_with("https://") || o.starts_with("http://"))
                && !o.ends_with('/')
                && !o.contains(['*', ' ']);
            let value = axum::http::HeaderValue::from_str(o).ok().filter(|_| valid);
            self.cors.push(value.ok_or_else(|| {
                apikey_core::Error::invalid(
                    "cors origin",
                    format_args!("{o:?} is not an origin like https://admin.example.com"),
                )
            })?);
        }
        Ok(self)
    }

    /// Whether the dashboard's session cookie is `Secure` (the default). Turn it off only for a
    /// service on loopback, where browsers keep such a cookie over plain HTTP; behind a proxy
    /// that terminates TLS, keep it on.
    #[must_use]
    pub fn dashboard_secure_cookies(mut self, secure: bool) -> Self {
        self.secure_cookies = secure;
        self
    }

    /// The axum router.
    ///
    /// # Errors
    ///
    /// When the OpenAPI document cannot be built.
    pub fn into_router(self) -> apikey_core::Result<Router> {
        let r = routes(&self.admin, &self.proxies);
        let config = |e: String| apikey_core::Error::new(apikey_core::ErrorKind::Config, e);
        let doc = doc::document(r.table())
            .map_err(|e| config(e.to_string()))?
            .to_json()
            .map_err(|e| config(e.to_string()))?;
        let state = AppState {
            keys: self.keys,
            admin: self.admin,
            github: self.github,
            webhooks: self.webhooks,
            requests: self.requests,
            audit: self.audit,
            analytics: self.analytics,
            metrics: self.metrics,
            proxies: self.proxies,
            doc: std::sync::Arc::from(doc),
        };
        let remembered = std::sync::Arc::new(idempotency::Idempotency::default());
        let dashboard = ui::router(state.clone(), self.secure_cookies);
        let mut router = r
            .into_router()
            .with_state(state)
            .layer(axum::middleware::from_fn_with_state(
                remembered,
                idempotency::middleware,
            ))
            .merge(dashboard);
        if !self.cors.is_empty() {
            router = router.layer(cors::layer(self.cors));
        }
        Ok(router)
    }
}

/// The router of the service with nothing optional configured: [`Service::new`] then
/// [`Service::into_router`].
///
/// # Errors
///
/// As those.
pub fn router(admin: &ApiKeys, keys: ApiKeys) -> apikey_core::Result<Router> {
    Service::new(admin.clone(), keys)?.into_router()
}
