//! [`ApiKeyLayer`]: verifies the request's API key, attaches the verified key, answers refusals.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use apikey_core::http::{CredentialConfig, extract_credential, insufficient_scope, problem_for};
use apikey_core::{ClientIpResolver, Rejection, RequestContext, Scope, Verifier};
use axum::extract::{ConnectInfo, MatchedPath};
use axum::http::Request;
use axum::http::request::Parts;
use axum::response::Response;
use tower_layer::Layer;
use tower_service::Service;

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
    async fn verify(&self, parts: &Parts) -> Result<apikey_core::Verified, Rejection> {
        let source = Headers {
            headers: &parts.headers,
            query: parts.uri.query(),
        };
        let credential = extract_credential(&self.credentials, &source).map_err(Rejection::new)?;
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
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
        let mut ctx = RequestContext::new()
            .client_ip(client_ip)
            .scopes(&self.scopes);
        if let Some(e) = &endpoint {
            ctx = ctx.endpoint(e);
        }
        self.verifier.verify(credential, &ctx).await
    }
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

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B> Service<Request<B>> for ApiKeyService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let config = Arc::clone(&self.config);
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            if let Some(v) = parts.extensions.get::<apikey_core::Verified>() {
                if let Some(missing) = v.scopes().first_missing(&config.scopes) {
                    return Ok(problem_response(insufficient_scope(missing)));
                }
                return inner.call(Request::from_parts(parts, body)).await;
            }
            match config.verify(&parts).await {
                Err(rejection) => Ok(problem_response(problem_for(&rejection, &config.challenge))),
                Ok(verified) => {
                    let limit = verified.limit().copied();
                    parts.extensions.insert(verified);
                    let mut res = inner.call(Request::from_parts(parts, body)).await?;
                    if let Some(limit) = &limit {
                        add_rate_limit(&mut res, limit);
                    }
                    Ok(res)
                }
            }
        })
    }
}
