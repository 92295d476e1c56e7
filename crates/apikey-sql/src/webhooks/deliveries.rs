//! `apikey_webhook_deliveries`: one row per (subscription, event), its id derived from the pair
//! so an enqueue that runs twice inserts once. The delivery job reads it by (state,
//! next_attempt_at); people list it by tenant, newest first.

use apikey_core::clock::truncate_ms;
use apikey_core::webhook::{Delivery, DeliveryFilter, DeliveryState, SubscriptionId};
use apikey_core::{Result, TenantScope};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{push_scope, tenant_of};
use crate::codec::{Reader, Row};
use crate::driver::Decode;
use crate::guard;
use crate::sql::{Placeholder, Sql, ceil_ms};
use crate::tenant::row_key;

const COLUMNS: &str = "id, subscription_id, tenant_key, event_id, event_type, payload, state, \
     attempts, created_at, next_attempt_at, give_up_at, last_attempt_at, last_status, \
     last_error, delivered_at";

const PENDING: &str = "pending";

fn attempts(d: &Delivery) -> i64 {
    i64::from(d.attempts)
}

fn status(d: &Delivery) -> Option<i64> {
    d.last_status.map(i64::from)
}

fn checked(d: &Delivery) -> Result<()> {
    guard::label("event type", &d.event_type)?;
    guard::text("payload", &d.payload)?;
    if let Some(e) = &d.last_error {
        guard::text("last error", e)?;
    }
    Ok(())
}

/// Inserts the delivery unless its id is stored (then no row is affected): the `NOT EXISTS`
/// answers a repeated enqueue exactly on every database, and `ignore_duplicate`, the dialect's
/// clause, turns the remaining race (two first enqueues of one id at once) into a no-op — which
/// MySQL, under `CLIENT_FOUND_ROWS`, may still count as one affected row (as `audit::append_once`).
pub fn insert_new(p: Placeholder, d: &Delivery, ignore_duplicate: &str) -> Result<Sql> {
    checked(d)?;
    let mut sql = Sql::new(
        p,
        &format!("INSERT INTO apikey_webhook_deliveries ({COLUMNS}) SELECT "),
    );
    sql.bind(d.id)
        .push(", ")
        .bind(d.subscription_id.0)
        .push(", ")
        .bind(row_key(d.tenant_id.as_ref()))
        .push(", ")
        .bind(d.event_id)
        .push(", ")
        .bind(d.event_type.as_str())
        .push(", ")
        .bind(d.payload.as_str())
        .push(", ")
        .bind(d.state.as_str())
        .push(", ")
        .bind(attempts(d))
        .push(", ")
        .bind(truncate_ms(d.created_at))
        .push(", ")
        .bind(d.next_attempt_at.map(truncate_ms))
        .push(", ")
        .bind(truncate_ms(d.give_up_at))
        .push(", ")
        .bind(d.last_attempt_at.map(truncate_ms))
        .push(", ")
        .bind(crate::sql::Value::Int(status(d)))
        .push(", ")
        .bind(d.last_error.clone())
        .push(", ")
        .bind(d.delivered_at.map(truncate_ms))
        .push(
            " FROM (SELECT 1 AS one) AS single WHERE NOT EXISTS \
             (SELECT 1 FROM apikey_webhook_deliveries WHERE id = ",
        )
        .bind(d.id)
        .push(")")
        .push(ignore_duplicate);
    Ok(sql)
}

/// The delivery `id` if `scope` admits it.
pub fn get(p: Placeholder, scope: &TenantScope, id: Uuid) -> Sql {
    let mut sql = Sql::new(
        p,
        &format!("SELECT {COLUMNS} FROM apikey_webhook_deliveries WHERE id = "),
    );
    sql.bind(id);
    push_scope(&mut sql, scope);
    sql
}

/// Up to `limit` pending deliveries with `next_attempt_at <= now`, earliest first.
pub fn due(p: Placeholder, now: DateTime<Utc>, limit: u32) -> Sql {
    let mut sql = Sql::new(
        p,
        &format!("SELECT {COLUMNS} FROM apikey_webhook_deliveries WHERE state = "),
    );
    // Stored instants are whole milliseconds: `x <= now` ⟺ `x <= floor_ms(now)`.
    sql.bind(PENDING)
        .push(" AND next_attempt_at <= ")
        .bind(truncate_ms(now))
        .push(" ORDER BY next_attempt_at, id LIMIT ")
        .bind(i64::from(limit));
    sql
}

/// Writes the attempt fields of `d` onto its row (no row affected if it is gone).
pub fn record_attempt(p: Placeholder, d: &Delivery) -> Result<Sql> {
    if let Some(e) = &d.last_error {
        guard::text("last error", e)?;
    }
    let mut sql = Sql::new(p, "UPDATE apikey_webhook_deliveries SET state = ");
    sql.bind(d.state.as_str())
        .push(", attempts = ")
        .bind(attempts(d))
        .push(", next_attempt_at = ")
        .bind(d.next_attempt_at.map(truncate_ms))
        .push(", last_attempt_at = ")
        .bind(d.last_attempt_at.map(truncate_ms))
        .push(", last_status = ")
        .bind(crate::sql::Value::Int(status(d)))
        .push(", last_error = ")
        .bind(d.last_error.clone())
        .push(", delivered_at = ")
        .bind(d.delivered_at.map(truncate_ms))
        .push(" WHERE id = ")
        .bind(d.id);
    Ok(sql)
}

/// The deliveries `scope` admits matching `filter`, newest first.
pub fn list(p: Placeholder, scope: &TenantScope, filter: &DeliveryFilter) -> Sql {
    let mut sql = Sql::new(
        p,
        &format!("SELECT {COLUMNS} FROM apikey_webhook_deliveries WHERE 1 = 1"),
    );
    push_scope(&mut sql, scope);
    if let Some(s) = filter.subscription_id {
        sql.push(" AND subscription_id = ").bind(s.0);
    }
    if let Some(state) = filter.state {
        sql.push(" AND state = ").bind(state.as_str());
    }
    sql.push(" ORDER BY created_at DESC, id DESC LIMIT ")
        .bind(i64::from(filter.limit()));
    sql
}

/// Makes the delivery pending, due at `now`, given up after `give_up_at`, if `scope` admits it.
pub fn redeliver(
    p: Placeholder,
    scope: &TenantScope,
    id: Uuid,
    now: DateTime<Utc>,
    give_up_at: DateTime<Utc>,
) -> Sql {
    let mut sql = Sql::new(p, "UPDATE apikey_webhook_deliveries SET state = ");
    sql.bind(PENDING)
        .push(", next_attempt_at = ")
        .bind(truncate_ms(now))
        .push(", give_up_at = ")
        .bind(truncate_ms(give_up_at))
        .push(" WHERE id = ")
        .bind(id);
    push_scope(&mut sql, scope);
    sql
}

/// `SELECT COUNT(*) AS n` of the pending deliveries.
pub fn pending_count(p: Placeholder) -> Sql {
    let mut sql = Sql::new(
        p,
        "SELECT COUNT(*) AS n FROM apikey_webhook_deliveries WHERE state = ",
    );
    sql.bind(PENDING);
    sql
}

/// Deletes every delivery of subscription `id`.
pub fn delete_of(p: Placeholder, id: SubscriptionId) -> Sql {
    let mut sql = Sql::new(
        p,
        "DELETE FROM apikey_webhook_deliveries WHERE subscription_id = ",
    );
    sql.bind(id.0);
    sql
}

/// Deletes the delivered and failed deliveries created before `before`.
pub fn purge(p: Placeholder, before: DateTime<Utc>) -> Sql {
    let mut sql = Sql::new(p, "DELETE FROM apikey_webhook_deliveries WHERE state IN ");
    // Stored instants are whole milliseconds: `x < before` ⟺ `x < ceil_ms(before)`.
    sql.bind_list([
        DeliveryState::Delivered.as_str(),
        DeliveryState::Failed.as_str(),
    ])
    .push(" AND created_at < ")
    .bind(ceil_ms(before));
    sql
}

impl Decode for Delivery {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        let r = Reader::new(row);
        let attempts = r.unsigned("attempts")?;
        let last_status = r
            .opt_int("last_status")?
            .map(|s| u16::try_from(s).map_err(|e| r.corrupt("last_status", e)))
            .transpose()?;
        Ok(Delivery {
            id: r.uuid("id")?,
            subscription_id: SubscriptionId(r.uuid("subscription_id")?),
            tenant_id: tenant_of(&r)?,
            event_id: r.uuid("event_id")?,
            event_type: r.text("event_type")?,
            payload: r.text("payload")?,
            state: r.parsed("state", str::parse)?,
            attempts: u32::try_from(attempts).map_err(|e| r.corrupt("attempts", e))?,
            created_at: r.time("created_at")?,
            next_attempt_at: r.opt_time("next_attempt_at")?,
            give_up_at: r.time("give_up_at")?,
            last_attempt_at: r.opt_time("last_attempt_at")?,
            last_status,
            last_error: r.opt_text("last_error")?,
            delivered_at: r.opt_time("delivered_at")?,
        })
    }
}
