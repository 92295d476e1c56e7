//! [`ApiKeyAuth`]: middleware that verifies the request's API key, attaches the verified key and
//! answers refusals.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpMessage};
use apikey_core::http::{CredentialConfig, extract_credential, insufficient_scope, problem_for};
use apikey_core::{ClientIpResolver, Rejection, RequestContext, Scope, Verifier};

use crate::response::{Headers, add_rate_limit, problem_response};

#[derive(Debug, Clone)]
struct Config {
    verifier: Verifier,
    credentials: CredentialConfig,
    challenge: String,
    resolver: ClientIpResolver,
    scopes: Vec<Scope>,
    endpoint_limits: bool,
}

impl Config {
    async fn verify(&self, req: &ServiceRequest) -> Result<apikey_core::Verified, Rejection> {
        let source = Headers {
            headers: req.headers(),
            query: req.query_string(),
        };
        let credential = extract_credential(&self.credentials, &source).map_err(Rejection::new)?;
        let peer = req.peer_addr().map(|a| a.ip());
        let forwarded: Vec<&[u8]> = req
            .headers()
            .get_all("x-forwarded-for")
            .map(|v| v.as_bytes())
            .collect();
        let client_ip = self.resolver.resolve(peer, forwarded);
        let endpoint = if self.endpoint_limits {
            req.match_pattern().map(|p| format!("{} {p}", req.method()))
        } else {
            None
        };
        let mut ctx = RequestContext::new()
            .client_ip(client_ip)
            .scopes(&self.scopes);
        if let Some(e) = &endpoint {
            ctx = ctx.endpoint(e);
        }
        self.verifier.verify(credential, &ctx).await
    }
}

/// Middleware (`App::wrap`, `Scope::wrap`, `Resource::wrap`) that authenticates requests with API
/// keys.
///
/// On success the request gets an [`apikey_core::Verified`] extension (read it with the
/// [`Verified`](crate::Verified) extractor) and the response gets the `RateLimit` fields of the
/// key's tightest limit; otherwise the request is answered with the rejection's problem response.
/// If an outer `ApiKeyAuth` already verified the request, this one only checks its own scopes.
#[derive(Debug, Clone)]
pub struct ApiKeyAuth {
    config: Arc<Config>,
}

impl ApiKeyAuth {
    /// Middleware over `verifier` with default credential sources (`x-api-key` and bearer), no
    /// trusted proxies, no required scopes and endpoint limits off.
    pub fn new(verifier: Verifier) -> Self {
        let credentials = CredentialConfig::default();
        Self {
            config: Arc::new(Config {
                verifier,
                challenge: credentials.challenge(),
                credentials,
                resolver: ClientIpResolver::new(),
                scopes: Vec::new(),
                endpoint_limits: false,
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// Where credentials are read from.
    #[must_use]
    pub fn credentials(self, credentials: CredentialConfig) -> Self {
        self.edit(|c| {
            c.challenge = credentials.challenge();
            c.credentials = credentials;
        })
    }

    /// Which peers are trusted proxies whose `X-Forwarded-For` counts.
    #[must_use]
    pub fn trusted_proxies(self, resolver: ClientIpResolver) -> Self {
        self.edit(|c| c.resolver = resolver)
    }

    /// Requires these scopes (AND) on every request through this middleware.
    ///
    /// # Panics
    ///
    /// If a scope is not `resource:action`; use [`try_require`](Self::try_require) for scopes that
    /// come from configuration.
    #[must_use]
    pub fn require<I, T>(self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        match self.try_require(scopes) {
            Ok(auth) => auth,
            Err(e) => panic!("ApiKeyAuth::require: {e}"),
        }
    }

    /// Requires these scopes, or says which one is invalid.
    pub fn try_require<I, T>(self, scopes: I) -> apikey_core::Result<Self>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let parsed = scopes
            .into_iter()
            .map(|s| Scope::new(s.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.edit(|c| c.scopes.extend(parsed)))
    }

    /// Applies per-endpoint limits, naming the endpoint `"{METHOD} {pattern}"`.
    #[must_use]
    pub fn endpoint_limits(self, on: bool) -> Self {
        self.edit(|c| c.endpoint_limits = on)
    }
}

impl<S, B> Transform<S, ServiceRequest> for ApiKeyAuth
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = ApiKeyMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ApiKeyMiddleware {
            service: Rc::new(service),
            config: Arc::clone(&self.config),
        }))
    }
}

/// The service made by [`ApiKeyAuth`].
#[derive(Debug)]
pub struct ApiKeyMiddleware<S> {
    service: Rc<S>,
    config: Arc<Config>,
}

type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T> + 'static>>;

impl<S, B> Service<ServiceRequest> for ApiKeyMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<Result<Self::Response, Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let config = Arc::clone(&self.config);
        Box::pin(async move {
            let earlier = req
                .extensions()
                .get::<apikey_core::Verified>()
                .map(|v| v.scopes().first_missing(&config.scopes).cloned());
            match earlier {
                Some(Some(missing)) => {
                    let res = problem_response(insufficient_scope(&missing));
                    return Ok(req.into_response(res).map_into_right_body());
                }
                Some(None) => return Ok(service.call(req).await?.map_into_left_body()),
                None => {}
            }
            match config.verify(&req).await {
                Err(rejection) => {
                    let res = problem_response(problem_for(&rejection, &config.challenge));
                    Ok(req.into_response(res).map_into_right_body())
                }
                Ok(verified) => {
                    let limit = verified.limit().copied();
                    req.extensions_mut().insert(verified);
                    let mut res = service.call(req).await?;
                    if let Some(limit) = &limit {
                        add_rate_limit(res.headers_mut(), limit);
                    }
                    Ok(res.map_into_left_body())
                }
            }
        })
    }
}
