//! The keys every matrix run verifies against: a counting, switchable memory store, a manual
//! clock and the memory limiter, in process or behind an async-only wrapper.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use apikey_core::audit::AuditEvent;
use apikey_core::store::LegacyLookup;
use apikey_core::{
    ApiKeys, Decision, Error, KeyFilter, KeyId, KeyRecord, KeyStore, LimitPolicy, LookupId,
    ManualClock, Page, Peppers, RateLimiter, Result, Subject, TenantScope, UsageBatchId,
    UsageUpdate, VerifierConfig,
};
use apikey_memory::{MemoryLimiter, MemoryStore};
use async_trait::async_trait;

/// The memory store, counting lookups and able to go down.
#[derive(Debug, Default)]
pub struct Probe {
    inner: MemoryStore,
    finds: AtomicUsize,
    /// Whether the store is down (see [`set_down`](Self::set_down)).
    pub down: AtomicBool,
}

impl Probe {
    /// How many `find_by_lookup_id` calls reached the store (the cases check the cache by it).
    pub fn finds(&self) -> usize {
        self.finds.load(Ordering::SeqCst)
    }

    /// Takes the store down (every call fails with `Unavailable`) or brings it back.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn check(&self) -> Result<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Error::unavailable("probe store is down"));
        }
        Ok(())
    }
}

#[async_trait]
impl KeyStore for Probe {
    async fn insert(&self, record: &KeyRecord, event: &AuditEvent) -> Result<()> {
        self.check()?;
        self.inner.insert(record, event).await
    }
    async fn get(&self, tenant: &TenantScope, id: KeyId) -> Result<Option<KeyRecord>> {
        self.check()?;
        self.inner.get(tenant, id).await
    }
    async fn find_by_lookup_id(&self, lookup: &LookupId) -> Result<Option<KeyRecord>> {
        self.finds.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.find_by_lookup_id(lookup).await
    }
    async fn update(
        &self,
        tenant: &TenantScope,
        expected: u64,
        record: &KeyRecord,
        event: &AuditEvent,
    ) -> Result<()> {
        self.check()?;
        self.inner.update(tenant, expected, record, event).await
    }
    async fn record_usage(&self, batch: UsageBatchId, items: &[UsageUpdate]) -> Result<()> {
        self.check()?;
        self.inner.record_usage(batch, items).await
    }
    async fn query(&self, tenant: &TenantScope, filter: &KeyFilter) -> Result<Page<KeyRecord>> {
        self.check()?;
        self.inner.query(tenant, filter).await
    }
    async fn delete(&self, tenant: &TenantScope, id: KeyId, event: &AuditEvent) -> Result<bool> {
        self.check()?;
        self.inner.delete(tenant, id, event).await
    }
    fn legacy(&self) -> Option<&dyn LegacyLookup> {
        self.inner.legacy()
    }
}

/// Keys over a [`Probe`] on a manual clock with the memory limiter and a 60 s expiry grace.
#[derive(Debug)]
pub struct Fixture {
    /// The verifier and manager the server under test is built on.
    pub keys: ApiKeys,
    /// The store behind `keys`.
    pub store: Arc<Probe>,
    /// The clock behind `keys` and the limiter.
    pub clock: ManualClock,
}

/// Which way the limiter answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimiterMode {
    /// `MemoryLimiter` as it is: decides synchronously, so every hit is answered on the spot.
    InProcess,
    /// The same limiter behind [`AsyncOnly`]: like a remote limiter, every limited request takes
    /// the integrations' pending path.
    AsyncOnly,
}

/// A limiter that decides only through `check` (never `check_now`), as a remote one does.
#[derive(Debug)]
pub struct AsyncOnly(MemoryLimiter);

#[async_trait]
impl RateLimiter for AsyncOnly {
    async fn check(
        &self,
        subject: &Subject<'_>,
        policy: &LimitPolicy,
        cost: u32,
    ) -> Result<Decision> {
        self.0.check(subject, policy, cost).await
    }
}

/// A fixture with the in-process limiter.
pub fn fixture() -> Fixture {
    fixture_with(LimiterMode::InProcess)
}

/// A fixture whose limiter answers as `mode` says.
pub fn fixture_with(mode: LimiterMode) -> Fixture {
    let clock = ManualClock::fixed();
    let store = Arc::new(Probe::default());
    let memory = MemoryLimiter::new(Arc::new(clock.clone()));
    let limiter: Arc<dyn RateLimiter> = match mode {
        LimiterMode::InProcess => Arc::new(memory),
        LimiterMode::AsyncOnly => Arc::new(AsyncOnly(memory)),
    };
    let keys = ApiKeys::builder(store.clone())
        .peppers(
            Peppers::single("test", b"a test pepper of enough length".to_vec())
                .expect("valid test pepper"),
        )
        .clock(Arc::new(clock.clone()))
        .limiter(limiter)
        .config(VerifierConfig {
            expiry_grace: Duration::from_secs(60),
            ..VerifierConfig::default()
        })
        .build()
        .expect("valid test keys");
    Fixture { keys, store, clock }
}
