//! [`Routes`]: an axum router that knows what every route requires, so a test can refuse a route
//! without a declaration and OpenAPI can say which scopes each operation needs.
//!
//! axum's `Router` cannot list its routes, so the table is kept by the builder as routes are
//! added. The builder owns the guard too: a scoped route is always behind the [`ApiKeyLayer`]
//! (the second classic bug, a route added after `.layer(...)` and so outside it, cannot happen),
//! and a public route is always outside it.

use std::convert::Infallible;

use apikey_core::Scope;
use apikey_core::routes::{Access, Route, RouteTable};
use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::{ApiKeyLayer, require_scopes};

/// Requires every scope in `scopes` (an empty list: any valid key).
///
/// # Panics
///
/// If a scope is not `resource:action` (as [`require_scopes`] does): scopes in code are a
/// programming matter; use [`Access::scopes`] for scopes read from configuration.
pub fn scopes<I, T>(scopes: I) -> Access
where
    I: IntoIterator<Item = T>,
    T: AsRef<str>,
{
    Access::scopes(scopes).unwrap_or_else(|e| panic!("apikey_axum::scopes: {e}"))
}

/// No key needed.
pub fn public() -> Access {
    Access::Public
}

/// Any valid key, with no scopes beyond those the guard itself requires.
pub fn any_key() -> Access {
    Access::Scopes(Vec::new().into())
}

/// An axum router whose routes each declare what they require.
///
/// ```
/// use apikey_axum::routes::{Routes, public, scopes};
/// # fn demo(verifier: apikey_core::Verifier) {
/// async fn list() -> &'static str { "projects" }
/// async fn create() -> &'static str { "created" }
/// async fn health() -> &'static str { "ok" }
///
/// let routes = Routes::new(apikey_axum::ApiKeyLayer::new(verifier))
///     .get("/projects", list, scopes(["projects:read"]))
///     .post("/projects", create, scopes(["projects:write"]))
///     .get("/health", health, public());
/// let table = routes.table().clone(); // what a test checks, what the start-up report prints
/// let app: axum::Router = routes.into_router();
/// # }
/// ```
#[derive(Debug)]
#[must_use]
pub struct Routes<S = ()> {
    router: Router<S>,
    layer: ApiKeyLayer,
    table: RouteTable,
}

impl<S> Routes<S>
where
    S: Clone + Send + Sync + 'static,
{
    /// An empty router whose scoped routes go behind `layer`.
    pub fn new(layer: ApiKeyLayer) -> Self {
        let table = RouteTable::new().with_credentials(layer.credential_config().clone());
        Self {
            router: Router::new(),
            layer,
            table,
        }
    }

    /// `method` on `path` runs `handler` with what `access` requires ([`Access::Denied`]: the
    /// route is listed but not served).
    ///
    /// # Panics
    ///
    /// If `method` is not one axum routes by (`GET`, `HEAD`, `POST`, `PUT`, `DELETE`, `OPTIONS`,
    /// `PATCH`, `TRACE`, `CONNECT`), or as axum's `Router::route` does (a bad path, a method
    /// served twice on one path).
    pub fn on<H, T>(self, method: Method, path: &str, handler: H, access: Access) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let name = method.as_str().to_owned();
        let filter = MethodFilter::try_from(method)
            .unwrap_or_else(|e| panic!("apikey_axum::Routes::on({name}): {e}"));
        self.with(&name, path, on(filter, handler), access)
    }

    /// `GET` (and `HEAD`, as axum serves it) on `path`.
    pub fn get<H, T>(self, path: &str, handler: H, access: Access) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.on(Method::GET, path, handler, access)
    }

    /// `POST` on `path`.
    pub fn post<H, T>(self, path: &str, handler: H, access: Access) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.on(Method::POST, path, handler, access)
    }

    /// `PUT` on `path`.
    pub fn put<H, T>(self, path: &str, handler: H, access: Access) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.on(Method::PUT, path, handler, access)
    }

    /// `PATCH` on `path`.
    pub fn patch<H, T>(self, path: &str, handler: H, access: Access) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.on(Method::PATCH, path, handler, access)
    }

    /// `DELETE` on `path`.
    pub fn delete<H, T>(self, path: &str, handler: H, access: Access) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.on(Method::DELETE, path, handler, access)
    }

    /// Serves the probes as public routes: `GET /health/live` (the process answers) and
    /// `GET /health/ready` (`health`'s checks), each `application/health+json`, 503 when a check
    /// failed.
    pub fn health(self, health: apikey_core::health::Health) -> Self {
        let ready = health.clone();
        self.get(
            "/health/live",
            move || {
                let h = health.clone();
                async move { health_response(&h.live()) }
            },
            Access::Public,
        )
        .get(
            "/health/ready",
            move || {
                let h = ready.clone();
                async move { health_response(&h.ready().await) }
            },
            Access::Public,
        )
    }

    /// Serves `method_router` on `path` **without** a declaration: the escape hatch for routes
    /// being migrated. They are guarded by the layer with no per-route scopes, and the table
    /// lists them as undeclared, so [`RouteTable::check`] (and the testkit's one-line test)
    /// fails naming them.
    pub fn undeclared(mut self, path: &str, method_router: MethodRouter<S>) -> Self {
        let guarded: MethodRouter<S, Infallible> = method_router.route_layer(self.layer.clone());
        self.router = self.router.route(path, guarded);
        self.table.push(Route::undeclared("*", path));
        self
    }

    /// Adds every route of `other` under `prefix` (axum's `nest` for a `Routes`; `""` merges).
    /// `other`'s routes keep the guard they were declared behind.
    ///
    /// # Panics
    ///
    /// As axum's `Router::nest` and `Router::merge` do (a bad prefix, overlapping routes).
    pub fn nest(mut self, prefix: &str, other: Self) -> Self {
        self.table.extend_prefixed(prefix, &other.table);
        self.router = if prefix.is_empty() || prefix == "/" {
            self.router.merge(other.router)
        } else {
            self.router.nest(prefix, other.router)
        };
        self
    }

    fn with(mut self, method: &str, path: &str, router: MethodRouter<S>, access: Access) -> Self {
        let router = match &access {
            Access::Public => router,
            Access::Scopes(required) if !required.is_empty() => {
                let names = required.iter().map(Scope::as_str);
                router
                    .route_layer(require_scopes(names))
                    .route_layer(self.layer.clone())
            }
            // Declared as never served: left out of the router (axum answers 405 or 404), kept in
            // the table so reports and OpenAPI show it.
            Access::Denied => {
                self.table.push(Route::declared(method, path, access));
                return self;
            }
            // Any valid key (and kinds this version does not know): the guard alone, without a
            // per-route check whose boxed future would cost an allocation per request.
            _ => router.route_layer(self.layer.clone()),
        };
        self.router = self.router.route(path, router);
        let access = access.behind(self.layer.required_scopes());
        self.table.push(Route::declared(method, path, access));
        self
    }

    /// The table of every route added so far.
    pub fn table(&self) -> &RouteTable {
        &self.table
    }

    /// The axum router (add state, fallbacks and outer layers to it as usual).
    pub fn into_router(self) -> Router<S> {
        self.router
    }

    /// The router and the table.
    pub fn into_parts(self) -> (Router<S>, RouteTable) {
        (self.router, self.table)
    }
}

fn health_response(report: &apikey_core::health::HealthReport) -> axum::response::Response {
    use axum::response::IntoResponse;
    let status = axum::http::StatusCode::from_u16(report.http_status())
        .unwrap_or(axum::http::StatusCode::SERVICE_UNAVAILABLE);
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/health+json")],
        report.to_json(),
    )
        .into_response()
}
