//! [`Routes`]: actix-web resources that know what every route requires, so a test can refuse a
//! route without a declaration and OpenAPI can say which scopes each operation needs.
//!
//! An actix `App` cannot list its resources, so the table is kept by the builder as routes are
//! added. The builder owns the guard: a scoped route is always wrapped in the [`ApiKeyAuth`] and
//! its [`RequireScopes`], a public one never is. Methods of one path share one
//! `web::resource`, because actix answers 405 from the first resource whose path matches
//! instead of trying the next.

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::web::{self, ServiceConfig};
use actix_web::{FromRequest, Handler, Responder};
use apikey_core::Scope;
use apikey_core::routes::{Access, Route, RouteTable};

use crate::{ApiKeyAuth, RequireScopes};

/// Requires every scope in `scopes` (an empty list: any valid key).
///
/// # Panics
///
/// If a scope is not `resource:action` (as [`RequireScopes::new`] does); use [`Access::scopes`]
/// for scopes read from configuration.
pub fn scopes<I, T>(scopes: I) -> Access
where
    I: IntoIterator<Item = T>,
    T: AsRef<str>,
{
    Access::scopes(scopes).unwrap_or_else(|e| panic!("apikey_actix::scopes: {e}"))
}

/// No key needed.
pub fn public() -> Access {
    Access::Public
}

/// Any valid key, with no scopes beyond those the guard itself requires.
pub fn any_key() -> Access {
    Access::Scopes(Vec::new().into())
}

type MakeRoute = Arc<dyn Fn() -> actix_web::Route + Send + Sync>;

/// actix-web routes that each declare what they require. Register them on every worker's `App`
/// with [`configure`](Self::configure).
///
/// ```
/// use actix_web::{App, HttpServer};
/// use apikey_actix::routes::{Routes, public, scopes};
/// # fn demo(verifier: apikey_core::Verifier) {
/// async fn list() -> &'static str { "projects" }
/// async fn health() -> &'static str { "ok" }
///
/// let routes = Routes::new(apikey_actix::ApiKeyAuth::new(verifier))
///     .get("/projects", list, scopes(["projects:read"]))
///     .get("/health", health, public());
/// let table = routes.table().clone(); // what a test checks, what the start-up report prints
/// let server = HttpServer::new(move || {
///     let routes = routes.clone();
///     App::new().configure(move |cfg| routes.configure(cfg))
/// });
/// # }
/// ```
#[derive(Clone)]
#[must_use]
pub struct Routes {
    auth: ApiKeyAuth,
    resources: Vec<(String, Vec<MakeRoute>)>,
    table: RouteTable,
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routes")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl Routes {
    /// No routes yet; scoped routes go behind `auth`.
    pub fn new(auth: ApiKeyAuth) -> Self {
        let table = RouteTable::new().with_credentials(auth.credential_config().clone());
        Self {
            auth,
            resources: Vec::new(),
            table,
        }
    }

    /// `method` on `path` runs `handler` with what `access` requires ([`Access::Denied`]: listed,
    /// not served).
    pub fn on<F, Args>(self, method: Method, path: &str, handler: F, access: Access) -> Self
    where
        F: Handler<Args> + Send + Sync,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let name = method.as_str().to_owned();
        let make: MakeRoute =
            Arc::new(move || web::route().method(method.clone()).to(handler.clone()));
        self.with(&name, path, make, access)
    }

    /// `GET` on `path`.
    pub fn get<F, Args>(self, path: &str, handler: F, access: Access) -> Self
    where
        F: Handler<Args> + Send + Sync,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::GET, path, handler, access)
    }

    /// `POST` on `path`.
    pub fn post<F, Args>(self, path: &str, handler: F, access: Access) -> Self
    where
        F: Handler<Args> + Send + Sync,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::POST, path, handler, access)
    }

    /// `PUT` on `path`.
    pub fn put<F, Args>(self, path: &str, handler: F, access: Access) -> Self
    where
        F: Handler<Args> + Send + Sync,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::PUT, path, handler, access)
    }

    /// `PATCH` on `path`.
    pub fn patch<F, Args>(self, path: &str, handler: F, access: Access) -> Self
    where
        F: Handler<Args> + Send + Sync,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::PATCH, path, handler, access)
    }

    /// `DELETE` on `path`.
    pub fn delete<F, Args>(self, path: &str, handler: F, access: Access) -> Self
    where
        F: Handler<Args> + Send + Sync,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
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

    /// Serves the route `make` builds on `path` **without** a declaration: the escape hatch for
    /// routes being migrated. It is wrapped in the `ApiKeyAuth` with no per-route scopes, and the
    /// table lists it as undeclared, so [`RouteTable::check`] (and the testkit's one-line test)
    /// fails naming it.
    pub fn undeclared<M>(mut self, path: &str, make: M) -> Self
    where
        M: Fn() -> actix_web::Route + Send + Sync + 'static,
    {
        let auth = self.auth.clone();
        let make: MakeRoute = Arc::new(move || make().wrap(auth.clone()));
        self.add(path, make);
        self.table.push(Route::undeclared("*", path));
        self
    }

    /// Adds every route of `other` with `prefix` before its path (`""` merges). `other`'s routes
    /// keep the guard they were declared behind.
    pub fn nest(mut self, prefix: &str, other: Self) -> Self {
        let prefix = prefix.trim_end_matches('/');
        self.table.extend_prefixed(prefix, &other.table);
        for (path, makes) in other.resources {
            let full = format!("{prefix}{path}");
            for make in makes {
                self.add(&full, make);
            }
        }
        self
    }

    fn add(&mut self, path: &str, make: MakeRoute) {
        match self.resources.iter_mut().find(|(p, _)| p == path) {
            Some((_, makes)) => makes.push(make),
            None => self.resources.push((path.to_owned(), vec![make])),
        }
    }

    fn with(mut self, method: &str, path: &str, make: MakeRoute, access: Access) -> Self {
        let make: Option<MakeRoute> = match &access {
            Access::Public => Some(make),
            Access::Scopes(required) if !required.is_empty() => {
                let auth = self.auth.clone();
                let check = RequireScopes::new(required.iter().map(Scope::as_str));
                // The later `wrap` is the outer one: the key is verified, then its scopes checked.
                Some(Arc::new(move || {
                    make().wrap(check.clone()).wrap(auth.clone())
                }))
            }
            Access::Denied => None,
            // Any valid key (and kinds this version does not know): the guard alone.
            _ => {
                let auth = self.auth.clone();
                Some(Arc::new(move || make().wrap(auth.clone())))
            }
        };
        if let Some(make) = make {
            self.add(path, make);
        }
        let access = access.behind(self.auth.required_scopes());
        self.table.push(Route::declared(method, path, access));
        self
    }

    /// The table of every route added so far.
    pub fn table(&self) -> &RouteTable {
        &self.table
    }

    /// Registers the resources on an `App` (`App::new().configure(|c| routes.configure(c))`),
    /// once per worker.
    pub fn configure(&self, cfg: &mut ServiceConfig) {
        for (path, makes) in &self.resources {
            let mut resource = web::resource(path.as_str());
            for make in makes {
                resource = resource.route(make());
            }
            cfg.service(resource);
        }
    }
}

fn health_response(report: &apikey_core::health::HealthReport) -> actix_web::HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(report.http_status())
        .unwrap_or(actix_web::http::StatusCode::SERVICE_UNAVAILABLE);
    actix_web::HttpResponse::build(status)
        .content_type("application/health+json")
        .body(report.to_json())
}
