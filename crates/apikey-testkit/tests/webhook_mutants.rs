//! The webhook suite is not vacuous: each deliberately broken store below (the memory store with
//! one bug added) must make the named case fail.

use std::fmt;

use apikey_core::webhook::{
    Delivery, DeliveryFilter, DeliveryState, Subscription, SubscriptionId, WebhookStore,
};
use apikey_core::{Result, TenantScope};
use apikey_memory::MemoryStore;
use apikey_testkit::__private::block_on;
use apikey_testkit::webhooks as suite;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

mod common;

use common::{caught, seconds};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Bug {
    /// Every read and change acts as `TenantScope::All`.
    IgnoresTenant,
    /// Updates are written whatever version the writer names (a lost update).
    UpdateIgnoresVersion,
    /// A second enqueue of a stored id overwrites its state and counts as new.
    EnqueueOverwrites,
    /// `due` ignores `now`: every pending delivery is due.
    DueIgnoresNow,
    /// Retention also deletes old pending deliveries.
    PurgeDropsPending,
    /// Removing a subscription leaves its deliveries behind.
    RemoveKeepsDeliveries,
    /// Instants are kept to the second.
    SecondsOnly,
    /// Nothing (the wrapper itself must pass).
    None,
}

struct Buggy {
    inner: MemoryStore,
    bug: Bug,
}

impl fmt::Debug for Buggy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Buggy({:?})", self.bug)
    }
}

fn buggy(bug: Bug) -> Buggy {
    Buggy {
        inner: MemoryStore::new(),
        bug,
    }
}

impl Buggy {
    fn scope<'a>(&self, scope: &'a TenantScope) -> &'a TenantScope {
        if self.bug == Bug::IgnoresTenant {
            &TenantScope::All
        } else {
            scope
        }
    }

    async fn all(&self) -> Vec<Delivery> {
        let every = DeliveryFilter {
            limit: Some(1000),
            ..DeliveryFilter::default()
        };
        self.inner
            .deliveries(&TenantScope::All, &every)
            .await
            .expect("list")
    }
}

#[async_trait]
impl WebhookStore for Buggy {
    async fn insert_subscription(&self, s: &Subscription) -> Result<()> {
        let mut s = s.clone();
        if self.bug == Bug::SecondsOnly {
            s.created_at = seconds(s.created_at);
            s.updated_at = seconds(s.updated_at);
        }
        self.inner.insert_subscription(&s).await
    }
    async fn subscription(
        &self,
        tenant: &TenantScope,
        id: SubscriptionId,
    ) -> Result<Option<Subscription>> {
        self.inner.subscription(self.scope(tenant), id).await
    }
    async fn subscriptions(&self, tenant: &TenantScope) -> Result<Vec<Subscription>> {
        self.inner.subscriptions(self.scope(tenant)).await
    }
    async fn enabled(&self) -> Result<Vec<Subscription>> {
        self.inner.enabled().await
    }
    async fn update_subscription(&self, s: &Subscription, expected: u64) -> Result<bool> {
        if self.bug == Bug::UpdateIgnoresVersion
            && let Some(stored) = self.inner.subscription(&TenantScope::All, s.id).await?
        {
            return self.inner.update_subscription(s, stored.version).await;
        }
        self.inner.update_subscription(s, expected).await
    }
    async fn remove_subscription(&self, tenant: &TenantScope, id: SubscriptionId) -> Result<bool> {
        let kept: Vec<Delivery> = if self.bug == Bug::RemoveKeepsDeliveries {
            self.all()
                .await
                .into_iter()
                .filter(|d| d.subscription_id == id)
                .collect()
        } else {
            Vec::new()
        };
        let removed = self
            .inner
            .remove_subscription(self.scope(tenant), id)
            .await?;
        if removed {
            self.inner.enqueue(&kept).await?;
        }
        Ok(removed)
    }
    async fn enqueue(&self, deliveries: &[Delivery]) -> Result<u64> {
        let mut ds = deliveries.to_vec();
        if self.bug == Bug::SecondsOnly {
            for d in &mut ds {
                d.created_at = seconds(d.created_at);
                d.next_attempt_at = d.next_attempt_at.map(seconds);
            }
        }
        if self.bug == Bug::EnqueueOverwrites {
            let mut overwritten = 0;
            for d in &ds {
                if self.inner.record_attempt(d).await? {
                    overwritten += 1;
                }
            }
            return Ok(overwritten + self.inner.enqueue(&ds).await?);
        }
        self.inner.enqueue(&ds).await
    }
    async fn due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Delivery>> {
        let now = if self.bug == Bug::DueIgnoresNow {
            DateTime::<Utc>::MAX_UTC
        } else {
            now
        };
        self.inner.due(now, limit).await
    }
    async fn record_attempt(&self, delivery: &Delivery) -> Result<bool> {
        self.inner.record_attempt(delivery).await
    }
    async fn delivery(&self, tenant: &TenantScope, id: Uuid) -> Result<Option<Delivery>> {
        self.inner.delivery(self.scope(tenant), id).await
    }
    async fn deliveries(
        &self,
        tenant: &TenantScope,
        filter: &DeliveryFilter,
    ) -> Result<Vec<Delivery>> {
        self.inner.deliveries(self.scope(tenant), filter).await
    }
    async fn redeliver(
        &self,
        tenant: &TenantScope,
        id: Uuid,
        now: DateTime<Utc>,
        give_up_at: DateTime<Utc>,
    ) -> Result<bool> {
        self.inner
            .redeliver(self.scope(tenant), id, now, give_up_at)
            .await
    }
    async fn pending_count(&self) -> Result<u64> {
        self.inner.pending_count().await
    }
    async fn purge_deliveries(&self, before: DateTime<Utc>) -> Result<u64> {
        if self.bug == Bug::PurgeDropsPending {
            for mut d in self.all().await {
                if d.state == DeliveryState::Pending && d.created_at < before {
                    d.state = DeliveryState::Failed;
                    d.next_attempt_at = None;
                    self.inner.record_attempt(&d).await?;
                }
            }
        }
        self.inner.purge_deliveries(before).await
    }
}

#[test]
fn the_correct_wrapper_passes_every_case() {
    let s = || buggy(Bug::None);
    block_on(async {
        suite::subscription_round_trip(&s()).await;
        suite::duplicate_subscription_is_conflict(&s()).await;
        suite::update_is_compare_and_set(&s()).await;
        suite::subscriptions_apart_by_tenant(&s()).await;
        suite::remove_deletes_deliveries(&s()).await;
        suite::enqueue_is_idempotent(&s()).await;
        suite::due_is_ordered_and_limited(&s()).await;
        suite::record_attempt_writes_every_field(&s()).await;
        suite::deliveries_filter_and_order(&s()).await;
        suite::redeliver_makes_failed_due_again(&s()).await;
        suite::pending_count_counts_pending(&s()).await;
        suite::purge_keeps_pending_and_newer(&s()).await;
        suite::payloads_round_trip(&s()).await;
    });
}

#[test]
fn webhook_suite_catches_tenant_leaks() {
    caught("subscriptions across tenants", || {
        block_on(suite::subscriptions_apart_by_tenant(&buggy(
            Bug::IgnoresTenant,
        )));
    });
    caught("deliveries across tenants", || {
        block_on(suite::deliveries_filter_and_order(&buggy(
            Bug::IgnoresTenant,
        )));
    });
    caught("a redeliver across tenants", || {
        block_on(suite::redeliver_makes_failed_due_again(&buggy(
            Bug::IgnoresTenant,
        )));
    });
}

#[test]
fn webhook_suite_catches_write_bugs() {
    caught("a lost subscription update", || {
        block_on(suite::update_is_compare_and_set(&buggy(
            Bug::UpdateIgnoresVersion,
        )));
    });
    caught("an enqueue that overwrites", || {
        block_on(suite::enqueue_is_idempotent(&buggy(Bug::EnqueueOverwrites)));
    });
    caught("a removal that leaves deliveries", || {
        block_on(suite::remove_deletes_deliveries(&buggy(
            Bug::RemoveKeepsDeliveries,
        )));
    });
    caught("a purge of pending deliveries", || {
        block_on(suite::purge_keeps_pending_and_newer(&buggy(
            Bug::PurgeDropsPending,
        )));
    });
}

#[test]
fn webhook_suite_catches_time_bugs() {
    caught("due ignoring now", || {
        block_on(suite::due_is_ordered_and_limited(&buggy(
            Bug::DueIgnoresNow,
        )));
    });
    caught("subscription instants to the second", || {
        block_on(suite::subscription_round_trip(&buggy(Bug::SecondsOnly)));
    });
    caught("delivery instants to the second", || {
        block_on(suite::enqueue_is_idempotent(&buggy(Bug::SecondsOnly)));
    });
}
