//! [`RequestLog`]: decides which requests are logged and writes them behind the request path, in
//! batches, through a bounded queue that drops (and counts) instead of making a request wait.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use parking_lot::{Mutex, RwLock};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use super::record::{ADMITTED, RequestFacts, RequestRecord};
use super::settings::{RequestLogMode, RequestLogSettings};
use super::store::RequestLogStore;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::ids::{KeyId, TenantId};
use crate::log_throttle::LogThrottle;
use crate::tenant::TenantSettingsStore;

/// How the writer batches and how often it re-reads the settings. Build it with
/// `..RequestLogConfig::default()`.
#[derive(Debug, Clone)]
pub struct RequestLogConfig {
    /// Records waiting to be written at most; beyond it new records are dropped and counted.
    pub capacity: usize,
    /// Records per store write at most.
    pub batch: usize,
    /// How long a record waits for its batch to fill at most.
    pub flush_every: Duration,
    /// How often the tenants' settings are read again (a change takes effect within it).
    pub refresh_every: Duration,
    /// The header a request id is taken from (lower case); generated when absent.
    pub request_id_header: String,
}

impl Default for RequestLogConfig {
    fn default() -> Self {
        Self {
            capacity: 10_000,
            batch: 500,
            flush_every: Duration::from_secs(1),
            refresh_every: Duration::from_secs(30),
            request_id_header: "x-request-id".to_owned(),
        }
    }
}

impl RequestLogConfig {
    /// Refuses a configuration that could never write.
    pub fn validate(&self) -> Result<()> {
        if self.capacity == 0 || self.batch == 0 || self.flush_every.is_zero() {
            return Err(Error::invalid(
                "request log",
                "capacity, batch and flush interval must be above zero",
            ));
        }
        if self.request_id_header.is_empty()
            || self.request_id_header != self.request_id_header.to_ascii_lowercase()
        {
            return Err(Error::invalid(
                "request_id_header",
                "must be a lower-case header name",
            ));
        }
        Ok(())
    }
}

/// What the writer has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestLogStats {
    /// Records handed to the queue.
    pub queued: u64,
    /// Records the store stored.
    pub written: u64,
    /// Records dropped because the queue was full (or the log shut down).
    pub dropped: u64,
    /// Store writes that failed (each retried until it succeeds or the log shuts down).
    pub failed_writes: u64,
    /// Records given up at shutdown because the store kept failing.
    pub lost_at_shutdown: u64,
}

#[derive(Debug, Default)]
struct Counters {
    queued: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    failed_writes: AtomicU64,
    lost_at_shutdown: AtomicU64,
    /// The same `written` and `dropped` counts, exported (registered when the log is spawned).
    #[cfg(feature = "metrics")]
    metrics: super::metrics::RequestLogMetrics,
}

/// The settings known per tenant (the default row under `None`).
#[derive(Debug, Default)]
struct Policies {
    default: RequestLogSettings,
    tenants: HashMap<TenantId, RequestLogSettings>,
}

struct Shared {
    tx: mpsc::Sender<RequestRecord>,
    policies: RwLock<Policies>,
    /// Tenants seen on requests whose settings have not been read yet.
    wanted: Mutex<Vec<TenantId>>,
    settings: Option<Arc<dyn TenantSettingsStore>>,
    clock: Arc<dyn Clock>,
    config: RequestLogConfig,
    sampled: AtomicU64,
    counters: Counters,
    closing: AtomicBool,
    close: Notify,
    worker: Mutex<Option<JoinHandle<()>>>,
}

/// The request log: which requests to keep, and a background writer.
///
/// Integrations call it through the guard: [`start`](Self::start) once the key is known (a
/// synchronous look-up in the settings it holds in memory; `None` — the default, logging off —
/// means nothing more is done for the request), then [`finish`](Self::finish) with the
/// response status. A finished record goes into a bounded queue with `try_send`: the request never
/// waits, and a full queue drops the record and counts it ([`stats`](Self::stats), with a
/// warning at most every 10 s). A background task writes the queue in batches
/// ([`RequestLogStore::append_requests`], idempotent, so a retried batch is never stored twice),
/// retrying a failed write until it succeeds, and re-reads the tenants' settings every
/// [`refresh_every`](RequestLogConfig::refresh_every). [`shutdown`](Self::shutdown) drains it.
///
/// Cheap to clone; clones share the queue.
#[derive(Clone)]
pub struct RequestLog {
    shared: Arc<Shared>,
}

/// A request that may be logged, from [`RequestLog::start`] to [`RequestLog::finish`].
#[derive(Debug)]
#[must_use = "finish it with RequestLog::finish"]
pub struct StartedRequest {
    at: DateTime<Utc>,
    began: Instant,
    key: Option<KeyId>,
    tenant: Option<TenantId>,
    keep_admitted: bool,
    retention_days: u32,
}

impl RequestLog {
    /// Starts the writer on `store`, with the tenants' settings read from `settings` (without
    /// one, every tenant has the [default](RequestLogSettings::default): logging off, unless
    /// [`set_default`](Self::set_default) says otherwise). Needs a tokio runtime.
    pub fn spawn(
        store: Arc<dyn RequestLogStore>,
        settings: Option<Arc<dyn TenantSettingsStore>>,
        clock: Arc<dyn Clock>,
        config: RequestLogConfig,
    ) -> Result<Self> {
        config.validate()?;
        let (tx, rx) = mpsc::channel(config.capacity);
        let shared = Arc::new(Shared {
            tx,
            policies: RwLock::new(Policies::default()),
            wanted: Mutex::new(Vec::new()),
            settings,
            clock,
            config,
            sampled: AtomicU64::new(0),
            counters: Counters::default(),
            closing: AtomicBool::new(false),
            close: Notify::new(),
            worker: Mutex::new(None),
        });
        let task = tokio::spawn(run(Arc::clone(&shared), store, rx));
        *shared.worker.lock() = Some(task);
        Ok(Self { shared })
    }

    /// Uses `settings` for every tenant without its own (until the next read of the settings
    /// store replaces them, if there is one). For deployments without tenant settings.
    pub fn set_default(&self, settings: RequestLogSettings) -> Result<()> {
        settings.validate()?;
        self.shared.policies.write().default = settings;
        Ok(())
    }

    /// Reads the settings of the default row and of every tenant seen so far now, instead of
    /// waiting for the next refresh.
    pub async fn refresh(&self) -> Result<()> {
        refresh(&self.shared).await
    }

    /// The header request ids are taken from.
    pub fn request_id_header(&self) -> &str {
        &self.shared.config.request_id_header
    }

    /// Whether a request of `key` in `tenant` may be logged; `None` when its mode is off.
    /// `began` is when the guard started on the request. Synchronous and lock-light: a read of
    /// the in-memory settings.
    pub fn start(
        &self,
        began: Instant,
        tenant: Option<&TenantId>,
        key: Option<KeyId>,
    ) -> Option<StartedRequest> {
        let (mode, retention_days) = {
            let policies = self.shared.policies.read();
            let settings = match tenant {
                None => &policies.default,
                Some(t) => match policies.tenants.get(t) {
                    Some(s) => s,
                    None => {
                        let mut wanted = self.shared.wanted.lock();
                        if wanted.len() < 1024 && !wanted.contains(t) {
                            wanted.push(t.clone());
                        }
                        &policies.default
                    }
                },
            };
            (settings.mode_for(key), settings.retention_days)
        };
        let keep_admitted = match mode {
            RequestLogMode::Off => return None,
            RequestLogMode::Full => true,
            RequestLogMode::Sampled { one_in } => self
                .shared
                .sampled
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(u64::from(one_in)),
        };
        Some(StartedRequest {
            at: self.shared.clock.now(),
            began,
            key,
            tenant: tenant.cloned(),
            keep_admitted,
            retention_days,
        })
    }

    /// Completes `started` with the response: queued when the mode keeps it (a sampled-out
    /// request is kept anyway if it was refused or failed, status 400 and up). Never waits.
    pub fn finish(
        &self,
        started: StartedRequest,
        facts: &RequestFacts<'_>,
        status: u16,
        outcome: &str,
    ) {
        let failed = status >= 400 || outcome != ADMITTED;
        if !started.keep_admitted && !failed {
            return;
        }
        let latency = u64::try_from(started.began.elapsed().as_micros()).unwrap_or(u64::MAX);
        let expires_at = started.at + chrono::Duration::days(i64::from(started.retention_days));
        let record = RequestRecord::new(
            started.at,
            started.key,
            started.tenant,
            facts,
            status,
            outcome,
            latency,
            expires_at,
        );
        self.submit(record);
    }

    /// Queues `record` for writing, or drops and counts it when the queue is full or closed.
    pub fn submit(&self, record: RequestRecord) {
        let c = &self.shared.counters;
        if self.shared.closing.load(Ordering::Acquire) || self.shared.tx.try_send(record).is_err() {
            c.dropped.fetch_add(1, Ordering::Relaxed);
            #[cfg(feature = "metrics")]
            c.metrics.dropped.increment(1);
            static FULL_LOG: LogThrottle = LogThrottle::new(Duration::from_secs(10));
            if let Some(suppressed) = FULL_LOG.allow_monotonic() {
                tracing::warn!(
                    dropped_total = c.dropped.load(Ordering::Relaxed),
                    suppressed,
                    "request log queue full: records dropped (the store is slow or down, or the capacity is too small)"
                );
            }
            return;
        }
        c.queued.fetch_add(1, Ordering::Relaxed);
    }

    /// What the writer has done so far.
    pub fn stats(&self) -> RequestLogStats {
        let c = &self.shared.counters;
        RequestLogStats {
            queued: c.queued.load(Ordering::Relaxed),
            written: c.written.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            failed_writes: c.failed_writes.load(Ordering::Relaxed),
            lost_at_shutdown: c.lost_at_shutdown.load(Ordering::Relaxed),
        }
    }

    /// Stops taking records, writes what is queued, and waits for the writer up to `deadline`
    /// (records still unwritten then are counted as lost). Later records are dropped.
    pub async fn shutdown(&self, deadline: Duration) {
        self.shared.closing.store(true, Ordering::Release);
        self.shared.close.notify_one();
        let task = self.shared.worker.lock().take();
        if let Some(task) = task {
            let abort = task.abort_handle();
            if tokio::time::timeout(deadline, task).await.is_err() {
                abort.abort();
                tracing::warn!("the request log writer did not finish before the deadline");
            }
        }
    }
}

impl fmt::Debug for RequestLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestLog")
            .field("config", &self.shared.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

async fn refresh(shared: &Shared) -> Result<()> {
    let Some(store) = &shared.settings else {
        return Ok(());
    };
    let default = store
        .get(None)
        .await?
        .map(|s| s.settings.request_log)
        .unwrap_or_default();
    let mut tenants: Vec<TenantId> = shared.policies.read().tenants.keys().cloned().collect();
    tenants.extend(std::mem::take(&mut *shared.wanted.lock()));
    let mut read = HashMap::with_capacity(tenants.len());
    for t in tenants {
        let own = store.get(Some(&t)).await?.map(|s| s.settings.request_log);
        read.insert(t, own.unwrap_or_else(|| default.clone()));
    }
    let mut policies = shared.policies.write();
    policies.default = default;
    policies.tenants = read;
    Ok(())
}

/// The writer: batches from the queue, writes them (retrying), refreshes the settings.
async fn run(
    shared: Arc<Shared>,
    store: Arc<dyn RequestLogStore>,
    mut rx: mpsc::Receiver<RequestRecord>,
) {
    let config = shared.config.clone();
    let mut batch: Vec<RequestRecord> = Vec::with_capacity(config.batch);
    let mut next_refresh = Instant::now();
    loop {
        if shared.settings.is_some() && Instant::now() >= next_refresh {
            if let Err(e) = refresh(&shared).await {
                tracing::warn!(error = %e, "could not read the request log settings; keeping the last ones");
            }
            next_refresh = Instant::now() + config.refresh_every;
        }
        let closing = shared.closing.load(Ordering::Acquire);
        if closing {
            rx.close();
        }
        // Wait for a first record (or a refresh, or the close), then for the batch to fill.
        if batch.is_empty() {
            let wait = next_refresh.saturating_duration_since(Instant::now());
            tokio::select! {
                n = rx.recv_many(&mut batch, config.batch) => {
                    if n == 0 {
                        return; // closed and drained
                    }
                }
                () = shared.close.notified() => continue,
                () = tokio::time::sleep(wait), if shared.settings.is_some() => continue,
            }
        }
        let deadline = tokio::time::Instant::now() + config.flush_every;
        while batch.len() < config.batch && !shared.closing.load(Ordering::Acquire) {
            let want = config.batch - batch.len();
            tokio::select! {
                n = rx.recv_many(&mut batch, want) => if n == 0 { break },
                () = tokio::time::sleep_until(deadline) => break,
                () = shared.close.notified() => break,
            }
        }
        if shared.closing.load(Ordering::Acquire) {
            // Take everything still queued into this last write.
            while let Ok(r) = rx.try_recv() {
                batch.push(r);
            }
        }
        write(&shared, &*store, &mut batch).await;
    }
}

/// Writes `batch`, retrying with a growing pause until it is stored; at shutdown, gives up after
/// a few tries and counts what is lost.
async fn write(shared: &Shared, store: &dyn RequestLogStore, batch: &mut Vec<RequestRecord>) {
    let c = &shared.counters;
    let mut pause = Duration::from_millis(50);
    let mut tries = 0;
    loop {
        match store.append_requests(batch).await {
            Ok(_) => {
                c.written.fetch_add(batch.len() as u64, Ordering::Relaxed);
                #[cfg(feature = "metrics")]
                c.metrics.written.increment(batch.len() as u64);
                batch.clear();
                return;
            }
            Err(e) => {
                tries += 1;
                c.failed_writes.fetch_add(1, Ordering::Relaxed);
                static FAILED_LOG: LogThrottle = LogThrottle::new(Duration::from_secs(10));
                if let Some(suppressed) = FAILED_LOG.allow_monotonic() {
                    tracing::warn!(error = %e, records = batch.len(), suppressed, "could not write the request log; retrying");
                }
                if shared.closing.load(Ordering::Acquire) && tries >= 3 {
                    c.lost_at_shutdown
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    batch.clear();
                    return;
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}
