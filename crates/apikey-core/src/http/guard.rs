//! [`GuardSettings`]: what every HTTP guard (axum layer, actix middleware) is configured with, and
//! the framework-neutral half of its request path, so the integrations keep only their own types.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;

use crate::error::Result;
use crate::ids::LookupId;
use crate::ip::ClientIpResolver;
use crate::limit::LimitStatus;
use crate::scope::Scope;
use crate::verify::{
    Attempt, PendingVerification, Rejection, RejectionKind, RequestContext, Verified, Verifier,
};

use super::check::RequestCheck;
use super::check_rejection::CheckRejection;
use super::checks::{BodyFailure, CheckPlan, Checks};
use super::credential::{CredentialConfig, RequestHeaders, extract_credential};
use super::head::RequestHead;
use super::problem::{Problem, problem_for_check};

/// The settings of one HTTP guard: the verifier, where credentials are read, which proxies are
/// trusted, the scopes it requires, whether endpoint limits apply, whether admitted responses
/// carry the `RateLimit` fields, and the [`RequestCheck`]s that run once the key has verified.
/// Integrations wrap it in their layer or middleware type.
///
/// # Request checks
///
/// An integration that admits a verified key asks [`has_checks`](Self::has_checks) (the only cost
/// when none is configured), then [`plan_checks`](Self::plan_checks); when the plan is not empty
/// it buffers the body if [`CheckPlan::wants_body`] (refusing with
/// [`body_problem`](Self::body_problem) over [`max_check_body`](Self::max_check_body)), awaits
/// [`run_checks`](Self::run_checks), answers a rejection with
/// [`check_problem`](Self::check_problem), and otherwise hands the handler the request with the
/// same body.
#[derive(Debug, Clone)]
pub struct GuardSettings {
    verifier: Verifier,
    credentials: CredentialConfig,
    challenge: String,
    resolver: ClientIpResolver,
    scopes: Vec<Scope>,
    endpoint_limits: bool,
    fields_on_success: bool,
    checks: Checks,
    /// Whether requests without a token may name their key by a signature's `keyid`: only when
    /// a check that verifies signatures runs on every such request.
    signed_keyids: bool,
    /// Credits reserved per request instead of charged (see [`set_reserve`](Self::set_reserve)).
    reserve: Option<u64>,
    pub(super) request_log: Option<crate::request_log::RequestLog>,
}

impl GuardSettings {
    /// Default credential sources (`x-api-key` and bearer), no trusted proxies, no required scopes,
    /// endpoint limits off, `RateLimit` fields on admitted responses.
    pub fn new(verifier: Verifier) -> Self {
        let credentials = CredentialConfig::default();
        Self {
            verifier,
            challenge: credentials.challenge(),
            credentials,
            resolver: ClientIpResolver::new(),
            scopes: Vec::new(),
            endpoint_limits: false,
            fields_on_success: true,
            checks: Checks::default(),
            signed_keyids: false,
            reserve: None,
            request_log: None,
        }
    }

    /// Reserves `estimate` credits per request instead of charging its cost to them (keys with
    /// credits only): the handler settles the real cost through
    /// [`Verified::reservation`](crate::Verified::reservation), or the reservation expires
    /// settled at the estimate.
    pub fn set_reserve(&mut self, estimate: Option<u64>) {
        self.reserve = estimate;
    }

    /// Sets where credentials are read from (and the `WWW-Authenticate` challenge with it).
    pub fn set_credentials(&mut self, credentials: CredentialConfig) {
        self.challenge = credentials.challenge();
        self.credentials = credentials;
    }

    /// Sets which peers are trusted proxies whose `X-Forwarded-For` counts.
    pub fn set_trusted_proxies(&mut self, resolver: ClientIpResolver) {
        self.resolver = resolver;
    }

    /// Adds required scopes (AND); on an invalid scope, says which and adds none.
    pub fn try_require<I, T>(&mut self, scopes: I) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let parsed = scopes
            .into_iter()
            .map(|s| Scope::new(s.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        self.scopes.extend(parsed);
        Ok(())
    }

    /// Turns per-endpoint limits on or off.
    pub fn set_endpoint_limits(&mut self, on: bool) {
        self.endpoint_limits = on;
    }

    /// Whether admitted responses carry the `RateLimit` fields (refusals always do).
    pub fn set_fields_on_success(&mut self, on: bool) {
        self.fields_on_success = on;
    }

    /// Appends a [`RequestCheck`]; checks run in the order they were added. Fails past
    /// [`MAX_CHECKS`](super::MAX_CHECKS).
    ///
    /// A check that [authenticates signed requests](RequestCheck::authenticates_signed) (the
    /// [`SignatureCheck`](crate::signing::SignatureCheck)) also lets requests without a token
    /// name their key by the signature's `keyid`, for keys that sign instead of sending it.
    pub fn add_check<C: RequestCheck>(&mut self, check: C) -> Result<()> {
        self.add_shared_check(Arc::new(check))
    }

    /// [`add_check`](Self::add_check) for a check shared with other guards.
    pub fn add_shared_check(&mut self, check: Arc<dyn RequestCheck>) -> Result<()> {
        self.checks.add(check)?;
        self.signed_keyids = self.checks.authenticates_signed();
        Ok(())
    }

    /// The longest body buffered for checks that want it (default
    /// [`DEFAULT_MAX_CHECK_BODY`](super::DEFAULT_MAX_CHECK_BODY), 1 MiB); a longer one is answered
    /// 413 and never reaches the handler.
    pub fn set_max_check_body(&mut self, bytes: usize) {
        self.checks.set_max_body(bytes);
    }

    /// The cap on a body buffered for checks.
    pub fn max_check_body(&self) -> usize {
        self.checks.max_body()
    }

    /// Whether any check is configured; when not, integrations skip the check path entirely.
    #[inline]
    pub fn has_checks(&self) -> bool {
        !self.checks.is_empty()
    }

    /// Which checks this request needs (each check's synchronous
    /// [`wants`](RequestCheck::wants)); allocation-free.
    pub fn plan_checks(&self, key: &Verified, head: &RequestHead<'_>) -> CheckPlan {
        self.checks.plan(key, head)
    }

    /// Whether a `Content-Length` value already exceeds [`max_check_body`](Self::max_check_body),
    /// so the body need not be read to refuse it.
    pub fn check_body_declared_too_large(&self, content_length: Option<&[u8]>) -> bool {
        self.checks.declared_too_large(content_length)
    }

    /// Runs the planned checks in order; the first rejection wins. `body` is the buffered body
    /// when the plan [wants it](CheckPlan::wants_body) and the integration can buffer (only the
    /// checks that asked for it are given it).
    pub async fn run_checks(
        &self,
        plan: CheckPlan,
        key: &Verified,
        head: &RequestHead<'_>,
        body: Option<&Bytes>,
    ) -> Result<(), CheckRejection> {
        self.checks.run(plan, key, head, body).await
    }

    /// The problem response for a check's rejection (401s get this guard's challenge).
    pub fn check_problem(&self, rejection: &CheckRejection) -> Problem {
        problem_for_check(rejection, &self.challenge)
    }

    /// The problem response for a body the checks could not be given: 413 over the cap, 400 when
    /// it could not be read.
    pub fn body_problem(&self, failure: BodyFailure) -> Problem {
        self.check_problem(&self.checks.body_rejection(failure))
    }

    /// Where credentials are read from.
    pub fn credentials(&self) -> &CredentialConfig {
        &self.credentials
    }

    /// The `WWW-Authenticate` value of 401 answers.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    /// The scopes every request must hold.
    pub fn scopes(&self) -> &[Scope] {
        &self.scopes
    }

    /// Whether the integration should name the endpoint for endpoint limits.
    pub fn endpoint_limits(&self) -> bool {
        self.endpoint_limits
    }

    /// The client address from the socket peer and the `X-Forwarded-For` lines.
    pub fn client_ip<'h, I>(&self, peer: Option<IpAddr>, forwarded_for: I) -> Option<IpAddr>
    where
        I: IntoIterator<Item = &'h [u8]>,
        I::IntoIter: DoubleEndedIterator,
    {
        self.resolver.resolve(peer, forwarded_for)
    }

    /// The limit to report on an admitted response, if the fields are on.
    pub fn success_limit(&self, verified: &Verified) -> Option<LimitStatus> {
        verified.limit().copied().filter(|_| self.fields_on_success)
    }

    /// Verifies the request without waiting when no I/O is needed ([`Verifier::verify_now`]);
    /// a missing, ambiguous or unreadable credential is decided here. The guard's own scopes are
    /// required.
    pub fn verify_now<R: RequestHeaders>(
        &self,
        req: &R,
        client_ip: Option<IpAddr>,
        endpoint: Option<&str>,
    ) -> Attempt {
        self.verify_now_with(req, client_ip, endpoint, &self.scopes)
    }

    /// [`verify_now`](Self::verify_now) with the scopes this request requires instead of the
    /// guard's (per-method scopes of a gRPC service, for example).
    pub fn verify_now_with<R: RequestHeaders>(
        &self,
        req: &R,
        client_ip: Option<IpAddr>,
        endpoint: Option<&str>,
        scopes: &[Scope],
    ) -> Attempt {
        let user_agent = req
            .header_lines("user-agent")
            .next()
            .and_then(|v| std::str::from_utf8(v).ok());
        let ctx = RequestContext::new()
            .client_ip(client_ip)
            .scopes(scopes)
            .user_agent(user_agent);
        let ctx = match endpoint {
            Some(e) => ctx.endpoint(e),
            None => ctx,
        };
        let ctx = match self.reserve {
            Some(estimate) => ctx.reserve(estimate),
            None => ctx,
        };
        self.verify_now_in(req, &ctx)
    }

    /// The most general form: the request's whole context is given (a GraphQL batch's cost, for
    /// example); only the credential is read here.
    pub fn verify_now_in<R: RequestHeaders>(&self, req: &R, ctx: &RequestContext<'_>) -> Attempt {
        match extract_credential(&self.credentials, req) {
            Ok(credential) => match self.verifier.verify_now(credential, ctx) {
                Attempt::Done(result) => Attempt::Done(self.signatures_enforced(result)),
                pending => pending,
            },
            Err(RejectionKind::Missing) if self.signed_keyids => match signed_keyid(req) {
                Some(lookup) => self.verifier.signed_keyid_pending(lookup, ctx),
                None => Attempt::Done(Err(Rejection::new(RejectionKind::Missing))),
            },
            Err(kind) => Attempt::Done(Err(Rejection::new(kind))),
        }
    }

    /// [`verify_now_in`](Self::verify_now_in), finished when it needs I/O.
    pub async fn verify_in<R: RequestHeaders>(
        &self,
        req: &R,
        ctx: &RequestContext<'_>,
    ) -> Result<Verified, Rejection> {
        match self.verify_now_in(req, ctx) {
            Attempt::Done(result) => result,
            Attempt::Pending(pending) => self.finish(pending).await,
        }
    }

    /// Completes what [`verify_now`](Self::verify_now) left pending. The pending value owns what
    /// it needs, so the request need not be read again.
    pub async fn finish(&self, pending: PendingVerification) -> Result<Verified, Rejection> {
        self.signatures_enforced(self.verifier.finish(pending).await)
    }

    /// A key that requires request signatures is refused (the uniform 401) by a guard that has
    /// no check verifying them: fail closed, rather than let a misconfigured guard accept the
    /// token alone. With a [`SignatureCheck`](crate::signing::SignatureCheck) the check decides.
    #[inline]
    #[allow(clippy::result_large_err)]
    fn signatures_enforced(
        &self,
        result: Result<Verified, Rejection>,
    ) -> Result<Verified, Rejection> {
        match result {
            Ok(key)
                if !self.signed_keyids
                    && key
                        .record()
                        .protection
                        .signing_mode()
                        .is_some_and(crate::signing::SigningMode::requires_signature) =>
            {
                if let Some(suppressed) = UNCHECKED_SIGNATURES.allow_monotonic() {
                    tracing::error!(key = %key.key_id(), suppressed, "a key that requires request signatures reached a guard without a SignatureCheck; refusing (add keys.signature_check(…) to the guard)");
                }
                Err(Rejection::new(RejectionKind::WrongSecret))
            }
            other => other,
        }
    }
}

/// One error line a minute for guards refusing keys they cannot check.
static UNCHECKED_SIGNATURES: crate::LogThrottle =
    crate::LogThrottle::new(std::time::Duration::from_secs(60));

/// The lookup id a request's first signature names as its `keyid`, if it has one that parses.
fn signed_keyid<R: RequestHeaders>(req: &R) -> Option<LookupId> {
    let mut value = String::new();
    for line in req.header_lines("signature-input") {
        if !value.is_empty() {
            value.push_str(", ");
        }
        value.push_str(std::str::from_utf8(line).ok()?);
    }
    if value.is_empty() {
        return None;
    }
    crate::signing::keyid_of(&value)?.parse().ok()
}
