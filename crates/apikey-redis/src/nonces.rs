//! [`RedisNonces`]: request-signature nonces ([`NonceStore`]) shared by every instance, so a
//! signed request captured at one instance cannot be replayed at another.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::signing::NonceStore;
use apikey_core::{Clock, Result, SystemClock};
use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::conn::RedisConnection;
use crate::error::{from_redis, timed_out};
use crate::keys::KeyPrefix;

/// A nonce claim is on the request path: a short budget, after which the request is refused
/// (fail closed) rather than held.
const DEFAULT_BUDGET: Duration = Duration::from_millis(250);

/// Nonces in Redis: one `SET NX PX` per signed request,
/// `<prefix>:nonce:{<keyid>}:<sha-256 of the nonce>` (hashed, so a client's nonce cannot make the
/// key long or odd; tagged by keyid for a cluster), expiring when the signature could no longer
/// be accepted anyway.
#[derive(Clone)]
pub struct RedisNonces {
    conn: RedisConnection,
    prefix: KeyPrefix,
    clock: Arc<dyn Clock>,
    budget: Duration,
}

impl RedisNonces {
    /// Nonces on `conn` under the prefix `apikey`.
    pub fn new(conn: RedisConnection) -> Self {
        Self {
            conn,
            prefix: KeyPrefix::default(),
            clock: Arc::new(SystemClock),
            budget: DEFAULT_BUDGET,
        }
    }

    /// Prefixes the keys with `prefix`.
    #[must_use]
    pub fn with_prefix(mut self, prefix: KeyPrefix) -> Self {
        self.prefix = prefix;
        self
    }

    /// The clock expiries are computed against (the guard's).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How long a claim may take before it fails (and the request is refused).
    #[must_use]
    pub fn with_call_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    fn key(&self, keyid: &str, nonce: &str) -> String {
        let digest = Sha256::digest(nonce.as_bytes());
        let mut hex = String::with_capacity(64);
        for b in digest {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
        }
        format!("{}:nonce:{{{keyid}}}:{hex}", self.prefix.as_str())
    }
}

impl fmt::Debug for RedisNonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisNonces")
            .field("conn", &self.conn)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl NonceStore for RedisNonces {
    async fn claim(&self, keyid: &str, nonce: &str, until_ms: i64) -> Result<bool> {
        let now = self.clock.now().timestamp_millis();
        // Already past its window: nothing to remember, and the verifier refused it anyway.
        let ttl = until_ms.saturating_sub(now).max(1);
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(keyid, nonce))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl);
        let set = cmd.query_async::<Option<String>>(&mut conn);
        match tokio::time::timeout(self.budget, set).await {
            Ok(Ok(reply)) => Ok(reply.is_some()),
            Ok(Err(e)) => Err(from_redis("nonce claim", e)),
            Err(_) => Err(timed_out("nonce claim")),
        }
    }
}
