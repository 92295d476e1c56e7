//! [`ApiKeyLayer`]: verifies the request's API key, attaches the verified key, answers refusals.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};

use apikey_core::http::{
    CredentialConfig, GuardSettings, HttpHeaders, LogHead, RequestCheck, insufficient_scope,
    problem_for,
};
use apikey_core::request_log::RequestLog;
use apikey_core::{Attempt, ClientIpResolver, Verifier};
use axum::BoxError;
use axum::body::{Bytes, HttpBody};
use axum::extract::{ConnectInfo, MatchedPath};
use axum::http::request::Parts;
use axum::http::{HeaderName, Request};
use axum::response::Response;
use tower_layer::Layer;
use tower_service::Service;

use crate::check::{checked, plan};
use crate::future::ResponseFuture;
use crate::response::{X_FORWARDED_FOR, add_rate_limit, problem_response};

#[derive(Debug, Clone)]
struct Config {
    settings: GuardSettings,
    /// The configured credential header, parsed once.
    header_name: Option<HeaderName>,
}

/// What core's guard needs from a request besides its headers: the client address (socket peer
/// via `ConnectInfo`, then trusted `X-Forwarded-For`) and, with endpoint limits on, the endpoint.
struct Facts<'a> {
    headers: HttpHeaders<'a>,
    client_ip: Option<IpAddr>,
    endpoint: Option<String>,
}

impl Config {
    fn facts<'a>(&'a self, parts: &'a Parts) -> Facts<'a> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded = parts
            .headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .map(axum::http::HeaderValue::as_bytes);
        let endpoint = if self.settings.endpoint_limits() {
            parts
                .extensions
                .get::<MatchedPath>()
                .map(|p| format!("{} {}", parts.method, p.as_str()))
        } else {
            None
        };
        Facts {
            headers: HttpHeaders::new(&parts.headers)
                .with_query(parts.uri.query())
                .with_credential_header(self.header_name.as_ref()),
            client_ip: self.settings.client_ip(peer, forwarded),
            endpoint,
        }
    }

    /// The request as the request log records it (only built when a log is configured).
    fn log_head<'a>(&'a self, parts: &'a Parts, log: &'a RequestLog) -> LogHead<'a> {
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        LogHead {
            method: parts.method.as_str(),
            route: parts
                .extensions
                .get::<MatchedPath>()
                .map(MatchedPath::as_str),
            path: parts.uri.path(),
            client_ip: self.facts(parts).client_ip,
            request_id: header(log.request_id_header()),
            user_agent: header("user-agent"),
        }
    }

    fn verify_now(&self, parts: &Parts) -> Attempt {
        let f = self.facts(parts);
        self.settings
            .verify_now(&f.headers, f.client_ip, f.endpoint.as_deref())
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
        let settings = GuardSettings::new(verifier);
        Self {
            config: Arc::new(Config {
                header_name: parse_name(settings.credentials()),
                settings,
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// The credential sources this layer reads (for route tables and OpenAPI).
    pub fn credential_config(&self) -> &CredentialConfig {
        self.config.settings.credentials()
    }

    /// The scopes this layer requires on every request, before any per-route ones.
    pub fn required_scopes(&self) -> &[apikey_core::Scope] {
        self.config.settings.scopes()
    }

    /// Where credentials are read from.
    #[must_use]
    pub fn credentials(self, credentials: CredentialConfig) -> Self {
        self.edit(|c| {
            c.header_name = parse_name(&credentials);
            c.settings.set_credentials(credentials);
        })
    }

    /// Which peers are trusted proxies whose `X-Forwarded-For` counts.
    #[must_use]
    pub fn trusted_proxies(self, resolver: ClientIpResolver) -> Self {
        self.edit(|c| c.settings.set_trusted_proxies(resolver))
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
    pub fn try_require<I, T>(mut self, scopes: I) -> apikey_core::Result<Self>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        Arc::make_mut(&mut self.config)
            .settings
            .try_require(scopes)?;
        Ok(self)
    }

    /// Applies per-endpoint limits, naming the endpoint `"{METHOD} {MatchedPath}"`.
    #[must_use]
    pub fn endpoint_limits(self, on: bool) -> Self {
        self.edit(|c| c.settings.set_endpoint_limits(on))
    }

    /// Reserves `estimate` credits per request instead of charging its cost to them, for costs
    /// known only after the response: the handler settles with the `Verified` extension's
    /// `reservation()`; one left unsettled expires settled at the estimate
    /// (`VerifierConfig::reservation_ttl`). Keys without credits are not affected.
    #[must_use]
    pub fn reserve_credits(self, estimate: u64) -> Self {
        self.edit(|c| c.settings.set_reserve(Some(estimate)))
    }

    /// Whether admitted responses carry `RateLimit` / `RateLimit-Policy` for the key's tightest
    /// limit (default: on, as the draft suggests, so clients can pace themselves). Off, only 429
    /// answers carry them: for services that do not advertise their limits, and two fewer header
    /// values to build per response.
    #[must_use]
    pub fn rate_limit_fields_on_success(self, on: bool) -> Self {
        self.edit(|c| c.settings.set_fields_on_success(on))
    }

    /// Adds a [`RequestCheck`], run after the key has verified and before the handler; checks run
    /// in the order they were added and the first refusal answers the request (see
    /// [`RequestCheck`] and the crate's "Request checks" section). The checks also run when an
    /// outer `ApiKeyLayer` verified the key.
    ///
    /// # Panics
    ///
    /// Past [`MAX_CHECKS`](apikey_core::http::MAX_CHECKS) checks on one layer.
    #[must_use]
    pub fn with_check<C: RequestCheck>(self, check: C) -> Self {
        self.edit(|c| {
            if let Err(e) = c.settings.add_check(check) {
                panic!("ApiKeyLayer::with_check: {e}");
            }
        })
    }

    /// The longest body buffered for checks that ask for it (default 1 MiB); a longer one is
    /// answered 413 and the handler is not called.
    #[must_use]
    pub fn max_check_body(self, bytes: usize) -> Self {
        self.edit(|c| c.settings.set_max_check_body(bytes))
    }

    /// Logs the requests through this layer to `log` (off for every tenant until its settings,
    /// or [`RequestLog::set_default`], turn it on): key, client address, method, route template
    /// (axum's `MatchedPath`), path, status, outcome, request id and latency. Without a log the
    /// request path is unchanged.
    #[must_use]
    pub fn request_log(self, log: RequestLog) -> Self {
        self.edit(|c| c.settings.set_request_log(log))
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

impl<S> ApiKeyService<S> {
    /// The ready inner service, for a future that calls it later; `self` keeps a fresh clone,
    /// which the next `poll_ready` readies.
    fn take_ready(&mut self) -> S
    where
        S: Clone,
    {
        let clone = self.inner.clone();
        std::mem::replace(&mut self.inner, clone)
    }
}

impl<S, B> Service<Request<B>> for ApiKeyService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: HttpBody + From<Bytes> + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
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
            let settings = &self.config.settings;
            if let Some(missing) = v.scopes().first_missing(settings.scopes()) {
                return ResponseFuture::ready(problem_response(insufficient_scope(missing)));
            }
            // This layer's checks apply to a key an outer layer verified too; the outer layer
            // reports the limits.
            if settings.has_checks() {
                let key = v.clone();
                let plan = plan(settings, &parts, &key);
                if !plan.is_empty() {
                    let config = Arc::clone(&self.config);
                    let inner = self.take_ready();
                    return ResponseFuture::boxed(Box::pin(async move {
                        checked(&config.settings, (parts, body), key, plan, None, inner).await
                    }));
                }
            }
            return ResponseFuture::inner(self.inner.call(Request::from_parts(parts, body)), None);
        }
        // Decided on the spot: the inner service (made ready by `poll_ready`) is called directly,
        // so a cache hit costs no boxed future and no clone of the inner service.
        let began = self.config.settings.log_began();
        match self.config.verify_now(&parts) {
            Attempt::Done(Ok(verified)) => {
                let limit = self.config.settings.success_limit(&verified);
                let log = self
                    .config
                    .settings
                    .log_admitted(began, &verified, |l| self.config.log_head(&parts, l));
                if self.config.settings.has_checks() {
                    let plan = plan(&self.config.settings, &parts, &verified);
                    if !plan.is_empty() {
                        let config = Arc::clone(&self.config);
                        let inner = self.take_ready();
                        return ResponseFuture::boxed(Box::pin(async move {
                            let res = checked(
                                &config.settings,
                                (parts, body),
                                verified,
                                plan,
                                limit,
                                inner,
                            )
                            .await;
                            finish_log(log, &res);
                            res
                        }));
                    }
                }
                parts.extensions.insert(verified);
                ResponseFuture::inner_logged(
                    self.inner.call(Request::from_parts(parts, body)),
                    limit,
                    log,
                )
            }
            Attempt::Done(Err(rejection)) => {
                self.config
                    .settings
                    .log_refused(began, &rejection, |l| self.config.log_head(&parts, l));
                ResponseFuture::ready(problem_response(problem_for(
                    &rejection,
                    self.config.settings.challenge(),
                )))
            }
            Attempt::Pending(pending) => {
                let config = Arc::clone(&self.config);
                let mut inner = self.take_ready();
                ResponseFuture::boxed(Box::pin(async move {
                    let settings = &config.settings;
                    match settings.finish(pending).await {
                        Err(rejection) => {
                            settings.log_refused(began, &rejection, |l| config.log_head(&parts, l));
                            Ok(problem_response(problem_for(
                                &rejection,
                                settings.challenge(),
                            )))
                        }
                        Ok(verified) => {
                            let limit = settings.success_limit(&verified);
                            let log = settings
                                .log_admitted(began, &verified, |l| config.log_head(&parts, l));
                            if settings.has_checks() {
                                let plan = plan(settings, &parts, &verified);
                                if !plan.is_empty() {
                                    let res = checked(
                                        settings,
                                        (parts, body),
                                        verified,
                                        plan,
                                        limit,
                                        inner,
                                    )
                                    .await;
                                    finish_log(log, &res);
                                    return res;
                                }
                            }
                            parts.extensions.insert(verified);
                            let mut res = inner.call(Request::from_parts(parts, body)).await?;
                            if let Some(limit) = &limit {
                                add_rate_limit(&mut res, limit);
                            }
                            if let Some(log) = log {
                                log.finish(res.status().as_u16());
                            }
                            Ok(res)
                        }
                    }
                }))
            }
        }
    }
}

/// Finishes a request's log record with the response's status (an error response of the inner
/// service is not a response: nothing was sent, nothing is logged).
fn finish_log<E>(log: Option<apikey_core::http::OpenLog>, res: &Result<Response, E>) {
    if let (Some(log), Ok(res)) = (log, res) {
        log.finish(res.status().as_u16());
    }
}
