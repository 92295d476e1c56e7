//! The listener's task: one subscription at a time, each opened by registering, subscribing,
//! clearing the cache and applying the pending confirmation requests, and ended by any sign that
//! a message may have been missed.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use apikey_core::log_throttle::LogThrottle;
use apikey_core::{LookupId, Result, Verifier};
use futures_util::StreamExt;
use tokio::sync::watch;

use super::Counters;
use crate::presence::{RedisInstances, Request};

/// First and longest wait between reconnection attempts.
const RETRY_MIN: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(2);

pub(super) struct Settings {
    pub(super) client: redis::Client,
    pub(super) channel: String,
    pub(super) verifier: Verifier,
    pub(super) registry: RedisInstances,
    pub(super) blocks: crate::threats::RedisThreatShare,
    pub(super) id: String,
    pub(super) name: Option<String>,
    pub(super) ping_every: Duration,
    pub(super) presence_ttl: Duration,
    pub(super) trust_window: Duration,
}

/// What a message on the channel asks.
#[derive(Debug, PartialEq, Eq)]
enum Message {
    Invalidate(LookupId, u64),
    Confirm(Request),
    Block(ipnet::IpNet, chrono::DateTime<chrono::Utc>),
}

/// Parses `"<lookup id> <version>"`, `"confirm <request> <lookup id> <version>"` or
/// `"block <network> <until ms>"`.
fn parse(payload: &str) -> Option<Message> {
    if payload.starts_with("block ") {
        return crate::threats::parse_block(payload).map(|(n, until)| Message::Block(n, until));
    }
    if let Some(request) = payload.strip_prefix("confirm ") {
        return Request::parse(request).map(Message::Confirm);
    }
    let (lookup, version) = payload.split_once(' ')?;
    Some(Message::Invalidate(
        LookupId::parse(lookup).ok()?,
        version.parse().ok()?,
    ))
}

pub(super) async fn run(s: Settings, subscribed: watch::Sender<u64>, counters: Arc<Counters>) {
    let mut backoff = RETRY_MIN;
    loop {
        match session(&s, &subscribed, &counters).await {
            Ok(()) => backoff = RETRY_MIN,
            Err(e) => {
                tracing::warn!(error = %e, channel = %s.channel, "invalidation subscription failed");
            }
        }
        // Invalidations published from now until the next subscription are lost.
        s.verifier.distrust_cache();
        s.verifier.clear_cache();
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(RETRY_MAX);
    }
}

fn window(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Applies a confirmation request, then says so.
async fn confirm(s: &Settings, counters: &Counters, request: &Request) -> Result<()> {
    s.verifier.invalidate(request.lookup, request.version);
    counters.applied.fetch_add(1, Ordering::Relaxed);
    s.registry.acknowledge(&request.id, &s.id).await?;
    counters.acknowledged.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// One subscription, until it is lost. `Ok` if it was established (and later lost).
async fn session(s: &Settings, subscribed: &watch::Sender<u64>, counters: &Counters) -> Result<()> {
    let started = s.verifier.clock().now();
    // Registered before subscribing: a confirmation asked from now on waits for this instance,
    // and one asked before it was published before this subscription, so it is pending below.
    s.registry
        .heartbeat(&s.id, s.name.as_deref(), s.presence_ttl)
        .await?;
    let connect = async {
        let mut pubsub = s.client.get_async_pubsub().await?;
        pubsub.subscribe(&s.channel).await?;
        Ok::<_, redis::RedisError>(pubsub)
    };
    let pubsub = tokio::time::timeout(s.ping_every * 4, connect)
        .await
        .map_err(|_| apikey_core::Error::unavailable("subscribing to invalidations timed out"))?
        .map_err(|e| {
            apikey_core::Error::unavailable("could not subscribe to invalidations").with_source(e)
        })?;
    let (mut sink, mut stream) = pubsub.split();
    // Anything cached before this point may have missed an invalidation.
    s.verifier.clear_cache();
    for request in s.registry.pending().await? {
        confirm(s, counters, &request).await?;
    }
    // Blocks shared while this instance was not subscribed.
    for (network, until) in s.blocks.active(s.verifier.clock().now()).await? {
        s.verifier.block_network(network, until);
    }
    s.verifier
        .trust_cache_until(started + window(s.trust_window));
    subscribed.send_modify(|n| *n += 1);
    tracing::info!(channel = %s.channel, instance = %s.id, "subscribed to key invalidations");
    // The first ping is one interval away: the subscription just answered, and the trust
    // window was set from it above.
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + s.ping_every, s.ping_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            msg = stream.next() => {
                let Some(msg) = msg else {
                    tracing::warn!(channel = %s.channel, "invalidation subscription lost");
                    return Ok(());
                };
                match msg.get_payload::<String>().ok().as_deref().and_then(parse) {
                    Some(Message::Invalidate(lookup, version)) => {
                        s.verifier.invalidate(lookup, version);
                        counters.applied.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(Message::Confirm(request)) => confirm(s, counters, &request).await?,
                    Some(Message::Block(network, until)) => {
                        s.verifier.block_network(network, until);
                    }
                    None => {
                        counters.malformed.fetch_add(1, Ordering::Relaxed);
                        // Anyone who can publish on the channel could send these by the million.
                        static MALFORMED_LOG: LogThrottle =
                            LogThrottle::new(crate::OUTAGE_LOG_INTERVAL);
                        if let Some(suppressed) = MALFORMED_LOG.allow_monotonic() {
                            tracing::warn!(channel = %s.channel, suppressed, "ignoring a malformed invalidation message");
                        }
                    }
                }
            }
            _ = tick.tick() => {
                let now = s.verifier.clock().now();
                if s.verifier.cache_trusted_until().is_some_and(|until| now >= until) {
                    // Paused or starved past the window: messages may be waiting unread behind
                    // requests that would otherwise be answered from the cache. Start over.
                    tracing::warn!(channel = %s.channel, "invalidation listener fell behind its trust window; resubscribing");
                    return Ok(());
                }
                let ping = tokio::time::timeout(s.ping_every, sink.ping::<redis::Value>()).await;
                if !matches!(ping, Ok(Ok(_))) {
                    tracing::warn!(channel = %s.channel, "invalidation subscription unresponsive; reconnecting");
                    return Ok(());
                }
                s.registry.heartbeat(&s.id, s.name.as_deref(), s.presence_ttl).await?;
                s.verifier.trust_cache_until(now + window(s.trust_window));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_invalidations_and_confirmation_requests() {
        let id = LookupId::generate();
        assert_eq!(parse(&format!("{id} 7")), Some(Message::Invalidate(id, 7)));
        assert_eq!(
            parse(&format!("confirm r1 {id} 8")),
            Some(Message::Confirm(Request {
                id: "r1".into(),
                lookup: id,
                version: 8
            }))
        );
        assert_eq!(parse("nonsense"), None);
        assert_eq!(parse(&format!("{id} x")), None);
        assert_eq!(parse(&format!("confirm {id} 8")), None);
    }
}
