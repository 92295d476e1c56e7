//! Outage logging for the verifier: each kind of failure that repeats per request logs once per
//! interval with the count held back.

use std::time::Duration;

use crate::log_throttle::LogThrottle;

/// One log line per interval and kind of failure during an outage, with the count held back,
/// never one per request.
#[derive(Debug)]
pub(super) struct OutageLogs {
    pub(super) store: LogThrottle,
    pub(super) hash: LogThrottle,
    pub(super) shared_cache: LogThrottle,
    pub(super) limiter: LogThrottle,
}

const OUTAGE_LOG_INTERVAL: Duration = Duration::from_secs(10);

impl Default for OutageLogs {
    fn default() -> Self {
        Self {
            store: LogThrottle::new(OUTAGE_LOG_INTERVAL),
            hash: LogThrottle::new(OUTAGE_LOG_INTERVAL),
            shared_cache: LogThrottle::new(OUTAGE_LOG_INTERVAL),
            limiter: LogThrottle::new(OUTAGE_LOG_INTERVAL),
        }
    }
}
