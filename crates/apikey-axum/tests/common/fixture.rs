//! Test fixture shared by the axum and actix end-to-end matrices: a counting, switchable store,
//! keys on a manual clock, log capture and a raw HTTP/1.1 client.
#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
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
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The memory store, counting lookups and able to go down.
#[derive(Debug, Default)]
pub struct Probe {
    inner: MemoryStore,
    finds: AtomicUsize,
    pub down: AtomicBool,
}

impl Probe {
    pub fn finds(&self) -> usize {
        self.finds.load(Ordering::SeqCst)
    }

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
pub struct Fixture {
    pub keys: ApiKeys,
    pub store: Arc<Probe>,
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

pub fn fixture() -> Fixture {
    fixture_with(LimiterMode::InProcess)
}

pub fn fixture_with(mode: LimiterMode) -> Fixture {
    let clock = ManualClock::fixed();
    let store = Arc::new(Probe::default());
    let memory = MemoryLimiter::new(Arc::new(clock.clone()));
    let limiter: Arc<dyn RateLimiter> = match mode {
        LimiterMode::InProcess => Arc::new(memory),
        LimiterMode::AsyncOnly => Arc::new(AsyncOnly(memory)),
    };
    let keys = ApiKeys::builder(store.clone())
        .peppers(Peppers::single("test", b"a test pepper of enough length".to_vec()).unwrap())
        .clock(Arc::new(clock.clone()))
        .limiter(limiter)
        .config(VerifierConfig {
            expiry_grace: Duration::from_secs(60),
            ..VerifierConfig::default()
        })
        .build()
        .unwrap();
    Fixture { keys, store, clock }
}

#[derive(Clone)]
struct LogBuf(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once) a global subscriber at TRACE writing into a buffer; returns the buffer.
pub fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = LogBuf(buf.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        buf
    })
    .clone()
}

/// Sends raw request bytes; returns the status (0 if the server closed without answering) and
/// the whole response text.
pub async fn raw(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    if s.write_all(request).await.is_err() {
        return (0, String::new());
    }
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "server did not answer within 10 s");
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}
