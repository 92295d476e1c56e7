//! [`Isolated`] forwards [`WebhookStore`] too, so a store on its own database can run the
//! webhook suite and still drop its database when the case ends.

use apikey_core::webhook::{Delivery, DeliveryFilter, Subscription, SubscriptionId, WebhookStore};
use apikey_core::{Result, TenantScope};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Isolated;

#[async_trait]
impl<S: WebhookStore> WebhookStore for Isolated<S> {
    async fn insert_subscription(&self, subscription: &Subscription) -> Result<()> {
        self.store.insert_subscription(subscription).await
    }

    async fn subscription(
        &self,
        tenant: &TenantScope,
        id: SubscriptionId,
    ) -> Result<Option<Subscription>> {
        self.store.subscription(tenant, id).await
    }

    async fn subscriptions(&self, tenant: &TenantScope) -> Result<Vec<Subscription>> {
        self.store.subscriptions(tenant).await
    }

    async fn enabled(&self) -> Result<Vec<Subscription>> {
        self.store.enabled().await
    }

    async fn update_subscription(
        &self,
        subscription: &Subscription,
        expected_version: u64,
    ) -> Result<bool> {
        self.store
            .update_subscription(subscription, expected_version)
            .await
    }

    async fn remove_subscription(&self, tenant: &TenantScope, id: SubscriptionId) -> Result<bool> {
        self.store.remove_subscription(tenant, id).await
    }

    async fn enqueue(&self, deliveries: &[Delivery]) -> Result<u64> {
        self.store.enqueue(deliveries).await
    }

    async fn due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Delivery>> {
        self.store.due(now, limit).await
    }

    async fn record_attempt(&self, delivery: &Delivery) -> Result<bool> {
        self.store.record_attempt(delivery).await
    }

    async fn delivery(&self, tenant: &TenantScope, id: Uuid) -> Result<Option<Delivery>> {
        self.store.delivery(tenant, id).await
    }

    async fn deliveries(
        &self,
        tenant: &TenantScope,
        filter: &DeliveryFilter,
    ) -> Result<Vec<Delivery>> {
        self.store.deliveries(tenant, filter).await
    }

    async fn redeliver(
        &self,
        tenant: &TenantScope,
        id: Uuid,
        now: DateTime<Utc>,
        give_up_at: DateTime<Utc>,
    ) -> Result<bool> {
        self.store.redeliver(tenant, id, now, give_up_at).await
    }

    async fn pending_count(&self) -> Result<u64> {
        self.store.pending_count().await
    }

    async fn purge_deliveries(&self, before: DateTime<Utc>) -> Result<u64> {
        self.store.purge_deliveries(before).await
    }
}
