//! The [`WebhookStore`](apikey_core::webhook::WebhookStore) conformance suite.
//!
//! - [`subscriptions`]: every field round-trips (sealed secrets, description, flags, filter,
//!   instants to the millisecond), an existing id is `Conflict`, updates are compare-and-set on
//!   the version, tenants are apart (a tenant neither sees, changes nor removes another's
//!   subscription; `TenantScope::All` sees every one; `enabled()` spans tenants, without the
//!   disabled), and a removal takes the subscription's deliveries with it.
//! - [`deliveries`]: enqueue is idempotent by id and never overwrites, `due` is pending-only,
//!   earliest first and limited, an attempt writes every attempt field, listing filters and
//!   orders newest first, a redeliver makes a failed delivery due again (within its tenant
//!   only), the pending count, retention purges only finished deliveries, and payloads with
//!   unicode and 64 KiB bodies come back byte for byte.
//!
//! Each case takes a fresh, empty store implementing `WebhookStore`; run them all with
//! [`webhook_store_suite!`](crate::webhook_store_suite).

pub mod deliveries;
pub mod subscriptions;

pub use deliveries::*;
pub use subscriptions::*;

use apikey_core::TenantId;
use apikey_core::webhook::{Delivery, EventFilter, Subscription, SubscriptionId};
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::fixtures::{base_time, tenant};

/// `base_time()` plus `ms` milliseconds and an odd 7 more, so a store that keeps seconds only
/// (or rounds) is caught.
pub fn at(ms: i64) -> DateTime<Utc> {
    base_time() + TimeDelta::milliseconds(ms + 7)
}

/// A subscription of `tenant` (`None`: no tenant) created at `at(created_ms)`, with every field
/// away from its default: both sealed secrets, a description with quotes and unicode, a filter,
/// flags set.
pub fn subscription(tenant_id: Option<&str>, created_ms: i64) -> Subscription {
    let id = SubscriptionId::generate();
    Subscription {
        id,
        tenant_id: tenant_id.map(tenant),
        url: format!("https://hooks.example.com/in/{id}?a=1&b='x'"),
        events: EventFilter::only(["key.revoked", "key.created"]).expect("known types"),
        enabled: true,
        allow_http: true,
        allow_private_network: true,
        description: Some("billing \u{1F511} \"ops\" 'team'; -- \\".into()),
        secret: format!("sb1.{id}.current-sealed-AAECAwQFBgcICQ"),
        previous_secret: Some(format!("sb1.{id}.previous-sealed-CgsMDQ4PEBES")),
        previous_until: Some(at(created_ms + 86_400_000)),
        created_at: at(created_ms),
        updated_at: at(created_ms + 1),
        version: 1,
    }
}

/// `n` subscriptions of `tenant_id` whose creation instants follow their ids' order (ids are
/// generated, then sorted), so "oldest first" has one answer.
pub fn subscriptions_in_order(tenant_id: Option<&str>, n: usize) -> Vec<Subscription> {
    let mut subs: Vec<Subscription> = (0..n).map(|_| subscription(tenant_id, 0)).collect();
    subs.sort_by_key(|s| s.id);
    for (i, s) in subs.iter_mut().enumerate() {
        let ms = i64::try_from(i).expect("small") * 1000;
        s.created_at = at(ms);
        s.updated_at = at(ms + 1);
    }
    subs
}

/// A pending delivery of a fresh event to `sub`, enqueued (and due) at `at(at_ms)`, given up a
/// day later.
pub fn delivery(sub: &Subscription, at_ms: i64) -> Delivery {
    delivery_with(
        sub,
        at_ms,
        "key.revoked",
        r#"{"type":"key.revoked"}"#.into(),
    )
}

/// Like [`delivery`], with the event type and payload given.
pub fn delivery_with(
    sub: &Subscription,
    at_ms: i64,
    event_type: &str,
    payload: String,
) -> Delivery {
    Delivery::pending(
        sub.id,
        sub.tenant_id.clone(),
        Uuid::now_v7(),
        event_type,
        payload,
        at(at_ms),
        at(at_ms + 86_400_000),
    )
}

/// The tenant id `name` (a shorthand for the cases).
pub(crate) fn t(name: &str) -> TenantId {
    tenant(name)
}
