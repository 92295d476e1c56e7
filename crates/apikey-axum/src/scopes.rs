//! [`require_scopes`]: a per-route layer that checks the scopes of the key an outer
//! [`ApiKeyLayer`](crate::ApiKeyLayer) verified.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use apikey_core::Scope;
use apikey_core::http::{insufficient_scope, missing_layer};
use axum::http::Request;
use axum::response::Response;
use tower_layer::Layer;
use tower_service::Service;

use crate::response::problem_response;

/// Requires `scopes` (AND) on the routes it wraps, under an outer `ApiKeyLayer`:
/// `route("/projects", post(create).layer(require_scopes(["projects:write"])))`.
///
/// A key without them gets a 403 naming the first missing scope; a request that no `ApiKeyLayer`
/// verified gets a 500 (a wiring mistake, never a pass).
///
/// # Panics
///
/// If a scope is not `resource:action`.
pub fn require_scopes<I, T>(scopes: I) -> RequireScopesLayer
where
    I: IntoIterator<Item = T>,
    T: AsRef<str>,
{
    let scopes = scopes
        .into_iter()
        .map(|s| Scope::new(s.as_ref()).unwrap_or_else(|e| panic!("require_scopes: {e}")))
        .collect::<Vec<_>>();
    RequireScopesLayer {
        scopes: scopes.into(),
    }
}

/// The layer made by [`require_scopes`].
#[derive(Debug, Clone)]
pub struct RequireScopesLayer {
    scopes: Arc<[Scope]>,
}

impl<S> Layer<S> for RequireScopesLayer {
    type Service = RequireScopes<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScopes {
            inner,
            scopes: Arc::clone(&self.scopes),
        }
    }
}

/// The service made by [`RequireScopesLayer`].
#[derive(Debug, Clone)]
pub struct RequireScopes<S> {
    inner: S,
    scopes: Arc<[Scope]>,
}

impl<S, B> Service<Request<B>> for RequireScopes<S>
where
    S: Service<Request<B>, Response = Response>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let refusal = match req.extensions().get::<apikey_core::Verified>() {
            None => Some(missing_layer("ApiKeyLayer")),
            Some(v) => v
                .scopes()
                .first_missing(&self.scopes)
                .map(insufficient_scope),
        };
        match refusal {
            Some(p) => Box::pin(std::future::ready(Ok(problem_response(p)))),
            None => Box::pin(self.inner.call(req)),
        }
    }
}
