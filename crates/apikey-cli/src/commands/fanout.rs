//! Publishing changes where the running services listen: their shared Redis cache, whose
//! invalidations every instance's `RevocationListener` applies within a second.
//!
//! A change to a key must be committed even when Redis is down (a leaked key is revoked in the
//! database first), so an unreachable Redis does not stop the command: the cache stands in with
//! one whose invalidations fail, the manager reports `NotPropagated`, and the command exits 7.
//!
//! The same Redis holds the registry of running instances, which `--confirm` waits on
//! (`RedisConfirmer`) and `apikey instances` lists.

use std::sync::Arc;
use std::time::Duration;

use apikey_core::{
    Cache, CachedRecord, Confirmation, Confirmer, Error, KeyRecord, LookupId, Peppers, Result,
};
use apikey_redis::{KeyPrefix, RedisCache, RedisConfirmer, RedisConnection, RedisInstances};
use async_trait::async_trait;

use crate::error::CliError;

/// Where the running services listen: their shared cache and the confirmer over their registry.
#[derive(Debug)]
pub(crate) struct Fanout {
    pub(crate) cache: Arc<dyn Cache>,
    pub(crate) confirmer: Arc<dyn Confirmer>,
    /// The services' limiter on the same connection; `None` when Redis is unreachable.
    pub(crate) limiter: Option<Arc<dyn apikey_core::RateLimiter>>,
    /// The connection and the cache itself, for a long-running command (`serve`) to listen for
    /// the other instances' invalidations; `None` when Redis is unreachable.
    pub(crate) redis: Option<(RedisConnection, RedisCache)>,
    /// Why Redis could not be reached, when it could not.
    pub(crate) unreachable: Option<String>,
}

/// The services' Redis at `url` under `prefix`, or stand-ins that report why it is not reachable.
pub(crate) async fn connect(
    url: &str,
    prefix: &str,
    peppers: &Peppers,
) -> Result<Fanout, CliError> {
    let prefix = parse_prefix(prefix)?;
    match RedisConnection::connect(url).await {
        Ok(conn) => {
            let cache = RedisCache::new(conn.clone(), peppers).with_prefix(prefix.clone());
            Ok(Fanout {
                cache: Arc::new(cache.clone()),
                confirmer: Arc::new(RedisConfirmer::new(
                    RedisInstances::new(conn.clone()).with_prefix(prefix.clone()),
                )),
                limiter: Some(Arc::new(
                    apikey_redis::RedisLimiter::new(conn.clone()).with_prefix(prefix),
                )),
                redis: Some((conn, cache)),
                unreachable: None,
            })
        }
        Err(e) => {
            let why = url_error(&e)?;
            let unreachable = Arc::new(Unreachable(why.clone()));
            Ok(Fanout {
                cache: unreachable.clone(),
                confirmer: unreachable,
                limiter: None,
                redis: None,
                unreachable: Some(why),
            })
        }
    }
}

/// The registry of running instances, for `apikey instances`.
pub(crate) async fn instances(url: &str, prefix: &str) -> Result<RedisInstances, CliError> {
    let prefix = parse_prefix(prefix)?;
    let conn = RedisConnection::connect(url)
        .await
        .map_err(|e| match url_error(&e) {
            Ok(why) => CliError::unavailable(format!("redis is unreachable: {why}")).hint(
                "check that Redis is running and that --redis-url (or REDIS_URL) points at it",
            ),
            Err(e) => e,
        })?;
    Ok(RedisInstances::new(conn).with_prefix(prefix))
}

fn parse_prefix(prefix: &str) -> Result<KeyPrefix, CliError> {
    KeyPrefix::new(prefix).map_err(|e| CliError::usage(format!("--redis-prefix: {}", e.message())))
}

/// A bad URL is a usage error; anything else is why Redis could not be reached.
fn url_error(e: &Error) -> Result<String, CliError> {
    if e.kind() == apikey_core::ErrorKind::InvalidInput
        || e.kind() == apikey_core::ErrorKind::Config
    {
        Err(CliError::usage(format!("--redis-url: {}", e.message())))
    } else {
        Ok(e.to_string())
    }
}

/// Stands in for a Redis that could not be reached: reads miss, invalidations fail.
#[derive(Debug)]
struct Unreachable(String);

#[async_trait]
impl Cache for Unreachable {
    async fn get(&self, _: &LookupId) -> Result<Option<CachedRecord>> {
        Ok(None)
    }

    async fn put(&self, _: &KeyRecord, _: Duration) -> Result<()> {
        Ok(())
    }

    async fn invalidate(&self, _: &LookupId, _: u64, _: Duration) -> Result<()> {
        Err(Error::unavailable(format!(
            "redis is unreachable: {}",
            self.0
        )))
    }
}

#[async_trait]
impl Confirmer for Unreachable {
    async fn confirm(&self, _: &LookupId, _: u64, _: Duration) -> Result<Confirmation> {
        Err(Error::unavailable(format!(
            "redis is unreachable: {}",
            self.0
        )))
    }
}
