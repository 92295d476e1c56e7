//! [`RedisCache`]: the shared second-level [`Cache`] on Redis, with versioned tombstones and
//! invalidation fan-out on a pub/sub channel.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use apikey_core::hash::Sealer;
use apikey_core::{
    Cache, CachedRecord, Clock, Error, ErrorKind, KeyRecord, LookupId, Peppers, Result, SystemClock,
};
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
/// timestamps are typed and round-trip), its version, its deadline and a seal: a MAC over the
/// lookup id, version, deadline and record under a key derived from the pepper set
/// ([`Sealer`]). Redis is not trusted with authority over keys: an entry whose seal does not check
/// (written by anyone without the pepper, or altered) is ignored, counted
/// ([`rejected_entries`](Self::rejected_entries)) and the verifier reads the store instead. Deadlines are microseconds
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
    sealer: Sealer,
    rejected: Arc<AtomicU64>,
}

impl RedisCache {
    /// A cache on `conn` with prefix `apikey`, timed by the system clock, its entries sealed under
    /// keys derived from `peppers` (the same set the verifier hashes with; every instance sharing
    /// the cache needs it).
    pub fn new(conn: RedisConnection, peppers: &Peppers) -> Self {
        let prefix = KeyPrefix::default();
        Self {
            conn,
            channel: prefix.channel(),
            prefix,
            clock: Arc::new(SystemClock),
            budget: DEFAULT_BUDGET,
            put: Arc::new(Script::new(include_str!("put.lua"))),
            invalidate: Arc::new(Script::new(include_str!("invalidate.lua"))),
            sealer: Sealer::new(peppers, "redis-cache"),
            rejected: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many entries this cache (and its clones) ignored because their seal did not check.
    /// Anything above zero means someone without the pepper wrote to the cache, or the instances
    /// sharing it were given different pepper sets.
    pub fn rejected_entries(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    fn reject(&self, lookup: &LookupId) {
        let n = self.rejected.fetch_add(1, Ordering::Relaxed) + 1;
        // Powers of two: the first one at once, then ever more rarely, never one per request.
        if n.is_power_of_two() {
            tracing::warn!(
                lookup_id = %lookup,
                rejected_so_far = n,
                "ignored a shared-cache entry whose seal does not check; reading the store"
            );
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

    /// The key prefix (the listener and the instance registry use the same one).
    pub fn prefix(&self) -> &KeyPrefix {
        &self.prefix
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
    async fn get(&self, lookup: &LookupId) -> Result<Option<CachedRecord>> {
        let now = self.now();
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.prefix.cache(lookup))
            .arg("v")
            .arg("d")
            .arg("r")
            .arg("s");
        type Fields = (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let (version, deadline, json, seal): Fields = self
            .within("redis cache read failed", cmd.query_async(&mut conn))
            .await?;
        let (Some(version), Some(deadline), Some(json)) = (version, deadline, json) else {
            return Ok(None);
        };
        let parts = [
            lookup.as_str().as_bytes(),
            version.as_bytes(),
            deadline.as_bytes(),
            json.as_bytes(),
        ];
        if !seal.is_some_and(|s| self.sealer.check(&parts, &s)) {
            self.reject(lookup);
            return Ok(None);
        }
        let Ok(deadline) = deadline.parse::<i64>() else {
            return Ok(None);
        };
        if now >= deadline {
            return Ok(None);
        }
        let record: KeyRecord = serde_json::from_str(&json).map_err(|e| {
            Error::new(ErrorKind::Backend, "corrupt redis cache entry").with_source(e)
        })?;
        if record.lookup_id != *lookup {
            self.reject(lookup);
            return Ok(None);
        }
        let left = u64::try_from(deadline - now).unwrap_or(0);
        Ok(Some(CachedRecord::new(record, Duration::from_micros(left))))
    }

    async fn put(&self, record: &KeyRecord, ttl: Duration) -> Result<()> {
        let json = serde_json::to_string(record).map_err(|e| {
            Error::new(ErrorKind::Backend, "could not encode the key record").with_source(e)
        })?;
        let now = self.now();
        let deadline = now.saturating_add(micros(ttl));
        let version = record.version.to_string();
        let deadline_text = deadline.to_string();
        let seal = self.sealer.seal(&[
            record.lookup_id.as_str().as_bytes(),
            version.as_bytes(),
            deadline_text.as_bytes(),
            json.as_bytes(),
        ]);
        let mut conn = self.conn.clone();
        let mut call = self.put.prepare_invoke();
        call.key(self.prefix.cache(&record.lookup_id))
            .arg(now)
            .arg(&version)
            .arg(&deadline_text)
            .arg(json)
            .arg(life_ms(ttl))
            .arg(seal);
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
