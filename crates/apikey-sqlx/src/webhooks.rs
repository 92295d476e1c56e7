//! The [`WebhookStore`] implementation: `apikey-sql`'s webhook flow (migration 0009) over this
//! store's [`Driver`](apikey_sql::Driver) implementation.

use apikey_core::webhook::{Delivery, DeliveryFilter, Subscription, SubscriptionId, WebhookStore};
use apikey_core::{Result, TenantScope};
use apikey_sql::flow::webhooks as flow;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::dialect::Dialect;
use crate::store::SqlxStore;

#[async_trait]
impl<D: Dialect> WebhookStore for SqlxStore<D> {
    async fn insert_subscription(&self, subscription: &Subscription) -> Result<()> {
        flow::insert_subscription(self, subscription).await
    }

    async fn subscription(
        &self,
        tenant: &TenantScope,
        id: SubscriptionId,
    ) -> Result<Option<Subscription>> {
        flow::subscription(self, tenant, id).await
    }

    async fn subscriptions(&self, tenant: &TenantScope) -> Result<Vec<Subscription>> {
        flow::subscriptions(self, tenant).await
    }

    async fn enabled(&self) -> Result<Vec<Subscription>> {
        flow::enabled(self).await
    }

    async fn update_subscription(
        &self,
        subscription: &Subscription,
        expected_version: u64,
    ) -> Result<bool> {
        flow::update_subscription(self, subscription, expected_version).await
    }

    async fn remove_subscription(&self, tenant: &TenantScope, id: SubscriptionId) -> Result<bool> {
        flow::remove_subscription(self, tenant, id).await
    }

    async fn enqueue(&self, deliveries: &[Delivery]) -> Result<u64> {
        flow::enqueue(self, deliveries).await
    }

    async fn due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Delivery>> {
        flow::due(self, now, limit).await
    }

    async fn record_attempt(&self, delivery: &Delivery) -> Result<bool> {
        flow::record_attempt(self, delivery).await
    }

    async fn delivery(&self, tenant: &TenantScope, id: Uuid) -> Result<Option<Delivery>> {
        flow::delivery(self, tenant, id).await
    }

    async fn deliveries(
        &self,
        tenant: &TenantScope,
        filter: &DeliveryFilter,
    ) -> Result<Vec<Delivery>> {
        flow::list_deliveries(self, tenant, filter).await
    }

    async fn redeliver(
        &self,
        tenant: &TenantScope,
        id: Uuid,
        now: DateTime<Utc>,
        give_up_at: DateTime<Utc>,
    ) -> Result<bool> {
        flow::redeliver(self, tenant, id, now, give_up_at).await
    }

    async fn pending_count(&self) -> Result<u64> {
        flow::pending_count(self).await
    }

    async fn purge_deliveries(&self, before: DateTime<Utc>) -> Result<u64> {
        flow::purge_deliveries(self, before).await
    }
}
