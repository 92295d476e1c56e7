//! The [`WebhookStore`] implementation of [`MemoryStore`]: subscriptions and deliveries in maps
//! under the store's lock, with the indexes the delivery job reads (due time order).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use apikey_core::webhook::{
    Delivery, DeliveryFilter, DeliveryState, Subscription, SubscriptionId, WebhookStore,
};
use apikey_core::{Error, ErrorKind, Result, TenantScope};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::MemoryStore;

/// Subscriptions by id, deliveries by id, and the pending ones by (due, id).
#[derive(Default)]
pub(super) struct WebhookTables {
    subscriptions: BTreeMap<SubscriptionId, Subscription>,
    deliveries: HashMap<Uuid, Delivery>,
    due: BTreeSet<(DateTime<Utc>, Uuid)>,
}

impl WebhookTables {
    fn index(&mut self, d: &Delivery) {
        if let (DeliveryState::Pending, Some(at)) = (d.state, d.next_attempt_at) {
            self.due.insert((at, d.id));
        }
    }

    fn unindex(&mut self, d: &Delivery) {
        if let Some(at) = d.next_attempt_at {
            self.due.remove(&(at, d.id));
        }
    }

    fn put(&mut self, d: Delivery) {
        if let Some(old) = self.deliveries.remove(&d.id) {
            self.unindex(&old);
        }
        self.index(&d);
        self.deliveries.insert(d.id, d);
    }
}

#[async_trait]
impl WebhookStore for MemoryStore {
    async fn insert_subscription(&self, subscription: &Subscription) -> Result<()> {
        let mut t = self.tables.write();
        let w = &mut t.webhooks;
        if w.subscriptions.contains_key(&subscription.id) {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("subscription {} already exists", subscription.id),
            ));
        }
        let mut s = subscription.clone();
        s.version = 1;
        w.subscriptions.insert(s.id, s);
        Ok(())
    }

    async fn subscription(
        &self,
        tenant: &TenantScope,
        id: SubscriptionId,
    ) -> Result<Option<Subscription>> {
        let t = self.tables.read();
        Ok(t.webhooks
            .subscriptions
            .get(&id)
            .filter(|s| tenant.admits(s.tenant_id.as_ref()))
            .cloned())
    }

    async fn subscriptions(&self, tenant: &TenantScope) -> Result<Vec<Subscription>> {
        let t = self.tables.read();
        Ok(t.webhooks
            .subscriptions
            .values()
            .filter(|s| tenant.admits(s.tenant_id.as_ref()))
            .cloned()
            .collect())
    }

    async fn enabled(&self) -> Result<Vec<Subscription>> {
        let t = self.tables.read();
        Ok(t.webhooks
            .subscriptions
            .values()
            .filter(|s| s.enabled)
            .cloned()
            .collect())
    }

    async fn update_subscription(
        &self,
        subscription: &Subscription,
        expected_version: u64,
    ) -> Result<bool> {
        let mut t = self.tables.write();
        let Some(stored) = t.webhooks.subscriptions.get_mut(&subscription.id) else {
            return Ok(false);
        };
        if stored.version != expected_version || stored.tenant_id != subscription.tenant_id {
            return Ok(false);
        }
        *stored = subscription.clone();
        stored.version = expected_version + 1;
        Ok(true)
    }

    async fn remove_subscription(&self, tenant: &TenantScope, id: SubscriptionId) -> Result<bool> {
        let mut t = self.tables.write();
        let w = &mut t.webhooks;
        match w.subscriptions.get(&id) {
            Some(s) if tenant.admits(s.tenant_id.as_ref()) => {}
            _ => return Ok(false),
        }
        w.subscriptions.remove(&id);
        let gone: Vec<Delivery> = w
            .deliveries
            .values()
            .filter(|d| d.subscription_id == id)
            .cloned()
            .collect();
        for d in gone {
            w.unindex(&d);
            w.deliveries.remove(&d.id);
        }
        Ok(true)
    }

    async fn enqueue(&self, deliveries: &[Delivery]) -> Result<u64> {
        let mut t = self.tables.write();
        let w = &mut t.webhooks;
        let mut new = 0;
        for d in deliveries {
            if !w.deliveries.contains_key(&d.id) {
                w.put(d.clone());
                new += 1;
            }
        }
        Ok(new)
    }

    async fn due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Delivery>> {
        let t = self.tables.read();
        let w = &t.webhooks;
        Ok(w.due
            .iter()
            .take_while(|(at, _)| *at <= now)
            .take(limit as usize)
            .filter_map(|(_, id)| w.deliveries.get(id).cloned())
            .collect())
    }

    async fn record_attempt(&self, delivery: &Delivery) -> Result<bool> {
        let mut t = self.tables.write();
        let w = &mut t.webhooks;
        let Some(stored) = w.deliveries.get(&delivery.id) else {
            return Ok(false);
        };
        let mut next = stored.clone();
        next.state = delivery.state;
        next.attempts = delivery.attempts;
        next.next_attempt_at = delivery.next_attempt_at;
        next.last_attempt_at = delivery.last_attempt_at;
        next.last_status = delivery.last_status;
        next.last_error.clone_from(&delivery.last_error);
        next.delivered_at = delivery.delivered_at;
        w.put(next);
        Ok(true)
    }

    async fn delivery(&self, tenant: &TenantScope, id: Uuid) -> Result<Option<Delivery>> {
        let t = self.tables.read();
        Ok(t.webhooks
            .deliveries
            .get(&id)
            .filter(|d| tenant.admits(d.tenant_id.as_ref()))
            .cloned())
    }

    async fn deliveries(
        &self,
        tenant: &TenantScope,
        filter: &DeliveryFilter,
    ) -> Result<Vec<Delivery>> {
        let t = self.tables.read();
        let mut out: Vec<Delivery> = t
            .webhooks
            .deliveries
            .values()
            .filter(|d| tenant.admits(d.tenant_id.as_ref()))
            .filter(|d| {
                filter
                    .subscription_id
                    .is_none_or(|s| d.subscription_id == s)
            })
            .filter(|d| filter.state.is_none_or(|s| d.state == s))
            .cloned()
            .collect();
        out.sort_by_key(|d| std::cmp::Reverse((d.created_at, d.id)));
        out.truncate(filter.limit() as usize);
        Ok(out)
    }

    async fn redeliver(
        &self,
        tenant: &TenantScope,
        id: Uuid,
        now: DateTime<Utc>,
        give_up_at: DateTime<Utc>,
    ) -> Result<bool> {
        let mut t = self.tables.write();
        let w = &mut t.webhooks;
        let Some(stored) = w
            .deliveries
            .get(&id)
            .filter(|d| tenant.admits(d.tenant_id.as_ref()))
        else {
            return Ok(false);
        };
        let mut next = stored.clone();
        next.state = DeliveryState::Pending;
        next.next_attempt_at = Some(apikey_core::clock::truncate_ms(now));
        next.give_up_at = apikey_core::clock::truncate_ms(give_up_at);
        w.put(next);
        Ok(true)
    }

    async fn pending_count(&self) -> Result<u64> {
        Ok(self.tables.read().webhooks.due.len() as u64)
    }

    async fn purge_deliveries(&self, before: DateTime<Utc>) -> Result<u64> {
        let mut t = self.tables.write();
        let w = &mut t.webhooks;
        let before_len = w.deliveries.len();
        w.deliveries
            .retain(|_, d| d.state == DeliveryState::Pending || d.created_at >= before);
        Ok((before_len - w.deliveries.len()) as u64)
    }
}
