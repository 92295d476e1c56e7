//! Single flight for store fetches: concurrent misses on one lookup id share one fetch. Only the
//! fetch is shared, never the verdict: every request still checks its own secret.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::OnceCell;

use crate::error::Error;
use crate::ids::LookupId;
use crate::record::KeyRecord;

/// A fetched record and how long a first-level entry made from it may live: the full cache TTL
/// after a store read, at most the shared entry's remaining life after a shared-cache read.
#[derive(Debug, Clone)]
pub(crate) struct FetchedRecord {
    pub(crate) record: Arc<KeyRecord>,
    pub(crate) life: Duration,
}

pub(crate) type Fetched = Result<Option<FetchedRecord>, Arc<Error>>;

#[derive(Debug, Default)]
pub(crate) struct Flights {
    inflight: Mutex<HashMap<LookupId, Arc<OnceCell<Fetched>>>>,
}

impl Flights {
    /// Runs `fetch` unless a fetch for `id` is already in flight, in which case its result is shared.
    /// If the leading request is cancelled, a waiting one takes over (tokio's `OnceCell` semantics).
    pub(crate) async fn fetch<F, Fut>(&self, id: LookupId, fetch: F) -> Fetched
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Fetched>,
    {
        let cell = Arc::clone(self.inflight.lock().entry(id).or_default());
        let result = cell.get_or_init(fetch).await.clone();
        let mut map = self.inflight.lock();
        if map.get(&id).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            map.remove(&id);
        }
        result
    }
}
