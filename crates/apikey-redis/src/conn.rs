//! [`RedisConnection`]: one handle over a single Redis node (a reconnecting `ConnectionManager`)
//! or a Redis Cluster (the cluster-aware async connection), so the limiter and cache are written
//! once for both.

use std::fmt;
use std::time::Duration;

use apikey_core::{Error, Result};
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

use crate::error::from_redis;

/// How long establishing a TCP connection to a node may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The transport under a [`RedisConnection`].
#[derive(Clone)]
enum Inner {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// A cheap-to-clone, multiplexed connection to Redis (single node or cluster) plus the client the
/// revocation listener opens its pub/sub connection with.
///
/// Single node: a `ConnectionManager`, which reconnects in the background after a loss (calls
/// made meanwhile fail fast, and the failure policies decide). Cluster: the `cluster-async`
/// connection, which follows `MOVED`/`ASK` redirects and refreshes the slot map. Pub/sub uses a
/// plain connection to the first node: in a cluster, `PUBLISH` reaches every node.
#[derive(Clone)]
pub struct RedisConnection {
    inner: Inner,
    pubsub: redis::Client,
}

impl RedisConnection {
    /// Connects to one Redis server (`redis://host:port/db`).
    pub async fn connect(url: &str) -> Result<Self> {
        let client = redis::Client::open(url).map_err(|e| config_error(url, e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let manager = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|e| from_redis("could not connect to redis", e))?;
        Ok(Self {
            inner: Inner::Single(manager),
            pubsub: client,
        })
    }

    /// Connects to a Redis Cluster through any of its nodes (`redis://host:port` each).
    pub async fn connect_cluster(nodes: &[&str]) -> Result<Self> {
        let first = nodes
            .first()
            .ok_or_else(|| Error::invalid("redis cluster", "at least one node is required"))?;
        let pubsub = redis::Client::open(*first).map_err(|e| config_error(first, e))?;
        let client = ClusterClient::builder(nodes.iter().copied())
            .connection_timeout(CONNECT_TIMEOUT)
            .retries(3)
            .build()
            .map_err(|e| config_error(first, e))?;
        let conn = client
            .get_async_connection()
            .await
            .map_err(|e| from_redis("could not connect to the redis cluster", e))?;
        Ok(Self {
            inner: Inner::Cluster(conn),
            pubsub,
        })
    }

    /// Whether this is a cluster connection.
    pub fn is_cluster(&self) -> bool {
        matches!(self.inner, Inner::Cluster(_))
    }

    /// The client for a node that pub/sub subscriptions connect to.
    pub fn pubsub_client(&self) -> &redis::Client {
        &self.pubsub
    }
}

fn config_error(url: &str, e: redis::RedisError) -> Error {
    // Never echo the URL: it may hold a password.
    let _ = url;
    Error::new(
        apikey_core::ErrorKind::Config,
        "invalid redis connection settings",
    )
    .with_source(e)
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConnection")
            .field("cluster", &self.is_cluster())
            .finish_non_exhaustive()
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match &mut self.inner {
            Inner::Single(c) => c.req_packed_command(cmd),
            Inner::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match &mut self.inner {
            Inner::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Inner::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match &self.inner {
            Inner::Single(c) => c.get_db(),
            Inner::Cluster(c) => c.get_db(),
        }
    }
}
