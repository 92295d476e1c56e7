//! The request log's writer: off costs a look-up and nothing more, sampling keeps one admitted
//! request in N and every failure, tenant settings and key overrides apply, a full queue drops
//! and counts instead of waiting, a failed write is retried until stored, and shutdown drains.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use apikey_core::request_log::{
    ADMITTED, RequestFacts, RequestFilter, RequestLog, RequestLogConfig, RequestLogMode,
    RequestLogSettings, RequestLogStore, RequestRecord,
};
use apikey_core::{
    KeyId, ManualClock, Result, TenantId, TenantScope, TenantSettings, TenantSettingsStore,
};
use apikey_memory::MemoryStore;
use async_trait::async_trait;
use tokio::sync::Semaphore;

const FACTS: RequestFacts<'static> = RequestFacts {
    method: "GET",
    route: Some("/projects"),
    path: "/projects?api_key=never-kept",
    client_ip: None,
    request_id: "r-1",
    user_agent: None,
};

fn config() -> RequestLogConfig {
    RequestLogConfig {
        flush_every: Duration::from_millis(10),
        ..RequestLogConfig::default()
    }
}

fn spawn(store: Arc<MemoryStore>, settings: Option<Arc<dyn TenantSettingsStore>>) -> RequestLog {
    RequestLog::spawn(store, settings, Arc::new(ManualClock::fixed()), config()).unwrap()
}

fn mode(mode: RequestLogMode) -> RequestLogSettings {
    RequestLogSettings {
        mode,
        ..RequestLogSettings::default()
    }
}

async fn stored(store: &MemoryStore) -> Vec<RequestRecord> {
    store
        .requests(
            &TenantScope::All,
            &RequestFilter {
                limit: 1000,
                ..RequestFilter::default()
            },
        )
        .await
        .unwrap()
}

fn request(log: &RequestLog, tenant: Option<&TenantId>, key: Option<KeyId>, status: u16) {
    if let Some(started) = log.start(Instant::now(), tenant, key) {
        let outcome = if status < 400 { ADMITTED } else { "revoked" };
        log.finish(started, &FACTS, status, outcome);
    }
}

#[tokio::test]
async fn off_by_default_and_nothing_is_written() {
    let store = Arc::new(MemoryStore::new());
    let log = spawn(store.clone(), None);
    assert!(
        log.start(Instant::now(), None, Some(KeyId::new()))
            .is_none()
    );
    log.shutdown(Duration::from_secs(5)).await;
    assert!(stored(&store).await.is_empty());
    assert_eq!(log.stats().queued, 0);
}

#[tokio::test]
async fn sampling_keeps_one_in_n_admitted_and_every_failure() {
    let store = Arc::new(MemoryStore::new());
    let log = spawn(store.clone(), None);
    log.set_default(mode(RequestLogMode::Sampled { one_in: 3 }))
        .unwrap();
    for _ in 0..9 {
        request(&log, None, None, 200);
    }
    for _ in 0..4 {
        request(&log, None, None, 401);
    }
    log.shutdown(Duration::from_secs(5)).await;
    let got = stored(&store).await;
    assert_eq!(got.iter().filter(|r| r.admitted()).count(), 3);
    assert_eq!(got.iter().filter(|r| !r.admitted()).count(), 4);
    assert!(got.iter().all(|r| r.path == "/projects"), "no query kept");
    assert!(got.iter().all(|r| r.expires_at > r.at));
}

#[tokio::test]
async fn tenant_settings_and_key_overrides_apply_after_a_refresh() {
    let store = Arc::new(MemoryStore::new());
    let acme = TenantId::new("acme").unwrap();
    let quiet = KeyId::new();
    let mut settings = TenantSettings {
        request_log: mode(RequestLogMode::Full),
        ..TenantSettings::default()
    };
    settings.request_log.keys.insert(quiet, RequestLogMode::Off);
    settings.request_log.retention_days = 2;
    TenantSettingsStore::put(
        &*store,
        Some(&acme),
        0,
        &settings,
        &settings_event(&acme, &settings),
    )
    .await
    .unwrap();
    let log = spawn(store.clone(), Some(store.clone()));
    log.refresh().await.unwrap();
    // Seen for the first time: the default (off) until the settings are read again.
    request(&log, Some(&acme), Some(KeyId::new()), 200);
    log.refresh().await.unwrap();
    let loud = KeyId::new();
    request(&log, Some(&acme), Some(loud), 200);
    request(&log, Some(&acme), Some(quiet), 200);
    request(&log, None, Some(KeyId::new()), 200);
    log.shutdown(Duration::from_secs(5)).await;
    let got = stored(&store).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].key_id, Some(loud));
    assert_eq!(got[0].tenant_id.as_ref(), Some(&acme));
    assert_eq!(got[0].expires_at - got[0].at, chrono::Duration::days(2));
}

fn settings_event(t: &TenantId, s: &TenantSettings) -> apikey_core::AuditEvent {
    apikey_core::tenant::settings_event(Some(t), 1, s, chrono::Utc::now(), None, None).unwrap()
}

/// A store whose appends wait at a gate (a stalled database), or fail a number of times first.
#[derive(Debug)]
struct Stalled {
    inner: MemoryStore,
    gate: Semaphore,
    failures: AtomicU32,
}

#[async_trait]
impl RequestLogStore for Stalled {
    async fn append_requests(&self, records: &[RequestRecord]) -> Result<u64> {
        self.gate.acquire().await.unwrap().forget();
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            self.gate.add_permits(1);
            return Err(apikey_core::Error::unavailable("database is down"));
        }
        self.gate.add_permits(1);
        self.inner.append_requests(records).await
    }
    async fn requests(&self, t: &TenantScope, f: &RequestFilter) -> Result<Vec<RequestRecord>> {
        self.inner.requests(t, f).await
    }
    async fn purge_requests(&self, now: chrono::DateTime<chrono::Utc>) -> Result<u64> {
        self.inner.purge_requests(now).await
    }
    async fn erase_requests_of(&self, keys: &[KeyId]) -> Result<u64> {
        self.inner.erase_requests_of(keys).await
    }
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_without_waiting() {
    let store = Arc::new(Stalled {
        inner: MemoryStore::new(),
        gate: Semaphore::new(0),
        failures: AtomicU32::new(0),
    });
    let log = RequestLog::spawn(
        store.clone(),
        None,
        Arc::new(ManualClock::fixed()),
        RequestLogConfig {
            capacity: 4,
            batch: 1,
            ..config()
        },
    )
    .unwrap();
    log.set_default(mode(RequestLogMode::Full)).unwrap();
    // The writer takes at most one record and stalls on the store; four fill the queue.
    for _ in 0..21 {
        request(&log, None, None, 200);
    }
    let s = log.stats();
    assert_eq!(s.queued + s.dropped, 21);
    assert!(s.queued <= 5 && s.dropped >= 16, "{s:?}");
    store.gate.add_permits(1);
    log.shutdown(Duration::from_secs(5)).await;
    let s = log.stats();
    assert_eq!(s.written, s.queued, "everything queued was written: {s:?}");
    assert_eq!(stored(&store.inner).await.len() as u64, s.queued);
}

#[tokio::test]
async fn a_failed_write_is_retried_until_stored() {
    let store = Arc::new(Stalled {
        inner: MemoryStore::new(),
        gate: Semaphore::new(1),
        failures: AtomicU32::new(2),
    });
    let log = RequestLog::spawn(
        store.clone(),
        None,
        Arc::new(ManualClock::fixed()),
        config(),
    )
    .unwrap();
    log.set_default(mode(RequestLogMode::Full)).unwrap();
    for _ in 0..10 {
        request(&log, None, None, 200);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while log.stats().written < 10 {
        assert!(Instant::now() < deadline, "{:?}", log.stats());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(log.stats().failed_writes, 2);
    assert_eq!(stored(&store.inner).await.len(), 10, "once each");
    log.shutdown(Duration::from_secs(5)).await;
    request(&log, None, None, 200);
    assert_eq!(
        log.stats().dropped,
        1,
        "after shutdown a record is dropped, not queued"
    );
}
