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
use apikey_core::http::{
    CredentialConfig, GuardSettings, LogHead, OpenLog, RequestCheck, insufficient_scope,
    problem_for,
};
use apikey_core::request_log::RequestLog;
use apikey_core::{Attempt, ClientIpResolver, Verifier};

use crate::check::{checked, plan};
use crate::future::ResponseFuture;
use crate::response::{Headers, add_rate_limit, problem_response};

#[derive(Debug, Clone)]
struct Config {
    settings: GuardSettings,
    /// The configured credential header, parsed once.
    header_name: Option<HeaderName>,
}

/// What core's guard needs from a request besides its headers: the client address (the socket
/// peer, never `realip_remote_addr`, then trusted `X-Forwarded-For`) and, with endpoint limits
/// on, the endpoint.
struct Facts<'a> {
    headers: Headers<'a>,
    client_ip: Option<IpAddr>,
    endpoint: Option<String>,
}

impl Config {
    fn facts<'a>(&'a self, req: &'a ServiceRequest) -> Facts<'a> {
        let peer = req.peer_addr().map(|a| a.ip());
        let forwarded: Vec<&[u8]> = req
            .headers()
            .get_all(X_FORWARDED_FOR)
            .map(|v| v.as_bytes())
            .collect();
        let endpoint = if self.settings.endpoint_limits() {
            req.match_pattern().map(|p| format!("{} {p}", req.method()))
        } else {
            None
        };
        Facts {
            headers: Headers {
                headers: req.headers(),
                query: req.query_string(),
                custom: self.header_name.as_ref(),
            },
            client_ip: self.settings.client_ip(peer, forwarded),
            endpoint,
        }
    }

    /// The request as the request log records it (only built when a log is configured).
    fn log_head<'a>(
        &'a self,
        req: &'a ServiceRequest,
        log: &'a RequestLog,
        route: Option<&'a str>,
    ) -> LogHead<'a> {
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        LogHead {
            method: req.method().as_str(),
            route,
            path: req.path(),
            client_ip: self.facts(req).client_ip,
            request_id: header(log.request_id_header()),
            user_agent: header("user-agent"),
        }
    }

    fn log_admitted(
        &self,
        began: Option<std::time::Instant>,
        req: &ServiceRequest,
        key: &apikey_core::Verified,
    ) -> Option<OpenLog> {
        let route = std::cell::OnceCell::new();
        self.settings.log_admitted(began, key, |log| {
            self.log_head(
                req,
                log,
                route.get_or_init(|| req.match_pattern()).as_deref(),
            )
        })
    }

    fn log_refused(
        &self,
        began: Option<std::time::Instant>,
        req: &ServiceRequest,
        rejection: &apikey_core::Rejection,
    ) {
        let route = std::cell::OnceCell::new();
        self.settings.log_refused(began, rejection, |log| {
            self.log_head(
                req,
                log,
                route.get_or_init(|| req.match_pattern()).as_deref(),
            )
        });
    }

    fn verify_now(&self, req: &ServiceRequest) -> Attempt {
        let f = self.facts(req);
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

    /// The credential sources this middleware reads (for route tables and OpenAPI).
    pub fn credential_config(&self) -> &CredentialConfig {
        self.config.settings.credentials()
    }

    /// The scopes this middleware requires on every request, before any per-route ones.
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

    /// Applies per-endpoint limits, naming the endpoint `"{METHOD} {pattern}"`.
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
    /// outer `ApiKeyAuth` verified the key.
    ///
    /// # Panics
    ///
    /// Past [`MAX_CHECKS`](apikey_core::http::MAX_CHECKS) checks on one middleware.
    #[must_use]
    pub fn with_check<C: RequestCheck>(self, check: C) -> Self {
        self.edit(|c| {
            if let Err(e) = c.settings.add_check(check) {
                panic!("ApiKeyAuth::with_check: {e}");
            }
        })
    }

    /// The longest payload buffered for checks that ask for it (default 1 MiB); a longer one is
    /// answered 413 and the handler is not called.
    #[must_use]
    pub fn max_check_body(self, bytes: usize) -> Self {
        self.edit(|c| c.settings.set_max_check_body(bytes))
    }

    /// Logs the requests through this middleware to `log` (off for every tenant until its
    /// settings, or [`RequestLog::set_default`], turn it on), with actix's route pattern as the
    /// route template. Without a log the request path is unchanged.
    #[must_use]
    pub fn request_log(self, log: RequestLog) -> Self {
        self.edit(|c| c.settings.set_request_log(log))
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
        let settings = &self.config.settings;
        let earlier = req.extensions().get::<apikey_core::Verified>().map(|v| {
            match v.scopes().first_missing(settings.scopes()) {
                Some(missing) => Err(missing.clone()),
                // This middleware's checks apply to a key an outer one verified too.
                None => Ok(settings.has_checks().then(|| v.clone())),
            }
        });
        match earlier {
            Some(Err(missing)) => {
                let res = problem_response(insufficient_scope(&missing));
                return ResponseFuture::ready(req.into_response(res).map_into_right_body());
            }
            Some(Ok(Some(key))) => {
                let plan = plan(settings, &req, &key);
                if !plan.is_empty() {
                    let service = Rc::clone(&self.service);
                    let config = Arc::clone(&self.config);
                    // The outer middleware reports the limits.
                    return ResponseFuture::boxed(Box::pin(async move {
                        checked(&config.settings, req, key, (plan, None), &*service).await
                    }));
                }
                return ResponseFuture::inner(self.service.call(req), None);
            }
            Some(Ok(None)) => return ResponseFuture::inner(self.service.call(req), None),
            None => {}
        }
        // Decided on the spot (every cache hit with an in-process limiter): the inner service is
        // called directly, without a boxed future.
        let began = settings.log_began();
        match self.config.verify_now(&req) {
            Attempt::Done(Ok(verified)) => {
                let limit = settings.success_limit(&verified);
                let log = self.config.log_admitted(began, &req, &verified);
                if settings.has_checks() {
                    let plan = plan(settings, &req, &verified);
                    if !plan.is_empty() {
                        let service = Rc::clone(&self.service);
                        let config = Arc::clone(&self.config);
                        return ResponseFuture::boxed(Box::pin(async move {
                            let res =
                                checked(&config.settings, req, verified, (plan, limit), &*service)
                                    .await;
                            finish_log(log, &res);
                            res
                        }));
                    }
                }
                req.extensions_mut().insert(verified);
                ResponseFuture::inner_logged(self.service.call(req), limit, log)
            }
            Attempt::Done(Err(rejection)) => {
                self.config.log_refused(began, &req, &rejection);
                let res = problem_response(problem_for(&rejection, settings.challenge()));
                ResponseFuture::ready(req.into_response(res).map_into_right_body())
            }
            Attempt::Pending(pending) => {
                let service = Rc::clone(&self.service);
                let config = Arc::clone(&self.config);
                ResponseFuture::boxed(Box::pin(async move {
                    let settings = &config.settings;
                    match settings.finish(pending).await {
                        Err(rejection) => {
                            config.log_refused(began, &req, &rejection);
                            let res =
                                problem_response(problem_for(&rejection, settings.challenge()));
                            Ok(req.into_response(res).map_into_right_body())
                        }
                        Ok(verified) => {
                            let limit = settings.success_limit(&verified);
                            let log = config.log_admitted(began, &req, &verified);
                            if settings.has_checks() {
                                let plan = plan(settings, &req, &verified);
                                if !plan.is_empty() {
                                    let checks = (plan, limit);
                                    let res =
                                        checked(settings, req, verified, checks, &*service).await;
                                    finish_log(log, &res);
                                    return res;
                                }
                            }
                            req.extensions_mut().insert(verified);
                            let mut res = service.call(req).await?;
                            if let Some(limit) = &limit {
                                add_rate_limit(res.headers_mut(), limit);
                            }
                            if let Some(log) = log {
                                log.finish(res.status().as_u16());
                            }
                            Ok(res.map_into_left_body())
                        }
                    }
                }))
            }
        }
    }
}

/// Finishes a request's log record with the response's status (an error instead of a response
/// is logged by nobody: actix answers it later, outside this middleware).
fn finish_log<B>(log: Option<OpenLog>, res: &Result<ServiceResponse<B>, Error>) {
    if let (Some(log), Ok(res)) = (log, res) {
        log.finish(res.status().as_u16());
    }
}
