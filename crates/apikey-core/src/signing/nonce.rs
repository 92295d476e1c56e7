//! [`NonceStore`]: where a signature's nonce is claimed, so a captured request cannot be replayed
//! within the tolerance. [`MemoryNonces`] for one instance; `apikey_redis::RedisNonces` for
//! several (`SET NX PX`, one round trip).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;

use crate::clock::{Clock, SystemClock};
use crate::error::Result;

/// Remembers nonces until they could no longer be accepted anyway.
#[async_trait]
pub trait NonceStore: Send + Sync + std::fmt::Debug + 'static {
    /// Claims `nonce` for `keyid` until `until_ms` (Unix milliseconds): `true` the first time,
    /// `false` if it was claimed before and has not expired. An error means the store could not
    /// answer; the guard then refuses the request (fail closed).
    async fn claim(&self, keyid: &str, nonce: &str, until_ms: i64) -> Result<bool>;
}

/// Nonces in this process. Expired entries are swept at most once a second (a sweep walks every
/// entry, so sweeping per claim would make a claim cost grow with the load), so memory stays
/// bounded by the request rate times the tolerance plus a second.
#[derive(Debug)]
pub struct MemoryNonces {
    clock: Arc<dyn Clock>,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    until: HashMap<(String, String), i64>,
    /// When (Unix ms) the next sweep is due.
    next_sweep: i64,
}

/// How often expired nonces are swept.
const SWEEP_EVERY_MS: i64 = 1_000;

impl Default for MemoryNonces {
    fn default() -> Self {
        Self::new(Arc::new(SystemClock))
    }
}

impl MemoryNonces {
    /// An empty store on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            seen: Mutex::new(Seen::default()),
        }
    }

    /// How many nonces are held.
    pub fn len(&self) -> usize {
        self.seen.lock().until.len()
    }

    /// Whether none are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl NonceStore for MemoryNonces {
    async fn claim(&self, keyid: &str, nonce: &str, until_ms: i64) -> Result<bool> {
        let now = self.clock.now().timestamp_millis();
        let mut seen = self.seen.lock();
        if now >= seen.next_sweep {
            seen.until.retain(|_, until| *until > now);
            seen.next_sweep = now + SWEEP_EVERY_MS;
        }
        let key = (keyid.to_owned(), nonce.to_owned());
        match seen.until.get(&key) {
            Some(until) if *until > now => Ok(false),
            _ => {
                seen.until.insert(key, until_ms);
                Ok(true)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[tokio::test]
    async fn a_nonce_is_accepted_once_until_it_expires() {
        let clock = Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH));
        let nonces = MemoryNonces::new(clock.clone());
        assert!(nonces.claim("k", "n1", 1_000).await.unwrap());
        assert!(!nonces.claim("k", "n1", 1_000).await.unwrap());
        assert!(nonces.claim("other", "n1", 1_000).await.unwrap());
        clock.advance(chrono::Duration::milliseconds(1_001));
        assert!(nonces.claim("k", "n1", 5_000).await.unwrap());
        // The sweep a second later forgot what expired and kept what did not.
        clock.advance(chrono::Duration::milliseconds(1_000));
        assert!(nonces.claim("k", "n2", 9_000).await.unwrap());
        assert_eq!(
            nonces.len(),
            2,
            "k/n1 (until 5 s) and k/n2; other/n1 expired"
        );
    }
}
