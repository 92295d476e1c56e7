//! The request log's metric handles (feature `metrics`; names in [`crate::metrics`]), registered
//! when the log is spawned so that counting a record is an atomic add.

use metrics::Counter;

use crate::metrics::{REQUEST_LOG_DROPPED, REQUEST_LOG_WRITTEN};

#[derive(Debug)]
pub(super) struct RequestLogMetrics {
    pub(super) written: Counter,
    pub(super) dropped: Counter,
}

impl Default for RequestLogMetrics {
    /// Registers with the recorder installed now (no-op handles without one).
    fn default() -> Self {
        Self {
            written: metrics::counter!(REQUEST_LOG_WRITTEN),
            dropped: metrics::counter!(REQUEST_LOG_DROPPED),
        }
    }
}
