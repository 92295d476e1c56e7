//! Webhook subscriptions and deliveries ([`WebhookStore`](apikey_core::webhook::WebhookStore))
//! over the [`Driver`] seam. Every write is one transaction: a removal deletes the subscription
//! and its deliveries together, an enqueue inserts its whole batch or nothing. Reads run on a
//! reader connection; a tenant's reads and changes filter on `tenant_key`.

use apikey_core::webhook::{Delivery, DeliveryFilter, Subscription, SubscriptionId};
use apikey_core::{Result, TenantScope};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::read::Count;
use super::write::finish;
use crate::driver::Driver;
use crate::sql::Sql;
use crate::webhooks::{deliveries, subscriptions};

/// Runs one write statement in its own transaction; the rows it affected.
async fn write_one<S: Driver>(store: &S, sql: Sql, what: &'static str) -> Result<u64> {
    let mut tx = store.begin().await?;
    let outcome = S::execute(&mut tx, sql, what).await;
    finish(store, tx, outcome, what).await
}

async fn read<S: Driver, T: crate::driver::Decode>(
    store: &S,
    sql: Sql,
    what: &'static str,
) -> Result<Vec<T>> {
    let mut conn = store.reader().await?;
    S::fetch(&mut conn, sql, what).await
}

/// Stores a new subscription at version 1; an existing id is `Conflict` (the primary key).
pub async fn insert_subscription<S: Driver>(store: &S, s: &Subscription) -> Result<()> {
    let sql = subscriptions::insert(S::PLACEHOLDER, s)?;
    write_one(store, sql, "insert webhook subscription").await?;
    Ok(())
}

/// The subscription `id` if `scope` admits it.
pub async fn subscription<S: Driver>(
    store: &S,
    scope: &TenantScope,
    id: SubscriptionId,
) -> Result<Option<Subscription>> {
    let sql = subscriptions::get(S::PLACEHOLDER, scope, id);
    let rows: Vec<Subscription> = read(store, sql, "get webhook subscription").await?;
    Ok(rows.into_iter().next())
}

/// The subscriptions `scope` admits, oldest first.
pub async fn subscriptions<S: Driver>(store: &S, scope: &TenantScope) -> Result<Vec<Subscription>> {
    let sql = subscriptions::list(S::PLACEHOLDER, scope);
    read(store, sql, "list webhook subscriptions").await
}

/// Every enabled subscription, across tenants.
pub async fn enabled<S: Driver>(store: &S) -> Result<Vec<Subscription>> {
    let sql = subscriptions::enabled(S::PLACEHOLDER);
    read(store, sql, "list enabled webhook subscriptions").await
}

/// Replaces the subscription if stored at `expected_version`; `false` when it changed or is
/// gone (nothing written).
pub async fn update_subscription<S: Driver>(
    store: &S,
    s: &Subscription,
    expected_version: u64,
) -> Result<bool> {
    let sql = subscriptions::update(S::PLACEHOLDER, s, expected_version)?;
    Ok(write_one(store, sql, "update webhook subscription").await? > 0)
}

/// Deletes the subscription and its deliveries in one transaction if `scope` admits it.
pub async fn remove_subscription<S: Driver>(
    store: &S,
    scope: &TenantScope,
    id: SubscriptionId,
) -> Result<bool> {
    let p = S::PLACEHOLDER;
    let mut tx = store.begin().await?;
    let outcome = async {
        let sql = subscriptions::delete(p, scope, id);
        if S::execute(&mut tx, sql, "delete webhook subscription").await? == 0 {
            return Ok(false);
        }
        let sql = deliveries::delete_of(p, id);
        S::execute(&mut tx, sql, "delete webhook deliveries").await?;
        Ok(true)
    }
    .await;
    finish(store, tx, outcome, "commit webhook subscription removal").await
}

/// Inserts the deliveries whose id is not stored, all in one transaction; how many were new.
pub async fn enqueue<S: Driver>(store: &S, batch: &[Delivery]) -> Result<u64> {
    if batch.is_empty() {
        return Ok(0);
    }
    // Every statement is built (and its input checked) before the transaction opens.
    let inserts = batch
        .iter()
        .map(|d| deliveries::insert_new(S::PLACEHOLDER, d, S::INSERT_IGNORE_DUPLICATE_ID))
        .collect::<Result<Vec<_>>>()?;
    let mut tx = store.begin().await?;
    let outcome = async {
        let mut new = 0;
        for sql in inserts {
            new += S::execute(&mut tx, sql, "enqueue webhook delivery").await?;
        }
        Ok(new)
    }
    .await;
    finish(store, tx, outcome, "commit webhook deliveries").await
}

/// Up to `limit` pending deliveries due at `now`, earliest first, across tenants.
pub async fn due<S: Driver>(store: &S, now: DateTime<Utc>, limit: u32) -> Result<Vec<Delivery>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let sql = deliveries::due(S::PLACEHOLDER, now, limit);
    read(store, sql, "due webhook deliveries").await
}

/// Writes the attempt fields of `delivery`; `false` if it is gone.
pub async fn record_attempt<S: Driver>(store: &S, delivery: &Delivery) -> Result<bool> {
    let sql = deliveries::record_attempt(S::PLACEHOLDER, delivery)?;
    Ok(write_one(store, sql, "record webhook attempt").await? > 0)
}

/// The delivery `id` if `scope` admits it.
pub async fn delivery<S: Driver>(
    store: &S,
    scope: &TenantScope,
    id: Uuid,
) -> Result<Option<Delivery>> {
    let sql = deliveries::get(S::PLACEHOLDER, scope, id);
    let rows: Vec<Delivery> = read(store, sql, "get webhook delivery").await?;
    Ok(rows.into_iter().next())
}

/// The deliveries `scope` admits matching `filter`, newest first.
pub async fn list_deliveries<S: Driver>(
    store: &S,
    scope: &TenantScope,
    filter: &DeliveryFilter,
) -> Result<Vec<Delivery>> {
    let sql = deliveries::list(S::PLACEHOLDER, scope, filter);
    read(store, sql, "list webhook deliveries").await
}

/// Makes the delivery pending and due at `now` if `scope` admits it; `false` otherwise.
pub async fn redeliver<S: Driver>(
    store: &S,
    scope: &TenantScope,
    id: Uuid,
    now: DateTime<Utc>,
    give_up_at: DateTime<Utc>,
) -> Result<bool> {
    let sql = deliveries::redeliver(S::PLACEHOLDER, scope, id, now, give_up_at);
    Ok(write_one(store, sql, "redeliver webhook delivery").await? > 0)
}

/// How many deliveries are pending, across tenants.
pub async fn pending_count<S: Driver>(store: &S) -> Result<u64> {
    let sql = deliveries::pending_count(S::PLACEHOLDER);
    let rows: Vec<Count> = read(store, sql, "count pending webhook deliveries").await?;
    Ok(rows.first().map_or(0, |c| c.0))
}

/// Deletes the delivered and failed deliveries created before `before`; how many.
pub async fn purge_deliveries<S: Driver>(store: &S, before: DateTime<Utc>) -> Result<u64> {
    let sql = deliveries::purge(S::PLACEHOLDER, before);
    write_one(store, sql, "purge webhook deliveries").await
}
