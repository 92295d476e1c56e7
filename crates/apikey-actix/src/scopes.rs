//! [`RequireScopes`]: per-resource middleware that checks the scopes of the key an outer
//! [`ApiKeyAuth`](crate::ApiKeyAuth) verified.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpMessage};
use apikey_core::Scope;
use apikey_core::http::{insufficient_scope, missing_layer};

use crate::response::problem_response;

/// Requires scopes (AND) on a resource or scope under an outer `ApiKeyAuth`:
/// `web::resource("/projects").wrap(RequireScopes::new(["projects:write"]))`.
///
/// A key without them gets a 403 naming the first missing scope; a request that no `ApiKeyAuth`
/// verified gets a 500 (a wiring mistake, never a pass).
#[derive(Debug, Clone)]
pub struct RequireScopes {
    scopes: Arc<[Scope]>,
}

impl RequireScopes {
    /// Requires `scopes`.
    ///
    /// # Panics
    ///
    /// If a scope is not `resource:action`.
    pub fn new<I, T>(scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let scopes = scopes
            .into_iter()
            .map(|s| Scope::new(s.as_ref()).unwrap_or_else(|e| panic!("RequireScopes: {e}")))
            .collect::<Vec<_>>();
        Self {
            scopes: scopes.into(),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for RequireScopes
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RequireScopesMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireScopesMiddleware {
            service: Rc::new(service),
            scopes: Arc::clone(&self.scopes),
        }))
    }
}

/// The service made by [`RequireScopes`].
#[derive(Debug)]
pub struct RequireScopesMiddleware<S> {
    service: Rc<S>,
    scopes: Arc<[Scope]>,
}

impl<S, B> Service<ServiceRequest> for RequireScopesMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Error>> + 'static>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let refusal = match req.extensions().get::<apikey_core::Verified>() {
            None => Some(missing_layer("ApiKeyAuth middleware")),
            Some(v) => v
                .scopes()
                .first_missing(&self.scopes)
                .map(insufficient_scope),
        };
        if let Some(p) = refusal {
            let res = req.into_response(problem_response(p)).map_into_right_body();
            return Box::pin(ready(Ok(res)));
        }
        let fut = self.service.call(req);
        Box::pin(async move { Ok(fut.await?.map_into_left_body()) })
    }
}
