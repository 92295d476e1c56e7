//! Write-behind usage: verifications bump per-key atomics, and a flusher writes the coalesced
//! counts and last-used times through [`KeyStore::record_usage`] on an interval and at shutdown,
//! and the counts by outcome through the store's [`AnalyticsStore`] when it has one. A failed
//! batch is kept and sent again unchanged, and stores apply each key of a batch once, so an
//! outage or a partial write delays usage data but neither loses nor double-counts it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::analytics::{Outcome, UsageCounts, UsageRow};
use crate::error::Result;
use crate::ids::{KeyId, TenantId};
use crate::log_throttle::LogThrottle;
use crate::store::{KeyStore, UsageBatchId, UsageUpdate};
use crate::threat::keys::{KeyWatch, Observation};
use crate::verify::Rejection;

/// Last-used granularity: the shared timestamp is written at most once per second per key, so
/// steady traffic on a hot key does not bounce its cache line on every request.
const LAST_USED_GRANULARITY_MS: i64 = 1_000;

/// One key's pending usage: admissions (with their last time and cost) and refusals by
/// outcome. Fixed atomics, so counting never allocates.
#[derive(Debug, Default)]
pub(crate) struct UsageCell {
    count: AtomicU64,
    last_used_ms: AtomicI64,
    cost: AtomicU64,
    /// Refusals by [`Outcome::index`]; the `Success` slot stays zero (`count` holds it).
    refused: [AtomicU64; Outcome::ALL.len()],
    /// The key's tenant, for its analytics row (a key never changes tenant).
    tenant: Option<TenantId>,
    /// The client networks seen since the last flush, as a sketch (only while a per-key threat
    /// detector is on; see [`crate::threat`]).
    networks: AtomicU64,
}

impl UsageCell {
    fn new(tenant: Option<&TenantId>) -> Self {
        Self {
            tenant: tenant.cloned(),
            ..Self::default()
        }
    }

    #[inline]
    pub(crate) fn record(&self, now_ms: i64, cost: u32) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.cost.fetch_add(u64::from(cost), Ordering::Relaxed);
        if self.last_used_ms.load(Ordering::Relaxed) + LAST_USED_GRANULARITY_MS <= now_ms {
            self.last_used_ms.fetch_max(now_ms, Ordering::Relaxed);
        }
    }

    /// Notes a client network's sketch bit: a load, and a write only for a network not yet
    /// seen since the last flush.
    #[inline]
    pub(crate) fn saw(&self, bit: u64) {
        if self.networks.load(Ordering::Relaxed) & bit == 0 {
            self.networks.fetch_or(bit, Ordering::Relaxed);
        }
    }

    fn refuse(&self, outcome: Outcome) {
        self.refused[outcome.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Swaps the counts to zero: the admissions and the counts by outcome.
    fn take(&self) -> (u64, UsageCounts) {
        let mut counts = UsageCounts::default();
        let admitted = self.count.swap(0, Ordering::Relaxed);
        counts.success = admitted;
        counts.cost = self.cost.swap(0, Ordering::Relaxed);
        for o in Outcome::ALL {
            if o != Outcome::Success {
                *counts.get_mut(o) = self.refused[o.index()].swap(0, Ordering::Relaxed);
            }
        }
        (admitted, counts)
    }

    fn pending(&self) -> u64 {
        self.refused
            .iter()
            .fold(self.count.load(Ordering::Relaxed), |n, c| {
                n.saturating_add(c.load(Ordering::Relaxed))
            })
    }
}

/// The registry of usage cells, by key id. Cells outlive cache entries, so a refill keeps counting
/// into the same cell.
#[derive(Debug)]
pub(crate) struct UsageRecorder {
    cells: papaya::HashMap<KeyId, Arc<UsageCell>, foldhash::fast::RandomState>,
    /// Refusals before a key was known: one row for the process, never one per presented id.
    unattributed: UsageCell,
    /// This recorder's name in the store's per-key marks.
    flusher: Uuid,
    pending: tokio::sync::Mutex<Pending>,
    /// The pending batch's total count, readable without the async lock.
    pending_count: AtomicU64,
    /// Background flush failures: one warning a minute, with the count held back, however short
    /// the flush interval.
    failed: LogThrottle,
}

impl Default for UsageRecorder {
    fn default() -> Self {
        Self {
            cells: papaya::HashMap::default(),
            unattributed: UsageCell::default(),
            flusher: Uuid::new_v4(),
            pending: tokio::sync::Mutex::default(),
            pending_count: AtomicU64::new(0),
            failed: LogThrottle::new(Duration::from_secs(60)),
        }
    }
}

impl UsageRecorder {
    /// The cell for `id` (of `tenant`), created on first use.
    pub(crate) fn cell(&self, id: KeyId, tenant: Option<&TenantId>) -> Arc<UsageCell> {
        let map = self.cells.pin();
        if let Some(cell) = map.get(&id) {
            return Arc::clone(cell);
        }
        loop {
            let cell = Arc::clone(map.get_or_insert_with(id, || Arc::new(UsageCell::new(tenant))));
            // The flusher may have dropped an idle cell between the read and the clone; make sure the
            // one we hold is still registered, or counts would go to an orphan.
            if map.get(&id).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                return cell;
            }
        }
    }

    /// Counts a refusal: under its key once the key is known, else in the process's
    /// unattributed row.
    #[cold]
    pub(crate) fn refused(&self, rejection: &Rejection) {
        let outcome = Outcome::of(rejection);
        match rejection.key_id() {
            Some(id) if outcome != Outcome::Invalid => {
                self.cell(id, rejection.tenant_id()).refuse(outcome);
            }
            _ => self.unattributed.refuse(outcome),
        }
    }

    /// Writes the batch a failed flush left, then every pending count as a new batch formed at
    /// `now`. A failed batch stays pending, unchanged, and is sent again (same id, same items)
    /// before anything newer, so the stores' marks count it once however often it is retried —
    /// also when this future is dropped mid-write (a shutdown deadline).
    ///
    /// With `watch`, the per-key threat detectors judge what was taken before it is written.
    pub(crate) async fn flush(
        &self,
        store: &dyn KeyStore,
        now: DateTime<Utc>,
        watch: Option<&KeyWatch>,
    ) -> Result<usize> {
        let mut pending = self.pending.lock().await;
        let mut written = 0;
        if let Some(batch) = &pending.batch {
            written += batch.write(store).await?;
            pending.clear(&self.pending_count);
        }
        let (items, rows, observed) = self.take(watch.is_some());
        if let Some(watch) = watch
            && !observed.is_empty()
        {
            watch.observe(now, &observed);
        }
        if items.is_empty() && rows.is_empty() {
            return Ok(written);
        }
        pending.seq += 1;
        let id = UsageBatchId {
            flusher: self.flusher,
            seq: pending.seq,
            at: now,
        };
        self.pending_count.store(
            rows.iter().map(|r| r.counts.requests()).sum(),
            Ordering::Relaxed,
        );
        let batch = pending.batch.insert(Batch { id, items, rows });
        written += batch.write(store).await?;
        pending.clear(&self.pending_count);
        Ok(written)
    }

    /// Swaps every cell's counts to zero and returns the non-zero ones (the key store's usage
    /// updates, the analytics rows and, when `observe`, what the threat detectors read); drops
    /// idle cells.
    fn take(&self, observe: bool) -> (Vec<UsageUpdate>, Vec<UsageRow>, Vec<Observation>) {
        let mut items = Vec::new();
        let mut rows = Vec::new();
        let mut observed = Vec::new();
        let mut idle = Vec::new();
        let map = self.cells.pin();
        for (id, cell) in map.iter() {
            let (admitted, counts) = cell.take();
            let sketch = cell.networks.swap(0, Ordering::Relaxed);
            if observe && counts.requests() > 0 {
                observed.push(Observation {
                    key: *id,
                    tenant: cell.tenant.clone(),
                    requests: counts.requests(),
                    sketch,
                });
            }
            if admitted > 0 {
                let last = cell.last_used_ms.load(Ordering::Relaxed);
                items.push(UsageUpdate {
                    id: *id,
                    last_used_at: DateTime::from_timestamp_millis(last).unwrap_or_default(),
                    count: admitted,
                });
            }
            if !counts.is_empty() {
                rows.push(UsageRow {
                    key_id: Some(*id),
                    tenant_id: cell.tenant.clone(),
                    counts,
                });
            } else if Arc::strong_count(cell) == 1 {
                idle.push(*id);
            }
        }
        for id in idle {
            // Only cells no cache entry holds; `cell()` re-checks registration after cloning.
            let _ = map.remove_if(&id, |_, c| Arc::strong_count(c) == 1 && c.pending() == 0);
        }
        let (_, counts) = self.unattributed.take();
        if !counts.is_empty() {
            rows.push(UsageRow {
                key_id: None,
                tenant_id: None,
                counts,
            });
        }
        (items, rows, observed)
    }

    /// Verifications counted in memory and not yet written: the pending batch and every cell.
    pub(crate) fn unflushed(&self) -> u64 {
        let cells: u64 = self.cells.pin().iter().map(|(_, c)| c.pending()).sum();
        cells
            .saturating_add(self.unattributed.pending())
            .saturating_add(self.pending_count.load(Ordering::Relaxed))
    }
}

/// A formed batch, kept until the stores accepted it.
#[derive(Debug)]
struct Batch {
    id: UsageBatchId,
    items: Vec<UsageUpdate>,
    rows: Vec<UsageRow>,
}

impl Batch {
    /// Sends the batch to the key store (admissions) and to its analytics (every outcome). A
    /// retry sends both again; each applies a batch id once.
    async fn write(&self, store: &dyn KeyStore) -> Result<usize> {
        if !self.items.is_empty() {
            store.record_usage(self.id, &self.items).await?;
        }
        if let Some(analytics) = store.analytics()
            && !self.rows.is_empty()
        {
            analytics.add_usage(self.id, &self.rows).await?;
        }
        Ok(self.items.len())
    }
}

/// The flusher's sequence and its unaccepted batch, behind one async lock so that the interval
/// flusher and a shutdown flush never interleave two batches.
#[derive(Debug, Default)]
struct Pending {
    seq: u64,
    batch: Option<Batch>,
}

impl Pending {
    fn clear(&mut self, count: &AtomicU64) {
        self.batch = None;
        count.store(0, Ordering::Relaxed);
    }
}

/// Pause between attempts while a shutdown flush waits for the store to come back.
const SHUTDOWN_RETRY: Duration = Duration::from_millis(100);

impl super::Verifier {
    /// Verifications counted in memory and not yet written to the store.
    pub fn unflushed_usage(&self) -> u64 {
        self.inner.usage.unflushed()
    }

    /// Flushes usage until everything is written or `deadline` passes, retrying failed writes (a
    /// retried batch is counted once). Returns how many verifications are still unwritten, and
    /// logs one warning with that count when it is not zero. Call it on graceful shutdown, after
    /// the server stopped taking requests.
    pub async fn flush_usage_until(&self, deadline: tokio::time::Instant) -> u64 {
        let mut last_error = None;
        loop {
            match tokio::time::timeout_at(deadline, self.flush_usage()).await {
                Ok(Ok(_)) if self.unflushed_usage() == 0 => return 0,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => last_error = Some(e),
                Err(_) => break,
            }
            let pause = tokio::time::Instant::now() + SHUTDOWN_RETRY;
            if pause >= deadline {
                break;
            }
            tokio::time::sleep_until(pause).await;
        }
        let left = self.unflushed_usage();
        if left > 0 {
            match last_error {
                Some(e) => tracing::warn!(
                    unflushed = left,
                    error = %e,
                    "shutdown: usage not written before the deadline; exiting now loses these counts"
                ),
                None => tracing::warn!(
                    unflushed = left,
                    "shutdown: usage not written before the deadline; exiting now loses these counts"
                ),
            }
        }
        left
    }

    /// One interval flush, as the builder's background task runs it: a failure keeps the counts
    /// for the next attempt and is logged at most once a minute.
    pub(crate) async fn flush_usage_in_background(&self) {
        let flushed = self.flush_usage().await;
        #[cfg(feature = "metrics")]
        {
            #[allow(clippy::cast_precision_loss)] // a gauge; exact below 2^53
            self.inner
                .metrics
                .unflushed
                .set(self.unflushed_usage() as f64);
            if flushed.is_err() {
                self.inner.metrics.flush_failures.increment(1);
            }
        }
        if let Err(e) = flushed
            && let Some(suppressed) = self.inner.usage.failed.allow(self.inner.clock.now())
        {
            tracing::warn!(
                error = %e,
                suppressed,
                unflushed = self.unflushed_usage(),
                "usage flush failed; counts kept for the next attempt"
            );
        }
    }
}
