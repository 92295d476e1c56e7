//! `keys.expiry`: warns before keys expire and records when they have, as system audit events and
//! [`KeyEvent`]s, each exactly once per key and threshold however many instances run the job.
//!
//! Exactly once comes from the audit log, not from the lease: an event's id is derived from the
//! key, its expiry and the threshold ([`AuditEvent::system`]), [`AuditStore::append`] stores an
//! id once and says whether it did, and only the instance whose append stored the event emits
//! the [`KeyEvent`]. A period run twice (a takeover), or two instances racing, or a cron entry
//! beside a service, write and emit nothing twice. A key whose expiry is moved gets new warnings
//! for its new expiry.
//!
//! The stored state of an expired key stays what it was: expiry is enforced by the clock on every
//! verification (the effective state), and the `key.expired` event is what marks it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use crate::audit::{AuditEvent, AuditStore, EventSubject, EventType, SYSTEM_ACTOR};
use crate::clock::{Clock, truncate_ms};
use crate::error::{Error, Result};
use crate::event::{EventSink, KeyEvent, KeyEventKind};
use crate::ids::TenantScope;
use crate::jobs::{Job, JobRun};
use crate::manage::KeyManager;
use crate::record::KeyRecord;
use crate::state::KeyState;
use crate::store::{KeyFilter, KeyStore, MAX_PAGE_SIZE};

/// When to warn by default: 30, 7 and 1 day before expiry.
pub const DEFAULT_EXPIRY_THRESHOLDS: [u32; 3] = [30, 7, 1];

/// How the monitor runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryConfig {
    /// Days before expiry to warn at (1..=3650 each; at least one).
    pub thresholds_days: Vec<u32>,
    /// How often the job runs (a whole number of milliseconds, at least one).
    pub every: Duration,
    /// How far back an expiry is still reported as `key.expired`: covers a monitor that was down.
    pub lookback: Duration,
}

impl Default for ExpiryConfig {
    fn default() -> Self {
        Self {
            thresholds_days: DEFAULT_EXPIRY_THRESHOLDS.to_vec(),
            every: Duration::from_secs(60 * 60),
            lookback: Duration::from_secs(30 * 24 * 60 * 60),
        }
    }
}

/// The `keys.expiry` job: see the [module](self).
#[derive(Debug)]
pub struct ExpiryMonitor {
    store: Arc<dyn KeyStore>,
    audit: Arc<dyn AuditStore>,
    events: Arc<dyn EventSink>,
    clock: Arc<dyn Clock>,
    /// Ascending.
    thresholds: Vec<u32>,
    every: Duration,
    lookback: TimeDelta,
}

impl ExpiryMonitor {
    /// The job's name, as `apikey jobs run` takes it.
    pub const NAME: &'static str = "keys.expiry";

    /// A monitor over the keys `manager` manages (its store, clock and event sink), writing to
    /// `audit` (the store's own audit log). A bad configuration is `InvalidInput` naming the field.
    pub fn new(
        manager: &KeyManager,
        audit: Arc<dyn AuditStore>,
        config: ExpiryConfig,
    ) -> Result<Self> {
        let mut thresholds = config.thresholds_days;
        if thresholds.is_empty() {
            return Err(Error::invalid("thresholds_days", "must name at least one"));
        }
        if let Some(bad) = thresholds.iter().find(|d| !(1..=3650).contains(*d)) {
            return Err(Error::invalid(
                "thresholds_days",
                format_args!("{bad} is not 1..=3650"),
            ));
        }
        thresholds.sort_unstable();
        thresholds.dedup();
        let lookback = TimeDelta::from_std(config.lookback)
            .map_err(|_| Error::invalid("lookback", "is too long"))?;
        let (store, events, clock) = manager.parts();
        Ok(Self {
            store,
            audit,
            events,
            clock,
            thresholds,
            every: config.every,
            lookback,
        })
    }

    /// The event for `key` at `now`, if it is within a threshold or expired: (type, the
    /// threshold in days (0: expired), the event).
    fn event_for(&self, key: &KeyRecord, now: DateTime<Utc>) -> Option<(u32, AuditEvent)> {
        let expires = key.expires_at?;
        let stamp = expires.to_rfc3339_opts(SecondsFormat::Millis, true);
        let id = key.id.to_string();
        let (event_type, days, data) = if expires <= now {
            (
                EventType::Expired,
                0,
                serde_json::json!({ "expires_at": stamp }),
            )
        } else {
            let left = expires - now;
            // The tightest threshold reached: a key first seen with 5 days left is warned at 7,
            // not at 30 and 7 in one run.
            let days = *self
                .thresholds
                .iter()
                .find(|d| left <= TimeDelta::days(i64::from(**d)))?;
            (
                EventType::Expiring,
                days,
                serde_json::json!({ "expires_at": stamp, "threshold_days": days }),
            )
        };
        let days_part = days.to_string();
        let event = AuditEvent::system(
            event_type,
            Some(EventSubject::Key(key.id)),
            key.tenant_id.clone(),
            now,
            Some(data),
            &[&id, &stamp, &days_part],
        );
        Some((days, event))
    }
}

#[async_trait]
impl Job for ExpiryMonitor {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn period(&self) -> Duration {
        self.every
    }

    async fn run(&self, run: &JobRun) -> Result<()> {
        let now = truncate_ms(self.clock.now());
        let widest = self.thresholds.last().copied().unwrap_or(1);
        let mut filter = KeyFilter {
            states: vec![KeyState::Active, KeyState::Suspended, KeyState::Pending],
            expires_from: Some(now - self.lookback),
            // Inclusive of a key expiring exactly at the widest threshold.
            expires_to: Some(now + TimeDelta::days(i64::from(widest)) + TimeDelta::milliseconds(1)),
            limit: MAX_PAGE_SIZE,
            ..KeyFilter::default()
        };
        let (mut warned, mut expired) = (0u64, 0u64);
        loop {
            let page = self.store.query(&TenantScope::All, &filter).await?;
            for key in &page.items {
                let Some((days, event)) = self.event_for(key, now) else {
                    continue;
                };
                if !self.audit.append(&event).await? {
                    continue;
                }
                let kind = if days == 0 {
                    expired += 1;
                    KeyEventKind::Expired
                } else {
                    warned += 1;
                    KeyEventKind::Expiring { days }
                };
                self.events
                    .emit(&KeyEvent {
                        kind,
                        key_id: Some(key.id),
                        tenant_id: key.tenant_id.clone(),
                        actor: Some(SYSTEM_ACTOR.to_owned()),
                        at: now,
                    })
                    .await;
            }
            match page.next {
                Some(next) => filter.after = Some(next),
                None => break,
            }
        }
        tracing::info!(
            job = Self::NAME,
            period = run.period,
            warned,
            expired,
            "expiry monitor ran"
        );
        Ok(())
    }
}
