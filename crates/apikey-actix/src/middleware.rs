//! [`ApiKeyAuth`]: middleware that verifies the request's API key, attaches the verified key and
//! answers refusals.

use std::future::{Ready, ready};
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{HeaderName, X_FORWARDED_FOR};
use actix_web::{Error, HttpMessage};
use apikey_core::http::{CredentialConfig, extract_credential, insufficient_scope, problem_for};
use apikey_core::{
    Attempt, ClientIpResolver, PendingVerification, Rejection, RequestContext, Scope, Verifier,
};

use crate::future::ResponseFuture;
use crate::response::{Headers, add_rate_limit, problem_response};

#[derive(Debug, Clone)]
struct Config {
    verifier: Verifier,
    credentials: CredentialConfig,
    /// `credentials.header`, parsed once.
    header_name: Option<HeaderName>,
    challenge: String,
    resolver: ClientIpResolver,
    scopes: Vec<Scope>,
    endpoint_limits: bool,
    /// Whether admitted responses carry the `RateLimit` fields (refusals always do).
    fields_on_success: bool,
}

impl Config {
    /// The client address and the endpoint name (for endpoint limits) of a request.
    fn request_facts(&self, req: &ServiceRequest) -> (Option<IpAddr>, Option<String>) {
        let peer = req.peer_addr().map(|a| a.ip());
        let forwarded: Vec<&[u8]> = req
            .headers()
            .get_all(X_FORWARDED_FOR)
            .map(|v| v.as_bytes())
            .collect();
        let client_ip = self.resolver.resolve(peer, forwarded);
        let endpoint = if self.endpoint_limits {
            req.match_pattern().map(|p| format!("{} {p}", req.method()))
        } else {
            None
        };
        (client_ip, endpoint)
    }

    fn context<'a>(
        &'a self,
        client_ip: Option<IpAddr>,
        endpoint: Option<&'a str>,
    ) -> RequestContext<'a> {
        let ctx = RequestContext::new()
            .client_ip(client_ip)
            .scopes(&self.scopes);
        match endpoint {
            Some(e) => ctx.endpoint(e),
            None => ctx,
        }
    }

    /// Everything that can be decided without waiting (every cache hit with an in-process
    /// limiter, every malformed credential).
    fn verify_now(&self, req: &ServiceRequest) -> Attempt {
        let source = Headers {
            headers: req.headers(),
            query: req.query_string(),
            custom: self.header_name.as_ref(),
        };
        let credential = match extract_credential(&self.credentials, &source) {
            Ok(c) => c,
            Err(kind) => return Attempt::Done(Err(Rejection::new(kind))),
        };
        let (client_ip, endpoint) = self.request_facts(req);
        let ctx = self.context(client_ip, endpoint.as_deref());
        self.verifier.verify_now(credential, &ctx)
    }

    /// The rest of a verification [`verify_now`](Self::verify_now) left pending.
    async fn finish(
        &self,
        pending: PendingVerification,
        req: &ServiceRequest,
    ) -> Result<apikey_core::Verified, Rejection> {
        let source = Headers {
            headers: req.headers(),
            query: req.query_string(),
            custom: self.header_name.as_ref(),
        };
        let credential = extract_credential(&self.credentials, &source).map_err(Rejection::new)?;
        let (client_ip, endpoint) = self.request_facts(req);
        let ctx = self.context(client_ip, endpoint.as_deref());
        self.verifier.finish(pending, credential, &ctx).await
    }
}

fn parse_name(credentials: &CredentialConfig) -> Option<HeaderName> {
    credentials
        .header
        .as_deref()
        .and_then(|h| HeaderName::from_bytes(h.as_bytes()).ok())
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
                header_name: parse_name(&credentials),
                credentials,
                resolver: ClientIpResolver::new(),
                scopes: Vec::new(),
                endpoint_limits: false,
                fields_on_success: true,
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
            c.header_name = parse_name(&credentials);
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

    /// Whether admitted responses carry `RateLimit` / `RateLimit-Policy` for the key's tightest
    /// limit (default: on, as the draft suggests, so clients can pace themselves). Off, only 429
    /// answers carry them: for services that do not advertise their limits, and two fewer header
    /// values to build per response.
    #[must_use]
    pub fn rate_limit_fields_on_success(self, on: bool) -> Self {
        self.edit(|c| c.fields_on_success = on)
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

impl<S, B> Service<ServiceRequest> for ApiKeyMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = ResponseFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let earlier = req
            .extensions()
            .get::<apikey_core::Verified>()
            .map(|v| v.scopes().first_missing(&self.config.scopes).cloned());
        match earlier {
            Some(Some(missing)) => {
                let res = problem_response(insufficient_scope(&missing));
                return ResponseFuture::ready(req.into_response(res).map_into_right_body());
            }
            Some(None) => return ResponseFuture::inner(self.service.call(req), None),
            None => {}
        }
        // Decided on the spot (every cache hit with an in-process limiter): the inner service is
        // called directly, without a boxed future.
        match self.config.verify_now(&req) {
            Attempt::Done(Ok(verified)) => {
                let limit = verified
                    .limit()
                    .copied()
                    .filter(|_| self.config.fields_on_success);
                req.extensions_mut().insert(verified);
                ResponseFuture::inner(self.service.call(req), limit)
            }
            Attempt::Done(Err(rejection)) => {
                let res = problem_response(problem_for(&rejection, &self.config.challenge));
                ResponseFuture::ready(req.into_response(res).map_into_right_body())
            }
            Attempt::Pending(pending) => {
                let service = Rc::clone(&self.service);
                let config = Arc::clone(&self.config);
                ResponseFuture::boxed(Box::pin(async move {
                    match config.finish(pending, &req).await {
                        Err(rejection) => {
                            let res = problem_response(problem_for(&rejection, &config.challenge));
                            Ok(req.into_response(res).map_into_right_body())
                        }
                        Ok(verified) => {
                            let limit = verified
                                .limit()
                                .copied()
                                .filter(|_| config.fields_on_success);
                            req.extensions_mut().insert(verified);
                            let mut res = service.call(req).await?;
                            if let Some(limit) = &limit {
                                add_rate_limit(res.headers_mut(), limit);
                            }
                            Ok(res.map_into_left_body())
                        }
                    }
                }))
            }
        }
    }
}
