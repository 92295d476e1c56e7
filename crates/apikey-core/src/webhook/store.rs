//! [`WebhookStore`]: the capability a backend implements to keep subscriptions and deliveries.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::delivery::{Delivery, DeliveryFilter};
use super::subscription::{Subscription, SubscriptionId};
use crate::error::Result;
use crate::ids::TenantScope;

/// Webhook subscriptions and their deliveries, in a backend every instance shares.
///
/// Reads that people make are scoped by [`TenantScope`]: a tenant sees and changes only its own
/// subscriptions and deliveries. The delivery job's reads ([`enabled`](Self::enabled),
/// [`due`](Self::due)) span every tenant.
#[async_trait]
pub trait WebhookStore: Send + Sync + fmt::Debug + 'static {
    /// Stores a new subscription (version 1). `Conflict` if its id exists.
    async fn insert_subscription(&self, subscription: &Subscription) -> Result<()>;

    /// The subscription `id` if `tenant` admits it.
    async fn subscription(
        &self,
        tenant: &TenantScope,
        id: SubscriptionId,
    ) -> Result<Option<Subscription>>;

    /// The subscriptions `tenant` admits, oldest first.
    async fn subscriptions(&self, tenant: &TenantScope) -> Result<Vec<Subscription>>;

    /// Every enabled subscription of every tenant (for the fan-out).
    async fn enabled(&self) -> Result<Vec<Subscription>>;

    /// Replaces the subscription if it is stored at `expected_version`; the new value carries
    /// `expected_version + 1`. `false` (nothing written) when it changed or is gone.
    async fn update_subscription(
        &self,
        subscription: &Subscription,
        expected_version: u64,
    ) -> Result<bool>;

    /// Deletes the subscription and its deliveries if `tenant` admits it. `false` if absent.
    async fn remove_subscription(&self, tenant: &TenantScope, id: SubscriptionId) -> Result<bool>;

    /// Stores the deliveries whose id is not stored yet (the fan-out may run twice); how many
    /// were new. All or none on error.
    async fn enqueue(&self, deliveries: &[Delivery]) -> Result<u64>;

    /// Up to `limit` pending deliveries due at `now` (`next_attempt_at <= now`), earliest first,
    /// across tenants.
    async fn due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Delivery>>;

    /// Writes the state of an attempt (state, attempts, next and last attempt, status, error,
    /// delivered at) onto the stored delivery. `false` if it is gone.
    async fn record_attempt(&self, delivery: &Delivery) -> Result<bool>;

    /// The delivery `id` if `tenant` admits it.
    async fn delivery(&self, tenant: &TenantScope, id: Uuid) -> Result<Option<Delivery>>;

    /// Deliveries `tenant` admits matching `filter`, newest first.
    async fn deliveries(
        &self,
        tenant: &TenantScope,
        filter: &DeliveryFilter,
    ) -> Result<Vec<Delivery>>;

    /// Makes the delivery pending again, due at `now` and given up after `give_up_at` (a manual
    /// redeliver; attempts are kept). `false` if `tenant` does not admit it or it is gone.
    async fn redeliver(
        &self,
        tenant: &TenantScope,
        id: Uuid,
        now: DateTime<Utc>,
        give_up_at: DateTime<Utc>,
    ) -> Result<bool>;

    /// How many deliveries are pending (due or not), across tenants.
    async fn pending_count(&self) -> Result<u64>;

    /// Deletes delivered and failed deliveries created before `before` (retention). How many.
    async fn purge_deliveries(&self, before: DateTime<Utc>) -> Result<u64>;
}
