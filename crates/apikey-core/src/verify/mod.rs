//! The request-time hot path: [`Verifier::verify`].
//!
//! In order: parse and checksum (malformed → reject, nothing else runs); in-process cache by lookup
//! id with a constant-time digest compare, or on a miss one shared store fetch, hash verification
//! and a version-gated fill; lifecycle state and expiry; client address rules; scopes; one limiter
//! call; write-behind usage. Until the secret has verified, every failure is the same "invalid".
//!
//! A hit allocates nothing, takes no lock and awaits nothing unless the limiter needs I/O.

mod cache_control;
mod canary;
mod config;
mod context;
mod decide;
mod failures;
mod fetch;
mod flight;
mod legacy;
pub(crate) mod local_cache;
#[cfg(feature = "metrics")]
mod metrics;
mod observe;
mod outage;
mod pending;
mod read_budget;
mod rehash;
mod rejection;
mod signed;
mod stale;
#[cfg(test)]
pub(crate) mod test_support;
mod threats;
mod usage;
mod validity;
mod verified;

pub use canary::INCIDENT as CANARY_INCIDENT;
pub use config::{CanaryPolicy, FailedAuthPolicy, UnknownReadBudget, VerifierConfig};
pub use context::RequestContext;
pub use pending::PendingVerification;
pub use rejection::{Rejection, RejectionKind};
pub use verified::Verified;

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::cache::Cache;
use crate::clock::Clock;
use crate::error::{ErrorKind, Result};
use crate::event::{EventSink, KeyEvent, KeyEventKind};
use crate::hash::{DigestKey, Hasher};
use crate::ip::IpVerdict;
use crate::limit::{RateLimiter, Subject};
use crate::log_throttle::LogThrottle;
use crate::record::KeyRecord;
use crate::secret::Credential;
use crate::state::KeyState;
use crate::store::KeyStore;
use crate::token::{CurrentToken, LegacyToken, ParsedToken, TokenFormat};
use outage::OutageLogs;

use failures::{FailSubject, FailedAuth, client_net};
use flight::{FetchedRecord, Flights};
use local_cache::{CachedEntry, LocalCache, Lookup};
use pending::{OwnedRequest, Resume};
use read_budget::ReadBudget;
use tracing::Instrument;
use usage::UsageRecorder;
use zeroize::Zeroizing;

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn KeyStore>,
    pub(crate) l2: Option<Arc<dyn Cache>>,
    pub(crate) limiter: Option<Arc<dyn RateLimiter>>,
    pub(crate) events: Arc<dyn EventSink>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) hasher: Hasher,
    pub(crate) format: TokenFormat,
    pub(crate) config: VerifierConfig,
    pub(crate) cache: LocalCache,
    digest: DigestKey,
    flights: Flights,
    failures: FailedAuth,
    reads: ReadBudget,
    usage: UsageRecorder,
    logs: OutageLogs,
    canaries: canary::CanaryTrips,
    pub(crate) pools: Option<crate::pool::PoolBook>,
    /// The audit log, once a manager with one is built: background re-hashes link their events
    /// into the key's chain through it.
    pub(crate) audit: std::sync::OnceLock<Arc<dyn crate::audit::AuditStore>>,
    /// The threat detectors the configuration turns on.
    pub(crate) threats: Option<threats::Threats>,
    #[cfg(feature = "metrics")]
    metrics: metrics::VerifyMetrics,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("store", &self.store)
            .field("l2", &self.l2)
            .field("limiter", &self.limiter)
            .field("format", &self.format)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Verifies credentials. Cheap to clone; clones share caches and counters.
#[derive(Debug, Clone)]
pub struct Verifier {
    pub(crate) inner: Arc<Inner>,
}

/// What [`Verifier::verify_now`] decided.
#[derive(Debug)]
#[must_use]
pub enum Attempt {
    /// Decided without waiting.
    Done(Result<Verified, Rejection>),
    /// Needs I/O (a store fetch, a slow hash, a remote limiter): pass it to
    /// [`Verifier::finish`]. Nothing has been charged or recorded yet.
    Pending(PendingVerification),
}

/// What [`Verifier::cached`] found: a verified entry, or nothing usable (with the key's usage
/// cell if an expired entry left one).
enum Cached {
    Hit(Arc<CachedEntry>),
    Miss(Option<Arc<usage::UsageCell>>),
}

/// Where [`Verifier::authorize_now`] stopped.
enum Authorized {
    Done(Verified),
    NeedsLimiter(Arc<CachedEntry>),
}

fn limit_subject<'a>(r: &KeyRecord, ctx: &RequestContext<'a>) -> Subject<'a> {
    Subject {
        key: r.id,
        lineage: r.lineage_id,
        endpoint: ctx.endpoint,
    }
}

/// The network sketch's key: a MAC under the current pepper, so secret, and the same on every
/// instance that verifies the same tokens.
fn sketch_seed(hasher: &Hasher) -> u64 {
    match hasher.hash_hmac("apikey threat network sketch v1") {
        crate::hash::StoredHash::HmacSha256 { digest, .. } => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&digest[..8]);
            u64::from_le_bytes(b)
        }
        _ => 0,
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl Verifier {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        store: Arc<dyn KeyStore>,
        l2: Option<Arc<dyn Cache>>,
        limiter: Option<Arc<dyn RateLimiter>>,
        events: Arc<dyn EventSink>,
        clock: Arc<dyn Clock>,
        hasher: Hasher,
        format: TokenFormat,
        config: VerifierConfig,
        catalog: Option<Arc<dyn crate::catalog::CatalogStore>>,
    ) -> Self {
        let inner = Inner {
            pools: catalog.map(|c| crate::pool::PoolBook::new(c, micros(config.cache_ttl))),
            cache: LocalCache::new(config.cache_capacity),
            failures: FailedAuth::new(config.failed_auth),
            threats: threats::Threats::new(config.threats, sketch_seed(&hasher)),
            reads: ReadBudget::new(config.failed_auth.unknown_reads),
            store,
            l2,
            limiter,
            events,
            clock,
            hasher,
            format,
            config,
            digest: DigestKey::random(),
            flights: Flights::default(),
            usage: UsageRecorder::default(),
            logs: OutageLogs::default(),
            canaries: canary::CanaryTrips::default(),
            audit: std::sync::OnceLock::new(),
            #[cfg(feature = "metrics")]
            metrics: metrics::VerifyMetrics::register(),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The configuration this verifier was built with.
    pub fn config(&self) -> &VerifierConfig {
        &self.inner.config
    }

    /// The token format this verifier accepts.
    pub fn token_format(&self) -> &TokenFormat {
        &self.inner.format
    }

    /// Verifies `credential` for the request described by `ctx`.
    pub async fn verify(
        &self,
        credential: Credential<'_>,
        ctx: &RequestContext<'_>,
    ) -> Result<Verified, Rejection> {
        match self.verify_now(credential, ctx) {
            Attempt::Done(result) => result,
            // Boxed so this future stays a few words: inline, the miss path's state (store fetch,
            // hashing) made every hit create and move a large future (7 % of a hit in `perf`).
            // A miss allocates anyway; one more box is noise beside its store read.
            Attempt::Pending(pending) => Box::pin(self.finish(pending)).await,
        }
    }

    /// Verifies without waiting, when nothing needs I/O: a cache hit whose limiter (if any)
    /// decides in process, and every rejection up to that point. Otherwise returns
    /// [`Attempt::Pending`] having charged and recorded nothing; complete it with
    /// [`finish`](Self::finish), which needs nothing else (the pending value owns the parsed
    /// token, a zeroized copy of its secret and the request's context).
    ///
    /// For integrations: answering a hit without creating (and boxing) a future is most of what
    /// keeps a guarded route as fast as an unguarded one. [`verify`](Self::verify) is exactly this
    /// followed by `finish`.
    pub fn verify_now(&self, credential: Credential<'_>, ctx: &RequestContext<'_>) -> Attempt {
        let attempt = self.attempt_now(credential, ctx);
        #[cfg(feature = "metrics")]
        if let Attempt::Done(result) = &attempt {
            self.inner.metrics.outcome(result);
        }
        if let Attempt::Done(Err(rejection)) = &attempt {
            self.inner.usage.refused(rejection);
        }
        attempt
    }

    #[inline]
    fn attempt_now(&self, credential: Credential<'_>, ctx: &RequestContext<'_>) -> Attempt {
        let inner = &*self.inner;
        let t = match inner.format.parse(credential.expose()) {
            None => return Attempt::Done(Err(Rejection::new(RejectionKind::Malformed))),
            Some(ParsedToken::Legacy(t)) => {
                let now_us = inner.clock.now_micros();
                if let Some(refused) = self.network_refused(ctx, now_us) {
                    return Attempt::Done(Err(refused));
                }
                return match self.cached_legacy(&t, now_us) {
                    Some(entry) => self.decide_now(entry, ctx, now_us),
                    None => Attempt::Pending(PendingVerification(Resume::Legacy {
                        token: Zeroizing::new(t.secret().into()),
                        request: OwnedRequest::new(ctx),
                    })),
                };
            }
            Some(ParsedToken::Current(t)) => t,
        };
        let now_us = inner.clock.now_micros();
        if let Some(refused) = self.network_refused(ctx, now_us) {
            return Attempt::Done(Err(refused));
        }
        let entry = match self.cached(&t, ctx, now_us) {
            Ok(Cached::Hit(entry)) => entry,
            Ok(Cached::Miss(usage)) => {
                return Attempt::Pending(PendingVerification(Resume::Miss {
                    lookup: t.lookup,
                    secret: Zeroizing::new(t.secret().into()),
                    usage,
                    request: OwnedRequest::new(ctx),
                }));
            }
            Err(rejection) => return Attempt::Done(Err(rejection)),
        };
        self.decide_now(entry, ctx, now_us)
    }

    /// [`authorize_now`](Self::authorize_now) as an [`Attempt`].
    #[inline]
    fn decide_now(
        &self,
        entry: Arc<CachedEntry>,
        ctx: &RequestContext<'_>,
        now_us: i64,
    ) -> Attempt {
        match self.authorize_now(entry, ctx, now_us) {
            Ok(Authorized::Done(verified)) => Attempt::Done(Ok(verified)),
            Ok(Authorized::NeedsLimiter(entry)) => {
                Attempt::Pending(PendingVerification(Resume::Limiter {
                    entry,
                    endpoint: ctx.endpoint.map(Box::from),
                    cost: ctx.cost,
                    reserve: ctx.reserve,
                }))
            }
            Err(rejection) => Attempt::Done(Err(rejection)),
        }
    }

    /// Completes a verification that [`verify_now`](Self::verify_now) left pending: the store
    /// fetch and hash on a miss, or the limiter's I/O on a hit. It needs nothing but the pending
    /// value, so a guard's future can own it without keeping the request's credential around.
    pub async fn finish(&self, pending: PendingVerification) -> Result<Verified, Rejection> {
        #[cfg(feature = "metrics")]
        let began = std::time::Instant::now();
        let result = self.resume(pending).await;
        #[cfg(feature = "metrics")]
        {
            self.inner
                .metrics
                .slow
                .record(began.elapsed().as_secs_f64());
            self.inner.metrics.outcome(&result);
        }
        if let Err(rejection) = &result {
            self.inner.usage.refused(rejection);
        }
        result
    }

    async fn resume(&self, pending: PendingVerification) -> Result<Verified, Rejection> {
        match pending.0 {
            Resume::Miss {
                lookup,
                secret,
                usage,
                request,
            } => {
                let ctx = request.context();
                let now_us = self.inner.clock.now_micros();
                let t = CurrentToken::from_parts(lookup, &secret);
                let entry = self.miss(t, &ctx, now_us, usage).await?;
                self.authorize(entry, &ctx, now_us).await
            }
            Resume::Legacy { token, request } => {
                self.verify_legacy(LegacyToken::from_verified(&token), &request.context())
                    .await
            }
            Resume::Signed { lookup, request } => {
                self.verify_signed_keyid(lookup, &request.context()).await
            }
            // Every check but the limit passed in `verify_now`, microseconds ago.
            Resume::Limiter {
                entry,
                endpoint,
                cost,
                reserve,
            } => {
                let ctx = RequestContext {
                    endpoint: endpoint.as_deref(),
                    cost,
                    reserve,
                    ..RequestContext::new()
                };
                self.limit(entry, &ctx, self.inner.clock.now_micros()).await
            }
        }
    }

    /// The first-level cache's answer for `t`: a hit whose digest matches, or a miss; a wrong
    /// secret on a hit and a negatively cached id are the uniform (counted) rejection.
    #[inline]
    // `Rejection` is returned by value as `verify` returns it; boxing would allocate per refusal.
    #[allow(clippy::result_large_err)]
    fn cached(
        &self,
        t: &CurrentToken<'_>,
        ctx: &RequestContext<'_>,
        now_us: i64,
    ) -> Result<Cached, Rejection> {
        let inner = &*self.inner;
        let kind = match inner.cache.lookup(&t.lookup, now_us) {
            Lookup::Hit(entry) if inner.digest.matches(t.secret(), &entry.digest) => {
                #[cfg(feature = "metrics")]
                inner.metrics.cache_hits.increment(1);
                return Ok(Cached::Hit(entry));
            }
            Lookup::Miss { usage } => {
                #[cfg(feature = "metrics")]
                inner.metrics.cache_misses.increment(1);
                return Ok(Cached::Miss(usage));
            }
            // Cached by a signature alone: the token has not been checked yet.
            Lookup::Hit(entry) if entry.signed_only => {
                return Ok(Cached::Miss(Some(Arc::clone(&entry.usage))));
            }
            Lookup::Hit(_) => RejectionKind::WrongSecret,
            Lookup::Unknown => RejectionKind::Unknown,
        };
        Err(self.failed(kind, ctx, FailSubject::Lookup(t.lookup), now_us))
    }

    async fn miss(
        &self,
        t: CurrentToken<'_>,
        ctx: &RequestContext<'_>,
        now_us: i64,
        usage: Option<Arc<usage::UsageCell>>,
    ) -> Result<Arc<CachedEntry>, Rejection> {
        let inner = &*self.inner;
        let subject = FailSubject::Lookup(t.lookup);
        let net = client_net(ctx.failure_ip(), inner.failures.policy());
        if !inner.reads.may_read(net, now_us) {
            // This network's budget of reads for unknown ids is spent: answer without the store.
            return Err(self.failed(RejectionKind::Unknown, ctx, subject, now_us));
        }
        let fetched = inner.flights.fetch(t.lookup, || self.fetch(t.lookup)).await;
        let FetchedRecord { record, life } = match fetched {
            Ok(Some(fetched)) => fetched,
            Ok(None) => {
                inner.reads.charge_unknown(net, now_us);
                inner.cache.fill_missing(
                    t.lookup,
                    now_us + micros(inner.config.negative_ttl),
                    now_us,
                );
                return Err(self.failed(RejectionKind::Unknown, ctx, subject, now_us));
            }
            Err(e) => {
                if let Some(suppressed) = self.log_now(&inner.logs.store) {
                    tracing::error!(error = %e, suppressed, "key store unavailable during verification");
                }
                return match self.stale(&t, now_us) {
                    Some(entry) => Ok(entry),
                    None => Err(Rejection::new(RejectionKind::Unavailable)),
                };
            }
        };
        if !inner.hasher.accepts(&record.hash, false) {
            self.untrusted_hash(&record);
            // Remembered as unknown for a moment, so a flood on this id reads the store (and
            // reports) once per negative ttl, not once per request.
            inner
                .cache
                .fill_missing(t.lookup, now_us + micros(inner.config.negative_ttl), now_us);
            return Err(self.failed(RejectionKind::WrongSecret, ctx, subject, now_us));
        }
        // A blocked pair may still present the right secret, and an HMAC tells at once; a slow
        // hash is exactly what the block exists to keep from being run at will.
        if record.hash.is_slow()
            && let Some(wait) = inner
                .failures
                .blocked(ctx.failure_ip(), subject, now_us / 1000)
        {
            return Err(Rejection::new(RejectionKind::TooManyFailures).retry_after(wait));
        }
        let verification = match inner.hasher.verify_fast(t.secret(), &record.hash) {
            Some(v) => v,
            None => inner
                .hasher
                .verify(t.secret(), &record.hash)
                .instrument(observe::slow_hash(&record))
                .await
                .map_err(|e| {
                    if e.kind() != ErrorKind::Unavailable
                        && let Some(suppressed) = self.log_now(&inner.logs.hash)
                    {
                        tracing::error!(error = %e, key = %record.id, suppressed, "hash verification failed");
                    }
                    Rejection::new(RejectionKind::Unavailable)
                })?,
        };
        if !verification.matched {
            return Err(self.failed(RejectionKind::WrongSecret, ctx, subject, now_us));
        }
        if verification.rehash {
            rehash::spawn(self.clone(), Arc::clone(&record), t.secret());
        }
        let charges = self.pool_charges(&record, now_us).await?;
        let usage = usage.unwrap_or_else(|| inner.usage.cell(record.id, record.tenant_id.as_ref()));
        let mut entry = CachedEntry::new(
            record,
            inner.digest.digest(t.secret()),
            now_us + micros(life),
            usage,
            inner.config.expiry_grace,
        );
        entry.charges = charges;
        let entry = Arc::new(entry);
        inner.cache.fill(&entry, now_us);
        Ok(entry)
    }

    /// Everything after the secret verified: state, expiry, address, scopes, limits, usage.
    async fn authorize(
        &self,
        entry: Arc<CachedEntry>,
        ctx: &RequestContext<'_>,
        now_us: i64,
    ) -> Result<Verified, Rejection> {
        match self.authorize_now(entry, ctx, now_us)? {
            Authorized::Done(verified) => Ok(verified),
            Authorized::NeedsLimiter(entry) => self.limit(entry, ctx, now_us).await,
        }
    }

    /// [`authorize`](Self::authorize) up to the limiter, and the limiter too when it can decide
    /// without I/O.
    #[inline]
    // `Rejection` is returned by value as `verify` returns it; boxing would allocate per refusal.
    #[allow(clippy::result_large_err)]
    fn authorize_now(
        &self,
        entry: Arc<CachedEntry>,
        ctx: &RequestContext<'_>,
        now_us: i64,
    ) -> Result<Authorized, Rejection> {
        let r = &entry.record;
        if r.protection.canary {
            return Err(self.canary_tripped(r, ctx, now_us));
        }
        if entry.admin != self.inner.config.admin_keys {
            // The key service's admin keys and everyone else's never stand in for each other;
            // either answers here as an unknown key would.
            return Err(self.failed(
                RejectionKind::Unknown,
                ctx,
                failures::FailSubject::Lookup(r.lookup_id),
                now_us,
            ));
        }
        if let Some(t) = ctx.tenant
            && r.tenant_id.as_ref() != Some(t)
        {
            // A real key, of a tenant this caller does not act for: it learns nothing about it,
            // and the key is charged nothing.
            return Err(Rejection::new(RejectionKind::Unknown));
        }
        let deny = |kind| Rejection::new(kind).for_record(r);
        match r.state {
            KeyState::Active => {}
            KeyState::Revoked => {
                if self.inner.threats.is_some() {
                    self.dead_key_used(ctx, now_us);
                }
                return Err(deny(RejectionKind::Revoked));
            }
            KeyState::Suspended => return Err(deny(RejectionKind::Suspended)),
            KeyState::Pending => return Err(deny(RejectionKind::PendingApproval)),
        }
        if entry.validity.is_expired(now_us) {
            if self.inner.threats.is_some() {
                self.dead_key_used(ctx, now_us);
            }
            return Err(deny(RejectionKind::Expired));
        }
        if entry.validity.is_not_yet_valid(now_us) {
            return Err(deny(RejectionKind::NotYetValid));
        }
        match r.ip_rules.check(ctx.client_ip) {
            IpVerdict::Allowed => {}
            IpVerdict::Denied => return Err(deny(RejectionKind::IpDenied)),
            IpVerdict::Unknown => return Err(deny(RejectionKind::ClientIpUnknown)),
        }
        if let Some(sketch) = self.inner.threats.as_ref().and_then(|t| t.sketch.as_ref())
            && let Some(ip) = ctx.client_ip
        {
            entry.usage.saw(sketch.bit(ip));
        }
        if let Some(missing) = r.scopes.first_missing(ctx.required_scopes) {
            return Err(deny(RejectionKind::InsufficientScope).missing(missing.clone()));
        }
        self.limit_now(entry, ctx, now_us)
    }

    /// Whether an outage line of this kind may be logged now (and how many were held back).
    #[cold]
    fn log_now(&self, throttle: &LogThrottle) -> Option<u64> {
        throttle.allow(self.inner.clock.now())
    }

    /// Reports a stored hash this deployment does not accept (see [`Hasher::accepts`]).
    #[cold]
    fn untrusted_hash(&self, record: &KeyRecord) {
        let event = KeyEvent {
            kind: KeyEventKind::UntrustedHash {
                algorithm: record.hash.algorithm().to_owned(),
            },
            key_id: Some(record.id),
            tenant_id: record.tenant_id.clone(),
            actor: None,
            at: self.inner.clock.now(),
        };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let events = Arc::clone(&self.inner.events);
            rt.spawn(async move { events.emit(&event).await });
        }
    }

    /// Counts a failure and reports it (aggregated); returns the uniform rejection.
    #[cold]
    fn failed(
        &self,
        kind: RejectionKind,
        ctx: &RequestContext<'_>,
        subject: FailSubject,
        now_us: i64,
    ) -> Rejection {
        let inner = &*self.inner;
        let recorded = inner
            .failures
            .record(ctx.failure_ip(), subject, now_us / 1000);
        if inner.threats.is_some() {
            self.failing_id(subject, ctx, now_us);
        }
        let rejection = match recorded.blocked {
            // The same answer whether the id exists or not: both paths end here.
            Some(wait) => Rejection::new(RejectionKind::TooManyFailures).retry_after(wait),
            None => Rejection::new(kind),
        };
        if recorded.report
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let lookup_id = match subject {
                FailSubject::Lookup(id) => Some(id),
                FailSubject::Legacy(_) => None,
            };
            let event = KeyEvent {
                kind: KeyEventKind::AuthFailed {
                    lookup_id,
                    client_ip: ctx.client_ip,
                    failures: recorded.failures,
                    blocked: recorded.blocked.is_some(),
                },
                key_id: None,
                tenant_id: None,
                actor: None,
                at: inner.clock.now(),
            };
            let events = Arc::clone(&inner.events);
            rt.spawn(async move { events.emit(&event).await });
        }
        rejection
    }

    /// Writes pending usage now. Call it at shutdown; [`ApiKeys`](crate::ApiKeys) also runs it on
    /// an interval.
    ///
    /// With a per-key threat detector on, what was flushed is judged first, and the detectors'
    /// findings acted on (a suspension, the `threat.detected` event) before this returns, also
    /// when the write failed.
    /// With shared threat counts, the network detectors' counts are added up across instances
    /// then too.
    pub async fn flush_usage(&self) -> Result<usize> {
        let watch = self.inner.threats.as_ref().and_then(|t| t.keys.as_ref());
        let flushed = self
            .inner
            .usage
            .flush(&*self.inner.store, self.inner.clock.now(), watch)
            .await;
        if watch.is_some() {
            self.act_on_key_threats().await;
        }
        self.share_network_counts().await;
        flushed
    }

    pub(crate) fn downgrade(&self) -> Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        Self { inner }
    }
}
