//! [`RevocationListener`]: applies the invalidations other instances publish to this instance's
//! verifier, and drops the verifier's in-process cache whenever the subscription was lost,
//! because invalidations sent meanwhile are gone.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use apikey_core::log_throttle::LogThrottle;
use apikey_core::{LookupId, Verifier};
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cache::RedisCache;
use crate::conn::RedisConnection;

/// How often the listener pings its pub/sub connection; a ping unanswered within the same time
/// counts as a lost subscription (a silent network cut otherwise looks like a quiet channel).
const DEFAULT_PING_EVERY: Duration = Duration::from_millis(500);

/// First and longest wait between reconnection attempts.
const RETRY_MIN: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
struct Counters {
    applied: AtomicU64,
    malformed: AtomicU64,
}

/// A background task subscribed to a [`RedisCache`]'s invalidation channel.
///
/// Each message `"<lookup id> <version>"` becomes `verifier.invalidate(lookup, version)`. Every
/// time the subscription is established — at start and after each loss — the task calls
/// `verifier.clear_cache()` (also as soon as a loss is noticed), so an instance never serves a
/// first-level entry whose invalidation it may have missed. Losses are noticed when the connection
/// closes or a periodic ping goes unanswered. Dropping the listener stops the task.
pub struct RevocationListener {
    task: JoinHandle<()>,
    subscribed: watch::Receiver<u64>,
    counters: Arc<Counters>,
}

impl RevocationListener {
    /// Starts listening on `cache`'s channel through `conn`'s pub/sub client. Needs a tokio runtime.
    pub fn spawn(conn: &RedisConnection, cache: &RedisCache, verifier: Verifier) -> Self {
        Self::spawn_on(
            conn.pubsub_client().clone(),
            cache.channel().to_owned(),
            verifier,
            DEFAULT_PING_EVERY,
        )
    }

    /// Starts listening on `channel` with `client`, pinging every `ping_every`.
    pub fn spawn_on(
        client: redis::Client,
        channel: String,
        verifier: Verifier,
        ping_every: Duration,
    ) -> Self {
        let (tx, rx) = watch::channel(0);
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(run(
            client,
            channel,
            verifier,
            ping_every,
            tx,
            Arc::clone(&counters),
        ));
        Self {
            task,
            subscribed: rx,
            counters,
        }
    }

    /// How many times the subscription has been established (1 after the first, +1 per recovery).
    pub fn subscriptions(&self) -> u64 {
        *self.subscribed.borrow()
    }

    /// Invalidations applied so far.
    pub fn applied(&self) -> u64 {
        self.counters.applied.load(Ordering::Relaxed)
    }

    /// Waits until the subscription has been established at least `n` times, or `timeout`.
    pub async fn wait_subscribed(&self, n: u64, timeout: Duration) -> bool {
        let mut rx = self.subscribed.clone();
        tokio::time::timeout(timeout, rx.wait_for(|&count| count >= n))
            .await
            .is_ok_and(|r| r.is_ok())
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
            .field("subscriptions", &self.subscriptions())
            .field("applied", &self.applied())
            .field(
                "malformed",
                &self.counters.malformed.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}

/// Parses `"<lookup id> <version>"`.
fn parse(payload: &str) -> Option<(LookupId, u64)> {
    let (lookup, version) = payload.split_once(' ')?;
    Some((LookupId::parse(lookup).ok()?, version.parse().ok()?))
}

async fn run(
    client: redis::Client,
    channel: String,
    verifier: Verifier,
    ping_every: Duration,
    subscribed: watch::Sender<u64>,
    counters: Arc<Counters>,
) {
    let mut backoff = RETRY_MIN;
    loop {
        match session(
            &client,
            &channel,
            &verifier,
            ping_every,
            &subscribed,
            &counters,
        )
        .await
        {
            Ok(()) => backoff = RETRY_MIN,
            Err(e) => tracing::warn!(error = %e, %channel, "invalidation subscription failed"),
        }
        // Invalidations published from now until the next subscription are lost.
        verifier.clear_cache();
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(RETRY_MAX);
    }
}

/// One subscription, until it is lost. `Ok` if it was established (and later lost).
async fn session(
    client: &redis::Client,
    channel: &str,
    verifier: &Verifier,
    ping_every: Duration,
    subscribed: &watch::Sender<u64>,
    counters: &Counters,
) -> redis::RedisResult<()> {
    let connect = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, redis::RedisError>(pubsub)
    };
    let pubsub = tokio::time::timeout(ping_every * 4, connect)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "subscribe timed out"))??;
    let (mut sink, mut stream) = pubsub.split();
    // Anything cached before this point may have missed an invalidation.
    verifier.clear_cache();
    subscribed.send_modify(|n| *n += 1);
    tracing::info!(%channel, "subscribed to key invalidations");
    let mut tick = tokio::time::interval(ping_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            msg = stream.next() => {
                let Some(msg) = msg else {
                    tracing::warn!(%channel, "invalidation subscription lost");
                    return Ok(());
                };
                match msg.get_payload::<String>().ok().as_deref().and_then(parse) {
                    Some((lookup, version)) => {
                        verifier.invalidate(lookup, version);
                        counters.applied.fetch_add(1, Ordering::Relaxed);
                    }
                    None => {
                        counters.malformed.fetch_add(1, Ordering::Relaxed);
                        // Anyone who can publish on the channel could send these by the million.
                        static MALFORMED_LOG: LogThrottle =
                            LogThrottle::new(crate::OUTAGE_LOG_INTERVAL);
                        if let Some(suppressed) = MALFORMED_LOG.allow_monotonic() {
                            tracing::warn!(%channel, suppressed, "ignoring a malformed invalidation message");
                        }
                    }
                }
            }
            _ = tick.tick() => {
                let ping = tokio::time::timeout(ping_every, sink.ping::<redis::Value>()).await;
                if !matches!(ping, Ok(Ok(_))) {
                    tracing::warn!(%channel, "invalidation subscription unresponsive; reconnecting");
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lookup_and_version() {
        let id = LookupId::generate();
        assert_eq!(parse(&format!("{id} 7")), Some((id, 7)));
        assert_eq!(parse("nonsense"), None);
        assert_eq!(parse(&format!("{id} x")), None);
    }
}
