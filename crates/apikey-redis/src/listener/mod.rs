//! [`RevocationListener`]: applies the invalidations other instances publish to this instance's
//! verifier, keeps this instance in the registry of live instances and acknowledges the
//! confirmation requests it applies, and vouches for the verifier's in-process cache only while
//! it is sure no invalidation was missed.

mod session;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use apikey_core::{Error, Result, Verifier};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cache::RedisCache;
use crate::conn::RedisConnection;
use crate::presence::RedisInstances;
use crate::threats::RedisThreatShare;

/// How often the listener pings its pub/sub connection and renews its presence; a ping
/// unanswered within the same time counts as a lost subscription (a silent network cut otherwise
/// looks like a quiet channel).
const DEFAULT_PING_EVERY: Duration = Duration::from_millis(500);

/// How long the registry keeps an instance that stopped renewing its presence.
pub const DEFAULT_PRESENCE_TTL: Duration = Duration::from_secs(10);

/// How long after its last successful ping and heartbeat an instance still answers from its
/// in-process cache.
pub const DEFAULT_TRUST_WINDOW: Duration = Duration::from_secs(3);

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) applied: AtomicU64,
    pub(crate) acknowledged: AtomicU64,
    pub(crate) malformed: AtomicU64,
}

/// A background task subscribed to a [`RedisCache`]'s invalidation channel.
///
/// - Each message `"<lookup id> <version>"` becomes `verifier.invalidate(lookup, version)`.
/// - The instance is registered in [`RedisInstances`] (renewed with every ping, dropped by Redis
///   after the presence TTL without one), and each confirmation request
///   (`"confirm <request> <lookup id> <version>"`, sent by [`RedisConfirmer`](crate::RedisConfirmer))
///   is applied, then acknowledged. Requests published while it was not subscribed are read
///   from the registry and applied when it subscribes again.
/// - Every time the subscription is established — at start and after each loss — the task
///   clears the verifier's in-process cache, so an instance never serves an entry whose
///   invalidation it may have missed.
/// - **Trust window.** The verifier answers from its in-process cache only until the trust
///   window has passed since the last ping and heartbeat that succeeded
///   ([`Verifier::trust_cache_until`]); an instance cut off from Redis, or paused, then reads
///   the store for every verification until it has resubscribed and cleared its cache. The
///   window is shorter than the presence TTL, so an instance that has dropped out of the
///   registry cannot be answering from its cache: that is what lets a confirmation count a
///   departed instance as done.
///
/// - Each `"block <network> <until ms>"` (from [`RedisThreatShare`]) becomes
///   `verifier.block_network(network, until)`, and the blocks still running are read and applied
///   every time the subscription is established, so an instance started later refuses them too.
///
/// Dropping the listener stops the task (its presence then runs out by itself);
/// [`shutdown`](Self::shutdown) also leaves the registry at once.
pub struct RevocationListener {
    task: JoinHandle<()>,
    subscribed: watch::Receiver<u64>,
    counters: Arc<Counters>,
    id: String,
    registry: RedisInstances,
}

/// Settings of a [`RevocationListener`]; from [`RevocationListener::builder`].
#[derive(Debug)]
#[must_use = "call spawn() to start the listener"]
pub struct ListenerBuilder {
    client: redis::Client,
    channel: String,
    verifier: Verifier,
    registry: RedisInstances,
    blocks: RedisThreatShare,
    name: Option<String>,
    ping_every: Duration,
    presence_ttl: Duration,
    trust_window: Duration,
}

impl ListenerBuilder {
    /// The name `apikey instances` shows (default: `HOSTNAME`, if set, and the process id).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// How often to ping and renew the presence (default 500 ms).
    pub fn ping_every(mut self, every: Duration) -> Self {
        self.ping_every = every;
        self
    }

    /// How long the registry keeps this instance without a renewal (default 10 s). A crashed
    /// instance holds up confirmations this long, then counts as departed.
    pub fn presence_ttl(mut self, ttl: Duration) -> Self {
        self.presence_ttl = ttl;
        self
    }

    /// How long after the last successful ping the in-process cache is still answered from
    /// (default 3 s). Must leave at least a ping interval of the presence TTL.
    pub fn trust_window(mut self, window: Duration) -> Self {
        self.trust_window = window;
        self
    }

    /// Subscribes with this client instead of the connection's (a test routes it through a
    /// proxy it can cut).
    pub fn pubsub_client(mut self, client: redis::Client) -> Self {
        self.client = client;
        self
    }

    /// Starts the task. Needs a tokio runtime. Refuses windows that would let an instance leave
    /// the registry while still answering from its cache.
    pub fn spawn(self) -> Result<RevocationListener> {
        if self.ping_every.is_zero()
            || self.trust_window <= self.ping_every
            || self.trust_window + self.ping_every > self.presence_ttl
        {
            return Err(Error::invalid(
                "revocation listener",
                "needs 0 < ping interval < trust window and trust window + ping interval <= presence TTL",
            ));
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let name = self.name.or_else(default_name);
        let (tx, rx) = watch::channel(0);
        let counters = Arc::new(Counters::default());
        let settings = session::Settings {
            client: self.client,
            channel: self.channel,
            verifier: self.verifier,
            registry: self.registry.clone(),
            blocks: self.blocks,
            id: id.clone(),
            name,
            ping_every: self.ping_every,
            presence_ttl: self.presence_ttl,
            trust_window: self.trust_window,
        };
        // Nothing is vouched for until the first subscription.
        settings.verifier.distrust_cache();
        let task = tokio::spawn(session::run(settings, tx, Arc::clone(&counters)));
        Ok(RevocationListener {
            task,
            subscribed: rx,
            counters,
            id,
            registry: self.registry,
        })
    }
}

fn default_name() -> Option<String> {
    let pid = std::process::id();
    Some(match std::env::var("HOSTNAME") {
        Ok(host) if !host.is_empty() => format!("{host}/{pid}"),
        _ => format!("pid {pid}"),
    })
}

impl RevocationListener {
    /// Starts listening on `cache`'s channel through `conn`'s pub/sub client, with the default
    /// settings. Needs a tokio runtime.
    pub fn spawn(conn: &RedisConnection, cache: &RedisCache, verifier: Verifier) -> Self {
        Self::builder(conn, cache, verifier)
            .spawn()
            .expect("the default windows are consistent")
    }

    /// A listener on `cache`'s channel and registry (same prefix), to configure.
    pub fn builder(
        conn: &RedisConnection,
        cache: &RedisCache,
        verifier: Verifier,
    ) -> ListenerBuilder {
        ListenerBuilder {
            client: conn.pubsub_client().clone(),
            channel: cache.channel().to_owned(),
            verifier,
            registry: RedisInstances::new(conn.clone()).with_prefix(cache.prefix().clone()),
            blocks: RedisThreatShare::new(conn.clone(), cache),
            name: None,
            ping_every: DEFAULT_PING_EVERY,
            presence_ttl: DEFAULT_PRESENCE_TTL,
            trust_window: DEFAULT_TRUST_WINDOW,
        }
    }

    /// This instance's id in the registry.
    pub fn instance_id(&self) -> &str {
        &self.id
    }

    /// How many times the subscription has been established (1 after the first, +1 per recovery).
    pub fn subscriptions(&self) -> u64 {
        *self.subscribed.borrow()
    }

    /// Invalidations applied so far (confirmation requests included).
    pub fn applied(&self) -> u64 {
        self.counters.applied.load(Ordering::Relaxed)
    }

    /// Confirmation requests acknowledged so far.
    pub fn acknowledged(&self) -> u64 {
        self.counters.acknowledged.load(Ordering::Relaxed)
    }

    /// Waits until the subscription has been established at least `n` times, or `timeout`.
    pub async fn wait_subscribed(&self, n: u64, timeout: Duration) -> bool {
        let mut rx = self.subscribed.clone();
        tokio::time::timeout(timeout, rx.wait_for(|&count| count >= n))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Stops the task and leaves the registry at once, so confirmations stop waiting for this
    /// instance (call it on graceful shutdown).
    pub async fn shutdown(self) {
        self.task.abort();
        if let Err(e) = self.registry.leave(&self.id).await {
            tracing::warn!(error = %e, "could not leave the instance registry; it expires by itself");
        }
    }
}

impl Drop for RevocationListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl fmt::Debug for RevocationListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationListener")
            .field("instance_id", &self.id)
            .field("subscriptions", &self.subscriptions())
            .field("applied", &self.applied())
            .field("acknowledged", &self.acknowledged())
            .field(
                "malformed",
                &self.counters.malformed.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}
