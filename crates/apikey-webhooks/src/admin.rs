//! [`Webhooks`]: what an operator (or a tenant, within its scope) does with subscriptions and
//! deliveries. Secrets are generated here, sealed before they reach the store, and shown once.

use std::sync::Arc;
use std::time::Duration;

use apikey_core::audit::{AuditReader, AuditStore, ReaderStart};
use apikey_core::secret_box::{Binding, Sealed, SecretBox};
use apikey_core::webhook::{
    Delivery, DeliveryFilter, EventFilter, RetryPolicy, SIGNING_PURPOSE, Subscription,
    SubscriptionId, WebhookPayload, WebhookSecret, WebhookStore,
};
use apikey_core::{Clock, Error, Result, TenantId, TenantScope};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::resolver::{HostResolver, SystemResolver};
use crate::target;

/// The audit reader (cursor name) the delivery job follows.
pub const READER: &str = "webhooks";

/// Longest description kept.
const MAX_DESCRIPTION: usize = 1000;

/// A subscription to make.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewSubscription {
    /// Whose events (and who sees it).
    pub tenant: Option<TenantId>,
    /// Where to.
    pub url: String,
    /// Which events.
    pub events: EventFilter,
    /// Allow `http://`.
    pub allow_http: bool,
    /// Allow loopback, private and link-local targets.
    pub allow_private_network: bool,
    /// A note.
    pub description: Option<String>,
}

/// Subscriptions and deliveries over a [`WebhookStore`], with secrets in a [`SecretBox`].
#[derive(Debug, Clone)]
pub struct Webhooks {
    store: Arc<dyn WebhookStore>,
    audit: Arc<dyn AuditStore>,
    sbox: Arc<SecretBox>,
    clock: Arc<dyn Clock>,
    resolver: Arc<dyn HostResolver>,
    retry: RetryPolicy,
}

impl Webhooks {
    /// Over `store`, following `audit`, sealing with `sbox`, on `clock`; the system resolver and
    /// the default [`RetryPolicy`].
    pub fn new(
        store: Arc<dyn WebhookStore>,
        audit: Arc<dyn AuditStore>,
        sbox: Arc<SecretBox>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            audit,
            sbox,
            clock,
            resolver: Arc::new(SystemResolver),
            retry: RetryPolicy::default(),
        }
    }

    /// Resolves target names with `resolver` (checks at subscription time and, through the
    /// [`Dispatcher`](crate::Dispatcher), at delivery).
    pub fn resolver(mut self, resolver: Arc<dyn HostResolver>) -> Self {
        self.resolver = resolver;
        self
    }

    /// Retries by `retry`.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub(crate) fn store(&self) -> &Arc<dyn WebhookStore> {
        &self.store
    }

    pub(crate) fn audit(&self) -> &Arc<dyn AuditStore> {
        &self.audit
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub(crate) fn resolver_arc(&self) -> Arc<dyn HostResolver> {
        self.resolver.clone()
    }

    pub(crate) fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// Makes a subscription and returns it with its secret, which is shown only now. The URL is
    /// checked (scheme, and its name resolved and its addresses checked unless the private
    /// network is allowed). The delivery job's audit reader is registered here if it is not yet,
    /// so events from now on wait for it even before the job first runs.
    pub async fn create(&self, new: NewSubscription) -> Result<(Subscription, WebhookSecret)> {
        let url = target::check_target(
            &new.url,
            new.allow_http,
            new.allow_private_network,
            self.resolver.as_ref(),
        )
        .await?;
        if new
            .description
            .as_ref()
            .is_some_and(|d| d.len() > MAX_DESCRIPTION || d.contains('\0'))
        {
            return Err(Error::invalid(
                "description",
                format_args!("at most {MAX_DESCRIPTION} bytes, no NUL"),
            ));
        }
        AuditReader::new(self.audit.clone(), self.clock.clone(), READER)?
            .start(ReaderStart::Now)
            .cursor()
            .await?;
        let id = SubscriptionId::generate();
        let secret = WebhookSecret::generate()?;
        let now = apikey_core::clock::truncate_ms(self.clock.now());
        let sub = Subscription {
            id,
            tenant_id: new.tenant,
            url: url.to_string(),
            events: new.events,
            enabled: true,
            allow_http: new.allow_http,
            allow_private_network: new.allow_private_network,
            description: new.description,
            secret: self.seal(id, &secret)?,
            previous_secret: None,
            previous_until: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        self.store.insert_subscription(&sub).await?;
        Ok((sub, secret))
    }

    /// The subscription `id` in `tenant`; `NotFound` otherwise.
    pub async fn get(&self, tenant: &TenantScope, id: SubscriptionId) -> Result<Subscription> {
        self.store
            .subscription(tenant, id)
            .await?
            .ok_or_else(|| Error::not_found(format_args!("webhook subscription {id}")))
    }

    /// The subscriptions of `tenant`.
    pub async fn list(&self, tenant: &TenantScope) -> Result<Vec<Subscription>> {
        self.store.subscriptions(tenant).await
    }

    /// Deletes a subscription and its deliveries; `NotFound` if `tenant` has no such one.
    pub async fn remove(&self, tenant: &TenantScope, id: SubscriptionId) -> Result<()> {
        if self.store.remove_subscription(tenant, id).await? {
            Ok(())
        } else {
            Err(Error::not_found(format_args!("webhook subscription {id}")))
        }
    }

    /// Enables or disables a subscription (a disabled one gets no new deliveries).
    pub async fn set_enabled(
        &self,
        tenant: &TenantScope,
        id: SubscriptionId,
        enabled: bool,
    ) -> Result<Subscription> {
        self.change(tenant, id, |s| {
            s.enabled = enabled;
            Ok(())
        })
        .await
    }

    /// A new secret for the subscription, returned once; the old one keeps signing beside it
    /// (two signatures per delivery) for `grace`, so receivers can switch without a gap.
    pub async fn rotate(
        &self,
        tenant: &TenantScope,
        id: SubscriptionId,
        grace: Duration,
    ) -> Result<WebhookSecret> {
        let secret = WebhookSecret::generate()?;
        let sealed = self.seal(id, &secret)?;
        let until = chrono::Duration::from_std(grace)
            .ok()
            .and_then(|g| self.clock.now().checked_add_signed(g))
            .ok_or_else(|| Error::invalid("grace", "is too long"))?;
        self.change(tenant, id, |s| {
            s.previous_secret = (!grace.is_zero()).then(|| std::mem::take(&mut s.secret));
            s.previous_until = (!grace.is_zero()).then_some(until);
            s.secret = sealed.clone();
            Ok(())
        })
        .await?;
        Ok(secret)
    }

    /// Enqueues a `ping` to the subscription, due now; returns the delivery.
    pub async fn ping(&self, tenant: &TenantScope, id: SubscriptionId) -> Result<Delivery> {
        let sub = self.get(tenant, id).await?;
        let now = self.clock.now();
        let body = WebhookPayload::ping(id, now).to_json()?;
        let d = Delivery::pending(
            id,
            sub.tenant_id,
            Uuid::now_v7(),
            apikey_core::webhook::PING,
            body,
            now,
            self.retry.give_up_at(now),
        );
        self.store.enqueue(std::slice::from_ref(&d)).await?;
        Ok(d)
    }

    /// Deliveries of `tenant` matching `filter`, newest first.
    pub async fn deliveries(
        &self,
        tenant: &TenantScope,
        filter: &DeliveryFilter,
    ) -> Result<Vec<Delivery>> {
        self.store.deliveries(tenant, filter).await
    }

    /// Sends a delivery again (a dead letter, or one already delivered): pending, due now, with
    /// a fresh maximum age. `NotFound` if `tenant` has no such delivery.
    pub async fn redeliver(&self, tenant: &TenantScope, id: Uuid) -> Result<()> {
        let now = self.clock.now();
        if self
            .store
            .redeliver(tenant, id, now, self.retry.give_up_at(now))
            .await?
        {
            Ok(())
        } else {
            Err(Error::not_found(format_args!("webhook delivery {id}")))
        }
    }

    /// The secrets that sign for `sub` at `now`: the current one, and the previous one while in
    /// its grace period.
    pub(crate) fn secrets(
        &self,
        sub: &Subscription,
        now: DateTime<Utc>,
    ) -> Result<Vec<WebhookSecret>> {
        let mut out = vec![self.open(sub.id, &sub.secret)?];
        if let (Some(prev), Some(until)) = (&sub.previous_secret, sub.previous_until)
            && now < until
        {
            out.push(self.open(sub.id, prev)?);
        }
        Ok(out)
    }

    fn binding(id: SubscriptionId) -> Binding {
        Binding::new(Subscription::binding_owner(id), SIGNING_PURPOSE)
    }

    fn seal(&self, id: SubscriptionId, secret: &WebhookSecret) -> Result<String> {
        Ok(self
            .sbox
            .seal(secret.expose().as_bytes(), &Self::binding(id))?
            .encode())
    }

    fn open(&self, id: SubscriptionId, sealed: &str) -> Result<WebhookSecret> {
        let plain = self
            .sbox
            .open(&Sealed::parse(sealed)?, &Self::binding(id))?;
        let text = std::str::from_utf8(&plain)
            .map_err(|_| Error::invalid("webhook secret", "sealed value is not text"))?;
        WebhookSecret::parse(text)
    }

    /// Applies `f` to the stored subscription by compare-and-set, retrying a few times when a
    /// concurrent change wins.
    async fn change(
        &self,
        tenant: &TenantScope,
        id: SubscriptionId,
        f: impl Fn(&mut Subscription) -> Result<()>,
    ) -> Result<Subscription> {
        for _ in 0..5 {
            let mut sub = self.get(tenant, id).await?;
            let expected = sub.version;
            f(&mut sub)?;
            sub.updated_at = apikey_core::clock::truncate_ms(self.clock.now());
            if self.store.update_subscription(&sub, expected).await? {
                sub.version = expected + 1;
                return Ok(sub);
            }
        }
        Err(Error::stale(format_args!("webhook subscription {id}")))
    }
}
