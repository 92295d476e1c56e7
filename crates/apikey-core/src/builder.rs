//! Wiring: one builder makes a [`Verifier`] and a [`KeyManager`] that share caches and settings.

use std::sync::Arc;
use std::time::Duration;

use crate::cache::Cache;
use crate::clock::{Clock, SystemClock};
use crate::error::Result;
use crate::event::{EventSink, TracingSink};
use crate::hash::{Hasher, Peppers};
use crate::limit::RateLimiter;
use crate::manage::KeyManager;
use crate::store::KeyStore;
use crate::token::TokenFormat;
use crate::verify::{Verifier, VerifierConfig};

/// A verifier and a manager over one store.
#[derive(Debug, Clone)]
pub struct ApiKeys {
    verifier: Verifier,
    manager: KeyManager,
}

impl ApiKeys {
    /// Starts a builder over `store`.
    pub fn builder(store: Arc<dyn KeyStore>) -> ApiKeysBuilder {
        ApiKeysBuilder {
            store,
            l2: None,
            limiter: None,
            events: Arc::new(TracingSink),
            clock: Arc::new(SystemClock),
            hasher: None,
            format: TokenFormat::default(),
            config: VerifierConfig::default(),
        }
    }

    /// The request-time verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
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

/// Builds [`ApiKeys`].
#[derive(Debug)]
pub struct ApiKeysBuilder {
    store: Arc<dyn KeyStore>,
    l2: Option<Arc<dyn Cache>>,
    limiter: Option<Arc<dyn RateLimiter>>,
    events: Arc<dyn EventSink>,
    clock: Arc<dyn Clock>,
    hasher: Option<Hasher>,
    format: TokenFormat,
    config: VerifierConfig,
}

impl ApiKeysBuilder {
    /// HMAC peppers (required for keys that must survive a restart).
    #[must_use]
    pub fn peppers(mut self, peppers: Peppers) -> Self {
        self.hasher = Some(Hasher::new(peppers));
        self
    }

    /// A fully configured hasher (algorithm, costs, slow-hash cap).
    #[must_use]
    pub fn hasher(mut self, hasher: Hasher) -> Self {
        self.hasher = Some(hasher);
        self
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

    /// Builds. Inside a tokio runtime this also starts the usage flusher, which stops when the last
    /// clone of the verifier is dropped.
    pub fn build(self) -> Result<ApiKeys> {
        let hasher = self.hasher.unwrap_or_else(|| {
            tracing::warn!("no pepper configured: using a random one, so keys stop verifying when the process exits");
            Hasher::new(Peppers::random())
        });
        let interval = self.config.usage_flush_interval;
        let verifier = Verifier::new(
            self.store,
            self.l2,
            self.limiter,
            self.events,
            self.clock,
            hasher,
            self.format,
            self.config,
        );
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
        let manager = KeyManager::new(&verifier);
        Ok(ApiKeys { verifier, manager })
    }
}
