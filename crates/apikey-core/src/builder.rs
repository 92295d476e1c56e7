//! Wiring: one builder makes a [`Verifier`] and a [`KeyManager`] that share caches and settings.

use std::sync::Arc;
use std::time::Duration;

use crate::audit::AuditStore;
use crate::cache::Cache;
use crate::catalog::CatalogStore;
use crate::clock::{Clock, SystemClock};
use crate::confirm::Confirmer;
use crate::error::{Error, ErrorKind, Result};
use crate::event::{EventSink, TracingSink};
use crate::hash::{Hasher, Peppers};
use crate::health::{CacheCheck, Health, StoreCheck};
use crate::limit::RateLimiter;
use crate::manage::KeyManager;
use crate::secret_box::SecretBox;
use crate::signing::{NonceStore, SignatureCheck};
use crate::store::KeyStore;
use crate::tenant::TenantSettingsStore;
use crate::threat::SharedThreatCounts;
use crate::token::TokenFormat;
use crate::verify::{Verifier, VerifierConfig};

/// A verifier and a manager over one store.
#[derive(Debug, Clone)]
pub struct ApiKeys {
    verifier: Verifier,
    manager: KeyManager,
    health: Health,
}

impl ApiKeys {
    /// Starts a builder over `store`. Before [`build`](ApiKeysBuilder::build) is available it needs
    /// the peppers ([`peppers`](ApiKeysBuilder::peppers) or [`hasher`](ApiKeysBuilder::hasher)),
    /// or, for tests and demos whose keys may die with the process,
    /// [`random_peppers_keys_die_at_exit`](ApiKeysBuilder::random_peppers_keys_die_at_exit): a
    /// forgotten pepper is a compile error, not a warning at start:
    ///
    /// ```compile_fail
    /// # use std::sync::Arc;
    /// # async fn demo() -> apikey_core::Result<()> {
    /// let store = Arc::new(apikey_memory::MemoryStore::new());
    /// let keys = apikey_core::ApiKeys::builder(store).build()?; // no peppers: does not compile
    /// # Ok(()) }
    /// ```
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # async fn demo() -> apikey_core::Result<()> {
    /// let store = Arc::new(apikey_memory::MemoryStore::new());
    /// let peppers = apikey_core::Peppers::from_spec("v1=c2VjcmV0LXBlcHBlci1vbmUtb25lLW9uZQ==")?;
    /// let keys = apikey_core::ApiKeys::builder(store).peppers(peppers).build()?;
    /// # Ok(()) }
    /// ```
    pub fn builder(store: Arc<dyn KeyStore>) -> ApiKeysBuilder<NeedsPeppers> {
        ApiKeysBuilder {
            store,
            l2: None,
            limiter: None,
            events: Arc::new(TracingSink),
            clock: Arc::new(SystemClock),
            hasher: NeedsPeppers(()),
            format: TokenFormat::default(),
            config: VerifierConfig::default(),
            tenant_settings: None,
            audit: None,
            catalog: None,
            confirmer: None,
            secret_box: None,
            threat_counts: None,
        }
    }

    /// The request-time verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The service's health: liveness, and readiness from the store (and the shared cache, when
    /// there is one); add checks with `health().clone().with_check(…)`.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The [`SignatureCheck`] for this deployment's guards (add it with `with_check` or
    /// [`GuardSettings::add_check`](crate::http::GuardSettings::add_check)): it opens signing
    /// secrets with the builder's secret box and claims nonces in `nonces`
    /// ([`MemoryNonces`](crate::signing::MemoryNonces) for one instance, Redis for several).
    pub fn signature_check(&self, nonces: Arc<dyn NonceStore>) -> Result<SignatureCheck> {
        let sbox = self.manager.signing_box().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "request signatures need a secret box: set APIKEY_KEK (ApiKeysBuilder::secret_box)",
            )
        })?;
        Ok(SignatureCheck::new(
            sbox.clone(),
            nonces,
            Arc::clone(&self.verifier.inner.clock),
        ))
    }

    /// The management API.
    pub fn manager(&self) -> &KeyManager {
        &self.manager
    }

    /// Writes pending usage to the store, retrying until `deadline` from now; call it on graceful
    /// shutdown, once the server stopped taking requests. Returns how many counted verifications
    /// are still unwritten (0 when everything reached the store), after one warning with that
    /// count.
    pub async fn shutdown(&self, deadline: Duration) -> u64 {
        self.verifier
            .flush_usage_until(tokio::time::Instant::now() + deadline)
            .await
    }
}

/// The state of an [`ApiKeysBuilder`] that has no peppers yet: it cannot build.
#[derive(Debug)]
pub struct NeedsPeppers(());

/// The state of an [`ApiKeysBuilder`] whose hasher (and so its peppers) is chosen.
#[derive(Debug)]
pub struct WithPeppers(Hasher);

/// Builds [`ApiKeys`]. The type parameter tracks the one choice that cannot be defaulted, the
/// peppers (as rustls' builder tracks its required choices): `build` exists only once they are
/// given.
#[derive(Debug)]
pub struct ApiKeysBuilder<P = WithPeppers> {
    store: Arc<dyn KeyStore>,
    l2: Option<Arc<dyn Cache>>,
    limiter: Option<Arc<dyn RateLimiter>>,
    events: Arc<dyn EventSink>,
    clock: Arc<dyn Clock>,
    hasher: P,
    format: TokenFormat,
    config: VerifierConfig,
    tenant_settings: Option<Arc<dyn TenantSettingsStore>>,
    audit: Option<Arc<dyn AuditStore>>,
    catalog: Option<Arc<dyn CatalogStore>>,
    confirmer: Option<Arc<dyn Confirmer>>,
    secret_box: Option<SecretBox>,
    threat_counts: Option<Arc<dyn SharedThreatCounts>>,
}

impl<P> ApiKeysBuilder<P> {
    fn with_hasher(self, hasher: Hasher) -> ApiKeysBuilder<WithPeppers> {
        ApiKeysBuilder {
            store: self.store,
            l2: self.l2,
            limiter: self.limiter,
            events: self.events,
            clock: self.clock,
            hasher: WithPeppers(hasher),
            format: self.format,
            config: self.config,
            tenant_settings: self.tenant_settings,
            audit: self.audit,
            catalog: self.catalog,
            confirmer: self.confirmer,
            threat_counts: self.threat_counts,
            secret_box: self.secret_box,
        }
    }

    /// The HMAC peppers every key hash depends on, from configuration (for example
    /// [`PepperConfig`](crate::PepperConfig)).
    #[must_use]
    pub fn peppers(self, peppers: Peppers) -> ApiKeysBuilder<WithPeppers> {
        self.with_hasher(Hasher::new(peppers))
    }

    /// A fully configured hasher (algorithm, costs, slow-hash cap), with its peppers.
    #[must_use]
    pub fn hasher(self, hasher: Hasher) -> ApiKeysBuilder<WithPeppers> {
        self.with_hasher(hasher)
    }

    /// A random pepper, for tests and demos: every key made now stops verifying when the process
    /// exits. Never for a store that outlives the process.
    #[must_use]
    pub fn random_peppers_keys_die_at_exit(self) -> ApiKeysBuilder<WithPeppers> {
        self.with_hasher(Hasher::new(Peppers::random()))
    }

    /// The token format (prefix, secret length, legacy tokens).
    #[must_use]
    pub fn token_format(mut self, format: TokenFormat) -> Self {
        self.format = format;
        self
    }

    /// The rate limiter for keys with limits or quotas (without one, such keys are refused).
    #[must_use]
    pub fn limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// A shared second-level cache.
    #[must_use]
    pub fn shared_cache(mut self, cache: Arc<dyn Cache>) -> Self {
        self.l2 = Some(cache);
        self
    }

    /// Where events go (default: `tracing`).
    #[must_use]
    pub fn events(mut self, events: Arc<dyn EventSink>) -> Self {
        self.events = events;
        self
    }

    /// The clock (default: system time).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Verifier settings.
    #[must_use]
    pub fn config(mut self, config: VerifierConfig) -> Self {
        self.config = config;
        self
    }

    /// Where tenant settings live (often the key store itself, which implements
    /// [`TenantSettingsStore`] on the memory and SQL backends). Without it every tenant has
    /// [`TenantSettings::default()`](crate::TenantSettings) and
    /// [`KeyManager::set_settings`] is a configuration error.
    #[must_use]
    pub fn tenant_settings(mut self, store: Arc<dyn TenantSettingsStore>) -> Self {
        self.tenant_settings = Some(store);
        self
    }

    /// Where templates and groups live (on every bundled backend the key store itself implements
    /// [`CatalogStore`]). Without it a key's `group` is a free label and a `template` is refused.
    #[must_use]
    pub fn catalog(mut self, store: Arc<dyn CatalogStore>) -> Self {
        self.catalog = Some(store);
        self
    }

    /// What confirms changes with the running instances (for example `apikey-redis`'s
    /// `RedisConfirmer`). Without it [`KeyManager::revoke_confirmed`] and its siblings are a
    /// configuration error.
    #[must_use]
    pub fn confirmer(mut self, confirmer: Arc<dyn Confirmer>) -> Self {
        self.confirmer = Some(confirmer);
        self
    }

    /// The audit log the key store writes (on every backend the key store itself implements
    /// [`AuditStore`]). The key store writes events without it; the manager needs it only to read
    /// them back: [`KeyManager::history`], [`KeyManager::diff`] and [`KeyManager::rollback`] are a
    /// configuration error without one.
    #[must_use]
    pub fn audit(mut self, store: Arc<dyn AuditStore>) -> Self {
        self.audit = Some(store);
        self
    }

    /// Where the network threat detectors add up their counts across instances (for example
    /// `apikey-redis`'s `RedisThreatShare`), so an attack spread over the instances behind a
    /// load balancer is judged on its whole (see [`crate::threat`]). Used only when
    /// [`VerifierConfig::threats`](crate::VerifierConfig::threats) turns on a network detector.
    #[must_use]
    pub fn threat_counts(mut self, shared: Arc<dyn SharedThreatCounts>) -> Self {
        self.threat_counts = Some(shared);
        self
    }

    /// The secret box that seals request-signing secrets (from `APIKEY_KEK`): needed to create
    /// keys with [`NewKey::signing`](crate::NewKey::signing) and for
    /// [`ApiKeys::signature_check`].
    pub fn secret_box(mut self, sbox: SecretBox) -> Self {
        self.secret_box = Some(sbox);
        self
    }
}

impl ApiKeysBuilder<WithPeppers> {
    /// Builds. Inside a tokio runtime this also starts the usage flusher, which stops when the last
    /// clone of the verifier is dropped.
    pub fn build(self) -> Result<ApiKeys> {
        self.config.threats.validate()?;
        let hasher = self.hasher.0;
        let interval = self.config.usage_flush_interval;
        let mut health = Health::new().with_check(Arc::new(StoreCheck(Arc::clone(&self.store))));
        if let Some(l2) = &self.l2 {
            health = health.with_check(Arc::new(CacheCheck(Arc::clone(l2))));
        }
        let verifier = Verifier::new(
            self.store,
            self.l2,
            self.limiter,
            self.events,
            self.clock,
            hasher,
            self.format,
            self.config,
            self.catalog.clone(),
        );
        if let (Some(shared), Some(t)) = (self.threat_counts, &verifier.inner.threats) {
            t.share_counts(shared);
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let weak = verifier.downgrade();
            rt.spawn(async move {
                let mut tick = tokio::time::interval(interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let Some(inner) = weak.upgrade() else { break };
                    Verifier::from_inner(inner)
                        .flush_usage_in_background()
                        .await;
                }
            });
        }
        let manager = KeyManager::new(
            &verifier,
            self.tenant_settings,
            self.audit,
            self.catalog,
            self.confirmer,
            self.secret_box,
        );
        Ok(ApiKeys {
            verifier,
            manager,
            health,
        })
    }
}
