//! Write-behind usage: verifications bump per-key atomics, and a flusher writes the coalesced
//! counts and last-used times through [`KeyStore::record_usage`] on an interval and at shutdown.
//! A failed batch is kept and sent again unchanged, and stores apply each key of a batch once, so
//! an outage or a partial write delays usage data but neither loses nor double-counts it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use chrono::DateTime;
use uuid::Uuid;

use crate::error::Result;
use crate::ids::KeyId;
use crate::log_throttle::LogThrottle;
use crate::store::{KeyStore, UsageBatchId, UsageUpdate};

/// Last-used granularity: the shared timestamp is written at most once per second per key, so
/// steady traffic on a hot key does not bounce its cache line on every request.
const LAST_USED_GRANULARITY_MS: i64 = 1_000;

/// One key's pending usage.
#[derive(Debug, Default)]
pub(crate) struct UsageCell {
    count: AtomicU64,
    last_used_ms: AtomicI64,
}

impl UsageCell {
    #[inline]
    pub(crate) fn record(&self, now_ms: i64) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if self.last_used_ms.load(Ordering::Relaxed) + LAST_USED_GRANULARITY_MS <= now_ms {
            self.last_used_ms.fetch_max(now_ms, Ordering::Relaxed);
        }
    }
}

/// The registry of usage cells, by key id. Cells outlive cache entries, so a refill keeps counting
/// into the same cell.
#[derive(Debug)]
pub(crate) struct UsageRecorder {
    cells: papaya::HashMap<KeyId, Arc<UsageCell>, foldhash::fast::RandomState>,
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
            flusher: Uuid::new_v4(),
            pending: tokio::sync::Mutex::default(),
            pending_count: AtomicU64::new(0),
            failed: LogThrottle::new(Duration::from_secs(60)),
        }
    }
}

impl UsageRecorder {
    /// The cell for `id`, created on first use.
    pub(crate) fn cell(&self, id: KeyId) -> Arc<UsageCell> {
        let map = self.cells.pin();
        if let Some(cell) = map.get(&id) {
            return Arc::clone(cell);
        }
        loop {
            let cell = Arc::clone(map.get_or_insert_with(id, Arc::default));
            // The flusher may have dropped an idle cell between the read and the clone; make sure the
            // one we hold is still registered, or counts would go to an orphan.
            if map.get(&id).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                return cell;
            }
        }
    }

    /// Writes the batch a failed flush left, then every pending count as a new batch. A failed
    /// batch stays pending, unchanged, and is sent again (same id, same items) before anything
    /// newer, so the store's per-key marks count each key once however often it is retried —
    /// also when this future is dropped mid-write (a shutdown deadline).
    pub(crate) async fn flush(&self, store: &dyn KeyStore) -> Result<usize> {
        let mut pending = self.pending.lock().await;
        let mut written = 0;
        if let Some(batch) = &pending.batch {
            store.record_usage(batch.id, &batch.items).await?;
            written += batch.items.len();
            pending.clear(&self.pending_count);
        }
        let items = self.take();
        let Some(at) = items.iter().map(|u| u.last_used_at).max() else {
            return Ok(written);
        };
        pending.seq += 1;
        let id = UsageBatchId {
            flusher: self.flusher,
            seq: pending.seq,
            at,
        };
        self.pending_count
            .store(items.iter().map(|u| u.count).sum(), Ordering::Relaxed);
        let batch = pending.batch.insert(Batch { id, items });
        store.record_usage(batch.id, &batch.items).await?;
        written += batch.items.len();
        pending.clear(&self.pending_count);
        Ok(written)
    }

    /// Swaps every cell's count to zero and returns the non-zero ones; drops idle cells.
    fn take(&self) -> Vec<UsageUpdate> {
        let mut items = Vec::new();
        let mut idle = Vec::new();
        let map = self.cells.pin();
        for (id, cell) in map.iter() {
            let count = cell.count.swap(0, Ordering::Relaxed);
            let last = cell.last_used_ms.load(Ordering::Relaxed);
            if count > 0 {
                items.push(UsageUpdate {
                    id: *id,
                    last_used_at: DateTime::from_timestamp_millis(last).unwrap_or_default(),
                    count,
                });
            } else if Arc::strong_count(cell) == 1 {
                idle.push(*id);
            }
        }
        for id in idle {
            // Only cells no cache entry holds; `cell()` re-checks registration after cloning.
            let _ = map.remove_if(&id, |_, c| {
                Arc::strong_count(c) == 1 && c.count.load(Ordering::Relaxed) == 0
            });
        }
        items
    }

    /// Verifications counted in memory and not yet written: the pending batch and every cell.
    pub(crate) fn unflushed(&self) -> u64 {
        let cells: u64 = self
            .cells
            .pin()
            .iter()
            .map(|(_, c)| c.count.load(Ordering::Relaxed))
            .sum();
        cells.saturating_add(self.pending_count.load(Ordering::Relaxed))
    }
}

/// A formed batch, kept until the store accepted it.
#[derive(Debug)]
struct Batch {
    id: UsageBatchId,
    items: Vec<UsageUpdate>,
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
        if let Err(e) = self.flush_usage().await
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
