//! Write-behind usage: verifications bump per-key atomics, and a flusher writes the coalesced
//! counts and last-used times through [`KeyStore::record_usage`] on an interval and at shutdown.
//! A failed flush puts its counts back, so an outage delays usage data but does not lose it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use chrono::DateTime;

use crate::error::Result;
use crate::ids::KeyId;
use crate::store::{KeyStore, UsageUpdate};

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
#[derive(Debug, Default)]
pub(crate) struct UsageRecorder {
    cells: papaya::HashMap<KeyId, Arc<UsageCell>, foldhash::fast::RandomState>,
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

    /// Takes every pending count and writes it. On failure the counts are put back.
    pub(crate) async fn flush(&self, store: &dyn KeyStore) -> Result<usize> {
        let mut batch = Vec::new();
        let mut idle = Vec::new();
        {
            let map = self.cells.pin();
            for (id, cell) in map.iter() {
                let count = cell.count.swap(0, Ordering::Relaxed);
                let last = cell.last_used_ms.load(Ordering::Relaxed);
                if count > 0 {
                    let last_used_at = DateTime::from_timestamp_millis(last).unwrap_or_default();
                    batch.push((
                        Arc::clone(cell),
                        UsageUpdate {
                            id: *id,
                            last_used_at,
                            count,
                        },
                    ));
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
        }
        if batch.is_empty() {
            return Ok(0);
        }
        let updates: Vec<UsageUpdate> = batch.iter().map(|(_, u)| *u).collect();
        match store.record_usage(&updates).await {
            Ok(()) => Ok(updates.len()),
            Err(e) => {
                for (cell, u) in &batch {
                    cell.count.fetch_add(u.count, Ordering::Relaxed);
                }
                Err(e)
            }
        }
    }
}
