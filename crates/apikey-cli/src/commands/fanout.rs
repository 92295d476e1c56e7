//! Publishing changes where the running services listen: their shared Redis cache, whose
//! invalidations every instance's `RevocationListener` applies within a second.
//!
//! A change to a key must be committed even when Redis is down (a leaked key is revoked in the
//! database first), so an unreachable Redis does not stop the command: the cache stands in with
//! one whose invalidations fail, the manager reports `NotPropagated`, and the command exits 7.

use std::sync::Arc;
use std::time::Duration;

use apikey_core::{Cache, CachedRecord, Error, KeyRecord, LookupId, Peppers, Result};
use apikey_redis::{KeyPrefix, RedisCache, RedisConnection};
use async_trait::async_trait;

use crate::error::CliError;

/// The services' shared cache at `url` under `prefix`, or a stand-in that reports why it is not
/// reachable.
pub(crate) async fn shared_cache(
    url: &str,
    prefix: &str,
    peppers: &Peppers,
) -> Result<Arc<dyn Cache>, CliError> {
    let prefix = KeyPrefix::new(prefix)
        .map_err(|e| CliError::usage(format!("--redis-prefix: {}", e.message())))?;
    match RedisConnection::connect(url).await {
        Ok(conn) => Ok(Arc::new(RedisCache::new(conn, peppers).with_prefix(prefix))),
        Err(e)
            if e.kind() == apikey_core::ErrorKind::InvalidInput
                || e.kind() == apikey_core::ErrorKind::Config =>
        {
            Err(CliError::usage(format!("--redis-url: {}", e.message())))
        }
        Err(e) => Ok(Arc::new(Unreachable(e.to_string()))),
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
