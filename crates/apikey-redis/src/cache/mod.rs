//! [`RedisCache`]: the shared second-level [`Cache`] on Redis, with versioned tombstones and
//! invalidation fan-out on a pub/sub channel.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::{Cache, Clock, Error, ErrorKind, KeyRecord, LookupId, Result, SystemClock};
use async_trait::async_trait;
use redis::Script;

use crate::conn::RedisConnection;
use crate::error::{from_redis, timed_out};
use crate::keys::KeyPrefix;

/// Default time budget of one cache call.
const DEFAULT_BUDGET: Duration = Duration::from_millis(250);

/// A shared [`Cache`] of key records by lookup id.
///
/// Each entry is one hash: the record as JSON (it holds the stored hash, never a secret; its
/// timestamps are typed and round-trip), its version and its deadline. Deadlines are microseconds
/// of the injected [`Clock`] (system time by default) and the key also gets a Redis TTL of the
/// same length, so Redis drops it by itself. Fills and invalidations run as scripts that compare
/// versions: a fill never replaces a newer entry or a tombstone of a newer version, and
/// [`invalidate`](Cache::invalidate) leaves a tombstone and publishes `"<lookup id> <version>"` on
/// [`channel`](Self::channel), which every instance's
/// [`RevocationListener`](crate::RevocationListener) applies to its verifier.
///
/// Errors are returned as `Unavailable`/`Backend`; the verifier then reads the store, which stays
/// authoritative.
#[derive(Clone)]
pub struct RedisCache {
    conn: RedisConnection,
    prefix: KeyPrefix,
    channel: String,
    clock: Arc<dyn Clock>,
    budget: Duration,
    put: Arc<Script>,
    invalidate: Arc<Script>,
}

impl RedisCache {
    /// A cache on `conn` with prefix `apikey`, timed by the system clock.
    pub fn new(conn: RedisConnection) -> Self {
        let prefix = KeyPrefix::default();
        Self {
            conn,
            channel: prefix.channel(),
            prefix,
            clock: Arc::new(SystemClock),
            budget: DEFAULT_BUDGET,
            put: Arc::new(Script::new(include_str!("put.lua"))),
            invalidate: Arc::new(Script::new(include_str!("invalidate.lua"))),
        }
    }

    /// Prefixes keys and the channel with `prefix`.
    #[must_use]
    pub fn with_prefix(mut self, prefix: KeyPrefix) -> Self {
        self.channel = prefix.channel();
        self.prefix = prefix;
        self
    }

    /// Times entries with `clock` (tests move a `ManualClock`).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How long one cache call may take before it fails as `Unavailable`.
    #[must_use]
    pub fn with_call_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// The pub/sub channel invalidations are published on.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp_micros()
    }

    async fn within<T>(
        &self,
        what: &'static str,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.budget, fut).await {
            Ok(r) => r.map_err(|e| from_redis(what, e)),
            Err(_) => Err(timed_out(what)),
        }
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Redis key lifetime in whole milliseconds, at least 1.
fn life_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1)
}

impl fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCache")
            .field("conn", &self.conn)
            .field("prefix", &self.prefix)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, lookup: &LookupId) -> Result<Option<KeyRecord>> {
        let now = self.now();
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.prefix.cache(lookup)).arg("d").arg("r");
        let (deadline, json): (Option<i64>, Option<String>) = self
            .within("redis cache read failed", cmd.query_async(&mut conn))
            .await?;
        match (deadline, json) {
            (Some(d), Some(json)) if now < d => {
                serde_json::from_str(&json).map(Some).map_err(|e| {
                    Error::new(ErrorKind::Backend, "corrupt redis cache entry").with_source(e)
                })
            }
            _ => Ok(None),
        }
    }

    async fn put(&self, record: &KeyRecord, ttl: Duration) -> Result<()> {
        let json = serde_json::to_string(record).map_err(|e| {
            Error::new(ErrorKind::Backend, "could not encode the key record").with_source(e)
        })?;
        let now = self.now();
        let mut conn = self.conn.clone();
        let mut call = self.put.prepare_invoke();
        call.key(self.prefix.cache(&record.lookup_id))
            .arg(now)
            .arg(record.version)
            .arg(now.saturating_add(micros(ttl)))
            .arg(json)
            .arg(life_ms(ttl));
        let _: i64 = self
            .within("redis cache fill failed", call.invoke_async(&mut conn))
            .await?;
        Ok(())
    }

    async fn invalidate(&self, lookup: &LookupId, version: u64, ttl: Duration) -> Result<()> {
        let now = self.now();
        let mut conn = self.conn.clone();
        let mut call = self.invalidate.prepare_invoke();
        call.key(self.prefix.cache(lookup))
            .arg(now)
            .arg(version)
            .arg(now.saturating_add(micros(ttl)))
            .arg(life_ms(ttl))
            .arg(&self.channel)
            .arg(lookup.as_str());
        let _: i64 = self
            .within(
                "redis cache invalidation failed",
                call.invoke_async(&mut conn),
            )
            .await?;
        Ok(())
    }
}
