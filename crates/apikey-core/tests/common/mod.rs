//! Shared fixtures: an instrumented store wrapper and a ready-made `ApiKeys` on a manual clock.
#![allow(dead_code, unreachable_pub)]

pub mod programme;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use apikey_core::audit::AuditEvent;
use apikey_core::store::LegacyLookup;
use apikey_core::{
    ApiKeys, Error, KeyFilter, KeyId, KeyRecord, KeyStore, LookupId, ManualClock, Page, Peppers,
    Result, TenantScope, UsageBatchId, UsageUpdate,
};
use apikey_memory::{MemoryLimiter, MemoryStore};
use async_trait::async_trait;
use tokio::sync::Semaphore;

/// Wraps the memory store, counting lookups and able to fail or hold them.
#[derive(Debug)]
pub struct Probe {
    pub inner: MemoryStore,
    pub finds: AtomicUsize,
    pub down: AtomicBool,
    /// When set, each lookup snapshots the record, then waits for a permit before returning it.
    pub gate: Option<Arc<Semaphore>>,
    /// When set, the next `record_usage` applies this many items one at a time and then fails,
    /// like a backend whose connection drops half-way through a batch.
    pub usage_fail_after: std::sync::Mutex<Option<usize>>,
}

impl Probe {
    pub fn new() -> Self {
        Self {
            inner: MemoryStore::new(),
            finds: AtomicUsize::new(0),
            down: AtomicBool::new(false),
            gate: None,
            usage_fail_after: std::sync::Mutex::new(None),
        }
    }

    pub fn gated(gate: Arc<Semaphore>) -> Self {
        Self {
            gate: Some(gate),
            ..Self::new()
        }
    }

    pub fn finds(&self) -> usize {
        self.finds.load(Ordering::SeqCst)
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
        let snapshot = self.inner.find_by_lookup_id(lookup).await;
        if let Some(gate) = &self.gate {
            gate.acquire().await.expect("gate open").forget();
        }
        snapshot
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
        let fail_after = self.usage_fail_after.lock().expect("lock").take();
        if let Some(k) = fail_after {
            for item in items.iter().take(k) {
                self.inner
                    .record_usage(batch, std::slice::from_ref(item))
                    .await?;
            }
            return Err(Error::unavailable("probe store dropped mid-batch"));
        }
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

pub struct Fixture {
    pub keys: ApiKeys,
    pub store: Arc<Probe>,
    pub clock: ManualClock,
    pub events: Arc<apikey_core::event::CollectingSink>,
}

pub fn peppers() -> Peppers {
    Peppers::single("test", b"a test pepper of enough length".to_vec()).unwrap()
}

pub fn fixture_with(
    store: Probe,
    tweak: impl FnOnce(apikey_core::ApiKeysBuilder) -> apikey_core::ApiKeysBuilder,
) -> Fixture {
    let clock = ManualClock::fixed();
    let store = Arc::new(store);
    let events = Arc::new(apikey_core::event::CollectingSink::default());
    let builder = ApiKeys::builder(store.clone())
        .peppers(peppers())
        .clock(Arc::new(clock.clone()))
        .limiter(Arc::new(MemoryLimiter::new(Arc::new(clock.clone()))))
        .events(events.clone());
    Fixture {
        keys: tweak(builder).build().unwrap(),
        store,
        clock,
        events,
    }
}

/// [`fixture`] with the limiter `make` builds on the fixture's clock.
pub fn fixture_with_limiter(
    make: impl FnOnce(ManualClock) -> Arc<dyn apikey_core::RateLimiter>,
) -> Fixture {
    let mut clock = None;
    let f = fixture_with(Probe::new(), |b| {
        let c = ManualClock::fixed();
        clock = Some(c.clone());
        b.clock(Arc::new(c.clone())).limiter(make(c))
    });
    Fixture {
        clock: clock.expect("the builder was tweaked"),
        ..f
    }
}

pub fn fixture() -> Fixture {
    fixture_with(Probe::new(), |b| b)
}

/// Turns a fresh key into one imported from nest-api-key-auth with `token`.
pub async fn make_legacy(f: &Fixture, token: &str) -> KeyRecord {
    let created = f
        .keys
        .manager()
        .create(apikey_core::NewKey::new("imported"))
        .await
        .unwrap();
    let mut record = created.record.clone();
    record.legacy_lookup = Some(apikey_core::record::LegacyPrefix::new(&token[..8]).unwrap());
    record.hash = apikey_core::StoredHash::Bcrypt(bcrypt::non_truncating_hash(token, 4).unwrap());
    record.version = 2;
    let mut event = apikey_core::AuditEvent::key_change(
        apikey_core::EventType::Updated,
        None,
        Some(&record),
        created.record.created_at,
    )
    .unwrap()
    .by(None, Some("import".into()));
    event.after = None;
    apikey_core::KeyStore::update(&*f.store, &TenantScope::All, 1, &record, &event)
        .await
        .unwrap();
    record
}
