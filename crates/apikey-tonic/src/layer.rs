//! The server side: [`ApiKeyLayer`], an async tower layer that verifies the API key of every gRPC
//! request against the [`MethodScopes`] map, as an interceptor would but able to await the store.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use apikey_core::http::{
    CheckPlan, CredentialConfig, GuardSettings, LogHead, OpenLog, RequestCheck,
};
use apikey_core::limit::LimitStatus;
use apikey_core::request_log::RequestLog;
use apikey_core::{Attempt, ClientIpResolver, Result, Scope, Verified, Verifier};
use http::{Request, Response};
use pin_project_lite::pin_project;
use tonic::server::NamedService;
use tower_layer::Layer;
use tower_service::Service;

use crate::check::{plan, run};
use crate::metadata::{check_config, metadata, peer};
use crate::methods::MethodScopes;
use crate::status::{add_rate_limit, method_denied, status_for};
use apikey_core::routes::Access;

/// The guard path every integration shares (core's [`GuardSettings`]), plus the method map.
#[derive(Debug, Clone)]
struct Shared {
    settings: GuardSettings,
    methods: MethodScopes,
}

impl Shared {
    /// Everything that can be decided without waiting (every cache hit with an in-process
    /// limiter, every malformed credential), with the method's scopes and its path as endpoint.
    fn verify_now(&self, parts: &http::request::Parts, scopes: &[Scope]) -> Attempt {
        self.settings.verify_now_with(
            &metadata(&parts.headers),
            self.client_ip(parts),
            Some(parts.uri.path()),
            scopes,
        )
    }

    fn client_ip(&self, parts: &http::request::Parts) -> Option<std::net::IpAddr> {
        let forwarded = parts.headers.get_all("x-forwarded-for");
        self.settings.client_ip(
            peer(&parts.extensions),
            forwarded.iter().map(|v| v.as_bytes()),
        )
    }

    /// The request as the request log records it: the method path is the route.
    fn log_head<'a>(&self, parts: &'a http::request::Parts, log: &'a RequestLog) -> LogHead<'a> {
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        LogHead {
            method: parts.method.as_str(),
            route: Some(parts.uri.path()),
            path: parts.uri.path(),
            client_ip: self.client_ip(parts),
            request_id: header(log.request_id_header()),
            user_agent: header("user-agent"),
        }
    }

    fn log_admitted(
        &self,
        began: Option<std::time::Instant>,
        parts: &http::request::Parts,
        key: &Verified,
    ) -> Option<OpenLog> {
        self.settings
            .log_admitted(began, key, |log| self.log_head(parts, log))
    }

    fn log_refused(
        &self,
        began: Option<std::time::Instant>,
        parts: &http::request::Parts,
        rejection: &apikey_core::Rejection,
    ) {
        self.settings
            .log_refused(began, rejection, |log| self.log_head(parts, log));
    }
}

/// The status a gRPC response is logged with: its `grpc-status` (when the head carries it, as
/// an error answered at once does) as the HTTP status of the same meaning, else the HTTP status.
/// A streamed answer sends its `grpc-status` in trailers, after the head: it is logged as 200.
fn logged_status<B>(res: &Response<B>) -> u16 {
    let code = res
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok());
    match code {
        None | Some(0) => res.status().as_u16(),
        Some(3 | 9 | 11) => 400,
        Some(16) => 401,
        Some(7) => 403,
        Some(5) => 404,
        Some(6 | 10) => 409,
        Some(8) => 429,
        Some(1) => 499,
        Some(12) => 501,
        Some(14) => 503,
        Some(4) => 504,
        Some(_) => 500,
    }
}

fn finish_log<B, E>(log: Option<OpenLog>, res: &std::result::Result<Response<B>, E>) {
    if let (Some(log), Ok(res)) = (log, res) {
        log.finish(logged_status(res));
    }
}

/// Verifies API keys on a tonic server. Add it to the whole server with
/// `Server::builder().layer(layer)`, or wrap one service with `layer.layer(service)` (the wrapped
/// service keeps its [`NamedService`] name, so `add_service` accepts it).
///
/// Per request: the method path is looked up in the [`MethodScopes`]; an unlisted method is
/// refused with `PERMISSION_DENIED` without reading the credential, a public one passes untouched.
/// Otherwise the credential is read from `x-api-key` or `authorization: Bearer` metadata (two
/// credentials: refused), the client address is tonic's `remote_addr()`, and the key is verified
/// with the method's scopes, the method path as endpoint (for endpoint limits) and cost 1. On
/// success the [`Verified`] key is put in the request extensions (read it in handlers with
/// [`RequestVerifiedExt`](crate::RequestVerifiedExt)); on failure the request ends with the status
/// from [`status_for`](crate::status_for).
#[derive(Debug, Clone)]
pub struct ApiKeyLayer {
    shared: Arc<Shared>,
}

impl ApiKeyLayer {
    /// A layer over `verifier` with the scope map `methods`, reading `x-api-key` and
    /// `authorization: Bearer`, trusting no proxy.
    pub fn new(verifier: Verifier, methods: MethodScopes) -> Self {
        Self {
            shared: Arc::new(Shared {
                settings: GuardSettings::new(verifier),
                methods,
            }),
        }
    }

    /// Where credentials are read. The header must be ASCII metadata (a `-bin` key is refused) and
    /// query parameters do not exist in gRPC, so a config with one is refused.
    pub fn credentials(mut self, credentials: CredentialConfig) -> Result<Self> {
        check_config(&credentials)?;
        Arc::make_mut(&mut self.shared)
            .settings
            .set_credentials(credentials);
        Ok(self)
    }

    /// Trusts these proxies: when the peer is one of them, the client address is taken from the
    /// `x-forwarded-for` metadata they add (see [`ClientIpResolver`]).
    #[must_use]
    pub fn trusted_proxies(mut self, resolver: ClientIpResolver) -> Self {
        Arc::make_mut(&mut self.shared)
            .settings
            .set_trusted_proxies(resolver);
        self
    }

    /// Whether admitted calls carry the `ratelimit` and `ratelimit-policy` metadata of the key's
    /// tightest limit in their response headers (default: on, as HTTP answers do; refusals always
    /// carry them). The same switch as `apikey-axum`'s and `apikey-actix`'s.
    #[must_use]
    pub fn rate_limit_fields_on_success(mut self, on: bool) -> Self {
        Arc::make_mut(&mut self.shared)
            .settings
            .set_fields_on_success(on);
        self
    }

    /// Reserves `estimate` credits per call instead of charging its cost to them (keys with
    /// credits only): the service settles the real cost through the `Verified` extension's
    /// `reservation()`, or the reservation expires settled at the estimate. The same switch as
    /// `apikey-axum`'s and `apikey-actix`'s `reserve_credits`.
    #[must_use]
    pub fn reserve_credits(mut self, estimate: u64) -> Self {
        Arc::make_mut(&mut self.shared)
            .settings
            .set_reserve(Some(estimate));
        self
    }

    /// Adds a [`RequestCheck`], run after the key has verified and before the service, in the
    /// order added; the first refusal ends the call with
    /// [`status_for_check`](crate::status_for_check). Public methods run no check.
    ///
    /// **Head only**: the check sees the method path and the metadata, never the messages — a
    /// gRPC body is a stream of length-prefixed messages in both directions, and buffering it
    /// would break streaming. A check that answers [`Wants::Body`](apikey_core::http::Wants) is
    /// called with `None` for the body, and must refuse then if it cannot decide without it (see
    /// [`RequestCheck`]).
    ///
    /// # Panics
    ///
    /// Past [`MAX_CHECKS`](apikey_core::http::MAX_CHECKS) checks on one layer.
    #[must_use]
    pub fn with_check<C: RequestCheck>(mut self, check: C) -> Self {
        if let Err(e) = Arc::make_mut(&mut self.shared).settings.add_check(check) {
            panic!("ApiKeyLayer::with_check: {e}");
        }
        self
    }

    /// Logs the calls through this layer to `log` (off for every tenant until its settings, or
    /// [`RequestLog::set_default`], turn it on), with the method path as the route and the
    /// `grpc-status` of an answer that carries it in its head as the HTTP status of the same
    /// meaning. Without a log the request path is unchanged.
    #[must_use]
    pub fn request_log(mut self, log: RequestLog) -> Self {
        Arc::make_mut(&mut self.shared)
            .settings
            .set_request_log(log);
        self
    }
}

impl<S> Layer<S> for ApiKeyLayer {
    type Service = ApiKeyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ApiKeyService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service [`ApiKeyLayer`] makes.
#[derive(Debug, Clone)]
pub struct ApiKeyService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S: NamedService> NamedService for ApiKeyService<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B, ResBody> Service<Request<B>> for ApiKeyService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, Self::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let (mut parts, body) = req.into_parts();
        let scopes = match self.shared.methods.lookup(parts.uri.path()) {
            Some(Access::Public) => {
                return ResponseFuture::inner(self.inner.call(Request::from_parts(parts, body)));
            }
            Some(Access::Scopes(scopes)) => scopes,
            // Not in the map, declared denied, or a kind this version does not know: refused.
            _ => {
                tracing::debug!(
                    method = parts.uri.path(),
                    "gRPC method not in the scope map or declared denied; denied"
                );
                return ResponseFuture::ready(method_denied().into_http());
            }
        };
        // Decided on the spot (every cache hit with an in-process limiter): the ready inner
        // service is called directly, with no boxed future and no clone of it.
        let began = self.shared.settings.log_began();
        match self.shared.verify_now(&parts, scopes) {
            Attempt::Done(Ok(verified)) => {
                let limit = self.shared.settings.success_limit(&verified);
                let log = self.shared.log_admitted(began, &parts, &verified);
                if self.shared.settings.has_checks() {
                    let plan = plan(&self.shared.settings, &parts, &verified);
                    if !plan.is_empty() {
                        let clone = self.inner.clone();
                        let inner = std::mem::replace(&mut self.inner, clone);
                        let shared = Arc::clone(&self.shared);
                        return ResponseFuture::boxed(Box::pin(async move {
                            let res = checked(
                                &shared.settings,
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
                ResponseFuture::admitted(
                    self.inner.call(Request::from_parts(parts, body)),
                    limit,
                    log,
                )
            }
            Attempt::Done(Err(rejection)) => {
                self.shared.log_refused(began, &parts, &rejection);
                ResponseFuture::ready(status_for(&rejection).into_http())
            }
            Attempt::Pending(pending) => {
                // The ready instance serves this request; the clone waits for the next poll_ready.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let shared = Arc::clone(&self.shared);
                ResponseFuture::boxed(Box::pin(async move {
                    match shared.settings.finish(pending).await {
                        Ok(verified) => {
                            let settings = &shared.settings;
                            let limit = settings.success_limit(&verified);
                            let log = shared.log_admitted(began, &parts, &verified);
                            if settings.has_checks() {
                                let plan = plan(settings, &parts, &verified);
                                if !plan.is_empty() {
                                    let req = (parts, body);
                                    let res =
                                        checked(settings, req, verified, plan, limit, inner).await;
                                    finish_log(log, &res);
                                    return res;
                                }
                            }
                            parts.extensions.insert(verified);
                            let mut res = inner.call(Request::from_parts(parts, body)).await?;
                            if let Some(limit) = &limit {
                                add_rate_limit(res.headers_mut(), limit);
                            }
                            if let Some(log) = log {
                                log.finish(logged_status(&res));
                            }
                            Ok(res)
                        }
                        Err(rejection) => {
                            shared.log_refused(began, &parts, &rejection);
                            Ok(status_for(&rejection).into_http())
                        }
                    }
                }))
            }
        }
    }
}

/// Runs the planned (head-only) checks, then the inner service with the verified key attached and
/// `limit`'s metadata on the response.
async fn checked<S, B, ResBody>(
    settings: &GuardSettings,
    (mut parts, body): (http::request::Parts, B),
    key: Verified,
    plan: CheckPlan,
    limit: Option<LimitStatus>,
    mut inner: S,
) -> std::result::Result<Response<ResBody>, S::Error>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    ResBody: Default,
{
    if let Err(status) = run(settings, &parts, &key, plan).await {
        return Ok(status.into_http());
    }
    parts.extensions.insert(key);
    let mut res = inner.call(Request::from_parts(parts, body)).await?;
    if let Some(limit) = &limit {
        add_rate_limit(res.headers_mut(), limit);
    }
    Ok(res)
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

pin_project! {
    /// The response future of [`ApiKeyService`]: named, so a request decided without waiting
    /// costs no box.
    pub struct ResponseFuture<F, T, E> {
        #[pin]
        state: State<F, T, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, T, E> {
        /// Public, or verified on the spot: the inner service's future, the limit to report, and
        /// the request log's record when this request is logged.
        Inner { #[pin] future: F, limit: Option<LimitStatus>, log: Option<Box<OpenLog>> },
        /// Refused on the spot.
        Ready { response: Option<T> },
        /// The verification needed I/O (store fetch, slow hash, remote limiter).
        Boxed { future: BoxFuture<Result<T, E>> },
    }
}

impl<F, T, E> ResponseFuture<F, T, E> {
    fn inner(future: F) -> Self {
        Self::admitted(future, None, None)
    }

    fn admitted(future: F, limit: Option<LimitStatus>, log: Option<OpenLog>) -> Self {
        Self {
            state: State::Inner {
                future,
                limit,
                log: log.map(Box::new),
            },
        }
    }

    fn ready(response: T) -> Self {
        Self {
            state: State::Ready {
                response: Some(response),
            },
        }
    }

    fn boxed(future: BoxFuture<Result<T, E>>) -> Self {
        Self {
            state: State::Boxed { future },
        }
    }
}

impl<F, T, E> std::fmt::Debug for ResponseFuture<F, T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F, Response<B>, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future, limit, log } => {
                let mut res = std::task::ready!(future.poll(cx))?;
                if let Some(limit) = limit {
                    add_rate_limit(res.headers_mut(), limit);
                }
                if let Some(log) = log.take() {
                    log.finish(logged_status(&res));
                }
                Poll::Ready(Ok(res))
            }
            StateProj::Ready { response } => match response.take() {
                Some(res) => Poll::Ready(Ok(res)),
                None => panic!("ResponseFuture polled after completion"),
            },
            StateProj::Boxed { future } => future.as_mut().poll(cx),
        }
    }
}
