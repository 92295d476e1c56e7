//! [`ApiKeyLayer`]: verifies the request's API key, attaches the verified key, answers refusals.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};

use apikey_core::http::{CredentialConfig, extract_credential, insufficient_scope, problem_for};
use apikey_core::{
    Attempt, ClientIpResolver, PendingVerification, Rejection, RequestContext, Scope, Verifier,
};
use axum::extract::{ConnectInfo, MatchedPath};
use axum::http::request::Parts;
use axum::http::{HeaderName, Request};
use axum::response::Response;
use tower_layer::Layer;
use tower_service::Service;

use crate::future::ResponseFuture;
use crate::response::{Headers, X_FORWARDED_FOR, add_rate_limit, problem_response};

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
    fn request_facts(&self, parts: &Parts) -> (Option<IpAddr>, Option<String>) {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded = parts
            .headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .map(axum::http::HeaderValue::as_bytes);
        let client_ip = self.resolver.resolve(peer, forwarded);
        let endpoint = if self.endpoint_limits {
            parts
                .extensions
                .get::<MatchedPath>()
                .map(|p| format!("{} {}", parts.method, p.as_str()))
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
    fn verify_now(&self, parts: &Parts) -> Attempt {
        let source = Headers {
            headers: &parts.headers,
            query: parts.uri.query(),
            custom: self.header_name.as_ref(),
        };
        let credential = match extract_credential(&self.credentials, &source) {
            Ok(c) => c,
            Err(kind) => return Attempt::Done(Err(Rejection::new(kind))),
        };
        let (client_ip, endpoint) = self.request_facts(parts);
        let ctx = self.context(client_ip, endpoint.as_deref());
        self.verifier.verify_now(credential, &ctx)
    }

    /// The rest of a verification [`verify_now`](Self::verify_now) left pending.
    async fn finish(
        &self,
        pending: PendingVerification,
        parts: &Parts,
    ) -> Result<apikey_core::Verified, Rejection> {
        let source = Headers {
            headers: &parts.headers,
            query: parts.uri.query(),
            custom: self.header_name.as_ref(),
        };
        let credential = extract_credential(&self.credentials, &source).map_err(Rejection::new)?;
        let (client_ip, endpoint) = self.request_facts(parts);
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

/// A tower layer that authenticates requests with API keys.
///
/// On success the request gets an [`apikey_core::Verified`] extension (read it with the
/// [`Verified`](crate::Verified) extractor) and the response gets the `RateLimit` fields of the
/// key's tightest limit; otherwise the request is answered with the rejection's problem response
/// and never reaches the handler. If an outer `ApiKeyLayer` already verified the request, this one
/// only checks its own required scopes.
#[derive(Debug, Clone)]
pub struct ApiKeyLayer {
    config: Arc<Config>,
}

impl ApiKeyLayer {
    /// A layer over `verifier` with default credential sources (`x-api-key` and bearer), no
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

    /// Requires these scopes (AND) on every request through this layer.
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
            Ok(layer) => layer,
            Err(e) => panic!("ApiKeyLayer::require: {e}"),
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

    /// Applies per-endpoint limits, naming the endpoint `"{METHOD} {MatchedPath}"`.
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

impl<S> Layer<S> for ApiKeyLayer {
    type Service = ApiKeyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ApiKeyService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service made by [`ApiKeyLayer`].
#[derive(Debug, Clone)]
pub struct ApiKeyService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S, B> Service<Request<B>> for ApiKeyService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let (mut parts, body) = req.into_parts();
        if let Some(v) = parts.extensions.get::<apikey_core::Verified>() {
            if let Some(missing) = v.scopes().first_missing(&self.config.scopes) {
                return ResponseFuture::ready(problem_response(insufficient_scope(missing)));
            }
            return ResponseFuture::inner(self.inner.call(Request::from_parts(parts, body)), None);
        }
        // Decided on the spot: the inner service (made ready by `poll_ready`) is called directly,
        // so a cache hit costs no boxed future and no clone of the inner service.
        match self.config.verify_now(&parts) {
            Attempt::Done(Ok(verified)) => {
                let limit = verified
                    .limit()
                    .copied()
                    .filter(|_| self.config.fields_on_success);
                parts.extensions.insert(verified);
                ResponseFuture::inner(self.inner.call(Request::from_parts(parts, body)), limit)
            }
            Attempt::Done(Err(rejection)) => ResponseFuture::ready(problem_response(problem_for(
                &rejection,
                &self.config.challenge,
            ))),
            Attempt::Pending(pending) => {
                let config = Arc::clone(&self.config);
                // The ready service goes into the future; this one keeps a fresh clone.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::boxed(Box::pin(async move {
                    match config.finish(pending, &parts).await {
                        Err(rejection) => {
                            Ok(problem_response(problem_for(&rejection, &config.challenge)))
                        }
                        Ok(verified) => {
                            let limit = verified
                                .limit()
                                .copied()
                                .filter(|_| config.fields_on_success);
                            parts.extensions.insert(verified);
                            let mut res = inner.call(Request::from_parts(parts, body)).await?;
                            if let Some(limit) = &limit {
                                add_rate_limit(&mut res, limit);
                            }
                            Ok(res)
                        }
                    }
                }))
            }
        }
    }
}
