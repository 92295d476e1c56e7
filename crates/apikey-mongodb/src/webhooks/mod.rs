//! The [`WebhookStore`] implementation of [`MongoStore`]: [`subscriptions`] in
//! `<prefix>webhook_subscriptions` and [`deliveries`] in `<prefix>webhook_deliveries`, as typed
//! documents ([`doc`]).
//!
//! No multi-document transaction is used (BriskDB has none, and a standalone MongoDB neither).
//! Every operation but two is a read, one single-document write (atomic on every MongoDB), or
//! retention's `delete_many` (each deletion stands alone, so stopping part-way is harmless):
//! compare-and-set updates filter on `{_id, tenant_id, version}`, attempts and redelivers on
//! `{_id, [tenant_id]}`. The two others say what a failure between their steps leaves: [`remove`](MongoStore::remove_webhook_subscription) (orphaned deliveries are never
//! sent, and a retried removal deletes them) and
//! [`enqueue`](MongoStore::enqueue_webhook_deliveries) (a batch may be stored in part; a retry
//! completes it). A tenant's reads and changes add `tenant_id: {$eq: tenant}`; every user value
//! is an `$eq` operand.

mod deliveries;
mod doc;
mod subscriptions;

use apikey_core::webhook::{Delivery, DeliveryFilter, Subscription, SubscriptionId, WebhookStore};
use apikey_core::{Result, TenantScope};
use async_trait::async_trait;
use bson::{Document, doc};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::MongoStore;

/// `filter` with the tenant condition of `scope` (`All` adds nothing).
fn scoped(scope: &TenantScope, mut filter: Document) -> Document {
    if let TenantScope::Tenant(t) = scope {
        filter.insert("tenant_id", doc! { "$eq": t.as_str() });
    }
    filter
}

#[async_trait]
impl WebhookStore for MongoStore {
    async fn insert_subscription(&self, subscription: &Subscription) -> Result<()> {
        self.insert_webhook_subscription(subscription).await
    }

    async fn subscription(
        &self,
        tenant: &TenantScope,
        id: SubscriptionId,
    ) -> Result<Option<Subscription>> {
        self.webhook_subscription(tenant, id).await
    }

    async fn subscriptions(&self, tenant: &TenantScope) -> Result<Vec<Subscription>> {
        self.webhook_subscriptions_where(
            scoped(tenant, Document::new()),
            "list webhook subscriptions",
        )
        .await
    }

    async fn enabled(&self) -> Result<Vec<Subscription>> {
        self.webhook_subscriptions_where(
            doc! { "enabled": { "$eq": true } },
            "list enabled webhook subscriptions",
        )
        .await
    }

    async fn update_subscription(
        &self,
        subscription: &Subscription,
        expected_version: u64,
    ) -> Result<bool> {
        self.update_webhook_subscription(subscription, expected_version)
            .await
    }

    async fn remove_subscription(&self, tenant: &TenantScope, id: SubscriptionId) -> Result<bool> {
        self.remove_webhook_subscription(tenant, id).await
    }

    async fn enqueue(&self, deliveries: &[Delivery]) -> Result<u64> {
        self.enqueue_webhook_deliveries(deliveries).await
    }

    async fn due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Delivery>> {
        self.due_webhook_deliveries(now, limit).await
    }

    async fn record_attempt(&self, delivery: &Delivery) -> Result<bool> {
        self.record_webhook_attempt(delivery).await
    }

    async fn delivery(&self, tenant: &TenantScope, id: Uuid) -> Result<Option<Delivery>> {
        self.webhook_delivery(tenant, id).await
    }

    async fn deliveries(
        &self,
        tenant: &TenantScope,
        filter: &DeliveryFilter,
    ) -> Result<Vec<Delivery>> {
        self.list_webhook_deliveries(tenant, filter).await
    }

    async fn redeliver(
        &self,
        tenant: &TenantScope,
        id: Uuid,
        now: DateTime<Utc>,
        give_up_at: DateTime<Utc>,
    ) -> Result<bool> {
        self.redeliver_webhook(tenant, id, now, give_up_at).await
    }

    async fn pending_count(&self) -> Result<u64> {
        self.pending_webhook_count().await
    }

    async fn purge_deliveries(&self, before: DateTime<Utc>) -> Result<u64> {
        self.purge_webhook_deliveries(before).await
    }
}
