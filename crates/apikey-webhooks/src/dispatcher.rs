//! The delivery job: reads the audit log from the `webhooks` cursor, fans each event out to the
//! subscriptions that want it (idempotently: the delivery id is derived from the pair), then
//! sends what is due. Runs on the [`Scheduler`](apikey_core::jobs::Scheduler) under its lease, so
//! instances take turns and a crashed one is taken over; or by hand with
//! [`pump`](Dispatcher::pump) / [`run_until_idle`](Dispatcher::run_until_idle).
//!
//! Nothing is lost: the cursor moves only after the deliveries of the events before it are
//! stored, and a delivery's state changes only after its attempt, so a worker killed at any
//! point leaves work that the next run picks up (a delivery in flight when it died is sent
//! again — receivers deduplicate on `webhook-id`).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::time::Duration;

/// The gauge of deliveries pending (feature `metrics`).
#[cfg(feature = "metrics")]
pub(crate) const PENDING_GAUGE: &str = "apikey_webhook_deliveries_pending";

use apikey_core::audit::{AuditEvent, AuditReader, ReaderStart};
use apikey_core::jobs::{Job, JobRun};
use apikey_core::webhook::{Delivery, DeliveryState, Subscription, SubscriptionId, WebhookPayload};
use apikey_core::{Result, TenantScope};
use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::sync::Mutex;

use crate::admin::{READER, Webhooks};
use crate::sender::{SendLimits, Sender};

/// How the dispatcher works through its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatchConfig {
    /// The job's period: how often a scheduler runs it (1 s by default).
    pub period: Duration,
    /// Audit events read per batch, and deliveries fetched per batch (100).
    pub batch: u32,
    /// Deliveries in flight at once (16): a slow receiver holds one slot, not the queue.
    pub concurrency: usize,
    /// Batches per [`pump`](Dispatcher::pump) (10), so one run ends and its lease is renewed
    /// with the period rather than running forever under a backlog.
    pub batches_per_pump: u32,
    /// Limits of one attempt.
    pub limits: SendLimits,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            period: Duration::from_secs(1),
            batch: 100,
            concurrency: 16,
            batches_per_pump: 10,
            limits: SendLimits::default(),
        }
    }
}

/// What one [`pump`](Dispatcher::pump) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PumpReport {
    /// Audit events read from the log.
    pub events: u64,
    /// Deliveries newly enqueued for them.
    pub enqueued: u64,
    /// Attempts made.
    pub attempts: u64,
    /// Attempts that were delivered (2xx).
    pub delivered: u64,
    /// Attempts that failed and will be retried.
    pub retrying: u64,
    /// Deliveries given up (dead-lettered) in this pump.
    pub dead: u64,
}

impl PumpReport {
    /// Whether the pump found nothing to do.
    pub fn is_idle(&self) -> bool {
        self.events == 0 && self.attempts == 0
    }

    fn add(&mut self, other: &Self) {
        self.events += other.events;
        self.enqueued += other.enqueued;
        self.attempts += other.attempts;
        self.delivered += other.delivered;
        self.retrying += other.retrying;
        self.dead += other.dead;
    }
}

/// The delivery job (see the [module docs](self)).
#[derive(Debug)]
pub struct Dispatcher {
    hooks: Webhooks,
    sender: Sender,
    reader: Mutex<AuditReader>,
    config: DispatchConfig,
}

impl Dispatcher {
    /// The job's name, as `apikey jobs` lists it.
    pub const NAME: &'static str = "webhooks.deliver";

    /// A dispatcher for `hooks`.
    pub fn new(hooks: Webhooks, config: DispatchConfig) -> Result<Self> {
        let reader = AuditReader::new(hooks.audit().clone(), hooks.clock().clone(), READER)?
            .start(ReaderStart::Beginning)
            .batch(config.batch);
        let sender = Sender::new(&hooks.resolver_arc(), config.limits)?;
        Ok(Self {
            hooks,
            sender,
            reader: Mutex::new(reader),
            config,
        })
    }

    /// One pass: fan out new events, then send what is due.
    pub async fn pump(&self) -> Result<PumpReport> {
        let mut report = self.fan_out().await?;
        report.add(&self.deliver_due().await?);
        Ok(report)
    }

    /// Pumps until no event is unread and no delivery is due, then returns what it did in all
    /// (what `apikey webhooks run --until-idle` does). Deliveries waiting for a later retry do
    /// not keep it running; [`pending`](Self::pending) counts them.
    pub async fn run_until_idle(&self) -> Result<PumpReport> {
        let mut total = PumpReport::default();
        loop {
            let r = self.pump().await?;
            total.add(&r);
            if r.is_idle() {
                return Ok(total);
            }
        }
    }

    /// Attempts `delivery` now, whatever its due time, and records the outcome (what `apikey
    /// webhooks test` does with its ping). Returns the delivery as recorded.
    pub async fn send_now(&self, delivery: Delivery) -> Result<Delivery> {
        let sub = self
            .hooks
            .store()
            .subscription(&TenantScope::All, delivery.subscription_id)
            .await?;
        self.attempt(sub, delivery).await
    }

    /// Deliveries pending, due now or later.
    pub async fn pending(&self) -> Result<u64> {
        self.hooks.store().pending_count().await
    }

    async fn fan_out(&self) -> Result<PumpReport> {
        let (store, clock) = (self.hooks.store(), self.hooks.clock());
        let mut report = PumpReport::default();
        let mut reader = self.reader.lock().await;
        for _ in 0..self.config.batches_per_pump {
            let events = reader.poll().await?;
            let Some(last) = events.last().and_then(|e| e.position) else {
                break;
            };
            // Read after the events, every batch: a subscription stored before an event was
            // committed is then always seen with it.
            let subs = store.enabled().await?;
            let now = clock.now();
            let give_up = self.hooks.retry_policy().give_up_at(now);
            let mut batch = Vec::new();
            for event in &events {
                for sub in subs.iter().filter(|s| wants(s, event)) {
                    let body = WebhookPayload::of(event).to_json()?;
                    batch.push(Delivery::pending(
                        sub.id,
                        sub.tenant_id.clone(),
                        event.id,
                        event.event_type.as_str(),
                        body,
                        now,
                        give_up,
                    ));
                }
            }
            report.events += events.len() as u64;
            if !batch.is_empty() {
                report.enqueued += store.enqueue(&batch).await?;
            }
            reader.ack(last).await?;
        }
        Ok(report)
    }

    async fn deliver_due(&self) -> Result<PumpReport> {
        let (store, clock) = (self.hooks.store(), self.hooks.clock());
        let mut report = PumpReport::default();
        for _ in 0..self.config.batches_per_pump {
            let due = store.due(clock.now(), self.config.batch).await?;
            if due.is_empty() {
                break;
            }
            let mut subs: HashMap<SubscriptionId, Option<Subscription>> = HashMap::new();
            for d in &due {
                if let Entry::Vacant(slot) = subs.entry(d.subscription_id) {
                    slot.insert(
                        store
                            .subscription(&TenantScope::All, d.subscription_id)
                            .await?,
                    );
                }
            }
            let results: Vec<Result<Delivery>> = futures_util::stream::iter(due)
                .map(|d| {
                    let sub = subs.get(&d.subscription_id).cloned().flatten();
                    self.attempt(sub, d)
                })
                .buffer_unordered(self.config.concurrency.max(1))
                .collect()
                .await;
            for r in results {
                report.attempts += 1;
                match r?.state {
                    DeliveryState::Delivered => report.delivered += 1,
                    DeliveryState::Pending => report.retrying += 1,
                    DeliveryState::Failed => report.dead += 1,
                }
            }
        }
        Ok(report)
    }

    /// One attempt of `d`, recorded; the delivery as it is left.
    async fn attempt(&self, sub: Option<Subscription>, mut d: Delivery) -> Result<Delivery> {
        let (store, clock) = (self.hooks.store(), self.hooks.clock());
        let retry = self.hooks.retry_policy();
        let outcome = match &sub {
            None => apikey_core::webhook::AttemptOutcome::failed("the subscription was removed"),
            Some(s) if !s.enabled => {
                apikey_core::webhook::AttemptOutcome::failed("the subscription is disabled")
            }
            Some(s) => {
                let secrets = self.hooks.secrets(s, clock.now())?;
                self.sender.send(s, &secrets, &d, clock.now()).await
            }
        };
        let now = clock.now();
        let retry_at = match &sub {
            Some(s) if s.enabled => retry.next_attempt(d.attempts + 1, now, d.give_up_at),
            // Nothing to retry against: dead-letter it at once (a redeliver brings it back).
            _ => None,
        };
        if !outcome.delivered() {
            tracing::debug!(
                delivery = %d.id,
                subscription = %d.subscription_id,
                error = outcome.error.as_deref().unwrap_or_default(),
                "webhook attempt failed"
            );
        }
        d.record(now, &outcome, retry_at);
        store.record_attempt(&d).await?;
        Ok(d)
    }
}

/// Whether `event` goes to `sub`: same tenant, wanted type, and not from before the subscription
/// existed (a new subscription does not receive the backlog).
fn wants(sub: &Subscription, event: &AuditEvent) -> bool {
    sub.wants(event.tenant_id.as_ref(), event.event_type.as_str()) && event.at >= sub.created_at
}

#[async_trait]
impl Job for Dispatcher {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn period(&self) -> Duration {
        self.config.period
    }

    async fn run(&self, run: &JobRun) -> Result<()> {
        let r = self.pump().await?;
        #[cfg(feature = "metrics")]
        {
            // One count per run (every few seconds), not per delivery: the queue's depth as the
            // dispatcher leaves it. A failed count leaves the last value.
            if let Ok(pending) = self.pending().await {
                #[allow(clippy::cast_precision_loss)]
                metrics::gauge!(PENDING_GAUGE).set(pending as f64);
            }
        }
        if !r.is_idle() {
            tracing::info!(
                job = Self::NAME,
                period = run.period,
                events = r.events,
                enqueued = r.enqueued,
                delivered = r.delivered,
                retrying = r.retrying,
                dead = r.dead,
                "webhook deliveries"
            );
        }
        Ok(())
    }
}
