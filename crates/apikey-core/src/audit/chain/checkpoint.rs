//! Checkpoints: every event since the previous checkpoint, by position and hash, under a MAC.
//!
//! A hash chain alone proves only that the log is consistent: someone who can write the database
//! can also recompute SHA-256. A checkpoint adds a secret. Each one lists the events from the
//! previous checkpoint's position to its own (`through`), with their hashes, and is sealed with
//! `HMAC-SHA-256` under a fresh random key that the [`SecretBox`] seals into the checkpoint
//! itself — so verifying needs the KEK, and forging needs it too. Checkpoints link to each other
//! by MAC, so removing one breaks the next.
//!
//! The job follows the log with an [`AuditReader`] named [`CHECKPOINT_READER`]: an event whose
//! transaction commits late is still covered, and retention never purges an event no checkpoint
//! has covered yet (purges stop at the slowest reader's cursor).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use super::canonical::digest;
use super::link::ChainHash;
use crate::audit::{AuditEvent, AuditFilter, AuditReader, AuditStore, EventType};
use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result};
use crate::ids::TenantScope;
use crate::jobs::{Job, JobRun};
use crate::secret_box::{Binding, Sealed, SecretBox};

/// The name of the checkpoint job's reader cursor.
pub const CHECKPOINT_READER: &str = "audit.checkpoint";

/// Most events one checkpoint lists (one reader batch); a longer backlog gets several
/// checkpoints in one run.
pub const MAX_EVENTS_PER_CHECKPOINT: u32 = 1000;

const MAC_PURPOSE: &str = "audit-checkpoint-mac";

/// One event as a checkpoint lists it: `[position, id, at (ms), hash]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Covered(pub u64, pub Uuid, pub i64, pub ChainHash);

/// The payload of an `audit.checkpoint` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// 1 for the first checkpoint, then one more each time.
    pub seq: u64,
    /// The MAC of checkpoint `seq - 1` (absent for the first).
    pub prev: Option<ChainHash>,
    /// When it was made (milliseconds since the epoch).
    pub made_at: i64,
    /// Every event at or below this position is listed here or in an earlier checkpoint.
    pub through: u64,
    /// The events since the previous checkpoint, in position order (checkpoints excluded).
    pub events: Vec<Covered>,
    /// The MAC key, sealed by the secret box.
    pub key: String,
    /// `HMAC-SHA-256(key, JSON of the fields above)`.
    pub mac: ChainHash,
}

impl Checkpoint {
    fn binding(seq: u64) -> Binding {
        Binding::new(format!("audit.checkpoint:{seq}"), MAC_PURPOSE)
    }

    fn body_mac(&self, key: &[u8]) -> ChainHash {
        #[derive(Serialize)]
        struct Body<'a> {
            seq: u64,
            prev: Option<ChainHash>,
            made_at: i64,
            through: u64,
            events: &'a [Covered],
            key: &'a str,
        }
        let body = Body {
            seq: self.seq,
            prev: self.prev,
            made_at: self.made_at,
            through: self.through,
            events: &self.events,
            key: &self.key,
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(&serde_json::to_vec(&body).expect("a checkpoint always serializes"));
        ChainHash(mac.finalize().into_bytes().into())
    }

    /// A sealed checkpoint over `events`.
    pub fn seal(
        sbox: &SecretBox,
        seq: u64,
        prev: Option<ChainHash>,
        made_at: i64,
        through: u64,
        events: Vec<Covered>,
    ) -> Result<Self> {
        let mut key = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut()).map_err(|e| Error::backend("OS random source", e))?;
        let sealed = sbox
            .seal(key.as_ref(), &Self::binding(seq))
            .map_err(|e| Error::backend("sealing the checkpoint key", e))?
            .encode();
        let mut cp = Self {
            seq,
            prev,
            made_at,
            through,
            events,
            key: sealed,
            mac: ChainHash::GENESIS,
        };
        cp.mac = cp.body_mac(key.as_ref());
        Ok(cp)
    }

    /// Whether the MAC holds, under the key the secret box opens. `Err` when the key does not
    /// open (another KEK, or a key copied from another checkpoint).
    pub fn verify(&self, sbox: &SecretBox) -> Result<bool> {
        let sealed = Sealed::parse(&self.key)
            .map_err(|e| Error::invalid("checkpoint key", e.to_string()))?;
        let key = sbox
            .open(&sealed, &Self::binding(self.seq))
            .map_err(|e| Error::invalid("checkpoint key", e.to_string()))?;
        let expected = self.body_mac(&key);
        Ok(subtle::ConstantTimeEq::ct_eq(&expected.0[..], &self.mac.0[..]).into())
    }

    /// The checkpoint an `audit.checkpoint` event carries.
    pub fn from_event(e: &AuditEvent) -> Result<Self> {
        let data = e
            .data
            .clone()
            .ok_or_else(|| Error::invalid("audit checkpoint", "has no payload"))?;
        serde_json::from_value(data).map_err(|e| Error::invalid("audit checkpoint", e))
    }
}

/// The newest checkpoint in `store`, if any.
pub async fn last_checkpoint(store: &dyn AuditStore) -> Result<Option<Checkpoint>> {
    let mut filter = AuditFilter {
        types: vec![EventType::AuditCheckpoint],
        limit: 1000,
        ..AuditFilter::default()
    };
    let mut last: Option<Checkpoint> = None;
    loop {
        let page = store.query(&TenantScope::All, &filter).await?;
        let full = page.len() >= 1000;
        if let Some(e) = page.last() {
            filter.after = Some((e.at, e.id));
        }
        for e in &page {
            let cp = Checkpoint::from_event(e)?;
            if last.as_ref().is_none_or(|l| cp.seq > l.seq) {
                last = Some(cp);
            }
        }
        if !full {
            return Ok(last);
        }
    }
}

/// `audit.checkpoint`: covers the events written since the last run with a checkpoint, hourly by
/// default.
#[derive(Debug)]
pub struct AuditCheckpointJob {
    store: Arc<dyn AuditStore>,
    clock: Arc<dyn Clock>,
    sbox: SecretBox,
    period: Duration,
    gap_timeout: Duration,
}

impl AuditCheckpointJob {
    /// The job's name, as `apikey jobs run` takes it.
    pub const NAME: &'static str = "audit.checkpoint";

    /// Checkpoints `store`'s log, sealing MAC keys with `sbox`.
    pub fn new(store: Arc<dyn AuditStore>, clock: Arc<dyn Clock>, sbox: SecretBox) -> Self {
        Self {
            store,
            clock,
            sbox,
            period: Duration::from_secs(60 * 60),
            gap_timeout: AuditReader::DEFAULT_GAP_TIMEOUT,
        }
    }

    /// How often a checkpoint is made (hourly by default). Events written after the last
    /// checkpoint are only as safe as the chain's own consistency, so this bounds that window.
    #[must_use]
    pub fn every(mut self, period: Duration) -> Self {
        self.period = period;
        self
    }

    /// How long the reader waits on a position that may still commit (see [`AuditReader`]).
    #[must_use]
    pub fn gap_timeout(mut self, timeout: Duration) -> Self {
        self.gap_timeout = timeout;
        self
    }

    /// Makes checkpoints until every settled event is covered; returns how many were made.
    pub async fn checkpoint_now(&self) -> Result<u64> {
        let mut reader = AuditReader::new(
            Arc::clone(&self.store),
            Arc::clone(&self.clock),
            CHECKPOINT_READER,
        )?
        .gap_timeout(self.gap_timeout)
        .batch(MAX_EVENTS_PER_CHECKPOINT);
        let mut last = last_checkpoint(self.store.as_ref()).await?;
        let mut made = 0;
        loop {
            let page = reader.poll().await?;
            let Some(through) = page.last().and_then(|e| e.position) else {
                return Ok(made);
            };
            let mut covered = Vec::with_capacity(page.len());
            for e in page {
                if e.event_type != EventType::AuditCheckpoint {
                    let position = e.position.unwrap_or_default();
                    covered.push(Covered(
                        position,
                        e.id,
                        e.at.timestamp_millis(),
                        digest(&e)?,
                    ));
                }
            }
            if !covered.is_empty() {
                let cp = self
                    .store_checkpoint(last.as_ref(), through, covered)
                    .await?;
                made += 1;
                last = Some(cp);
            }
            // Only now: a crash before this line covers the same events again in the next
            // checkpoint (verification accepts an event listed twice with one hash), never none.
            reader.ack(through).await?;
        }
    }

    async fn store_checkpoint(
        &self,
        last: Option<&Checkpoint>,
        through: u64,
        covered: Vec<Covered>,
    ) -> Result<Checkpoint> {
        let seq = last.map_or(1, |l| l.seq + 1);
        let now = self.clock.now();
        let cp = Checkpoint::seal(
            &self.sbox,
            seq,
            last.map(|l| l.mac),
            now.timestamp_millis(),
            through,
            covered,
        )?;
        let event = AuditEvent::system(
            EventType::AuditCheckpoint,
            None,
            None,
            now,
            Some(serde_json::to_value(&cp).map_err(|e| Error::invalid("checkpoint", e))?),
            &[&seq.to_string()],
        );
        if !self.store.append(&event).await? {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "another instance stored audit checkpoint {seq} first; the next run continues from it"
                ),
            ));
        }
        Ok(cp)
    }
}

#[async_trait]
impl Job for AuditCheckpointJob {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn period(&self) -> Duration {
        self.period
    }

    async fn run(&self, run: &JobRun) -> Result<()> {
        let made = self.checkpoint_now().await?;
        tracing::info!(
            job = Self::NAME,
            period = run.period,
            made,
            "audit checkpoints made"
        );
        Ok(())
    }
}
