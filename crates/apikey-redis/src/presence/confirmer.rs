//! [`RedisConfirmer`]: asks every live instance to apply an invalidation and waits for them.

use std::time::{Duration, Instant};

use apikey_core::{Confirmation, Confirmer, LookupId, Result};
use async_trait::async_trait;

use super::registry::{Answer, RedisInstances};

/// First and longest pause between two reads of the answers: the first answers come within a
/// round trip or two, a slow instance is waited for without hammering Redis.
const POLL_MIN: Duration = Duration::from_millis(1);
const POLL_MAX: Duration = Duration::from_millis(20);

/// How long a request stays pending beyond its timeout, so an instance that resubscribes a little
/// late still applies it.
const KEEP_AFTER_TIMEOUT: Duration = Duration::from_secs(60);

/// A [`Confirmer`] over the instance registry every
/// [`RevocationListener`](crate::RevocationListener) keeps itself in.
///
/// `confirm` snapshots the live instances, records the request as pending, publishes it on the
/// invalidation channel, and reads the answers until every instance asked has acknowledged it or
/// let its presence run out, or until the timeout. An instance that joins after the snapshot
/// subscribed after the change was committed, so it cleared its first-level cache after it.
#[derive(Debug, Clone)]
pub struct RedisConfirmer {
    instances: RedisInstances,
    channel: String,
}

impl RedisConfirmer {
    /// Confirms with the instances of `instances` (same connection and prefix as their cache).
    pub fn new(instances: RedisInstances) -> Self {
        let channel = instances.prefix().channel();
        Self { instances, channel }
    }
}

#[async_trait]
impl Confirmer for RedisConfirmer {
    async fn confirm(
        &self,
        lookup: &LookupId,
        version: u64,
        timeout: Duration,
    ) -> Result<Confirmation> {
        let started = Instant::now();
        let request = uuid::Uuid::new_v4().simple().to_string();
        let asked = self
            .instances
            .ask(
                &request,
                lookup,
                version,
                timeout + KEEP_AFTER_TIMEOUT,
                &self.channel,
            )
            .await?;
        let mut pause = POLL_MIN;
        loop {
            let answers = if asked == 0 {
                Vec::new()
            } else {
                self.instances.answers(&request).await?
            };
            let done = !answers.iter().any(|(_, a)| *a == Answer::Missing);
            if done || started.elapsed() >= timeout {
                let (mut acknowledged, mut departed, mut missing) = (vec![], vec![], vec![]);
                for (instance, answer) in answers {
                    match answer {
                        Answer::Acknowledged => acknowledged.push(instance),
                        Answer::Departed => departed.push(instance),
                        Answer::Missing => missing.push(instance),
                    }
                }
                let confirmation =
                    Confirmation::new(acknowledged, departed, missing, started.elapsed());
                if !confirmation.is_complete() {
                    tracing::warn!(
                        lookup_id = %lookup,
                        version,
                        missing = confirmation.missing.len(),
                        "not every instance confirmed the invalidation in time"
                    );
                }
                return Ok(confirmation);
            }
            let left = timeout.saturating_sub(started.elapsed());
            tokio::time::sleep(pause.min(left)).await;
            pause = (pause * 2).min(POLL_MAX);
        }
    }
}
